//! Reducing a container's filesystem changes (`podman diff`) to the fewest
//! directories that must be writable.
//!
//! - An added or deleted entry counts for its parent directory. An entry
//!   added inside a directory that was itself added counts for the parent
//!   of the top-most added directory, the one that existed in the image.
//! - A changed file counts for its parent. A changed directory with no
//!   other change below it counts for itself, because something was
//!   created and removed in it. A changed directory with changes below is only the
//!   parent of those changes.
//! - `/dev`, `/proc` and `/sys`, and the files the engine itself creates
//!   (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, `/run/.containerenv`
//!   and the `/etc` directory that holds their mount points), are ignored.
//! - A directory below another one in the result is folded into it, and
//!   `/` is never returned: a write at the top level is reported instead.

use std::collections::BTreeMap;

use crate::profile::is_below;
use crate::LearnedPath;

/// The kind of change to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

/// One line of `podman diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub path: String,
}

impl Change {
    fn line(&self) -> String {
        let letter = match self.kind {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        };
        format!("{letter} {}", self.path)
    }
}

const IGNORED_TREES: [&str; 3] = ["/dev", "/proc", "/sys"];
const ENGINE_FILES: [&str; 6] = [
    "/etc",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/run/.containerenv",
    "/.containerenv",
];

/// Parses `podman diff` (or `docker diff`) output: `A|C|D PATH` per line.
/// Lines of another shape are returned as the error value.
pub fn parse_diff(output: &str) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    for line in output.lines().filter(|line| !line.trim().is_empty()) {
        let (letter, path) = line.split_once(' ').ok_or_else(|| line.to_string())?;
        let kind = match letter {
            "A" => ChangeKind::Added,
            "C" => ChangeKind::Changed,
            "D" => ChangeKind::Deleted,
            _ => return Err(line.to_string()),
        };
        if !path.starts_with('/') {
            return Err(line.to_string());
        }
        changes.push(Change {
            kind,
            path: path.to_string(),
        });
    }
    Ok(changes)
}

/// Reduces changes to the directories to make writable. Also returns the
/// changes that fit no directory but `/`. `is_directory` returns whether a
/// path is a directory in the image (`None` when the image lacks it).
pub fn reduce_changes(
    changes: &[Change],
    is_directory: impl Fn(&str) -> Option<bool>,
) -> (Vec<LearnedPath>, Vec<String>) {
    let relevant: Vec<&Change> = changes
        .iter()
        .filter(|change| !ignored(&change.path))
        .collect();
    let added: Vec<&str> = relevant
        .iter()
        .filter(|change| change.kind == ChangeKind::Added)
        .map(|change| change.path.as_str())
        .collect();

    let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut at_root = Vec::new();
    for change in &relevant {
        let has_changes_below = relevant
            .iter()
            .any(|other| is_below(&other.path, &change.path));
        let target = match change.kind {
            ChangeKind::Changed if has_changes_below => continue,
            ChangeKind::Changed if is_directory(&change.path) == Some(true) => change.path.clone(),
            ChangeKind::Added => {
                let mut top = change.path.as_str();
                while let Some(parent) = parent(top).filter(|parent| added.contains(parent)) {
                    top = parent;
                }
                parent(top).unwrap_or("/").to_string()
            }
            _ => parent(&change.path).unwrap_or("/").to_string(),
        };
        if target == "/" {
            at_root.push(change.line());
            continue;
        }
        targets.entry(target).or_default().push(change.line());
    }
    (fold(targets), at_root)
}

/// Folds every directory below another one in the map into that one.
fn fold(targets: BTreeMap<String, Vec<String>>) -> Vec<LearnedPath> {
    let mut result: Vec<LearnedPath> = Vec::new();
    for (path, writes) in targets {
        // BTreeMap order puts `/a` before `/a/b`, so an ancestor, when there
        // is one, is already in `result`.
        match result
            .iter_mut()
            .find(|learned| is_below(&path, &learned.path))
        {
            Some(ancestor) => ancestor.writes.extend(writes),
            None => result.push(LearnedPath {
                path,
                writes,
                denied: Vec::new(),
            }),
        }
    }
    result
}

