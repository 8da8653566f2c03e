//! Locating the shared test corpus, which sits in a `shared/corpus` folder
//! next to (or above) the repository checkout.

use std::path::{Path, PathBuf};

/// Walks up from this crate looking for `shared/corpus`. Panics with a
/// message when it is missing, because the conformance tests must not pass
/// without their data.
pub fn corpus() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        for candidate in [dir.join("shared/corpus"), dir.join("../shared/corpus")] {
            if candidate.join("buildkit").is_dir() {
                return candidate;
            }
        }
    }
    panic!(
        "test corpus not found: expected a `shared/corpus` folder beside the repository, \
         searched upwards from {}",
        start.display()
    );
}

/// Lists the subfolders of `dir`, sorted.
pub fn subfolders(dir: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    folders
}

/// Reads a file as text, panicking with its path on failure.
#[allow(dead_code)] // Not every test binary reads whole files.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}
