//! Applying one layer to the merged tree.
//!
//! The order follows the OCI image-spec (layer.md, "Whiteouts"): a layer's
//! whiteouts hide only what lower layers put there, wherever they sit in the
//! tar, so all of them are applied first; then the layer's entries are
//! applied in tar order, a later entry for the same path replacing an
//! earlier one. An existing path is removed before a non-directory entry
//! takes its place; a directory entry over a directory only changes its
//! metadata.
//!
//! Parents follow Podman's overlay storage (checked against podman 4.3 with
//! runc): every layer is unpacked into an empty directory and overlayfs
//! stacks them. A parent missing from the layer itself is created with mode
//! 0755 owned by root, which then hides a lower directory's metadata and
//! replaces a lower symlink or file. Only symlinks made by the same layer are
//! followed, and only inside the image. containerd instead applies a layer
//! onto the lower ones and follows lower symlinks; hardfs takes Podman's view.

use std::collections::HashSet;

use hardfs_tar::EntryType;

use crate::layer::{split_last, Layer, LayerEntry, Whiteout};
use crate::path::display_absolute;
use crate::tree::{FileKind, Inode, InodeId, NodeId, Tree, MAX_SYMLINK_DEPTH, ROOT};
use crate::FsError;

/// Handling of a missing component while resolving a parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Missing {
    /// Create it, as unpacking an entry does.
    Create,
    /// Stop: a whiteout below a missing directory hides nothing.
    Skip,
}

/// A privileged file (setuid, setgid or file capabilities) that a lower
/// layer's blob still carries although the final view hides or changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ghost {
    /// Normalized path the lower layer wrote it at.
    pub path: Box<[u8]>,
    /// Layer whose blob carries the privileged entry.
    pub layer: usize,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub capability: Option<Box<[u8]>>,
    /// Layer that removed or replaced it.
    pub hidden_by: usize,
    pub reason: GhostReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GhostReason {
    /// A whiteout (or an opaque directory) removed the path.
    Removed,
    /// A later entry for the same path replaced it, as `chmod` in a later
    /// build step does.
    Replaced,
}

/// A path given more than once in one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub path: Box<[u8]>,
    pub layer: usize,
}

/// Something unusual in a layer that did not stop the merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub layer: usize,
    pub path: Box<[u8]>,
    pub kind: DiagnosticKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// A whiteout whose target does not exist in the lower layers; a no-op.
    WhiteoutOfMissingPath,
    /// A non-directory entry naming the root, which cannot replace it.
    RootReplacementIgnored,
    /// A hardlink whose target a lower layer wrote. Podman unpacks the
    /// layer into an empty directory and fails on it, while containerd
    /// links to the lower file; the tree follows containerd.
    HardlinkToLowerLayer,
}

impl Tree {
    /// Applies one layer on top of the tree. `index` is the layer's
    /// position, base layer = 0, recorded as the provenance of every path it
    /// changes.
    pub fn apply_layer(&mut self, index: usize, layer: Layer) -> Result<(), FsError> {
        for whiteout in &layer.whiteouts {
            self.apply_whiteout(index, whiteout)?;
        }
        let mut seen: HashSet<Box<[u8]>> = HashSet::with_capacity(layer.entries.len());
        for entry in layer.entries {
            if !seen.insert(entry.path.clone()) {
                self.duplicates.push(Duplicate {
                    path: entry.path.clone(),
                    layer: index,
                });
            }
            self.apply_entry(index, entry)?;
        }
        self.sort_children();
        Ok(())
    }

    pub fn ghosts(&self) -> &[Ghost] {
        &self.ghosts
    }

    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    fn apply_whiteout(&mut self, index: usize, whiteout: &Whiteout) -> Result<(), FsError> {
        match whiteout {
            Whiteout::Remove(path) => {
                let (parent_path, name) = split_last(path);
                let parent = self.ensure_dir(parent_path, index, path, Missing::Skip, 0)?;
                match parent.and_then(|parent| self.child(parent, name)) {
                    Some(node) => self.detach(node, index, GhostReason::Removed),
                    None => self.diagnostics.push(Diagnostic {
                        layer: index,
                        path: path.clone(),
                        kind: DiagnosticKind::WhiteoutOfMissingPath,
                    }),
                }
            }
            Whiteout::Opaque(path) => {
                let Some(dir) = self.ensure_dir(path, index, path, Missing::Skip, 0)? else {
                    return Ok(());
                };
                let children: Vec<NodeId> = self.children(dir).collect();
                for child in children {
                    self.detach(child, index, GhostReason::Removed);
                }
            }
        }
        Ok(())
    }

