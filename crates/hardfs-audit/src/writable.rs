//! `user-writable`: what the runtime user can change, grouped by the
//! top-most writable directory.
//!
//! Write permission is decided as the kernel does without ACLs. The owner
//! class uses the owner bits only, the group class the group bits, and
//! others the other bits. Every ancestor directory must also grant search
//! (x) permission to reach the path. `/dev`, `/proc` and `/sys` are left out
//! because the runtime mounts its own file systems there.

use hardfs_fs::{FileKind, Inode};
use hardfs_rules::{Finding, Severity};

use crate::user::{rule, ResolvedUser};
use crate::AuditInput;

const RUNTIME_MOUNTS: [&[u8]; 3] = [b"dev", b"proc", b"sys"];
const CODE_DIRS: [&[u8]; 6] = [b"bin", b"sbin", b"lib", b"lib32", b"lib64", b"libexec"];
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A writable directory and what lies writable below it.
struct Group {
    finding: Finding,
    below: usize,
    holds_code: bool,
}

struct Frame {
    depth: usize,
    searchable: bool,
    group: Option<usize>,
}

pub(crate) fn check(input: &AuditInput<'_>, findings: &mut Vec<Finding>) {
    let Ok(user) = &input.user else { return };
    if user.is_root() {
        return;
    }
    let code_files = code_files(input);
    let identity = format!("{}:{}", user.uid, user.gid);
    let mut groups: Vec<Group> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();

    input.tree.walk(|path, file| {
        let depth = if path.is_empty() {
            0
        } else {
            path.iter().filter(|&&b| b == b'/').count() + 1
        };
        while stack.last().is_some_and(|frame| frame.depth >= depth) {
            stack.pop();
        }
        let inode = file.inode();
        let parent = stack.last();
        let reachable = parent.is_none_or(|frame| frame.searchable);
        let enclosing = parent.and_then(|frame| frame.group);
        let skip = is_runtime_mount(path);
        let writable =
            reachable && !skip && inode.kind != FileKind::Symlink && can_write(user, inode);
        let is_code = is_code_path(path) || code_files.iter().any(|code| code.as_slice() == path);

        let mut group = enclosing;
        if let Some(index) = enclosing {
            // Code below a writable directory can be replaced even when the
            // files themselves are read-only.
            groups[index].holds_code |= is_code;
        }
        if writable {
            match enclosing {
                Some(index) => groups[index].below += 1,
                None => {
                    let what = if inode.kind == FileKind::Directory {
                        "directory"
                    } else {
                        inode.kind.as_str()
                    };
                    let message = format!(
                        "{what} writable by the runtime user {identity}: mode {:04o}, owner {}:{}",
                        inode.mode, inode.uid, inode.gid
                    );
                    let location = input.path_location(file.display(), file.layer());
                    groups.push(Group {
                        finding: Finding::new(rule("user-writable"), location, message),
                        below: 0,
                        holds_code: is_code,
                    });
                    if inode.kind == FileKind::Directory {
                        group = Some(groups.len() - 1);
                    }
                }
            }
        }
        if inode.kind == FileKind::Directory {
            let searchable = reachable && can_search(user, inode);
            stack.push(Frame {
                depth,
                searchable,
                group,
            });
        }
    });

    for mut group in groups {
        if group.below > 0 {
            group.finding.message.push_str(&match group.below {
                1 => "; 1 more writable path below it".to_string(),
                count => format!("; {count} more writable paths below it"),
            });
        }
        if group.holds_code {
            group
                .finding
                .message
                .push_str("; holds code the container runs");
            group.finding = group.finding.with_severity(Severity::High);
        }
        findings.push(group.finding);
    }
}

/// Lists every path of the final view that the runtime user can write, in
/// walk order. The list is empty for root, who can write everything, and
/// for a user that does not resolve.
pub fn user_writable_paths(input: &AuditInput<'_>) -> Vec<Vec<u8>> {
    let Ok(user) = &input.user else {
        return Vec::new();
    };
    if user.is_root() {
        return Vec::new();
    }
    let mut paths = Vec::new();
    // Depth and searchability of each open ancestor directory.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    input.tree.walk(|path, file| {
        let depth = if path.is_empty() {
            0
        } else {
            path.iter().filter(|&&b| b == b'/').count() + 1
        };
        while stack.last().is_some_and(|(open, _)| *open >= depth) {
            stack.pop();
        }
        let inode = file.inode();
        let reachable = stack.last().is_none_or(|(_, searchable)| *searchable);
        if reachable
            && !is_runtime_mount(path)
            && inode.kind != FileKind::Symlink
            && can_write(user, inode)
        {
            paths.push(path.to_vec());
        }
        if inode.kind == FileKind::Directory {
            stack.push((depth, reachable && can_search(user, inode)));
        }
    });
    paths
}

fn permission_bits(user: &ResolvedUser, inode: &Inode) -> u32 {
    if user.uid == inode.uid {
        (inode.mode >> 6) & 0o7
    } else if user.in_group(inode.gid) {
        (inode.mode >> 3) & 0o7
    } else {
        inode.mode & 0o7
    }
}

fn can_write(user: &ResolvedUser, inode: &Inode) -> bool {
    permission_bits(user, inode) & 0o2 != 0
}

fn can_search(user: &ResolvedUser, inode: &Inode) -> bool {
    permission_bits(user, inode) & 0o1 != 0
}

fn is_runtime_mount(path: &[u8]) -> bool {
    RUNTIME_MOUNTS.iter().any(|mount| {
        path == *mount || (path.starts_with(mount) && path.get(mount.len()) == Some(&b'/'))
    })
}

/// Returns whether a path lies in a bin, sbin or lib directory at the top
/// level, under /usr or under /usr/local.
fn is_code_path(path: &[u8]) -> bool {
    let rest = path
        .strip_prefix(b"usr/local/")
        .or_else(|| path.strip_prefix(b"usr/"))
        .unwrap_or(path);
    let first = rest.split(|&b| b == b'/').next().unwrap_or_default();
    CODE_DIRS.contains(&first)
}

/// The entrypoint and command programs, and absolute file arguments of
/// them (scripts given to an interpreter), as normalized paths.
fn code_files(input: &AuditInput<'_>) -> Vec<Vec<u8>> {
    let search_path = input.config.env_var("PATH").unwrap_or(DEFAULT_PATH);
    let argv = input.config.entrypoint.iter().chain(&input.config.cmd);
    let mut files = Vec::new();
    for (position, argument) in argv.enumerate() {
        let candidates: Vec<String> = if argument.starts_with('/') {
            vec![argument.clone()]
        } else if position == 0 && !argument.contains('/') {
            search_path
                .split(':')
                .map(|dir| format!("{dir}/{argument}"))
                .collect()
        } else {
            Vec::new()
        };
        for candidate in candidates {
            if let Some(file) = input.tree.lookup_following(candidate.as_bytes()) {
                if file.inode().kind == FileKind::Regular {
                    files.push(file.path());
                    break;
                }
            }
        }
    }
    files
}
