//! The plan: every header edit, each with its reason, computed from the
//! layers and the merged tree before anything is written.
//!
//! Bit changes (setuid, setgid, capabilities, world-write) apply to every
//! entry of every layer, hidden lower copies included, so that no blob keeps
//! a privileged copy. Ownership changes apply to the final view: each path
//! the runtime user could write outside the writable paths is edited in the
//! layer that last wrote it, under every hardlinked name.

use std::collections::{BTreeMap, BTreeSet};

use hardfs_fs::{display_path, normalize, DiagnosticKind, FileKind, LayerEntry, Tree};
use hardfs_tar::{Entry, EntryType, HeaderPatch, CAPABILITY_XATTR};
use serde::Serialize;

use crate::scan::Scan;
use crate::user::{plan_user, RuntimeUser};
use crate::{HardenError, HardenOptions};

/// Top-level directories whose removal breaks nearly every image, named in
/// a warning when `--remove` matches them.
const SYSTEM_DIRECTORIES: [&[u8]; 9] = [
    b"bin", b"etc", b"lib", b"lib64", b"sbin", b"tmp", b"usr", b"var", b"run",
];

/// Paths the runtime mounts its own file systems on.
const RUNTIME_MOUNTS: [&[u8]; 3] = [b"dev", b"proc", b"sys"];

/// Mode and owner of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// Kind of edit in a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    ClearSetuid,
    ClearSetgid,
    DropCapability,
    ClearWorldWrite,
    LockOwnership,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ClearSetuid => "clear-setuid",
            Action::ClearSetgid => "clear-setgid",
            Action::DropCapability => "drop-capability",
            Action::ClearWorldWrite => "clear-world-write",
            Action::LockOwnership => "lock-ownership",
        }
    }

    pub(crate) fn reason(self) -> &'static str {
        match self {
            Action::ClearSetuid => "setuid runs the file with its owner's privileges",
            Action::ClearSetgid => {
                "setgid runs a file with its group's privileges (on a directory, new files inherit its group)"
            }
            Action::DropCapability => "file capabilities grant privileges on execution",
            Action::ClearWorldWrite => "any user could modify it",
            Action::LockOwnership => "the runtime user could modify it outside the writable paths",
        }
    }
}

/// One edit of one entry's headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Absolute path, escaped for display.
    pub path: String,
    /// Layer whose blob contains the entry (base layer = 0).
    pub layer: usize,
    pub actions: Vec<Action>,
    pub before: Metadata,
    pub after: Metadata,
    /// Whether the entry is hidden in the final view (a ghost copy that a
    /// later layer removed or replaced).
    pub hidden: bool,
    pub reason: String,
}

/// Edits of the entries at one path of one layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryEdit {
    /// Mode bits cleared.
    pub clear_bits: u32,
    /// Mode bits set (group read or search kept for the runtime user).
    pub add_bits: u32,
    /// New `uid`, `gid`.
    pub owner: Option<(u64, u64)>,
    pub drop_capability: bool,
}

impl EntryEdit {
    /// The header patch for one tar entry at this path; `None` when the
    /// entry already has what the edit requests.
    pub fn patch_for(&self, entry: &Entry) -> Option<HeaderPatch> {
        let mut patch = HeaderPatch::default();
        let mode = (entry.mode & !self.clear_bits) | self.add_bits;
        if mode != entry.mode {
            patch.mode = Some(mode);
        }
        if let Some((uid, gid)) = self.owner {
            patch.uid = (entry.uid != uid).then_some(uid);
            patch.gid = (entry.gid != gid).then_some(gid);
        }
        if self.drop_capability && entry.xattr(CAPABILITY_XATTR).is_some() {
            patch.drop_xattrs.push(CAPABILITY_XATTR.to_vec());
        }
        (!patch.is_empty()).then_some(patch)
    }
}

/// A volume removed from the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedVolume {
    pub path: String,
    pub reason: String,
}

/// A path left unchanged on request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeptPath {
    pub path: String,
    pub reason: String,
}