fn ignored(path: &str) -> bool {
    ENGINE_FILES.contains(&path)
        || IGNORED_TREES
            .iter()
            .any(|tree| path == *tree || is_below(path, tree))
}

fn parent(path: &str) -> Option<&str> {
    let slash = path.rfind('/')?;
    if slash == 0 {
        (path.len() > 1).then_some("/")
    } else {
        Some(&path[..slash])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX_DIFF: &str = "C /etc\nA /run/nginx.pid\nC /var/lib/nginx\nC /var\nC /var/lib\n\
        A /var/lib/nginx/body\nA /var/lib/nginx/fastcgi\nA /var/lib/nginx/proxy\n";

    fn image_dirs(path: &str) -> Option<bool> {
        match path {
            "/etc" | "/run" | "/var" | "/var/lib" | "/var/lib/nginx" | "/var/cache" => Some(true),
            "/var/lib/pg/global/1262" => Some(false),
            "/var/lib/pg" | "/var/lib/pg/global" | "/srv" => Some(true),
            _ => None,
        }
    }

    fn paths(learned: &[LearnedPath]) -> Vec<&str> {
        learned
            .iter()
            .map(|learned| learned.path.as_str())
            .collect()
    }

    #[test]
    fn diff_parses_podman_lines() {
        let changes = parse_diff("A /a\nC /b\n\nD /c d\n").unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0].kind, ChangeKind::Added);
        assert_eq!(changes[2].kind, ChangeKind::Deleted);
        assert_eq!(changes[2].path, "/c d");
        assert_eq!(parse_diff("X /a").unwrap_err(), "X /a");
        assert_eq!(parse_diff("A relative").unwrap_err(), "A relative");
    }

    #[test]
    fn nginx_diff_reduces_to_two_directories() {
        let changes = parse_diff(NGINX_DIFF).unwrap();
        let (learned, at_root) = reduce_changes(&changes, image_dirs);
        assert_eq!(paths(&learned), ["/run", "/var/lib/nginx"]);
        assert_eq!(learned[1].writes.len(), 3);
        assert!(at_root.is_empty());
    }

    #[test]
    fn new_directory_counts_for_its_existing_parent() {
        let changes =
            parse_diff("A /var/cache/app\nA /var/cache/app/x\nA /var/cache/app/x/y\n").unwrap();
        let (learned, _) = reduce_changes(&changes, image_dirs);
        assert_eq!(paths(&learned), ["/var/cache"]);
        assert_eq!(learned[0].writes.len(), 3);
    }

    #[test]
    fn changed_file_and_lone_directory() {
        let changes = parse_diff("C /var/lib/pg/global/1262\nC /srv\nD /var/lib/pg/x\n").unwrap();
        let (learned, _) = reduce_changes(&changes, image_dirs);
        assert_eq!(paths(&learned), ["/srv", "/var/lib/pg"]);
    }

    #[test]
    fn runtime_trees_and_engine_files_ignored() {
        let changes = parse_diff(
            "A /dev/shm/x\nC /proc\nA /sys/fs/x\nC /etc\nA /etc/hosts\nA /run/.containerenv\n",
        )
        .unwrap();
        let (learned, at_root) = reduce_changes(&changes, image_dirs);
        assert!(learned.is_empty(), "{learned:?}");
        assert!(at_root.is_empty());
    }

    #[test]
    fn top_level_write_never_gives_root() {
        let changes = parse_diff("A /marker\nA /newdir\nA /newdir/file\n").unwrap();
        let (learned, at_root) = reduce_changes(&changes, image_dirs);
        assert!(learned.is_empty(), "{learned:?}");
        assert_eq!(at_root, ["A /marker", "A /newdir", "A /newdir/file"]);
    }
}
