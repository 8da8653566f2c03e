# Shared helpers for the scripts in this folder. Source it, do not run it.
#
# Sets REPO_ROOT and CONTAINERS_CONF, and defines logging, phase timing and
# on-demand installation of Debian packages.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# podman reads this instead of its built-in defaults. Without it every
# container fails in setrlimit, and crun fails on this cgroup layout.
export CONTAINERS_CONF="$REPO_ROOT/ci/containers.conf"

CACHE_DIR="$REPO_ROOT/.cache"

log() {
    printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs "$@" as one named phase and logs how long it took.
# Usage: phase NAME COMMAND [ARGS...]
phase() {
    local name="$1"
    shift
    local start=$SECONDS
    log "phase $name: start"
    if "$@"; then
        log "phase $name: done in $((SECONDS - start)) s"
    else
        local status=$?
        log "phase $name: failed with exit status $status after $((SECONDS - start)) s"
        return "$status"
    fi
}

APT_UPDATED=0

# Installs the Debian packages among "$@" that dpkg does not list as
# installed. Runs `apt-get update` at most once per script run.
ensure_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi

    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (run as root to install them)"
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        APT_UPDATED=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null >&2
}

# Packages that the image scripts call: podman with runc, skopeo for
# exports, mmdebstrap for the base root filesystem, uidmap for podman,
# jq for images.json and libcap2-bin for getcap.
IMAGE_TOOL_PACKAGES=(podman runc skopeo mmdebstrap uidmap jq libcap2-bin)

# ISA-L inflates gzip layers in three quarters of the zlib-rs fallback's time;
# hardfs-tar's build script links it when its header is installed.
BUILD_PACKAGES=(libisal-dev)
