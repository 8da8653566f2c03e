//! The merged tree: an arena of path nodes pointing at shared inodes.
//!
//! Memory grows with the number of paths, so nodes are kept small. Names
//! live in one byte arena, and a hash table keyed by (parent, name) finds a
//! child. Each directory's children form a circular list, sorted by name
//! after every layer.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use hardfs_tar::{EntryType, CAPABILITY_XATTR};

use crate::path::display_absolute;
use crate::FsError;

/// Maximum number of symlinks followed while resolving one path, as Linux's
/// MAXSYMLINKS.
pub(crate) const MAX_SYMLINK_DEPTH: usize = 40;

pub(crate) type NodeId = u32;
pub(crate) type InodeId = u32;
pub(crate) const ROOT: NodeId = 0;
/// No node: the end of a list, or a directory without children.
pub(crate) const NONE: NodeId = NodeId::MAX;

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
    /// Names in the merged tree that point at this inode.
    pub(crate) links: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Layer whose entry created this inode.
    pub layer: usize,
    /// Offset of that entry in the layer's uncompressed tar.
    pub offset: u64,
    /// Fields that few inodes use, boxed so that a plain file stays small.
    extra: Option<Box<Extra>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Extra {
    symlink_target: Option<Box<[u8]>>,
    xattrs: crate::Xattrs,
    device: (u32, u32),
    content: Option<Arc<[u8]>>,
}

impl Inode {
    /// Creates an inode without a symlink target, attributes, device
    /// numbers or kept content.
    pub(crate) fn plain(kind: FileKind, mode: u32, uid: u64, gid: u64, layer: usize) -> Inode {
        Inode {
            kind,
            mode,
            links: 0,
            uid,
            gid,
            size: 0,
            layer,
            offset: 0,
            extra: None,
        }
    }

    pub(crate) fn set_extra(
        &mut self,
        symlink_target: Option<Box<[u8]>>,
        xattrs: crate::Xattrs,
        device: (u32, u32),
        content: Option<Arc<[u8]>>,
    ) {
        let extra = Extra {
            symlink_target,
            xattrs,
            device,
            content,
        };
        self.extra = (extra != Extra::default()).then(|| Box::new(extra));
    }

    /// Number of names in the final view sharing this inode.
    pub fn link_count(&self) -> u32 {
        self.links
    }

    /// Symlink target as stored in the layer.
    pub fn symlink_target(&self) -> Option<&[u8]> {
        self.extra.as_ref()?.symlink_target.as_deref()
    }

    /// Extended attributes as (name, value) pairs in archive order.
    pub fn xattrs(&self) -> &[crate::Xattr] {
        self.extra.as_ref().map_or(&[], |extra| &extra.xattrs)
    }

    pub(crate) fn xattrs_mut(&mut self) -> &mut crate::Xattrs {
        &mut self.extra.get_or_insert_with(Box::default).xattrs
    }

    /// Major and minor numbers of a device node.
    pub fn device(&self) -> (u32, u32) {
        self.extra.as_ref().map_or((0, 0), |extra| extra.device)
    }

    /// Content, kept only for the paths requested when reading.
    pub fn content(&self) -> Option<&Arc<[u8]>> {
        self.extra.as_ref()?.content.as_ref()
    }

    pub fn xattr(&self, key: &[u8]) -> Option<&[u8]> {
        self.xattrs()
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
    /// Start of the name in `Tree::names`.
    name_start: u64,
    name_len: u32,
    pub parent: NodeId,
    pub inode: InodeId,
    /// Layer that last changed this path.
    pub layer: u32,
    /// First child, or [`NONE`].
    first_child: NodeId,
    /// Siblings in a circular list: the first child's `previous` is the last.
    next: NodeId,
    previous: NodeId,
    /// Whether the layer entry that made this path was a hardlink entry.
    pub via_hardlink: bool,
    /// Whether a child was added out of name order since the last sort.
    unsorted: bool,
}

/// The merged filesystem.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Names of every node, back to back.
    names: Vec<u8>,
    /// Attached nodes other than the root, found by (parent, name).
    index: HashTable<NodeId>,
    hasher: DefaultHashBuilder,
    /// Directories with `unsorted` set.
    unsorted: Vec<NodeId>,
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
        self.tree.nodes[self.node as usize].layer as usize
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
        let mut root_inode = Inode::plain(FileKind::Directory, 0o755, 0, 0, 0);
        root_inode.links = 1;
        let root = Node {
            name_start: 0,
            name_len: 0,
            parent: ROOT,
            inode: 0,
            layer: 0,
            first_child: NONE,
            next: NONE,
            previous: NONE,
            via_hardlink: false,
            unsorted: false,
        };
        Tree {
            nodes: vec![root],
            names: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            unsorted: Vec::new(),
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
            self.child(parent, name)?
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
        self.lookup_following(path)?
            .inode()
            .content()
            .map(|content| &**content)
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
        for child in self.children(node) {
            let before = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(self.name(child));
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
        self.nodes[ROOT as usize].first_child == NONE
    }

    pub(crate) fn path_of(&self, mut node: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        while node != ROOT {
            parts.push(self.name(node));
            node = self.nodes[node as usize].parent;
        }
        parts.reverse();
        parts.join(&b'/')
    }

    /// Live nodes pointing at `inode`, found through the tree.
    pub(crate) fn nodes_of_inode(&self, inode: InodeId) -> Vec<NodeId> {
        let mut found = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(node) = stack.pop() {
            if self.nodes[node as usize].inode == inode {
                found.push(node);
            }
            stack.extend(self.children(node));
        }
        found
    }

    pub(crate) fn name(&self, node: NodeId) -> &[u8] {
        let node = &self.nodes[node as usize];
        &self.names[node.name_start as usize..][..node.name_len as usize]
    }

    /// Finds the child called `name` of directory `parent`.
    pub(crate) fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let hash = self.hasher.hash_one((parent, name));
        self.index
            .find(hash, |&id| {
                self.nodes[id as usize].parent == parent && self.name(id) == name
            })
            .copied()
    }

