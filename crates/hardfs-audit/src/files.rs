//! Rules on single files of the final view: `setuid-file`, `setgid-file`,
//! `file-capability`, `world-writable`, `special-file`, `group0-writable`.
//!
//! Device nodes under /dev are not reported as world-writable: runtimes
//! mount their own /dev over the image's, so those nodes are never seen.

use std::collections::HashMap;

use hardfs_fs::{FileKind, Inode};
use hardfs_rules::{Finding, Severity};

use crate::capability::decode_capability;
use crate::user::rule;
use crate::AuditInput;

/// Directories where scratch files are expected; their contents are not
/// reported as group-0 writable system paths.
const SCRATCH_DIRS: [&[u8]; 3] = [b"tmp", b"var/tmp", b"dev"];

/// Most other hardlink names listed in one message.
const MAX_LINK_NAMES: usize = 3;

pub(crate) fn check(input: &AuditInput<'_>, findings: &mut Vec<Finding>) {
    let link_names = privileged_link_names(input);
    input.tree.walk(|path, file| {
        if path.is_empty() {
            return;
        }
        let inode = file.inode();
        let location = || input.path_location(file.display(), file.layer());
        let owner = format!("{}:{}", inode.uid, inode.gid);

        if inode.kind == FileKind::Regular && inode.mode & 0o4000 != 0 {
            let severity = if inode.uid == 0 {
                Severity::High
            } else {
                Severity::Medium
            };
            let whose = if inode.uid == 0 {
                "root".to_string()
            } else {
                format!("uid {}", inode.uid)
            };
            let message = format!(
                "setuid {whose}: mode {:04o}, owner {owner}{}",
                inode.mode,
                link_note(&link_names, path, file.inode())
            );
            findings.push(
                Finding::new(rule("setuid-file"), location(), message).with_severity(severity),
            );
        }
        if inode.kind == FileKind::Regular && inode.mode & 0o2000 != 0 {
            let message = format!(
                "setgid gid {}: mode {:04o}, owner {owner}{}",
                inode.gid,
                inode.mode,
                link_note(&link_names, path, file.inode())
            );
            findings.push(Finding::new(rule("setgid-file"), location(), message));
        }
        if let Some(value) = inode.capability() {
            let message = match decode_capability(value) {
                Some(capability) => format!(
                    "file capabilities {} (revision {})",
                    capability.describe(),
                    capability.revision
                ),
                None => format!(
                    "malformed security.capability attribute ({} bytes)",
                    value.len()
                ),
            };
            findings.push(Finding::new(rule("file-capability"), location(), message));
        }
        if inode.kind != FileKind::Symlink && inode.mode & 0o002 != 0 && !under(path, b"dev") {
            let sticky_dir = inode.kind == FileKind::Directory && inode.mode & 0o1000 != 0;
            let severity = if sticky_dir {
                Severity::Low
            } else {
                Severity::Medium
            };
            let what = if sticky_dir {
                "directory with the sticky bit"
            } else {
                inode.kind.as_str()
            };
            let message = format!(
                "world-writable {what}: mode {:04o}, owner {owner}",
                inode.mode
            );
            findings.push(
                Finding::new(rule("world-writable"), location(), message).with_severity(severity),
            );
        }
        let is_device = matches!(
            inode.kind,
            FileKind::CharDevice | FileKind::BlockDevice | FileKind::Fifo
        );
        if is_device && !path.starts_with(b"dev/") {
            let message = match inode.kind {
                FileKind::Fifo => "FIFO outside /dev".to_string(),
                kind => format!(
                    "{} {}:{} outside /dev",
                    kind.as_str(),
                    inode.device().0,
                    inode.device().1
                ),
            };
            findings.push(Finding::new(rule("special-file"), location(), message));
        }
        let group_writable =
            inode.kind != FileKind::Symlink && inode.gid == 0 && inode.mode & 0o020 != 0;
        if group_writable && inode.mode & 0o002 == 0 && !in_scratch_dir(path) {
            let message = format!(
                "writable by group 0: {} mode {:04o}, owner {owner}",
                inode.kind.as_str(),
                inode.mode
            );
            findings.push(Finding::new(rule("group0-writable"), location(), message));
        }
    });
}

/// Names of every privileged inode with more than one name, found in one
/// walk, so that listing hardlinks stays linear in the tree size.
fn privileged_link_names(input: &AuditInput<'_>) -> HashMap<*const Inode, Vec<Vec<u8>>> {
    let mut names: HashMap<*const Inode, Vec<Vec<u8>>> = HashMap::new();
    input.tree.walk(|path, file| {
        let inode = file.inode();
        if inode.link_count() > 1 && inode.is_privileged() {
            names
                .entry(inode as *const Inode)
                .or_default()
                .push(path.to_vec());
        }
    });
    names
}

fn link_note(names: &HashMap<*const Inode, Vec<Vec<u8>>>, path: &[u8], inode: &Inode) -> String {
    let Some(all) = names.get(&(inode as *const Inode)) else {
        return String::new();
    };
    let others: Vec<&Vec<u8>> = all.iter().filter(|name| name.as_slice() != path).collect();
    if others.is_empty() {
        return String::new();
    }
    let mut listed: Vec<String> = others
        .iter()
        .take(MAX_LINK_NAMES)
        .map(|name| format!("/{}", hardfs_fs::display_path(name)))
        .collect();
    if others.len() > MAX_LINK_NAMES {
        listed.push(format!("and {} more", others.len() - MAX_LINK_NAMES));
    }
    format!(", hardlinked as {}", listed.join(", "))
}

fn in_scratch_dir(path: &[u8]) -> bool {
    SCRATCH_DIRS.iter().any(|dir| under(path, dir))
}

/// Returns whether `path` is `dir` or lies below it.
fn under(path: &[u8], dir: &[u8]) -> bool {
    path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}
