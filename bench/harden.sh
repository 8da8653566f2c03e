#!/usr/bin/env bash
# Measures `hardfs harden` on the big test image with gzip and with zstd
# output: the per-layer throughput of rewritten layers (uncompressed tar
# bytes per second, from the JSON summary), the CPU seconds each layer
# used, and the wall time of the run. Then it times the same change made
# with `umoci unpack`, `chmod a-s` and `umoci repack`, and prints Markdown
# rows. Each row starts with the 1-minute load average when the run
# started, because the throughput depends on how busy the machine is.
#
# Usage: bench/harden.sh [IMAGE]   (default: big)
# Environment: HARDFS (default target/release/hardfs), HARDFS_TEST_IMAGES,
#              THREADS (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
hardfs=${HARDFS:-$root/target/release/hardfs}
images_json=${HARDFS_TEST_IMAGES:-$root/.cache/test-images/images.json}
threads=${THREADS:-2}
name=${1:-big}
input=$(python3 -c "import json; print(json.load(open('$images_json'))['images']['$name']['exports']['oci'])")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load_average() {
    cut -d' ' -f1 /proc/loadavg
}

echo "| tool | compression | load | wall s | rewritten layer | tar MB | layer s | layer CPU s | MB/s |"
echo "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
for compression in gzip zstd; do
    load=$(load_average)
    start=$(date +%s.%N)
    "$hardfs" harden "oci:$input" --allow-root --threads "$threads" \
        --compression "$compression" --format json -o "oci:$work/out-$compression" >"$work/summary.json"
    end=$(date +%s.%N)
    python3 - "$work/summary.json" "$compression" "$start" "$end" "$load" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
compression, load = sys.argv[2], sys.argv[5]
wall = float(sys.argv[4]) - float(sys.argv[3])
for layer in summary["output"]["layers"]:
    start = f"| hardfs | {compression} | {load} | {wall:.1f} | {layer['index']}"
    cpu = f"{layer['cpu_seconds']:.2f}"
    if layer["action"] != "rewritten":
        print(f"{start} copied | | {layer['seconds']:.2f} | {cpu} | |")
        continue
    megabytes = layer["tar_bytes"] / 1e6
    rate = megabytes / layer["seconds"]
    print(f"{start} | {megabytes:.0f} | {layer['seconds']:.2f} | {cpu} | {rate:.0f} |")
PY
done

cp -r "$input" "$work/umoci-layout"
load=$(load_average)
start=$(date +%s.%N)
umoci unpack --rootless --image "$work/umoci-layout:latest" "$work/bundle" >/dev/null
find "$work/bundle/rootfs" -xdev -perm /6000 -type f -exec chmod a-s {} \;
umoci repack --image "$work/umoci-layout:hardened" "$work/bundle" >/dev/null
end=$(date +%s.%N)
python3 -c "print(f'| umoci unpack + chmod + repack | gzip | $load | {$end - $start:.1f} | new layer appended | | | | |')"
