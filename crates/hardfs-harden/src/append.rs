//! `--mode append`: every layer is copied byte for byte and one layer on
//! top re-emits each changed path of the final view with its new mode,
//! owner and xattrs. It is fast, but the lower blobs keep their privileged
//! copies (ghosts), and each changed file's content is stored twice.

use std::collections::{BTreeMap, BTreeSet};

use hardfs_fs::{FileKind, ReadOptions};
use hardfs_image::Image;
use hardfs_tar::{EntryBuilder, EntryType, CAPABILITY_XATTR};

use crate::plan::{EntryEdit, Plan};
use crate::scan::{scan_with, Scan};
use crate::HardenError;

/// Largest file content re-emitted, in bytes.
const MAX_CONTENT_SIZE: u64 = 4 << 30;

/// Builds the entries of the appended layer for the plan's visible edits.
pub(crate) fn appended_entries(
    image: &Image,
    scan: &Scan,
    plan: &Plan,
    threads: usize,
) -> Result<Vec<EntryBuilder>, HardenError> {
    let mut visible: BTreeMap<Vec<u8>, &EntryEdit> = BTreeMap::new();
    for (layer, edits) in plan.edits.iter().enumerate() {
        for (path, edit) in edits {
            let Some(file) = scan.tree.lookup(path) else {
                continue;
            };
            if file.layer() != layer || file.path() != **path {
                continue;
            }
            visible.insert(path.to_vec(), edit);
        }
    }
    if visible.is_empty() {
        return Ok(Vec::new());
    }

    // Read the layers again, keeping the content of every changed file
    // under each of its names.
    let mut names = BTreeSet::new();
    for path in visible.keys() {
        let file = scan.tree.lookup(path).expect("looked up above");
        if file.inode().kind == FileKind::Regular {
            names.insert(path.clone().into_boxed_slice());
            names.extend(file.other_names().into_iter().map(Vec::into_boxed_slice));
        }
    }
    // A hardlink's content is stored under the name it links to, which a
    // later layer may have removed from the final view.
    let mut capture: Vec<Box<[u8]>> = names.iter().cloned().collect();
    for layer in &scan.layers {
        for entry in &layer.layer.entries {
            if entry.entry_type == EntryType::Hardlink && names.contains(&entry.path) {
                if let Some(target) = &entry.link {
                    capture.push(target.clone());
                }
            }
        }
    }
    capture.sort();
    capture.dedup();
    let options = ReadOptions {
        capture,
        max_capture_size: MAX_CONTENT_SIZE,
        ..ReadOptions::default()
    };
    let with_content = scan_with(image, threads, &options)?;

    let mut entries = Vec::new();
    let mut emitted: BTreeMap<*const hardfs_fs::Inode, Vec<u8>> = BTreeMap::new();
    for (path, edit) in visible {
        let file = with_content
            .tree
            .lookup(&path)
            .expect("same layers as the plan");
        let inode = file.inode();
        let key = inode as *const hardfs_fs::Inode;
        if let Some(first) = emitted.get(&key) {
            entries.push(EntryBuilder::hardlink(&path, first));
            continue;
        }
        let mut entry = match inode.kind {
            FileKind::Regular => {
                let content = inode.content().map(|content| &**content).ok_or_else(|| {
                    HardenError::AppendContent {
                        path: crate::plan::absolute_bytes(&path),
                    }
                })?;
                EntryBuilder::file(&path, content)
            }
            FileKind::Directory => EntryBuilder::dir(&path),
            FileKind::CharDevice => EntryBuilder::device(
                &path,
                EntryType::CharDevice,
                inode.device().0,
                inode.device().1,
            ),
            FileKind::BlockDevice => EntryBuilder::device(
                &path,
                EntryType::BlockDevice,
                inode.device().0,
                inode.device().1,
            ),
            FileKind::Fifo => EntryBuilder::fifo(&path),
            FileKind::Symlink => continue,
        };
        let (uid, gid) = edit.owner.unwrap_or((inode.uid, inode.gid));
        entry = entry
            .mode((inode.mode & !edit.clear_bits) | edit.add_bits)
            .owner(uid, gid);
        for (name, value) in inode.xattrs() {
            if !(edit.drop_capability && **name == *CAPABILITY_XATTR) {
                entry = entry.xattr(name, value);
            }
        }
        emitted.insert(key, path.clone());
        entries.push(entry);
    }
    Ok(entries)
}
