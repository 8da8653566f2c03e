#!/usr/bin/env bash
# Prints what a running container of an image shows about the files that
# matter for hardening, so tests can compare hardfs's image model with it.
#
# Usage: scripts/oracle.sh [--writable] IMAGE_REF
#
# IMAGE_REF must already be in podman's storage; nothing is pulled. The
# container runs with --network none and is removed afterwards.
#
# Output: one record a line, fields separated by one tab, the kind first
# and the path last, sorted bytewise (LC_ALL=C). MODE is the permission
# bits in octal, always 4 digits, special bits included (4755, 1777, 0644).
# UID and GID are numeric. TYPE is find's %y letter (f, d, l, c, b, p, s).
#
# Default mode, find run as root (--user 0:0) over / with -xdev:
#   setuid          MODE UID GID TYPE PATH   mode has 04000, any type
#   setgid          MODE UID GID TYPE PATH   mode has 02000, any type
#   world-writable  MODE UID GID TYPE PATH   mode has 00002, not a symlink
#   capability      TEXT HEX PATH            security.capability xattr:
#                                            getcap's text and the raw
#                                            value in lowercase hex
#   mount           PATH                     a mount point in the container
# Capabilities come from the image mounted with `podman image mount`,
# because getcap is not installed in most images.
#
# --writable mode, find run as the image's configured user (USER), with
# `find / -xdev ! -type l -writable`:
#   user      UID GID                 who the container ran as
#   writable  MODE UID GID TYPE PATH  a path that user may write to
#   mount     PATH
#
# Mount points (/proc, /dev, /sys, /etc/hosts, /etc/hostname,
# /etc/resolv.conf, /run/.containerenv, every VOLUME) show what podman
# mounted there, not the image, so they appear only as mount records and
# never as another kind of record. -xdev keeps find out of them.
#
# Needs GNU find in the image, and sh for the mount and user records.
# Exits 0 on success, 1 when podman or find fails, 2 on a usage error.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
    exit 2
}

# Runs a throwaway container of IMAGE with the given podman options.
# Usage: run_container IMAGE [PODMAN_OPTIONS...] -- ENTRYPOINT [ARGS...]
run_container() {
    local image="$1"
    shift
    local options=()
    while [ "$1" != -- ]; do
        options+=("$1")
        shift
    done
    shift
    podman run --rm --pull=never --network none "${options[@]}" \
        --entrypoint "$1" "$image" "${@:2}"
}

# Zero-pads the mode field (the 2nd) of every record to 4 digits.
pad_mode() {
    awk -F '\t' 'BEGIN { OFS = "\t" } { $2 = sprintf("%04d", $2); print }'
}

# Prints the mount points of a container started with the given podman
# options, one a line, with mountinfo's octal escapes decoded.
list_mount_points() {
    local image="$1"
    shift
    run_container "$image" "$@" -- sh -c 'cat /proc/self/mountinfo' \
        | cut -d' ' -f5 \
        | sed -e 's/\\040/ /g' -e 's/\\011/\t/g' -e 's/\\012/\n/g' -e 's/\\134/\\/g'
}

# Drops every record of standard input whose path (the last field) is in
# the file MOUNTS, and appends a mount record for each mount point.
replace_mount_points() {
    local mounts="$1"
    awk -F '\t' 'NR == FNR { mounted[$0] = 1; next }
                 !($NF in mounted) { print }' "$mounts" -
    sed 's/^/mount\t/' "$mounts"
}

# Prints capability records for IMAGE from its mounted root filesystem.
list_capabilities() {
    local image="$1" found="$2" root path hex text
    root="$(podman image mount "$image")"
    mounted_image="$image"
    find_capability_xattrs "$root" >"$found"

    while IFS= read -r -d '' path && IFS= read -r -d '' hex; do
        text="$(getcap "$root$path")"
        text="${text#"$root$path "}"
        printf 'capability\t%s\t%s\t%s\n' "$text" "$hex" "$path"
    done <"$found"

    podman image unmount "$image" >/dev/null
    mounted_image=""
}