    /// Iterates over the children of `parent`, in name order once the
    /// layer that added them has been applied.
    pub(crate) fn children(&self, parent: NodeId) -> Children<'_> {
        Children {
            tree: self,
            first: self.nodes[parent as usize].first_child,
            next: self.nodes[parent as usize].first_child,
        }
    }

    /// Adds a new node for `name` below `parent`, which must not have a
    /// child of that name. `name_from` reuses the stored name of a node
    /// with the same name instead of storing it again.
    pub(crate) fn push_child(
        &mut self,
        parent: NodeId,
        name: &[u8],
        name_from: Option<NodeId>,
        inode: InodeId,
        layer: u32,
        via_hardlink: bool,
    ) -> NodeId {
        let id = NodeId::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != NONE)
            .expect("fewer paths than the entry limit allows");
        let (name_start, name_len) = match name_from {
            Some(other) => {
                let other = &self.nodes[other as usize];
                (other.name_start, other.name_len)
            }
            None => {
                let start = self.names.len() as u64;
                self.names.extend_from_slice(name);
                (
                    start,
                    u32::try_from(name.len()).expect("names are shorter than 4 GiB"),
                )
            }
        };
        self.nodes.push(Node {
            name_start,
            name_len,
            parent,
            inode,
            layer,
            first_child: NONE,
            next: id,
            previous: id,
            via_hardlink,
            unsorted: false,
        });

        let Tree {
            nodes,
            names,
            index,
            hasher,
            ..
        } = self;
        let name_of = |id: NodeId| {
            let node = &nodes[id as usize];
            &names[node.name_start as usize..][..node.name_len as usize]
        };
        let hash = hasher.hash_one((parent, name));
        index.insert_unique(hash, id, |&other| {
            hasher.hash_one((nodes[other as usize].parent, name_of(other)))
        });

        let first = self.nodes[parent as usize].first_child;
        if first == NONE {
            self.nodes[parent as usize].first_child = id;
        } else {
            let last = self.nodes[first as usize].previous;
            if self.name(last) > name && !self.nodes[parent as usize].unsorted {
                self.nodes[parent as usize].unsorted = true;
                self.unsorted.push(parent);
            }
            self.nodes[id as usize].previous = last;
            self.nodes[id as usize].next = first;
            self.nodes[last as usize].next = id;
            self.nodes[first as usize].previous = id;
        }
        id
    }

    /// Takes `node` out of its parent's children. Its own children stay
    /// linked to it but are no longer found by name.
    pub(crate) fn unlink(&mut self, node: NodeId) {
        let hash = self
            .hasher
            .hash_one((self.nodes[node as usize].parent, self.name(node)));
        if let Ok(entry) = self.index.find_entry(hash, |&id| id == node) {
            entry.remove();
        }
        let Node {
            parent,
            next,
            previous,
            ..
        } = self.nodes[node as usize];
        if next == node {
            self.nodes[parent as usize].first_child = NONE;
        } else {
            self.nodes[previous as usize].next = next;
            self.nodes[next as usize].previous = previous;
            if self.nodes[parent as usize].first_child == node {
                self.nodes[parent as usize].first_child = next;
            }
        }
        self.nodes[node as usize].next = node;
        self.nodes[node as usize].previous = node;
    }

    /// Puts the children of every directory that got one out of order back
    /// in name order.
    pub(crate) fn sort_children(&mut self) {
        for parent in std::mem::take(&mut self.unsorted) {
            self.nodes[parent as usize].unsorted = false;
            let mut children: Vec<NodeId> = self.children(parent).collect();
            if children.is_empty() {
                continue;
            }
            children.sort_unstable_by(|&a, &b| self.name(a).cmp(self.name(b)));
            for (position, &child) in children.iter().enumerate() {
                let next = children[(position + 1) % children.len()];
                let previous = children[(position + children.len() - 1) % children.len()];
                self.nodes[child as usize].next = next;
                self.nodes[child as usize].previous = previous;
            }
            self.nodes[parent as usize].first_child = children[0];
        }
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
            let Some(child) = self.child(current, part) else {
                return Ok(None);
            };
            let inode = self.inode_of(child);
            if inode.kind == FileKind::Symlink && (!is_last || follow_last) {
                let target = inode.symlink_target().unwrap_or_default();
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

/// The children of one directory, following its circular list once.
pub(crate) struct Children<'a> {
    tree: &'a Tree,
    first: NodeId,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let current = self.next;
        let following = self.tree.nodes[current as usize].next;
        self.next = if following == self.first {
            NONE
        } else {
            following
        };
        Some(current)
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
