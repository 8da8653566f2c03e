#!/usr/bin/env python3
"""Turn the raw figures of bench/audit.sh into a Markdown table.

Reads the tab-separated file that audit.sh writes, one row per run. For
each input, form and tool it prints the median wall time and peak RSS with
their min-max, the number of runs and the exit statuses seen. Two ratios
follow: the median time over the floor's on the same input and form, and
over hardfs's. A run killed by the timeout (exit status 124) counts
in no figure, and its row says so.
"""

import csv
import statistics
import sys

FLOORS = {"oci": "floor-gzip", "docker-archive": "floor-tar"}
TIMEOUT_STATUS = "124"


def read_runs(path):
    groups = {}
    with open(path, newline="") as raw:
        for row in csv.DictReader(raw, delimiter="\t"):
            key = (row["input"], row["form"], row["tool"])
            groups.setdefault(key, []).append(row)
    return groups


def summarize(rows):
    finished = [row for row in rows if row["exit_status"] != TIMEOUT_STATUS]
    statuses = sorted({row["exit_status"] for row in rows})
    if not finished:
        return {"median": None, "statuses": statuses, "runs": len(rows)}
    seconds = [float(row["seconds"]) for row in finished]
    rss_mib = [int(row["max_rss_kib"]) / 1024 for row in finished]
    return {
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "rss_median": statistics.median(rss_mib),
        "rss_min": min(rss_mib),
        "rss_max": max(rss_mib),
        "runs": len(finished),
        "timed_out": len(rows) - len(finished),
        "statuses": statuses,
    }


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return "–"
    return f"{numerator / denominator:.2f}×"


def main():
    groups = read_runs(sys.argv[1])
    summaries = {key: summarize(rows) for key, rows in groups.items()}

    print("| input | form | tool | wall s, median (min–max) | peak RSS MiB, median (min–max) "
          "| runs | exit | × floor | × hardfs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (input_name, form, tool), summary in summaries.items():
        floor = summaries.get((input_name, form, FLOORS[form]), {}).get("median")
        hardfs = summaries.get((input_name, form, "hardfs"), {}).get("median")
        exits = ",".join(summary["statuses"])
        if summary["median"] is None:
            print(f"| {input_name} | {form} | {tool} | timed out | – | 0 | {exits} | – | – |")
            continue
        wall = f"{summary['median']:.2f} ({summary['min']:.2f}–{summary['max']:.2f})"
        rss = (f"{summary['rss_median']:.0f} "
               f"({summary['rss_min']:.0f}–{summary['rss_max']:.0f})")
        runs = str(summary["runs"])
        if summary["timed_out"]:
            runs += f" (+{summary['timed_out']} timed out)"
        print(f"| {input_name} | {form} | {tool} | {wall} | {rss} | {runs} | {exits} "
              f"| {ratio(summary['median'], floor)} | {ratio(summary['median'], hardfs)} |")


if __name__ == "__main__":
    main()
