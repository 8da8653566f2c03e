//! `--rootfs DIR`: the bit changes (setuid, setgid, capabilities,
//! world-write) made in place on an unpacked root filesystem, as a build
//! stage would run them.
//!
//! Every operation goes through a file descriptor opened under DIR. Each
//! directory is entered with `openat2` and `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`, and each file is opened with `O_NOFOLLOW`. Below
//! the first levels, the walk returns to a parent through `..` and checks
//! that it is the same directory (device and inode) as before.
//! Symlinks are never followed, so a link pointing at `/etc/shadow`,
//! `../..` or any host file changes nothing outside DIR. A regular file
//! with more hardlinks than names found under DIR has a name outside it,
//! so it is left alone and listed. Device nodes, FIFOs and sockets are
//! left alone because opening them can block or act.
//! Ownership changes and the runtime user apply only to images.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use hardfs_fs::normalize;
use hardfs_tar::{EntryType, CAPABILITY_XATTR};
use rustix::fs::{
    fchmod, fgetxattr, fremovexattr, fstat, open, openat, openat2, Dir, FileType, Mode, OFlags,
    ResolveFlags,
};
use rustix::io::Errno;

use crate::plan::{absolute_bytes, bits_to_clear, Change, Metadata};
use crate::{HardenError, HardenOptions};

/// Deepest directory nesting walked.
const MAX_DEPTH: usize = 4096;

/// Stack of the walking thread. An estimate: 3000 levels ran in an
/// unoptimized build, where 8 MiB overflowed. Only the pages used are
/// backed by memory.
const WALK_STACK_SIZE: usize = 256 << 20;

/// Directory levels whose descriptors stay open while their subdirectories
/// are walked. Deeper levels close theirs and come back through `..`, so
/// a deep tree needs only a few descriptors more than this.
const OPEN_LEVELS: usize = 16;

/// Result of `--rootfs`: the changes made and the files left alone.
#[derive(Clone, Debug, Default)]
pub struct RootfsOutcome {
    /// Changes, sorted by path.
    pub changes: Vec<Change>,
    /// Files that needed a change but have more hardlinks than names
    /// under DIR, so another name lies outside it. Paths are absolute.
    pub outside_links: Vec<String>,
}

/// A regular file with several links, whose change waits until every
/// name under DIR is known.
struct LinkGroup {
    links: u64,
    names: Vec<Vec<u8>>,
    /// Whether one of the names is kept with `--keep`.
    kept: bool,
}

/// Applies the bit changes under `root` (or only lists them with
/// `dry_run`).
pub fn harden_rootfs(
    root: &Path,
    options: &HardenOptions,
    dry_run: bool,
) -> Result<RootfsOutcome, HardenError> {
    let root_error = |reason: &str| HardenError::RootfsDirectory {
        path: root.to_path_buf(),
        reason: reason.to_string(),
    };
    match root.symlink_metadata() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(root_error("no such directory"))
        }
        Err(error) => return Err(root_error(&error.to_string())),
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return Err(root_error(
                "it is a symbolic link; give the directory it points to (or add a trailing `/`)",
            ))
        }
        Ok(metadata) if !metadata.is_dir() => return Err(root_error("not a directory")),
        Ok(_) => {}
    }
    let root_fd = open(
        root,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|error| failure(b"", error))?;
    let keep: Vec<Box<[u8]>> = options
        .keep
        .iter()
        .filter_map(|(path, _)| normalize(path.as_bytes()).ok())
        .collect();
    let mut walk = Walk {
        options,
        dry_run,
        keep,
        changes: Vec::new(),
        linked: BTreeMap::new(),
    };
    // The walk recurses once per level, which needs more than the main
    // thread's stack at MAX_DEPTH levels.
    let walked = std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(WALK_STACK_SIZE)
            .spawn_scoped(scope, || walk.directory(root_fd, &mut Vec::new(), 0))
            .map_err(|source| HardenError::Rootfs {
                path: "/".into(),
                source,
            })?;
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let root_fd = walked?;
    let mut outside_links = Vec::new();
    for group in std::mem::take(&mut walk.linked).into_values() {
        if group.kept {
            continue;
        }
        if (group.names.len() as u64) < group.links {
            tracing::warn!(
                path = %absolute_bytes(&group.names[0]),
                links = group.links,
                names = group.names.len(),
                "left unchanged: the file has a hardlinked name outside the root filesystem"
            );
            outside_links.push(absolute_bytes(&group.names[0]));
            continue;
        }
        let Some(fd) = reopen(&root_fd, &group.names[0])? else {
            continue;
        };
        let stat = fstat(&fd).map_err(|error| failure(&group.names[0], error))?;
        walk.change(&fd, EntryType::Regular, &stat, &group.names)?;
    }
    walk.changes.sort_by(|a, b| a.path.cmp(&b.path));
    outside_links.sort();
    Ok(RootfsOutcome {
        changes: walk.changes,
        outside_links,
    })
}

