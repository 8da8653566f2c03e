//! Locates the real test images for the tests of every hardfs crate.
//!
//! `scripts/build-images.sh` builds them and writes `images.json`, which
//! lists each image's podman reference and export paths. `scripts/test.sh`
//! passes its path in `HARDFS_TEST_IMAGES`; without it the default is
//! `.cache/test-images/images.json` in the repository.

use std::path::PathBuf;

/// Returns the repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Returns the podman configuration the tests use: `CONTAINERS_CONF` when
/// it is set, else the repository's `ci/containers.conf`.
pub fn containers_conf() -> std::ffi::OsString {
    std::env::var_os("CONTAINERS_CONF")
        .unwrap_or_else(|| repo_root().join("ci/containers.conf").into_os_string())
}

/// Reads `images.json`. Panics with the command that builds the images when
/// it is missing, so that a test needing them fails instead of passing.
pub fn images_manifest() -> serde_json::Value {
    let path = std::env::var_os("HARDFS_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/test-images/images.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}); build the test images with scripts/build-images.sh",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("images.json is valid JSON")
}