    fn apply_entry(&mut self, index: usize, entry: LayerEntry) -> Result<(), FsError> {
        if entry.path.is_empty() {
            return self.apply_root_entry(index, entry);
        }
        let path = entry.path.clone();
        let (parent_path, name) = split_last(&path);
        let parent = self
            .ensure_dir(parent_path, index, &path, Missing::Create, 0)?
            .expect("missing parents are created");
        let existing = self.child(parent, name);

        if let Some(existing) = existing {
            let is_dir = self.inode_of(existing).kind == FileKind::Directory;
            if is_dir && entry.entry_type == EntryType::Directory {
                let inode = self.nodes[existing as usize].inode;
                self.update_dir_metadata(inode, index, &entry);
                self.nodes[existing as usize].layer = index as u32;
                return Ok(());
            }
            self.detach(existing, index, GhostReason::Replaced);
        }

        let (inode, via_hardlink) = if entry.entry_type == EntryType::Hardlink {
            let target = self.hardlink_target(&entry)?;
            if self.nodes[target as usize].layer as usize != index {
                self.diagnostics.push(Diagnostic {
                    layer: index,
                    path: entry.path.clone(),
                    kind: DiagnosticKind::HardlinkToLowerLayer,
                });
            }
            let inode = self.nodes[target as usize].inode;
            self.apply_link_metadata(inode, index, &entry);
            (inode, true)
        } else {
            (self.new_inode(index, entry), false)
        };
        self.attach(parent, name, inode, index, via_hardlink);
        Ok(())
    }

    /// Applies a hardlink header's metadata to the inode it shares, as
    /// Podman's applier does after `link()`: `lchown` (which makes the
    /// kernel drop `security.capability`), then the header's xattrs, then
    /// `chmod`. A privileged inode made unprivileged this way is a ghost of
    /// the layer that created it, because that layer's blob is unchanged.
    fn apply_link_metadata(&mut self, inode_id: InodeId, index: usize, entry: &LayerEntry) {
        let target = entry.link.as_deref().unwrap_or_default().into();
        let inode = &mut self.inodes[inode_id as usize];
        let was_privileged = inode.is_privileged();
        let before = (
            inode.mode,
            inode.uid,
            inode.gid,
            inode.capability().map(Box::from),
            inode.layer,
        );
        inode.uid = entry.uid;
        inode.gid = entry.gid;
        let xattrs = inode.xattrs_mut();
        xattrs.retain(|(key, _)| **key != *hardfs_tar::CAPABILITY_XATTR);
        for (key, value) in &entry.xattrs {
            xattrs.retain(|(existing, _)| existing != key);
            xattrs.push((key.clone(), value.clone()));
        }
        inode.mode = entry.mode;
        if was_privileged && !inode.is_privileged() {
            let (mode, uid, gid, capability, layer) = before;
            self.ghosts.push(Ghost {
                path: target,
                layer,
                mode,
                uid,
                gid,
                capability,
                hidden_by: index,
                reason: GhostReason::Replaced,
            });
        }
    }

    /// Applies an entry that names the root. A directory entry changes the
    /// root's metadata. Any other type cannot replace the root and is ignored.
    fn apply_root_entry(&mut self, index: usize, entry: LayerEntry) -> Result<(), FsError> {
        if entry.entry_type == EntryType::Directory {
            let inode = self.nodes[ROOT as usize].inode;
            self.update_dir_metadata(inode, index, &entry);
            self.nodes[ROOT as usize].layer = index as u32;
        } else {
            self.diagnostics.push(Diagnostic {
                layer: index,
                path: entry.path,
                kind: DiagnosticKind::RootReplacementIgnored,
            });
        }
        Ok(())
    }

    fn update_dir_metadata(&mut self, inode: InodeId, index: usize, entry: &LayerEntry) {
        let inode = &mut self.inodes[inode as usize];
        inode.mode = entry.mode;
        inode.uid = entry.uid;
        inode.gid = entry.gid;
        *inode.xattrs_mut() = entry.xattrs.clone();
        inode.layer = index;
        inode.offset = entry.offset;
    }

    /// Finds the node a hardlink entry names.
    fn hardlink_target(&self, entry: &LayerEntry) -> Result<NodeId, FsError> {
        let target = entry.link.as_deref().unwrap_or_default();
        let describe = || (display_absolute(&entry.path), display_absolute(target));
        let Some(node) = self.resolve(target, false, 0)? else {
            let (entry, target) = describe();
            return Err(FsError::MissingLinkTarget { entry, target });
        };
        if node == ROOT || self.inode_of(node).kind == FileKind::Directory {
            let (entry, target) = describe();
            return Err(FsError::LinkToDirectory { entry, target });
        }
        Ok(node)
    }

    fn new_inode(&mut self, index: usize, entry: LayerEntry) -> InodeId {
        let kind = FileKind::from_entry(entry.entry_type);
        let mut inode = Inode::plain(kind, entry.mode, entry.uid, entry.gid, index);
        inode.size = entry.size;
        inode.offset = entry.offset;
        let symlink_target = if kind == FileKind::Symlink {
            entry.link
        } else {
            None
        };
        inode.set_extra(symlink_target, entry.xattrs, entry.device, entry.content);
        self.inodes.push(inode);
        (self.inodes.len() - 1) as InodeId
    }