struct Walk<'a> {
    options: &'a HardenOptions,
    dry_run: bool,
    keep: Vec<Box<[u8]>>,
    changes: Vec<Change>,
    /// Regular files with more than one link, by device and inode.
    linked: BTreeMap<(u64, u64), LinkGroup>,
}

impl Walk<'_> {
    /// Walks the directory open as `dir` and returns its descriptor, which
    /// may be a new one when a deep subdirectory was walked.
    fn directory(
        &mut self,
        mut dir: OwnedFd,
        path: &mut Vec<u8>,
        depth: usize,
    ) -> Result<OwnedFd, HardenError> {
        if depth > MAX_DEPTH {
            return Err(failure(path, Errno::LOOP));
        }
        let mut names: Vec<Vec<u8>> = Vec::new();
        let entries = Dir::read_from(&dir).map_err(|error| failure(path, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| failure(path, error))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." && is_walked(entry.file_type()) {
                names.push(name.to_vec());
            }
        }
        names.sort();
        for name in names {
            let before = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            let result = self.entry(dir, &name, path, depth);
            path.truncate(before);
            dir = result?;
        }
        Ok(dir)
    }

    /// Handles one entry of the directory open as `dir` and returns the
    /// directory's descriptor.
    fn entry(
        &mut self,
        dir: OwnedFd,
        name: &[u8],
        path: &mut Vec<u8>,
        depth: usize,
    ) -> Result<OwnedFd, HardenError> {
        let name = std::ffi::CString::new(name).map_err(|_| failure(path, Errno::INVAL))?;
        // Opening a symlink fails here (ELOOP), so a link swapped in after
        // the directory was read is skipped, never followed.
        let fd = match open_beneath(&dir, &name) {
            Ok(fd) => fd,
            Err(Errno::LOOP) | Err(Errno::NOENT) | Err(Errno::XDEV) => return Ok(dir),
            Err(error) => return Err(failure(path, error)),
        };
        let stat = fstat(&fd).map_err(|error| failure(path, error))?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        let entry_type = match kind {
            FileType::Directory => EntryType::Directory,
            FileType::RegularFile => EntryType::Regular,
            _ => return Ok(dir),
        };
        let kept = self.keep.iter().any(|kept| **kept == **path);
        if entry_type == EntryType::Regular && stat.st_nlink > 1 {
            // A kept name keeps the file under all its names.
            let group = self
                .linked
                .entry((stat.st_dev, stat.st_ino))
                .or_insert_with(|| LinkGroup {
                    links: stat.st_nlink,
                    names: Vec::new(),
                    kept: false,
                });
            group.kept |= kept;
            group.names.push(path.clone());
        } else if !kept {
            self.change(&fd, entry_type, &stat, std::slice::from_ref(path))?;
        }
        if entry_type != EntryType::Directory {
            return Ok(dir);
        }
        if depth < OPEN_LEVELS {
            self.directory(fd, path, depth + 1)?;
            return Ok(dir);
        }
        // Deep: close this directory while the subdirectory is walked, and
        // reopen it through `..` only if it is still the same directory.
        let parent = fstat(&dir).map_err(|error| failure(path, error))?;
        drop(dir);
        let child = self.directory(fd, path, depth + 1)?;
        let back = openat(
            &child,
            c"..",
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|error| failure(path, error))?;
        let reopened = fstat(&back).map_err(|error| failure(path, error))?;
        if (reopened.st_dev, reopened.st_ino) != (parent.st_dev, parent.st_ino) {
            return Err(HardenError::Rootfs {
                path: absolute_bytes(path),
                source: std::io::Error::other("the directory was moved while it was walked"),
            });
        }
        Ok(back)
    }

    /// Changes the file open as `fd` and lists the change under each of
    /// its `names` (one, or every hardlinked name).
    fn change(
        &mut self,
        fd: &OwnedFd,
        entry_type: EntryType,
        stat: &rustix::fs::Stat,
        names: &[Vec<u8>],
    ) -> Result<(), HardenError> {
        let path = &names[0];
        let mode = stat.st_mode & 0o7777;
        let has_capability = entry_type == EntryType::Regular && has_capability(fd, path)?;
        let (clear, actions) = bits_to_clear(
            entry_type,
            mode,
            u64::from(stat.st_gid),
            has_capability,
            self.options,
        );
        if actions.is_empty() {
            return Ok(());
        }
        if !self.dry_run {
            if has_capability && self.options.drop_capabilities {
                fremovexattr(fd, CAPABILITY_XATTR).map_err(|error| failure(path, error))?;
            }
            if clear != 0 {
                fchmod(fd, Mode::from_raw_mode(mode & !clear))
                    .map_err(|error| failure(path, error))?;
            }
        }
        let before = Metadata {
            mode,
            uid: u64::from(stat.st_uid),
            gid: u64::from(stat.st_gid),
        };
        let reason = actions
            .iter()
            .map(|action| action.reason())
            .collect::<Vec<_>>()
            .join("; ");
        for name in names {
            self.changes.push(Change {
                path: absolute_bytes(name),
                layer: 0,
                actions: actions.clone(),
                before,
                after: Metadata {
                    mode: mode & !clear,
                    ..before
                },
                hidden: false,
                reason: reason.clone(),
            });
        }
        Ok(())
    }
}