/// Everything `harden` will change.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Edits per layer, keyed by normalized path.
    pub edits: Vec<BTreeMap<Box<[u8]>, EntryEdit>>,
    pub user: Option<RuntimeUser>,
    /// `config.User` of the input.
    pub previous_user: Option<String>,
    /// Volumes the output keeps.
    pub volumes: Vec<String>,
    pub dropped_volumes: Vec<DroppedVolume>,
    /// Paths the runtime user may still write.
    pub writable: Vec<String>,
    /// Sticky world-writable directories, which need a tmpfs under a
    /// read-only root filesystem.
    pub tmpfs: Vec<String>,
    pub kept: Vec<KeptPath>,
    /// Final-view paths removed with whiteouts, normalized.
    pub whiteouts: Vec<Box<[u8]>>,
    /// Removed paths, absolute, for display.
    pub removed: Vec<String>,
    /// Problems the output may have, such as a command that needs a
    /// removed path.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Layers that have at least one entry to rewrite.
    pub fn rewritten_layers(&self) -> Vec<usize> {
        (0..self.edits.len())
            .filter(|&index| !self.edits[index].is_empty())
            .collect()
    }

    /// Returns whether the output needs a layer of its own (new account files or
    /// whiteouts).
    pub fn adds_layer(&self) -> bool {
        let creates_user = self
            .user
            .as_ref()
            .is_some_and(|user| user.created.is_some());
        creates_user || !self.whiteouts.is_empty()
    }
}

/// Computes the plan for an image's layers and configuration.
pub fn plan(
    scan: &Scan,
    config: &hardfs_image::ImageConfig,
    options: &HardenOptions,
) -> Result<Plan, HardenError> {
    let keep = keep_set(&scan.tree, options)?;
    let layer_keep = layer_keep_sets(scan, &keep);
    let mut plan = Plan {
        edits: vec![BTreeMap::new(); scan.layers.len()],
        previous_user: config.user.clone(),
        kept: options
            .keep
            .iter()
            .map(|(path, reason)| KeptPath {
                path: absolute(path),
                reason: reason.clone(),
            })
            .collect(),
        ..Plan::default()
    };

    for (index, layer) in scan.layers.iter().enumerate() {
        for entry in &layer.layer.entries {
            if !keep.contains(&entry.path) && !layer_keep[index].contains(&entry.path) {
                plan_entry(&mut plan, &scan.tree, index, entry, options);
            }
        }
    }

    let globs: Vec<String> = options
        .remove
        .iter()
        .chain(&options.remove_presets)
        .cloned()
        .collect();
    let (removed, unmatched) = crate::remove::matching_paths(&scan.tree, &globs)?;
    plan.warnings = missing_keeps(scan, options);
    plan.warnings.extend(
        unmatched
            .iter()
            .filter(|glob| options.remove.contains(glob))
            .map(|glob| {
                format!(
                    "--remove {}: matches no path in the image, so it removes nothing",
                    display_path(glob.as_bytes())
                )
            }),
    );
    plan.warnings.extend(
        removed
            .iter()
            .filter(|path| SYSTEM_DIRECTORIES.contains(&path.as_slice()))
            .map(|path| {
                format!(
                    "--remove removes {}, a system directory: most programs in the image need it",
                    absolute_bytes(path)
                )
            }),
    );
    plan.warnings.extend(crate::remove::command_warnings(
        &scan.tree, config, &removed,
    ));
    plan.warnings.extend(
        scan.tree
            .diagnostics()
            .iter()
            .filter(|diagnostic| diagnostic.kind == DiagnosticKind::HardlinkToLowerLayer)
            .map(|diagnostic| {
                format!(
                    "{} in layer {} is a hardlink to a file of a lower layer, which podman \
                     cannot unpack; the output keeps it, so rebuild that layer with the link \
                     target in it",
                    absolute_bytes(&diagnostic.path),
                    diagnostic.layer
                )
            }),
    );
    if let Some(paths) = &options.writable {
        plan.warnings.extend(
            paths
                .iter()
                .filter(|path| {
                    // A declared volume is writable whether or not the image
                    // has its directory.
                    let volume = config.volumes.iter().any(|volume| volume == *path);
                    !volume
                        && normalize(path.as_bytes())
                            .map_or(true, |normalized| scan.tree.lookup(&normalized).is_none())
                })
                .map(|path| {
                    format!(
                        "--writable {}: the image has no such path, so it gives no write access",
                        display_path(path.as_bytes())
                    )
                }),
        );
    }
    plan.removed = removed.iter().map(|path| absolute_bytes(path)).collect();
    plan.whiteouts = removed.into_iter().map(Vec::into_boxed_slice).collect();
    plan_volumes(&mut plan, config, options);
    let user = plan_user(&scan.tree, config, options)?;
    if !user.is_root() && options.lock_user_writable {
        plan.writable = writable_paths(&scan.tree, &plan, &user, options);
        plan.writable.sort();
        plan.writable.dedup();
        lock_user_writable(&mut plan, &scan.tree, &user, &keep, options);
    }
    plan.tmpfs = sticky_dirs(&scan.tree);
    // Removed paths are neither writable nor in need of a tmpfs.
    let gone = |path: &String| {
        normalize(path.as_bytes()).is_ok_and(|path| {
            plan.whiteouts
                .iter()
                .any(|removed| is_under(&path, removed))
        })
    };
    plan.writable.retain(|path| !gone(path));
    plan.tmpfs.retain(|path| !gone(path));
    plan.user = Some(user);
    plan.changes
        .sort_by(|a, b| (&a.path, a.layer).cmp(&(&b.path, b.layer)));
    Ok(plan)
}

