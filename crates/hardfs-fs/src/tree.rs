//! The merged tree: an arena of path nodes pointing at shared inodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use hardfs_tar::{EntryType, CAPABILITY_XATTR};

use crate::path::display_absolute;
use crate::FsError;

/// Maximum number of symlinks followed while resolving one path, as Linux's
/// MAXSYMLINKS.
pub(crate) const MAX_SYMLINK_DEPTH: usize = 40;

pub(crate) type NodeId = u32;
pub(crate) type InodeId = u32;
pub(crate) const ROOT: NodeId = 0;

/// File type in the merged tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl FileKind {
    pub(crate) fn from_entry(entry_type: EntryType) -> FileKind {
        match entry_type {
            EntryType::Regular | EntryType::Hardlink => FileKind::Regular,
            EntryType::Directory => FileKind::Directory,
            EntryType::Symlink => FileKind::Symlink,
            EntryType::CharDevice => FileKind::CharDevice,
            EntryType::BlockDevice => FileKind::BlockDevice,
            EntryType::Fifo => FileKind::Fifo,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Regular => "regular file",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::Fifo => "FIFO",
        }
    }
}

/// File metadata shared by every hardlinked name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub kind: FileKind,
    /// Permission and special bits (`0o7777` mask).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Symlink target as stored in the layer.
    pub symlink_target: Option<Box<[u8]>>,
    pub xattrs: crate::Xattrs,
    pub device: (u32, u32),
    /// Layer whose entry created this inode.
    pub layer: usize,
    /// Offset of that entry in the layer's uncompressed tar.
    pub offset: u64,
    /// Content, kept only for the paths asked for when reading.
    pub content: Option<Arc<[u8]>>,
    /// Names in the merged tree that point at this inode.
    pub(crate) links: u32,
}

impl Inode {
    /// Number of names in the final view sharing this inode.
    pub fn link_count(&self) -> u32 {
        self.links
    }

    pub fn xattr(&self, key: &[u8]) -> Option<&[u8]> {
        self.xattrs
            .iter()
            .find(|(name, _)| &**name == key)
            .map(|(_, value)| &**value)
    }

    pub fn capability(&self) -> Option<&[u8]> {
        self.xattr(CAPABILITY_XATTR)
    }

    pub fn is_privileged(&self) -> bool {
        crate::is_privileged(self.kind, self.mode, self.capability().is_some())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub name: Box<[u8]>,
    pub parent: NodeId,
    pub inode: InodeId,
    /// Layer that last changed this path.
    pub layer: usize,
    /// Whether the layer entry that made this path was a hardlink entry.
    pub via_hardlink: bool,
    pub children: BTreeMap<Box<[u8]>, NodeId>,
}

/// The merged filesystem.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    pub(crate) inodes: Vec<Inode>,
    pub(crate) ghosts: Vec<crate::Ghost>,
    pub(crate) duplicates: Vec<crate::Duplicate>,
    pub(crate) diagnostics: Vec<crate::Diagnostic>,
}

/// One path of the final view with its metadata.
#[derive(Clone, Copy, Debug)]
pub struct FileRef<'a> {
    tree: &'a Tree,
    node: NodeId,
}