/// Types worth opening; `Unknown` (some file systems report no type) is
/// opened and checked with `fstat`.
fn is_walked(kind: FileType) -> bool {
    matches!(
        kind,
        FileType::Directory | FileType::RegularFile | FileType::Unknown
    )
}

fn open_beneath(dir: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    openat2(
        dir.as_fd(),
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Opens `path` (relative to the root) beneath the root, following no
/// symlink in any component. Returns `None` when it has gone.
// NOTE: a hardlinked file whose path is longer than PATH_MAX (4096 bytes)
// fails here with ENAMETOOLONG, which ends the run.
fn reopen(root: &OwnedFd, path: &[u8]) -> Result<Option<OwnedFd>, HardenError> {
    let name = std::ffi::CString::new(path).map_err(|_| failure(path, Errno::INVAL))?;
    match open_beneath(root, &name) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::LOOP) | Err(Errno::NOENT) | Err(Errno::XDEV) => Ok(None),
        Err(error) => Err(failure(path, error)),
    }
}

fn has_capability(fd: &OwnedFd, path: &[u8]) -> Result<bool, HardenError> {
    let mut value = [0u8; 64];
    match fgetxattr(fd, CAPABILITY_XATTR, &mut value) {
        Ok(_) | Err(Errno::RANGE) => Ok(true),
        Err(Errno::NODATA) | Err(Errno::NOTSUP) => Ok(false),
        Err(error) => Err(failure(path, error)),
    }
}