/// Normalized kept paths and every other name of their inodes, because
/// patching any hardlinked name would change the kept file too. A kept
/// path is a path, not a glob.
fn keep_set(tree: &Tree, options: &HardenOptions) -> Result<BTreeSet<Box<[u8]>>, HardenError> {
    let mut keep = BTreeSet::new();
    for (path, _) in &options.keep {
        if path.contains(['*', '?', '[']) {
            return Err(HardenError::KeepGlob { path: path.clone() });
        }
        let Ok(path) = normalize(path.as_bytes()) else {
            continue;
        };
        if let Some(file) = tree.lookup(&path) {
            keep.extend(file.other_names().into_iter().map(Vec::into_boxed_slice));
        }
        keep.insert(path);
    }
    Ok(keep)
}

/// For each layer, the names of hardlink groups in that layer's blob with
/// a kept member. A hidden name (a first name that a later layer removed)
/// contains the content and mode the other names link to, so it is kept too.
fn layer_keep_sets(scan: &Scan, keep: &BTreeSet<Box<[u8]>>) -> Vec<BTreeSet<Box<[u8]>>> {
    scan.layers
        .iter()
        .map(|layer| {
            let mut groups: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
            for entry in &layer.layer.entries {
                if entry.entry_type == EntryType::Hardlink {
                    if let Some(target) = entry.link.as_deref() {
                        groups.entry(target).or_default().push(&entry.path);
                    }
                }
            }
            let mut kept = BTreeSet::new();
            for (target, names) in groups {
                let touched =
                    keep.contains(target) || names.iter().any(|name| keep.contains(*name));
                if touched {
                    kept.insert(Box::from(target));
                    kept.extend(names.into_iter().map(Box::from));
                }
            }
            kept
        })
        .collect()
}

/// Warnings for kept paths that no layer has, in the final view or as a
/// hidden lower copy.
fn missing_keeps(scan: &Scan, options: &HardenOptions) -> Vec<String> {
    let exists = |path: &[u8]| {
        scan.tree.lookup(path).is_some()
            || scan
                .layers
                .iter()
                .any(|layer| layer.layer.entries.iter().any(|entry| *entry.path == *path))
    };
    options
        .keep
        .iter()
        .filter(|(path, _)| {
            normalize(path.as_bytes()).map_or(true, |normalized| !exists(&normalized))
        })
        .map(|(path, _)| {
            format!(
                "--keep {}: the image has no such path, so it keeps nothing",
                display_path(path.as_bytes())
            )
        })
        .collect()
}