impl<'a> FileRef<'a> {
    pub fn inode(&self) -> &'a Inode {
        &self.tree.inodes[self.tree.nodes[self.node as usize].inode as usize]
    }

    /// Layer that last changed this path (base layer = 0).
    pub fn layer(&self) -> usize {
        self.tree.nodes[self.node as usize].layer
    }

    /// Returns the path relative to the root, as raw bytes without a leading `/`.
    pub fn path(&self) -> Vec<u8> {
        self.tree.path_of(self.node)
    }

    /// Returns the absolute path, escaped for display.
    pub fn display(&self) -> String {
        display_absolute(&self.path())
    }

    /// Lists every other name in the final view that shares this inode.
    pub fn other_names(&self) -> Vec<Vec<u8>> {
        let inode = self.tree.nodes[self.node as usize].inode;
        self.tree
            .nodes_of_inode(inode)
            .into_iter()
            .filter(|&node| node != self.node)
            .map(|node| self.tree.path_of(node))
            .collect()
    }
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// Creates an empty tree: the root directory, mode 0755, owned by root,
    /// as a runtime creates it before applying the first layer.
    pub fn new() -> Self {
        let root_inode = Inode {
            kind: FileKind::Directory,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            symlink_target: None,
            xattrs: Vec::new(),
            device: (0, 0),
            layer: 0,
            offset: 0,
            content: None,
            links: 1,
        };
        let root = Node {
            name: Box::default(),
            parent: ROOT,
            inode: 0,
            layer: 0,
            via_hardlink: false,
            children: BTreeMap::new(),
        };
        Tree {
            nodes: vec![root],
            inodes: vec![root_inode],
            ghosts: Vec::new(),
            duplicates: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    pub fn root(&self) -> FileRef<'_> {
        FileRef {
            tree: self,
            node: ROOT,
        }
    }

    /// Looks a path up without following a symlink in its last component;
    /// symlinks in parent components are followed inside the image.
    pub fn lookup(&self, path: &[u8]) -> Option<FileRef<'_>> {
        let normalized = crate::normalize(path).ok()?;
        let (parent, name) = crate::layer::split_last(&normalized);
        let parent = self.resolve(parent, true, 0).ok()??;
        let node = if name.is_empty() {
            parent
        } else {
            *self.nodes[parent as usize].children.get(name)?
        };
        Some(FileRef { tree: self, node })
    }

    /// Looks a path up following symlinks in every component, inside the image.
    pub fn lookup_following(&self, path: &[u8]) -> Option<FileRef<'_>> {
        let normalized = crate::normalize(path).ok()?;
        let node = self.resolve(&normalized, true, 0).ok()??;
        Some(FileRef { tree: self, node })
    }

    /// Returns the content of a file kept while reading, following symlinks.
    pub fn content(&self, path: &[u8]) -> Option<&[u8]> {
        self.lookup_following(path)?.inode().content.as_deref()
    }

    /// Visits every path of the final view depth-first, children sorted by
    /// name bytes, the root first.
    pub fn walk(&self, mut visit: impl FnMut(&[u8], FileRef<'_>)) {
        let mut path = Vec::new();
        self.walk_node(ROOT, &mut path, &mut visit);
    }

    fn walk_node(
        &self,
        node: NodeId,
        path: &mut Vec<u8>,
        visit: &mut impl FnMut(&[u8], FileRef<'_>),
    ) {
        visit(path, FileRef { tree: self, node });
        for (name, &child) in &self.nodes[node as usize].children {
            let before = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            self.walk_node(child, path, visit);
            path.truncate(before);
        }
    }

    /// Number of paths in the final view, the root included.
    pub fn len(&self) -> usize {
        let mut count = 0;
        self.walk(|_, _| count += 1);
        count
    }

    pub fn is_empty(&self) -> bool {
        self.nodes[ROOT as usize].children.is_empty()
    }

    pub(crate) fn path_of(&self, mut node: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        while node != ROOT {
            parts.push(&self.nodes[node as usize].name);
            node = self.nodes[node as usize].parent;
        }
        parts.reverse();
        parts
            .iter()
            .map(|part| &***part)
            .collect::<Vec<&[u8]>>()
            .join(&b'/')
    }

    /// Live nodes pointing at `inode`, found through the tree.
    pub(crate) fn nodes_of_inode(&self, inode: InodeId) -> Vec<NodeId> {
        let mut found = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(node) = stack.pop() {
            if self.nodes[node as usize].inode == inode {
                found.push(node);
            }
            stack.extend(self.nodes[node as usize].children.values());
        }
        found
    }

    pub(crate) fn inode_of(&self, node: NodeId) -> &Inode {
        &self.inodes[self.nodes[node as usize].inode as usize]
    }

    /// Returns the normalized path a symlink in directory `dir` points to.
    /// An absolute target and `..` stay inside the image, as under chroot.
    pub(crate) fn symlink_destination(&self, dir: NodeId, target: &[u8]) -> Vec<u8> {
        let base = if target.first() == Some(&b'/') {
            Vec::new()
        } else {
            self.path_of(dir)
        };
        clamp(&[&base[..], b"/", target].concat())
    }

    /// Resolves a normalized path from the root. Symlinks in every component
    /// but the last are followed; the last is followed when `follow_last`.
    /// Absolute symlink targets and `..` stay inside the image, as under chroot.
    pub(crate) fn resolve(
        &self,
        path: &[u8],
        follow_last: bool,
        depth: usize,
    ) -> Result<Option<NodeId>, FsError> {
        if depth > MAX_SYMLINK_DEPTH {
            return Err(FsError::SymlinkLoop {
                entry: display_absolute(path),
            });
        }
        let mut current = ROOT;
        let parts: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|part| !part.is_empty())
            .collect();
        for (index, part) in parts.iter().enumerate() {
            let is_last = index + 1 == parts.len();
            let Some(&child) = self.nodes[current as usize].children.get(*part) else {
                return Ok(None);
            };
            let inode = self.inode_of(child);
            if inode.kind == FileKind::Symlink && (!is_last || follow_last) {
                let target = inode.symlink_target.as_deref().unwrap_or_default();
                let destination = self.symlink_destination(current, target);
                let Some(resolved) = self.resolve(&destination, true, depth + 1)? else {
                    return Ok(None);
                };
                current = resolved;
            } else {
                current = child;
            }
        }
        Ok(Some(current))
    }
}

/// Normalizes a path built from a symlink target, clamping `..` at the root.
pub(crate) fn clamp(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join(&b'/')
}