    fn attach(
        &mut self,
        parent: NodeId,
        name: &[u8],
        inode: InodeId,
        index: usize,
        via_hardlink: bool,
    ) -> NodeId {
        self.inodes[inode as usize].links += 1;
        self.push_child(parent, name, None, inode, index as u32, via_hardlink)
    }

    /// Removes a path and everything below it, recording each privileged
    /// regular entry it drops as a ghost of the layer that wrote it.
    fn detach(&mut self, node: NodeId, index: usize, reason: GhostReason) {
        let path = self.path_of(node);
        self.unlink(node);

        let mut stack = vec![(node, path)];
        while let Some((current, current_path)) = stack.pop() {
            let current_node = &self.nodes[current as usize];
            let inode_id = current_node.inode;
            let inode = &self.inodes[inode_id as usize];
            if inode.is_privileged() && !current_node.via_hardlink {
                self.ghosts.push(Ghost {
                    path: current_path.clone().into_boxed_slice(),
                    layer: current_node.layer as usize,
                    mode: inode.mode,
                    uid: inode.uid,
                    gid: inode.gid,
                    capability: inode.capability().map(Box::from),
                    hidden_by: index,
                    reason,
                });
            }
            self.inodes[inode_id as usize].links -= 1;
            let children: Vec<NodeId> = self.children(current).collect();
            for child in children {
                let child_path = [&current_path[..], b"/", self.name(child)].concat();
                self.unlink(child);
                stack.push((child, child_path));
            }
        }
    }

    /// Resolves a parent directory for an entry, creating missing
    /// directories and following symlinks inside the image.
    fn ensure_dir(
        &mut self,
        path: &[u8],
        index: usize,
        entry: &[u8],
        missing: Missing,
        depth: usize,
    ) -> Result<Option<NodeId>, FsError> {
        if depth > MAX_SYMLINK_DEPTH {
            return Err(FsError::SymlinkLoop {
                entry: display_absolute(entry),
            });
        }
        let mut current = ROOT;
        for part in path.split(|&b| b == b'/').filter(|part| !part.is_empty()) {
            let child = match self.child(current, part) {
                Some(child) if self.nodes[child as usize].layer as usize == index => child,
                Some(child) => self.claim_lower_parent(current, child, index),
                None if missing == Missing::Skip => return Ok(None),
                None => {
                    let inode = self.implicit_dir_inode(index);
                    self.attach(current, part, inode, index, false)
                }
            };
            let inode = self.inode_of(child);
            current = match inode.kind {
                FileKind::Directory => child,
                FileKind::Symlink => {
                    let target = inode.symlink_target().unwrap_or_default();
                    let destination = self.symlink_destination(current, target);
                    match self.ensure_dir(&destination, index, entry, missing, depth + 1)? {
                        Some(resolved) => resolved,
                        None => return Ok(None),
                    }
                }
                kind => {
                    return Err(FsError::ParentNotDirectory {
                        entry: display_absolute(entry),
                        parent: display_absolute(&self.path_of(child)),
                        kind: kind.as_str(),
                    })
                }
            };
        }
        Ok(Some(current))
    }

    /// Makes a lower layer's path usable as a parent in layer `index`, as
    /// Podman's overlay storage does: each layer is unpacked into an empty
    /// directory, where a missing parent is created with mode 0755 owned by
    /// root, and overlayfs then shows that upper directory. So a lower
    /// directory takes mode 0755 and owner 0:0 (until an entry of this layer
    /// sets them), and a lower symlink or file is replaced by the directory;
    /// a lower symlink is never followed.
    fn claim_lower_parent(&mut self, parent: NodeId, child: NodeId, index: usize) -> NodeId {
        let inode_id = self.nodes[child as usize].inode;
        if self.inodes[inode_id as usize].kind == FileKind::Directory {
            let inode = &mut self.inodes[inode_id as usize];
            inode.mode = 0o755;
            inode.uid = 0;
            inode.gid = 0;
            inode.xattrs_mut().clear();
            inode.layer = index;
            self.nodes[child as usize].layer = index as u32;
            return child;
        }
        self.detach(child, index, GhostReason::Replaced);
        let inode = self.implicit_dir_inode(index);
        self.inodes[inode as usize].links += 1;
        let name = self.name(child).to_vec();
        self.push_child(parent, &name, Some(child), inode, index as u32, false)
    }

    fn implicit_dir_inode(&mut self, index: usize) -> InodeId {
        self.inodes
            .push(Inode::plain(FileKind::Directory, 0o755, 0, 0, index));
        (self.inodes.len() - 1) as InodeId
    }
}