/// Plans the bit changes of one layer entry.
fn plan_entry(
    plan: &mut Plan,
    tree: &Tree,
    index: usize,
    entry: &LayerEntry,
    options: &HardenOptions,
) {
    let (clear, actions) = bits_to_clear(
        entry.entry_type,
        entry.mode,
        entry.gid,
        entry.xattr(CAPABILITY_XATTR).is_some(),
        options,
    );
    let drop_capability = actions.contains(&Action::DropCapability);
    if actions.is_empty() {
        return;
    }

    let edit = plan.edits[index].entry(entry.path.clone()).or_default();
    edit.clear_bits |= clear;
    edit.drop_capability |= drop_capability;
    let before = Metadata {
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
    };
    let visible = tree
        .lookup(&entry.path)
        .is_some_and(|file| file.layer() == index);
    let mut reason = actions
        .iter()
        .map(|action| action.reason())
        .collect::<Vec<_>>()
        .join("; ");
    if entry.entry_type == EntryType::Hardlink {
        let target = entry.link.as_deref().unwrap_or_default();
        reason.push_str(&format!(" (hardlink to {})", absolute_bytes(target)));
    }
    plan.changes.push(Change {
        path: absolute_bytes(&entry.path),
        layer: index,
        actions,
        before,
        after: Metadata {
            mode: entry.mode & !clear,
            ..before
        },
        hidden: !visible,
        reason,
    });
}

/// Computes the mode bits to clear on one entry and the actions that clear
/// them, from the entry's type, mode and capability xattr.
pub(crate) fn bits_to_clear(
    entry_type: EntryType,
    mode: u32,
    gid: u64,
    has_capability: bool,
    options: &HardenOptions,
) -> (u32, Vec<Action>) {
    let mut actions = Vec::new();
    let mut clear = 0;
    // Directories lose setgid too: it only makes new files inherit the
    // directory's group, but `find -perm /6000` lists them all the same.
    let special = match entry_type {
        EntryType::Regular | EntryType::Hardlink => 0o6000,
        EntryType::Directory => 0o2000,
        _ => 0,
    };
    if options.clear_special_bits && mode & special & 0o4000 != 0 {
        actions.push(Action::ClearSetuid);
        clear |= 0o4000;
    }
    if options.clear_special_bits && mode & special & 0o2000 != 0 {
        actions.push(Action::ClearSetgid);
        clear |= 0o2000;
    }
    if options.drop_capabilities && has_capability {
        actions.push(Action::DropCapability);
    }
    // Device nodes, FIFOs and symlinks keep their modes: a runtime mounts
    // its own /dev, and a chroot or build that uses the image's /dev/null
    // needs it writable by every user.
    let has_contents = matches!(
        entry_type,
        EntryType::Regular | EntryType::Hardlink | EntryType::Directory
    );
    let sticky_dir = entry_type == EntryType::Directory && mode & 0o1000 != 0;
    if options.clear_world_writable && mode & 0o002 != 0 && has_contents && !sticky_dir {
        actions.push(Action::ClearWorldWrite);
        clear |= 0o002;
        // Group write left on a root-group path is what audit reports as
        // group0-writable, so it goes too.
        if gid == 0 {
            clear |= 0o020;
        }
    }
    (clear, actions)
}

