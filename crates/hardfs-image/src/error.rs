//! Errors of opening and reading images. Each names the file or blob.

use std::path::PathBuf;

use hardfs_fs::FsError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not an image: {reason}", path.display())]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("`{name}` is missing from {container}")]
    MissingFile { container: String, name: String },
    #[error("invalid JSON in {what}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{what} digest mismatch: expected {expected}, computed {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what} size mismatch: the descriptor says {expected} bytes, the blob has {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error("{container} holds several images; choose one with {how}: {choices}")]
    Ambiguous {
        container: String,
        how: String,
        choices: String,
    },
    #[error("no image matches `{wanted}` in {container}; it has: {choices}")]
    NoMatch {
        container: String,
        wanted: String,
        choices: String,
    },
    #[error("{container} is a legacy v1.0 docker-archive (`repositories` without `manifest.json`), which hardfs does not read")]
    LegacyArchive { container: String },
    #[error("cannot read {what}")]
    Layer {
        what: String,
        #[source]
        source: FsError,
    },
    #[error("cannot read {what}")]
    Tar {
        what: String,
        #[source]
        source: hardfs_tar::TarError,
    },
}