fn failure(path: &[u8], error: Errno) -> HardenError {
    HardenError::Rootfs {
        path: absolute_bytes(path),
        source: error.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{symlink, PermissionsExt};

    use super::*;

    const CAPABILITY: [u8; 20] = [
        0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn mode_of(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    fn make(path: &Path, mode: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn rootfs_bits_are_cleared() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        make(&root.join("usr/bin/su"), 0o4755);
        make(&root.join("usr/bin/wall"), 0o2755);
        make(&root.join("srv/open"), 0o666);
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();

        let changes = harden_rootfs(&root, &HardenOptions::default(), false)
            .unwrap()
            .changes;
        assert_eq!(mode_of(&root.join("usr/bin/su")), 0o755);
        assert_eq!(mode_of(&root.join("usr/bin/wall")), 0o755);
        // Group 0 loses group write too.
        assert_eq!(mode_of(&root.join("srv/open")), 0o644);
        assert_eq!(mode_of(&root.join("tmp")), 0o1777);
        let paths: Vec<&str> = changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["/srv/open", "/usr/bin/su", "/usr/bin/wall"]);
    }

    #[test]
    fn rootfs_dry_run_changes_nothing() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        make(&root.join("bin/su"), 0o4755);
        let changes = harden_rootfs(&root, &HardenOptions::default(), true)
            .unwrap()
            .changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(mode_of(&root.join("bin/su")), 0o4755);
    }

    #[test]
    fn rootfs_capability_is_removed() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        make(&root.join("bin/ping"), 0o755);
        let file = std::fs::File::open(root.join("bin/ping")).unwrap();
        if let Err(error) = rustix::fs::fsetxattr(
            &file,
            CAPABILITY_XATTR,
            &CAPABILITY,
            rustix::fs::XattrFlags::empty(),
        ) {
            panic!("cannot set a capability in {} ({error}); run the tests as root on a file system with xattrs", root.display());
        }
        harden_rootfs(&root, &HardenOptions::default(), false).unwrap();
        let mut value = [0u8; 64];
        assert_eq!(
            fgetxattr(&file, CAPABILITY_XATTR, &mut value),
            Err(Errno::NODATA)
        );
    }

    #[test]
    fn hostile_symlinks_are_not_followed() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        let outside = scratch.path().join("host");
        make(&outside.join("suid"), 0o4755);
        make(&outside.join("dir/suid"), 0o4755);
        make(&root.join("etc/hostname"), 0o644);
        let host_passwd = mode_of(Path::new("/etc/passwd"));

        symlink(outside.join("suid"), root.join("absolute")).unwrap();
        symlink("../host/suid", root.join("relative")).unwrap();
        symlink(
            "../../../../../../../../etc/passwd",
            root.join("etc/passwd"),
        )
        .unwrap();
        symlink("/etc/passwd", root.join("etc/shadow")).unwrap();
        symlink(outside.join("dir"), root.join("linked-dir")).unwrap();
        symlink("/", root.join("host-root")).unwrap();

        let changes = harden_rootfs(&root, &HardenOptions::default(), false)
            .unwrap()
            .changes;
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(mode_of(&outside.join("suid")), 0o4755);
        assert_eq!(mode_of(&outside.join("dir/suid")), 0o4755);
        assert_eq!(mode_of(Path::new("/etc/passwd")), host_passwd);
    }

    #[test]
    fn hardlink_outside_root_is_left_alone() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        make(&scratch.path().join("outside"), 0o4755);
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::hard_link(scratch.path().join("outside"), root.join("bin/linked")).unwrap();
        make(&root.join("bin/inner"), 0o4755);
        std::fs::hard_link(root.join("bin/inner"), root.join("bin/inner2")).unwrap();

        let outcome = harden_rootfs(&root, &HardenOptions::default(), false).unwrap();
        assert_eq!(mode_of(&scratch.path().join("outside")), 0o4755);
        assert_eq!(outcome.outside_links, ["/bin/linked"]);
        assert_eq!(mode_of(&root.join("bin/inner")), 0o755);
        let paths: Vec<&str> = outcome
            .changes
            .iter()
            .map(|change| change.path.as_str())
            .collect();
        assert_eq!(paths, ["/bin/inner", "/bin/inner2"]);
    }

    #[test]
    fn deep_tree_is_walked() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("root");
        let mut deep = root.clone();
        for _ in 0..200 {
            deep.push("d");
        }
        make(&deep.join("su"), 0o4755);
        make(&root.join("d/d/z"), 0o4755);

        let outcome = harden_rootfs(&root, &HardenOptions::default(), false).unwrap();
        assert_eq!(mode_of(&deep.join("su")), 0o755);
        assert_eq!(mode_of(&root.join("d/d/z")), 0o755);
        assert_eq!(outcome.changes.len(), 2);
        assert_eq!(outcome.changes[0].path, format!("/{}su", "d/".repeat(200)));
    }

    #[test]
    fn missing_root_is_named() {
        let scratch = tempfile::tempdir().unwrap();
        let error = harden_rootfs(
            &scratch.path().join("nonexist"),
            &HardenOptions::default(),
            false,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("nonexist"), "{message}");
        assert!(message.contains("no such directory"), "{message}");
    }

    #[test]
    fn symlinked_root_is_rejected() {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::create_dir(scratch.path().join("real")).unwrap();
        symlink(scratch.path().join("real"), scratch.path().join("link")).unwrap();
        let error = harden_rootfs(
            &scratch.path().join("link"),
            &HardenOptions::default(),
            false,
        )
        .unwrap_err();
        assert!(
            matches!(error, HardenError::RootfsDirectory { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("symbolic link"), "{error}");
    }
}
