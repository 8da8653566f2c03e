//! One layer read from its tar stream: entries with normalized paths and
//! classified whiteouts, plus the contents of the few files asked for.

use std::io::Read;
use std::sync::Arc;

use hardfs_tar::{EntryType, Limits, Reader};

use crate::path::{display_path, normalize, NormalizedPath};
use crate::FsError;

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Options for reading a layer: limits, and the files whose contents are kept.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub limits: Limits,
    /// Normalized paths whose contents are kept (such as `etc/passwd`).
    pub capture: Vec<NormalizedPath>,
    /// File names whose contents are kept wherever they are, so that a
    /// captured path that is a symlink still finds its target's content.
    pub capture_names: Vec<Box<[u8]>>,
    /// Largest content kept for a captured path, in bytes.
    pub max_capture_size: u64,
}

impl ReadOptions {
    /// Returns whether the content of a regular file at `path` of `size` bytes is kept.
    pub fn wants(&self, path: &[u8], size: u64) -> bool {
        if size > self.max_capture_size {
            return false;
        }
        let (_, name) = split_last(path);
        self.capture.iter().any(|captured| **captured == *path)
            || self
                .capture_names
                .iter()
                .any(|captured| **captured == *name)
    }
}

impl ReadOptions {
    /// Options that keep `/etc/passwd` and `/etc/group`, which user
    /// resolution needs.
    pub fn with_account_files() -> Self {
        ReadOptions {
            limits: Limits::default(),
            capture: vec![Box::from(&b"etc/passwd"[..]), Box::from(&b"etc/group"[..])],
            capture_names: vec![Box::from(&b"passwd"[..]), Box::from(&b"group"[..])],
            max_capture_size: 4 << 20,
        }
    }
}

/// A whiteout marker's meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whiteout {
    /// `.wh.NAME`: hides `NAME` (the normalized path) from lower layers.
    Remove(NormalizedPath),
    /// `.wh..wh..opq`: hides every lower child of the directory.
    Opaque(NormalizedPath),
}

/// One non-whiteout entry of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerEntry {
    pub path: NormalizedPath,
    pub entry_type: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Symlink target as stored, or the normalized hardlink target.
    pub link: Option<Box<[u8]>>,
    pub xattrs: crate::Xattrs,
    pub device: (u32, u32),
    /// Offset of the entry's first header block in the uncompressed stream.
    pub offset: u64,
    /// Content, for captured paths only.
    pub content: Option<Arc<[u8]>>,
}

impl LayerEntry {
    pub fn xattr(&self, key: &[u8]) -> Option<&[u8]> {
        self.xattrs
            .iter()
            .find(|(name, _)| &**name == key)
            .map(|(_, value)| &**value)
    }
}

/// A layer's entries in tar order, with its whiteouts apart.
#[derive(Clone, Debug, Default)]
pub struct Layer {
    pub entries: Vec<LayerEntry>,
    pub whiteouts: Vec<Whiteout>,
    /// Bytes of uncompressed tar read.
    pub tar_size: u64,
}

/// Reads every entry of one layer's uncompressed tar stream, then the
/// stream to its end so that a hashing reader underneath sees every byte.
pub fn read_layer<R: Read>(stream: R, options: &ReadOptions) -> Result<Layer, FsError> {
    read_entries(Reader::new(stream).with_limits(options.limits), options)
}

/// Like [`read_layer`], for an uncompressed tar that can be read by seeking
/// over file contents.
pub fn read_layer_seekable<R: Read + std::io::Seek>(
    stream: R,
    options: &ReadOptions,
) -> Result<Layer, FsError> {
    read_entries(
        Reader::new_seekable(stream).with_limits(options.limits),
        options,
    )
}

fn read_entries<R: Read>(mut reader: Reader<R>, options: &ReadOptions) -> Result<Layer, FsError> {
    let mut layer = Layer::default();
    while let Some(entry) = reader.next_entry()? {
        let path = normalize(&entry.path)?;
        let (parent, base) = split_last(&path);
        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX) {
            if base == OPAQUE_MARKER {
                layer.whiteouts.push(Whiteout::Opaque(parent.into()));
            } else if matches!(hidden, b"" | b"." | b"..") {
                return Err(FsError::InvalidWhiteout {
                    entry: display_path(&entry.path),
                });
            } else if hidden.starts_with(WHITEOUT_PREFIX) {
                // Other `.wh..wh.` names are aufs metadata (`.wh..wh.plnk`),
                // which Podman and containerd skip.
            } else {
                layer.whiteouts.push(Whiteout::Remove(join(parent, hidden)));
            }
            continue;
        }
        let link = match entry.entry_type {
            EntryType::Symlink => Some(entry.link_name.clone().into_boxed_slice()),
            EntryType::Hardlink => Some(normalize(&entry.link_name)?),
            _ => None,
        };
        let wanted = entry.entry_type == EntryType::Regular && options.wants(&path, entry.size);
        let content = if wanted {
            Some(Arc::from(reader.read_data(options.max_capture_size)?))
        } else {
            None
        };
        layer.entries.push(LayerEntry {
            path,
            entry_type: entry.entry_type,
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            size: entry.size,
            link,
            xattrs: entry
                .xattrs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
            device: (entry.dev_major, entry.dev_minor),
            offset: entry.header_offset,
            content,
        });
    }
    reader.drain()?;
    layer.tar_size = reader.offset();
    Ok(layer)
}

/// Splits a normalized path into its parent and last component.
pub(crate) fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(index) => (&path[..index], &path[index + 1..]),
        None => (&[], path),
    }
}

pub(crate) fn join(parent: &[u8], name: &[u8]) -> NormalizedPath {
    if parent.is_empty() {
        return name.into();
    }
    [parent, b"/", name].concat().into_boxed_slice()
}
