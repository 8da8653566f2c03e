#!/usr/bin/env bash
# Compares `hardfs harden` with the usual Containerfile fix, a layer that
# runs `find / -xdev -perm /6000 -type f -exec chmod a-s {} \;`, on the
# same test images, and prints a Markdown table of blob bytes, layer count
# and ghost copies (privileged entries still stored in a lower blob).
#
# Usage: bench/harden-compare.sh [IMAGE...]   (default: nginx redis postgres appuser)
# Environment: HARDFS (default target/release/hardfs), HARDFS_TEST_IMAGES.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
hardfs=${HARDFS:-$root/target/release/hardfs}
images_json=${HARDFS_TEST_IMAGES:-$root/.cache/test-images/images.json}
export CONTAINERS_CONF=$root/ci/containers.conf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Sum of layer blob sizes and layer count of an OCI layout, from its manifest.
layout_stats() {
    python3 - "$1" <<'PY'
import json, sys, os
root = sys.argv[1]
index = json.load(open(os.path.join(root, "index.json")))
digest = index["manifests"][0]["digest"].split(":")[1]
manifest = json.load(open(os.path.join(root, "blobs/sha256", digest)))
layers = manifest["layers"]
print(sum(layer["size"] for layer in layers), len(layers))
PY
}

# Privileged entries that a later layer hid: the plan's hidden changes
# for setuid, setgid and capabilities.
ghosts() {
    "$hardfs" harden "oci:$1" --dry-run --allow-root --format json \
        --skip world-writable --skip ownership 2>/dev/null |
        python3 -c 'import json,sys; plan=json.load(sys.stdin)["plan"]; print(sum(1 for c in plan["changes"] if c["hidden"]))'
}

user_args() {
    case $1 in
        nginx) echo "--user www-data" ;;
        *) echo "" ;;
    esac
}

echo "| image | variant | layer bytes | layers | ghost copies |"
echo "| --- | --- | ---: | ---: | ---: |"
for name in "${@:-nginx redis postgres appuser}"; do
    for image in $name; do
        input=$(python3 -c "import json,sys; print(json.load(open('$images_json'))['images']['$image']['exports']['oci'])")
        reference=$(python3 -c "import json,sys; print(json.load(open('$images_json'))['images']['$image']['reference'])")
        read -r bytes layers < <(layout_stats "$input")
        echo "| $image | input | $bytes | $layers | $(ghosts "$input") |"

        # shellcheck disable=SC2046
        "$hardfs" harden "oci:$input" $(user_args "$image") -o "oci:$work/$image-hardfs" >/dev/null
        read -r bytes layers < <(layout_stats "$work/$image-hardfs")
        echo "| $image | hardfs harden | $bytes | $layers | $(ghosts "$work/$image-hardfs") |"

        printf 'FROM %s\nUSER 0\nRUN find / -xdev -perm /6000 -type f -exec chmod a-s {} \\;\n' "$reference" >"$work/Containerfile"
        podman build -q -t "localhost/hardfs-compare/$image:chmod" -f "$work/Containerfile" "$work" >/dev/null
        podman save --format oci-dir -o "$work/$image-chmod" "localhost/hardfs-compare/$image:chmod" >/dev/null 2>&1
        read -r bytes layers < <(layout_stats "$work/$image-chmod")
        echo "| $image | find … chmod a-s layer | $bytes | $layers | $(ghosts "$work/$image-chmod") |"
        podman rmi -f "localhost/hardfs-compare/$image:chmod" >/dev/null
    done
done