# Prints, NUL-terminated, the path under ROOT and the hex value of every
# security.capability xattr on ROOT's filesystem. getcap -r alone cannot
# be parsed back, since both its paths and its text may contain spaces.
find_capability_xattrs() {
    python3 - "$1" <<'PYTHON'
import os
import sys

root = sys.argv[1]
root_device = os.lstat(root).st_dev
for directory, subdirectories, files in os.walk(root):
    # Same as find -xdev: stay on the image's own filesystem.
    subdirectories[:] = [
        name for name in subdirectories
        if os.lstat(os.path.join(directory, name)).st_dev == root_device
    ]
    for name in subdirectories + files:
        path = os.path.join(directory, name)
        if os.path.islink(path):
            continue
        try:
            value = os.getxattr(path, "security.capability", follow_symlinks=False)
        except OSError:
            continue
        relative = "/" + os.path.relpath(path, root)
        sys.stdout.buffer.write(relative.encode("utf-8", "surrogateescape") + b"\0")
        sys.stdout.buffer.write(value.hex().encode() + b"\0")
PYTHON
}

print_privileged_records() {
    local image="$1" scratch="$2"
    list_mount_points "$image" --user 0:0 >"$scratch/mounts"
    run_container "$image" --user 0:0 -- find / -xdev \
        \( -perm -4000 -printf 'setuid\t%m\t%U\t%G\t%y\t%p\n' \) , \
        \( -perm -2000 -printf 'setgid\t%m\t%U\t%G\t%y\t%p\n' \) , \
        \( ! -type l -perm -0002 -printf 'world-writable\t%m\t%U\t%G\t%y\t%p\n' \) \
        >"$scratch/found"
    list_capabilities "$image" "$scratch/xattrs" >"$scratch/capabilities"

    {
        pad_mode <"$scratch/found" | replace_mount_points "$scratch/mounts"
        cat "$scratch/capabilities"
    } | LC_ALL=C sort
}

# find exits 1 when it cannot read a directory, which is expected for a
# user other than root. Any other message on stderr is a real failure.
print_writable_records() {
    local image="$1" scratch="$2" status=0
    list_mount_points "$image" >"$scratch/mounts"
    run_container "$image" -- sh -c 'printf "user\t%s\t%s\n" "$(id -u)" "$(id -g)"' \
        >"$scratch/user"
    run_container "$image" -- find / -xdev ! -type l -writable \
        -printf 'writable\t%m\t%U\t%G\t%y\t%p\n' \
        >"$scratch/found" 2>"$scratch/errors" || status=$?
    if [ "$status" -ne 0 ] && grep -qv 'Permission denied$' "$scratch/errors"; then
        cat "$scratch/errors" >&2
        die "find failed in a container of $image"
    fi

    {
        cat "$scratch/user"
        pad_mode <"$scratch/found" | replace_mount_points "$scratch/mounts"
    } | LC_ALL=C sort
}

mounted_image=""
scratch=""

cleanup() {
    if [ -n "$mounted_image" ]; then
        podman image unmount "$mounted_image" >/dev/null || true
    fi
    if [ -n "$scratch" ]; then
        rm -rf "$scratch"
    fi
}

main() {
    local writable=0
    case "${1:-}" in
        --writable)
            writable=1
            shift
            ;;
        -h | --help | "") usage ;;
    esac
    [ $# -eq 1 ] || usage
    local image="$1"

    podman image exists "$image" || die "image not found in podman storage: $image"

    scratch="$(mktemp -d)"
    trap cleanup EXIT
    if [ "$writable" -eq 1 ]; then
        print_writable_records "$image" "$scratch"
    else
        print_privileged_records "$image" "$scratch"
    fi
}

main "$@"
