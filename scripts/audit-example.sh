#!/usr/bin/env bash
# The first command of the README: builds hardfs and the real test images
# (Debian packages, with mmdebstrap and podman), then audits one of them.
#
# Usage: scripts/audit-example.sh [IMAGE_NAME] [HARDFS_AUDIT_ARGS...]
#   IMAGE_NAME  appuser (default), nginx, redis or postgres
#
# The image is read from its OCI archive export; no daemon is involved.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"
name="${1:-appuser}"
shift || true

command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain with rustup"
ensure_packages "${BUILD_PACKAGES[@]}" "${IMAGE_TOOL_PACKAGES[@]}"
phase build-hardfs cargo build --release --locked --quiet --bin hardfs
phase build-images "$REPO_ROOT/scripts/build-images.sh"

archive="$CACHE_DIR/test-images/$name/oci-archive.tar"
# Relative to the checkout when the cache is inside it, as the README shows.
case "$archive" in
    "$REPO_ROOT"/*) archive="./${archive#"$REPO_ROOT"/}" ;;
esac
[ -f "$archive" ] || die "no image named $name: choose appuser, nginx, redis or postgres"
log "hardfs audit oci-archive:$archive"
status=0
target/release/hardfs audit "oci-archive:$archive" "$@" || status=$?
# Exit 1 only means findings at or above --fail-on; the example still ran.
[ "$status" -le 1 ] || exit "$status"
