//! The final filesystem of a container image, held as metadata.
//!
//! Layers are read as tar streams into [`Layer`] values: entries with
//! normalized paths and classified whiteouts, without file contents except
//! the few files asked for. They are then applied in order to a [`Tree`]
//! as Podman applies them. A layer's whiteouts go first, against the lower
//! layers only, then its entries in tar order, and the last of duplicate
//! entries wins. Parents follow Podman's overlay storage, as `apply`
//! explains.
//!
//! Every path keeps the layer that last changed it, hardlinked names share
//! one [`Inode`], and privileged files that a later layer hid or changed are
//! kept as [`Ghost`]s.

mod apply;
mod error;
mod layer;
mod path;
mod tree;

pub use apply::{Diagnostic, DiagnosticKind, Duplicate, Ghost, GhostReason};
pub use error::FsError;
pub use layer::{read_layer, read_layer_seekable, Layer, LayerEntry, ReadOptions, Whiteout};
pub use path::{display_path, normalize, NormalizedPath};
pub use tree::{FileKind, FileRef, Inode, Tree};

/// One extended attribute as (name, value).
pub type Xattr = (Box<[u8]>, Box<[u8]>);

/// Extended attributes in archive order.
pub type Xattrs = Vec<Xattr>;

/// Whether a file's mode or attributes grant privileges when it is executed:
/// setuid, setgid or file capabilities on a regular file.
pub fn is_privileged(kind: FileKind, mode: u32, has_capability: bool) -> bool {
    kind == FileKind::Regular && (mode & 0o6000 != 0 || has_capability)
}
