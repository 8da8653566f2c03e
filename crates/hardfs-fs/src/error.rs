//! Errors of reading layers and applying them.

use hardfs_tar::TarError;

/// A layer that could not be read or applied. `entry` values are escaped
/// for display.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("invalid tar stream")]
    Tar(#[from] TarError),
    #[error("whiteout `{entry}` names no file: `.wh.` must be followed by the name of the file it hides")]
    InvalidWhiteout { entry: String },
    #[error("entry `{entry}` climbs out of the image root with `..`; container runtimes reject such layers")]
    EscapesRoot { entry: String },
    #[error(
        "hardlink `{entry}` points to `{target}`, which does not exist in this or any lower layer"
    )]
    MissingLinkTarget { entry: String, target: String },
    #[error("hardlink `{entry}` points to `{target}`, which is a directory")]
    LinkToDirectory { entry: String, target: String },
    #[error("entry `{entry}` needs `{parent}` to be a directory, but it is a {kind}")]
    ParentNotDirectory {
        entry: String,
        parent: String,
        kind: &'static str,
    },
    #[error("too many levels of symbolic links resolving `{entry}`")]
    SymlinkLoop { entry: String },
}