fn plan_volumes(plan: &mut Plan, config: &hardfs_image::ImageConfig, options: &HardenOptions) {
    for volume in &config.volumes {
        let reason = if options.drop_volumes {
            Some("--drop-volumes".to_string())
        } else if volume.contains(':') {
            Some("a volume path with `:` is read as SOURCE:TARGET by runtimes".to_string())
        } else if !volume.starts_with('/') {
            Some("a volume path must be absolute".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => plan.dropped_volumes.push(DroppedVolume {
                path: volume.clone(),
                reason,
            }),
            None => plan.volumes.push(volume.clone()),
        }
    }
}

/// Lists the writable paths: as given, or the kept volumes and the directories
/// the runtime user owns.
fn writable_paths(
    tree: &Tree,
    plan: &Plan,
    user: &RuntimeUser,
    options: &HardenOptions,
) -> Vec<String> {
    if let Some(paths) = &options.writable {
        return paths.iter().map(|path| absolute(path)).collect();
    }
    let mut paths: Vec<String> = plan.volumes.clone();
    tree.walk(|path, file| {
        let inode = file.inode();
        if !path.is_empty()
            && inode.kind == FileKind::Directory
            && inode.uid == user.uid
            && !is_runtime_mount(path)
        {
            paths.push(absolute_bytes(path));
        }
    });
    paths.sort();
    paths.dedup();
    // Keep only the top-most of nested paths.
    let mut top: Vec<String> = Vec::new();
    for path in paths {
        let nested = top.last().is_some_and(|parent| {
            parent == "/"
                || path
                    .strip_prefix(parent.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        });
        if !nested {
            top.push(path);
        }
    }
    top
}

fn sticky_dirs(tree: &Tree) -> Vec<String> {
    let mut dirs = Vec::new();
    tree.walk(|path, file| {
        let inode = file.inode();
        if inode.kind == FileKind::Directory && inode.mode & 0o1002 == 0o1002 {
            dirs.push(absolute_bytes(path));
        }
    });
    dirs
}

/// Plans ownership changes for what the runtime user can write in the final
/// view outside the writable paths. Write permission is decided as the
/// kernel does without ACLs: owner bits for the owner, group bits for a
/// member, other bits for the rest, and search permission on every ancestor.
fn lock_user_writable(
    plan: &mut Plan,
    tree: &Tree,
    user: &RuntimeUser,
    keep: &BTreeSet<Box<[u8]>>,
    options: &HardenOptions,
) {
    let sticky = sticky_dirs(tree);
    let writable: Vec<Box<[u8]>> = plan
        .writable
        .iter()
        .chain(&sticky)
        .filter_map(|path| normalize(path.as_bytes()).ok())
        .collect();
    // Depth and searchability of each open ancestor directory.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut locked: Vec<(Vec<u8>, usize, Metadata, Metadata)> = Vec::new();
    tree.walk(|path, file| {
        let depth = if path.is_empty() {
            0
        } else {
            path.iter().filter(|&&b| b == b'/').count() + 1
        };
        while stack.last().is_some_and(|&(open, _)| open >= depth) {
            stack.pop();
        }
        let reachable = stack.last().is_none_or(|&(_, searchable)| searchable);
        let inode = file.inode();
        let mode = effective_mode(inode.kind, inode.mode, inode.gid, options);
        if inode.kind == FileKind::Directory {
            stack.push((
                depth,
                reachable && user.can(inode.uid, inode.gid, mode, 0o1),
            ));
        }
        let exempt = !matches!(inode.kind, FileKind::Regular | FileKind::Directory)
            || is_runtime_mount(path)
            || keep.contains(path)
            || writable.iter().any(|root| is_under(path, root));
        if reachable && !exempt && user.can(inode.uid, inode.gid, mode, 0o2) {
            let before = Metadata {
                mode,
                uid: inode.uid,
                gid: inode.gid,
            };
            let after = locked_metadata(before, user);
            locked.push((path.to_vec(), file.layer(), before, after));
            for other in file.other_names() {
                if let Some(name) = tree.lookup(&other) {
                    locked.push((other, name.layer(), before, after));
                }
            }
        }
    });
    for (path, layer, before, after) in locked {
        let edit = plan.edits[layer].entry(path.clone().into()).or_default();
        if edit.owner.is_some() {
            continue;
        }
        edit.owner = Some((after.uid, after.gid));
        edit.clear_bits |= 0o022;
        edit.add_bits |= after.mode & !before.mode;
        plan.changes.push(Change {
            path: absolute_bytes(&path),
            layer,
            actions: vec![Action::LockOwnership],
            before,
            after,
            hidden: false,
            reason: if after.gid == 0 {
                format!(
                    "{} ({}:{})",
                    Action::LockOwnership.reason(),
                    user.uid,
                    user.gid
                )
            } else {
                format!(
                    "{} ({}:{}); the group keeps the user's read and search access",
                    Action::LockOwnership.reason(),
                    user.uid,
                    user.gid
                )
            },
        });
    }
}

/// Owner and mode of a path whose ownership moves to root. The runtime
/// user keeps the read and search access it had: when root ownership
/// with group 0 would take it away, the group becomes the user's primary
/// group and gets those bits (never write).
fn locked_metadata(before: Metadata, user: &RuntimeUser) -> Metadata {
    let locked = Metadata {
        mode: before.mode & !0o022,
        uid: 0,
        gid: 0,
    };
    let had: u32 = [0o4, 0o1]
        .into_iter()
        .filter(|&bit| user.can(before.uid, before.gid, before.mode, bit))
        .sum();
    let keeps = [0o4, 0o1]
        .into_iter()
        .filter(|&bit| had & bit != 0)
        .all(|bit| user.can(locked.uid, locked.gid, locked.mode, bit));
    if keeps {
        return locked;
    }
    Metadata {
        mode: locked.mode | (had << 3),
        gid: user.gid,
        ..locked
    }
}

/// Computes the mode after the bit changes this run makes to every entry
/// (see [`bits_to_clear`]).
fn effective_mode(kind: FileKind, mode: u32, gid: u64, options: &HardenOptions) -> u32 {
    let has_contents = matches!(kind, FileKind::Regular | FileKind::Directory);
    let sticky_dir = kind == FileKind::Directory && mode & 0o1000 != 0;
    if options.clear_world_writable && mode & 0o002 != 0 && has_contents && !sticky_dir {
        let group = if gid == 0 { 0o020 } else { 0 };
        mode & !(0o002 | group)
    } else {
        mode
    }
}

fn is_runtime_mount(path: &[u8]) -> bool {
    RUNTIME_MOUNTS.iter().any(|mount| is_under(path, mount))
}

fn is_under(path: &[u8], root: &[u8]) -> bool {
    root.is_empty()
        || path == root
        || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
}

fn absolute(path: &str) -> String {
    match normalize(path.as_bytes()) {
        Ok(normalized) => absolute_bytes(&normalized),
        Err(_) => path.to_string(),
    }
}

pub(crate) fn absolute_bytes(path: &[u8]) -> String {
    format!("/{}", display_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_matches_whole_components() {
        assert!(is_under(b"var/lib/redis", b"var/lib"));
        assert!(is_under(b"var/lib", b"var/lib"));
        assert!(!is_under(b"var/library", b"var/lib"));
        assert!(is_under(b"anything", b""));
    }

    #[test]
    fn edit_patches_only_what_differs() {
        let edit = EntryEdit {
            clear_bits: 0o6002,
            add_bits: 0,
            owner: Some((0, 0)),
            drop_capability: true,
        };
        let mut entry = Entry {
            path: b"usr/bin/su".to_vec(),
            link_name: Vec::new(),
            entry_type: EntryType::Regular,
            mode: 0o4755,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            dev_major: 0,
            dev_minor: 0,
            xattrs: Vec::new(),
            header_offset: 0,
            ustar_offset: 0,
            data_offset: 512,
        };
        let patch = edit.patch_for(&entry).unwrap();
        assert_eq!(patch.mode, Some(0o755));
        assert_eq!(patch.uid, None);
        assert!(patch.drop_xattrs.is_empty());

        entry.mode = 0o755;
        assert_eq!(edit.patch_for(&entry), None);
    }
}
