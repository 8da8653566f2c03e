#!/usr/bin/env bash
# Starts each test image's CMD in a container and checks that its server
# really serves: nginx returns 200 for GET /, redis replies to PING,
# postgres runs a query, and the appuser image runs as appuser and can write its
# data volume.
#
# Usage: scripts/smoke-images.sh
#
# Run scripts/build-images.sh first. Containers use --network none, so the
# checks talk to each server over the container's own loopback, through
# `podman exec`.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE_PREFIX="localhost/hardfs-test"
READY_TIMEOUT_SECONDS=60

# Removes every container this run started. It finds them by name,
# because start_container runs in a command substitution, a subshell whose
# variables are not visible to the caller.
cleanup() {
    local container
    podman ps --all --format '{{.Names}}' 2>/dev/null \
        | grep -x "hardfs-smoke-.*-$$" \
        | while read -r container; do
            podman rm --force --volumes --time 2 "$container" >/dev/null 2>&1 || true
        done
}
trap cleanup EXIT

start_container() {
    local name="$1" container="hardfs-smoke-$1-$$"
    podman run --detach --pull=never --network none --name "$container" \
        "$IMAGE_PREFIX/$name:latest" >/dev/null
    printf '%s\n' "$container"
}

# Runs COMMAND in CONTAINER until it prints EXPECTED, or fails after
# READY_TIMEOUT_SECONDS. The last output goes to stderr on failure.
expect_output() {
    local container="$1" expected="$2"
    shift 2
    local output="" deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if [ "$(podman container inspect --format '{{.State.Running}}' "$container")" != true ]; then
            podman logs "$container" >&2 || true
            die "$container exited before it was ready"
        fi
        output="$(podman exec "$container" "$@" 2>&1)" || true
        if [ "$output" = "$expected" ]; then
            log "$container: ready, printed \"$expected\""
            return 0
        fi
        sleep 1
    done
    printf '%s\n' "$output" >&2
    die "$container: \"$*\" did not print \"$expected\" within $READY_TIMEOUT_SECONDS s"
}

check_nginx() {
    local container
    container="$(start_container nginx)"
    expect_output "$container" "HTTP/1.1 200 OK" bash -c \
        'exec 3<>/dev/tcp/127.0.0.1/80
         printf "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3
         head -n 1 <&3 | tr -d "\r"'
}

check_redis() {
    local container
    container="$(start_container redis)"
    expect_output "$container" PONG redis-cli ping
}

check_postgres() {
    local container
    container="$(start_container postgres)"
    expect_output "$container" 42 psql --no-psqlrc --tuples-only --no-align \
        --command 'select 6 * 7'
}

check_appuser() {
    local container
    container="$(start_container appuser)"
    expect_output "$container" "appuser written" sh -c \
        'printf "%s " "$(id -un)" && touch /app/data/probe && echo written'
}

main() {
    check_nginx
    check_redis
    check_postgres
    check_appuser
}

main "$@"
