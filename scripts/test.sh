#!/usr/bin/env bash
# The project's test command: installs the tools the tests need, builds the
# real test images, checks that their servers run, then runs every Rust
# test. Extra arguments go to `cargo test`.
#
# Usage: scripts/test.sh [CARGO_TEST_ARGS...]
#
# Runs as root, because podman builds and runs the test images with root's
# storage. The Rust tests find the images through HARDFS_TEST_IMAGES (the
# images.json that scripts/build-images.sh writes) and the podman oracle
# through HARDFS_ORACLE.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"

export HARDFS_TEST_IMAGES="$CACHE_DIR/test-images/images.json"
export HARDFS_ORACLE="$REPO_ROOT/scripts/oracle.sh"
# ISA-L is installed below, so a build without it is a failed install step.
export HARDFS_EXPECT_ISAL=1

install_tools() {
    command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain with rustup"
    ensure_packages "${BUILD_PACKAGES[@]}" "${IMAGE_TOOL_PACKAGES[@]}"
}

run_cargo_tests() {
    cargo test --workspace --locked --no-fail-fast "$@"
}

main() {
    local start=$SECONDS
    phase install-tools install_tools
    phase build-images "$REPO_ROOT/scripts/build-images.sh"
    phase smoke-images "$REPO_ROOT/scripts/smoke-images.sh"
    phase cargo-test run_cargo_tests "$@"
    log "all phases passed in $((SECONDS - start)) s"
}

main "$@"
