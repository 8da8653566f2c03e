//! Errors of planning and writing a hardened image. Each names the layer,
//! blob or path involved.

use std::path::PathBuf;

use hardfs_image::ImageError;
use hardfs_tar::TarError;

#[derive(Debug, thiserror::Error)]
pub enum HardenError {
    #[error("cannot read the input image")]
    Image(#[source] ImageError),
    #[error("cannot read layer {layer} ({digest})")]
    Layer {
        layer: usize,
        digest: String,
        #[source]
        source: hardfs_fs::FsError,
    },
    #[error("cannot read the tar stream of layer {layer} ({digest})")]
    LayerTar {
        layer: usize,
        digest: String,
        #[source]
        source: TarError,
    },
    #[error("cannot merge layer {layer} ({digest}) into the filesystem")]
    Merge {
        layer: usize,
        digest: String,
        #[source]
        source: hardfs_fs::FsError,
    },
    #[error("layer {layer} {what} mismatch: expected {expected}, computed {actual}")]
    DigestMismatch {
        layer: usize,
        what: &'static str,
        expected: String,
        actual: String,
    },
    #[error("the container would run as root (config.User is {configured:?})")]
    RootUser { configured: String },
    #[error("cannot resolve the runtime user `{spec}`: {reason}")]
    User { spec: String, reason: String },
    #[error("cannot re-emit `{path}` in append mode: its content was not found in any layer; use --mode rewrite")]
    AppendContent { path: String },
    #[error("--keep `{path}` is a glob; give each path to keep with its own --keep")]
    KeepGlob { path: String },
    #[error("invalid --remove glob `{glob}`: {reason}")]
    InvalidGlob { glob: String, reason: String },
    #[error("invalid output reference `{reference}`: {reason}")]
    InvalidOutput { reference: String, reason: String },
    #[error("output `{}` already exists", path.display())]
    OutputExists { path: PathBuf },
    #[error("a root directory (`dir:`) cannot be written as an image; use --rootfs to harden it in place")]
    RootDirectoryInput,
    #[error("invalid configuration blob of the input image")]
    Config(#[source] serde_json::Error),
    #[error("failed to write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot harden the root filesystem `{}`: {reason}", path.display())]
    RootfsDirectory { path: PathBuf, reason: String },
    #[error("cannot harden `{path}` in the root filesystem")]
    Rootfs {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
