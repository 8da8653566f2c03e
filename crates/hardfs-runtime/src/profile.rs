//! The writable paths an image needs under a read-only root, each with the
//! reasons it is there, and the user it runs as.

use std::collections::HashSet;

use hardfs_audit::{resolve_user, UserError};
use hardfs_fs::{display_path, FileKind, Tree};
use hardfs_image::ImageConfig;
use serde::Serialize;

use crate::LearnedPaths;

/// Default tmpfs size of `/run`: PID files, sockets and locks.
pub const RUN_SIZE: u64 = 16 << 20;
/// Default tmpfs size of every other path.
pub const DEFAULT_SIZE: u64 = 64 << 20;

/// Directories the runtime mounts its own file systems on.
const RUNTIME_MOUNTS: [&str; 3] = ["/dev", "/proc", "/sys"];

/// The only places `/tmp`, `/var/tmp`, `/run` and `/var/run` may resolve
/// to. An image that links one elsewhere (`run -> ../etc`) would get a
/// system directory made writable.
const TEMPORARY_TARGETS: [&str; 4] = ["/run", "/var/run", "/tmp", "/var/tmp"];

/// Characters that engines read as separators in `--tmpfs PATH:OPTIONS`
/// and in compose's `tmpfs` list. A path containing one could add its own
/// mount options, such as `exec` or `suid`.
const OPTION_SEPARATORS: [char; 2] = [':', ','];

/// Inputs besides the image.
#[derive(Clone, Debug, Default)]
pub struct ProfileOptions {
    /// Paths found by `hardfs learn`.
    pub learned: Option<LearnedPaths>,
    /// A user to run as instead of `config.User`, resolved in the image.
    pub user: Option<String>,
    /// tmpfs sizes in bytes for given paths, overriding the defaults.
    pub sizes: Vec<(String, u64)>,
    /// Leaves every path out: a read-only root with nothing writable.
    pub bare: bool,
    /// Mounts image volumes as tmpfs (emptyDir in Kubernetes) instead of
    /// persistent named volumes.
    pub volumes_as_tmpfs: bool,
}

/// The reason a path is writable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Declared in `config.Volumes`.
    Volume,
    /// `/tmp` or `/var/tmp`.
    Temporary,
    /// `/run`, also reached as `/var/run`.
    Runtime,
    /// `HOME` in `config.Env`.
    Home,
    /// `TMPDIR` in `config.Env`.
    Tmpdir,
    /// A directory the runtime user owns in the image.
    UserOwned,
    /// Written while `hardfs learn` ran the image.
    Learned,
}

impl Reason {
    /// Describes the reason in a short phrase for text output.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Volume => "image volume",
            Reason::Temporary => "temporary files",
            Reason::Runtime => "runtime state (PID files, sockets)",
            Reason::Home => "HOME",
            Reason::Tmpdir => "TMPDIR",
            Reason::UserOwned => "owned by the runtime user",
            Reason::Learned => "written during hardfs learn",
        }
    }
}

/// The owner of the mounted directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    /// root, mode 1777, shared by every user as `/tmp` is.
    Shared,
    /// The runtime user.
    User,
}

/// Mount kind of a writable path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountKind {
    /// A tmpfs, or an emptyDir in Kubernetes: empty at each start.
    Tmpfs,
    /// A persistent named volume, or a PersistentVolumeClaim in
    /// Kubernetes. Used for image volumes, whose data must survive a
    /// restart.
    Volume,
}

/// One writable path and how it is mounted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WritablePath {
    /// Absolute path inside the container, symlinks resolved in the image.
    pub path: String,
    pub reasons: Vec<Reason>,
    pub mount: MountKind,
    /// tmpfs size in bytes, which a named volume does not use.
    pub size: u64,
    /// Permission bits of the mounted directory.
    pub mode: u32,
    pub owner: Owner,
    /// Whether the image has files below the path, which a tmpfs hides
    /// unless the engine copies them in (podman does, docker and
    /// Kubernetes do not).
    pub image_content: bool,
}

/// The numeric user and group the container runs as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunUser {
    pub uid: u64,
    pub gid: u64,
    /// Supplementary groups from the image's /etc/group. Engines drop them
    /// when `--user` is numeric, so the profile adds them back.
    pub groups: Vec<u64>,
    pub name: Option<String>,
    /// The user as configured, before resolution.
    pub configured: Option<String>,
}

/// A condition that a profile reports instead of carrying it over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProfileWarning {
    /// The container would run as uid 0.
    RunsAsRoot { configured: Option<String> },
    /// The user or group is not in the image, so the container would not
    /// start; the profile sets no user.
    UnknownUser { configured: String, name: String },
    /// A `VOLUME` written with `:options`, which declares a directory whose
    /// name contains the colon; it is not mounted.
    VolumeWithOptions { volume: String },
    /// A candidate path that is a file in the image.
    NotADirectory { path: String },
    /// A candidate path that resolves to `/`, which is never made writable.
    RootDirectory { path: String },
    /// A path containing `:` or `,`, which would inject tmpfs options.
    OptionSeparator { path: String },
    /// A learned path at or below `/etc`, `/usr`, `/bin`, `/lib`, `/lib64`
    /// or `/sbin`, which the profile mounts writable as asked.
    LearnedSystemDirectory { path: String },
    /// A path whose name has a control character, a backslash or bytes
    /// that are not UTF-8. `path` is its escaped display form, which names
    /// another directory, so it is never written as a mount path.
    EscapedName { path: String },
    /// `/tmp`, `/var/tmp`, `/run` or `/var/run` resolves through a symlink
    /// to another directory.
    RedirectedTemporary { path: String, resolved: String },
    /// A directory the runtime user owns that contains files in the image,
    /// which a tmpfs would hide.
    OwnedWithContent { path: String },
    /// A path at or below `/dev`, `/proc` or `/sys`, which the runtime
    /// mounts itself.
    RuntimeMount { path: String },
    /// A `VOLUME` that is not an absolute path.
    RelativeVolume { volume: String },
    /// A `--size` override for a path that is not in the profile.
    UnusedSize { path: String },
    /// A user other than root whose primary group is 0, root's group.
    RootGroup { uid: u64 },
}

impl ProfileWarning {
    /// Formats the warning as a one-line message for stderr.
    pub fn message(&self) -> String {
        match self {
            ProfileWarning::RunsAsRoot { configured: None } => {
                "no USER is set, so the container runs as root (uid 0); pass --user NAME to run as a user from the image".into()
            }
            ProfileWarning::RunsAsRoot { configured: Some(user) } => format!(
                "USER `{user}` resolves to root (uid 0); pass --user NAME to run as a user from the image"
            ),
            ProfileWarning::RootGroup { uid } => format!(
                "the user (uid {uid}) has group 0, root's group, so the settings run it as group 0 and give its volumes to group root (Kubernetes fsGroup 0); give the user a group of its own in the image, or pass --user UID:GID"
            ),
            ProfileWarning::UnknownUser { configured, name } => format!(
                "USER `{configured}`: `{name}` is not in the image's /etc/passwd or /etc/group, so the container would not start; the profile sets no user"
            ),
            ProfileWarning::VolumeWithOptions { volume } => format!(
                "VOLUME `{volume}` names a directory containing a colon, not a mount with options; it is left out of the profile"
            ),
            ProfileWarning::NotADirectory { path } => {
                format!("{path} is not a directory in the image; it is left out of the profile")
            }
            ProfileWarning::RootDirectory { path } => {
                format!("{path} resolves to /, which is never made writable; it is left out of the profile")
            }
            ProfileWarning::OptionSeparator { path } => format!(
                "{path} contains `:` or `,`, which engines read as tmpfs option separators; it is left out of the profile"
            ),
            ProfileWarning::LearnedSystemDirectory { path } => format!(
                "{path} from the learned-paths file is a system directory, and a writable {path} lets the process replace system files; prefer configuring the program to write below /tmp, /run or a volume"
            ),
            ProfileWarning::EscapedName { path } => format!(
                "{path} has a control character, a backslash or bytes that are not UTF-8 in its name, shown escaped here, which a mount path cannot carry as written; it is left out of the profile"
            ),
            ProfileWarning::RedirectedTemporary { path, resolved } => format!(
                "{path} is a symlink in the image that resolves to {resolved}, not to a temporary or runtime directory; it is left out of the profile"
            ),
            ProfileWarning::OwnedWithContent { path } => format!(
                "{path} is owned by the runtime user but contains files in the image, which a tmpfs would hide; it is left out of the profile, so run `hardfs learn` to find the paths the image writes there, or mount a volume"
            ),
            ProfileWarning::RuntimeMount { path } => format!(
                "{path} is at or below /dev, /proc or /sys, which the runtime mounts itself; it is left out of the profile"
            ),
            ProfileWarning::RelativeVolume { volume } => format!(
                "VOLUME `{volume}` is not an absolute path; it is left out of the profile"
            ),
            ProfileWarning::UnusedSize { path } => {
                format!("--size {path}: the path is not in the profile, so the size is not used")
            }
        }
    }
}

/// Settings to run an image with a read-only root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// `None` when the configured user cannot be resolved.
    pub user: Option<RunUser>,
    pub paths: Vec<WritablePath>,
    /// Exposed TCP ports below 1024, which a non-root user can bind only
    /// with `net.ipv4.ip_unprivileged_port_start=0`.
    pub privileged_ports: Vec<u16>,
    pub warnings: Vec<ProfileWarning>,
}

impl Profile {
    /// Whether the profile must lower `net.ipv4.ip_unprivileged_port_start`.
    pub fn needs_unprivileged_ports(&self) -> bool {
        !self.privileged_ports.is_empty() && self.user.as_ref().is_some_and(|user| user.uid != 0)
    }

    pub fn runs_as_root(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.uid == 0)
    }
}

/// Computes the profile of an image from its configuration and merged tree.
pub fn build_profile(config: &ImageConfig, tree: &Tree, options: &ProfileOptions) -> Profile {
    let mut warnings = Vec::new();
    let user = run_user(config, tree, options, &mut warnings);
    let privileged_ports = config
        .exposed_ports
        .iter()
        .filter_map(|port| {
            port.strip_suffix("/tcp")
                .unwrap_or(port)
                .parse::<u16>()
                .ok()
        })
        .filter(|&port| port < 1024)
        .collect();

    let scan = scan_tree(tree);
    let mut candidates = Vec::new();
    if !options.bare {
        collect_candidates(
            config,
            tree,
            &scan,
            options,
            user.as_ref(),
            &mut candidates,
            &mut warnings,
        );
    }
    let mut paths = Vec::new();
    for (path, reason) in candidates {
        let Some(resolved) = resolve_in_image(tree, &path, reason, &mut warnings) else {
            continue;
        };
        if reason == Reason::Learned && crate::session::is_system_directory(&resolved) {
            let warning = ProfileWarning::LearnedSystemDirectory {
                path: resolved.clone(),
            };
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        merge(&mut paths, resolved, reason);
    }
    // A learned path can mount a directory that was left out for its
    // content, and then the "left out" warning would contradict the output.
    warnings.retain(|warning| match warning {
        ProfileWarning::OwnedWithContent { path } => !paths
            .iter()
            .any(|mounted| mounted.path == *path || is_below(path, &mounted.path)),
        _ => true,
    });
    for path in &mut paths {
        finish(path, tree, &scan, options);
    }
    paths.sort_by(|a, b| a.path.cmp(&b.path));
    for (override_path, _) in &options.sizes {
        let override_path = override_path.trim_end_matches('/');
        if !paths.iter().any(|path| path.path == override_path) {
            warnings.push(ProfileWarning::UnusedSize {
                path: override_path.to_string(),
            });
        }
    }
    Profile {
        user,
        paths,
        privileged_ports,
        warnings,
    }
}

fn run_user(
    config: &ImageConfig,
    tree: &Tree,
    options: &ProfileOptions,
    warnings: &mut Vec<ProfileWarning>,
) -> Option<RunUser> {
    let configured = options.user.as_deref().or(config.user.as_deref());
    match resolve_user(configured, tree) {
        Ok(resolved) => {
            if resolved.is_root() {
                warnings.push(ProfileWarning::RunsAsRoot {
                    configured: configured.map(str::to_string),
                });
            } else if resolved.gid == 0 {
                warnings.push(ProfileWarning::RootGroup { uid: resolved.uid });
            }
            Some(RunUser {
                uid: resolved.uid,
                gid: resolved.gid,
                groups: resolved.groups,
                name: resolved.name,
                configured: configured.map(str::to_string),
            })
        }
        Err(UserError::UnknownUser { configured, name })
        | Err(UserError::UnknownGroup { configured, name }) => {
            warnings.push(ProfileWarning::UnknownUser { configured, name });
            None
        }
    }
}

fn collect_candidates(
    config: &ImageConfig,
    tree: &Tree,
    scan: &TreeScan,
    options: &ProfileOptions,
    user: Option<&RunUser>,
    candidates: &mut Vec<(String, Reason)>,
    warnings: &mut Vec<ProfileWarning>,
) {
    for volume in &config.volumes {
        if volume.contains(':') {
            warnings.push(ProfileWarning::VolumeWithOptions {
                volume: volume.clone(),
            });
        } else if !volume.starts_with('/') {
            warnings.push(ProfileWarning::RelativeVolume {
                volume: volume.clone(),
            });
        } else {
            candidates.push((volume.clone(), Reason::Volume));
        }
    }
    for path in ["/tmp", "/var/tmp"] {
        candidates.push((path.into(), Reason::Temporary));
    }
    for path in ["/run", "/var/run"] {
        candidates.push((path.into(), Reason::Runtime));
    }
    for (name, reason) in [("HOME", Reason::Home), ("TMPDIR", Reason::Tmpdir)] {
        if let Some(value) = config.env_var(name).filter(|value| value.starts_with('/')) {
            candidates.push((value.to_string(), reason));
        }
    }
    if let Some(user) = user.filter(|user| user.uid != 0) {
        for path in owned_directories(tree, user.uid, warnings) {
            let relative = path.trim_start_matches('/').as_bytes();
            if scan.non_empty.contains(relative) {
                warnings.push(ProfileWarning::OwnedWithContent { path });
            } else {
                candidates.push((path, Reason::UserOwned));
            }
        }
    }
    if let Some(learned) = &options.learned {
        for learned_path in &learned.paths {
            candidates.push((learned_path.path.clone(), Reason::Learned));
        }
    }
}

/// Finds the top-most directories owned by `uid`, outside the runtime
/// mounts. A directory whose display form differs from its real name is
/// left out with a warning.
fn owned_directories(tree: &Tree, uid: u64, warnings: &mut Vec<ProfileWarning>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut escaped: Vec<String> = Vec::new();
    tree.walk(|path, file| {
        let inode = file.inode();
        if path.is_empty() || inode.kind != FileKind::Directory || inode.uid != uid {
            return;
        }
        let absolute = format!("/{}", display_path(path));
        let below_found = |top: &String| is_below(&absolute, top);
        if is_runtime_mount(&absolute)
            || found.iter().any(below_found)
            || escaped.iter().any(below_found)
        {
            return;
        }
        if std::str::from_utf8(path) != Ok(&absolute[1..]) {
            escaped.push(absolute);
            return;
        }
        found.push(absolute);
    });
    warnings.extend(
        escaped
            .into_iter()
            .map(|path| ProfileWarning::EscapedName { path }),
    );
    found
}

/// Directories of the image that have entries below them.
struct TreeScan {
    non_empty: HashSet<Vec<u8>>,
}

fn scan_tree(tree: &Tree) -> TreeScan {
    let mut non_empty = HashSet::new();
    tree.walk(|path, _| {
        if path.is_empty() {
            return;
        }
        let parent = match path.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => path[..slash].to_vec(),
            None => Vec::new(),
        };
        non_empty.insert(parent);
    });
    TreeScan { non_empty }
}

/// Normalizes a path and follows its symlinks inside the image, so that
/// `/var/run` becomes `/run` when the image links them. Returns `None`,
/// with a warning, for a path that must not be mounted.
fn resolve_in_image(
    tree: &Tree,
    path: &str,
    reason: Reason,
    warnings: &mut Vec<ProfileWarning>,
) -> Option<String> {
    let normalized = hardfs_fs::normalize(path.as_bytes()).ok()?;
    let resolved = match tree.lookup_following(normalized.as_ref()) {
        Some(file) => {
            if file.inode().kind != FileKind::Directory {
                warnings.push(ProfileWarning::NotADirectory { path: path.into() });
                return None;
            }
            file.path()
        }
        None => normalized.as_ref().to_vec(),
    };
    if resolved.is_empty() {
        warnings.push(ProfileWarning::RootDirectory { path: path.into() });
        return None;
    }
    let absolute = format!("/{}", display_path(&resolved));
    if is_runtime_mount(&absolute) {
        warnings.push(ProfileWarning::RuntimeMount { path: path.into() });
        return None;
    }
    let temporary = matches!(reason, Reason::Temporary | Reason::Runtime);
    if temporary && !TEMPORARY_TARGETS.contains(&absolute.as_str()) {
        warnings.push(ProfileWarning::RedirectedTemporary {
            path: path.into(),
            resolved: absolute,
        });
        return None;
    }
    // The display form escapes each such character with a backslash, and
    // shows a real backslash doubled.
    if absolute.contains('\\') {
        warnings.push(ProfileWarning::EscapedName { path: absolute });
        return None;
    }
    if has_option_separator(&absolute) {
        warnings.push(ProfileWarning::OptionSeparator { path: absolute });
        return None;
    }
    Some(absolute)
}

/// Adds a path, or its reason to the path or an ancestor already listed;
/// listed descendants of a new path are folded into it.
fn merge(paths: &mut Vec<WritablePath>, path: String, reason: Reason) {
    if let Some(existing) = paths
        .iter_mut()
        .find(|existing| existing.path == path || is_below(&path, &existing.path))
    {
        if !existing.reasons.contains(&reason) {
            existing.reasons.push(reason);
            existing.reasons.sort();
        }
        return;
    }
    let mut reasons = vec![reason];
    paths.retain(|existing| {
        if is_below(&existing.path, &path) {
            reasons.extend(existing.reasons.iter().copied());
            false
        } else {
            true
        }
    });
    reasons.sort();
    reasons.dedup();
    paths.push(WritablePath {
        path,
        reasons,
        mount: MountKind::Tmpfs,
        size: 0,
        mode: 0,
        owner: Owner::User,
        image_content: false,
    });
}

fn finish(path: &mut WritablePath, tree: &Tree, scan: &TreeScan, options: &ProfileOptions) {
    let relative = path.path.trim_start_matches('/').as_bytes().to_vec();
    let shared = path
        .reasons
        .iter()
        .all(|reason| *reason == Reason::Temporary);
    path.owner = if shared { Owner::Shared } else { Owner::User };
    let image_mode = tree
        .lookup(&relative)
        .map(|file| file.inode().mode & 0o7777);
    path.mode = match (shared, image_mode) {
        (true, _) => 0o1777,
        (false, Some(mode)) => mode | 0o700,
        (false, None) => 0o755,
    };
    path.image_content = scan.non_empty.contains(&relative);
    // A path below an image volume is folded into it by `merge`, so the
    // volume reason marks a whole mount point the image declared.
    path.mount = if path.reasons.contains(&Reason::Volume) && !options.volumes_as_tmpfs {
        MountKind::Volume
    } else {
        MountKind::Tmpfs
    };
    let default = if path.reasons.contains(&Reason::Runtime) && path.path == "/run" {
        RUN_SIZE
    } else {
        DEFAULT_SIZE
    };
    path.size = options
        .sizes
        .iter()
        .rev()
        .find(|(override_path, _)| override_path.trim_end_matches('/') == path.path)
        .map_or(default, |(_, size)| *size);
}

/// Returns whether a path contains `:` or `,`, which separate tmpfs options.
pub(crate) fn has_option_separator(path: &str) -> bool {
    path.contains(OPTION_SEPARATORS)
}

fn is_runtime_mount(path: &str) -> bool {
    RUNTIME_MOUNTS
        .iter()
        .any(|mount| path == *mount || is_below(path, mount))
}

/// Returns whether `path` lies strictly below `ancestor`.
pub(crate) fn is_below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use hardfs_fs::{read_layer, ReadOptions};
    use hardfs_tar::{EntryBuilder, Writer};

    use super::*;
    use crate::LearnedPath;

    /// Builds an image with user `app` (1000), `/run` linked to `/etc`, `/var/tmp`
    /// linked to `/usr/bin`, an owned `/app` holding a binary, an owned
    /// empty `/cache` and an owned directory whose name injects options.
    fn hostile_tree() -> Tree {
        let mut writer = Writer::new(Vec::new());
        let entries = [
            EntryBuilder::dir("etc/"),
            EntryBuilder::file(
                "etc/passwd",
                "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n",
            ),
            EntryBuilder::file("etc/group", "root:x:0:\napp:x:1000:\n"),
            EntryBuilder::symlink("run", "../../../etc"),
            EntryBuilder::dir("usr/"),
            EntryBuilder::dir("usr/bin/"),
            EntryBuilder::dir("var/"),
            EntryBuilder::symlink("var/tmp", "../usr/bin"),
            EntryBuilder::dir("tmp/").mode(0o1777),
            EntryBuilder::dir("app/").owner(1000, 1000),
            EntryBuilder::file("app/server", "binary")
                .mode(0o755)
                .owner(1000, 1000),
            EntryBuilder::dir("cache/").owner(1000, 1000),
            EntryBuilder::dir("srv/"),
            EntryBuilder::dir("srv/d:exec,suid,size=2g/").owner(1000, 1000),
            EntryBuilder::dir("srv/esc\x1b[31mred/").owner(1000, 1000),
            EntryBuilder::dir(b"srv/bad\xff/".as_slice()).owner(1000, 1000),
            EntryBuilder::dir("srv/back\\slash/").owner(1000, 1000),
        ];
        for entry in &entries {
            writer.append(entry).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let mut tree = Tree::new();
        let layer = read_layer(&bytes[..], &ReadOptions::with_account_files()).unwrap();
        tree.apply_layer(0, layer).unwrap();
        tree
    }

    fn app_config() -> ImageConfig {
        ImageConfig {
            user: Some("app".into()),
            volumes: vec!["/data".into(), "rel".into()],
            ..ImageConfig::default()
        }
    }

    fn learned(paths: &[&str]) -> LearnedPaths {
        let paths = paths
            .iter()
            .map(|path| LearnedPath {
                path: path.to_string(),
                writes: Vec::new(),
                denied: Vec::new(),
            })
            .collect();
        LearnedPaths::new("oci:x", &[], paths)
    }

    fn paths(profile: &Profile) -> Vec<&str> {
        profile
            .paths
            .iter()
            .map(|path| path.path.as_str())
            .collect()
    }

    #[test]
    fn root_group_is_warned() {
        let config = ImageConfig {
            user: Some("4242".into()),
            ..ImageConfig::default()
        };
        let profile = build_profile(&config, &hostile_tree(), &ProfileOptions::default());
        assert_eq!(
            profile.user.as_ref().map(|user| (user.uid, user.gid)),
            Some((4242, 0))
        );
        assert!(
            profile
                .warnings
                .contains(&ProfileWarning::RootGroup { uid: 4242 }),
            "{:?}",
            profile.warnings
        );

        let profile = build_profile(&app_config(), &hostile_tree(), &ProfileOptions::default());
        assert!(!profile
            .warnings
            .iter()
            .any(|warning| matches!(warning, ProfileWarning::RootGroup { .. })));
    }

    #[test]
    fn escaped_names_left_out() {
        let options = ProfileOptions {
            learned: Some(learned(&["/new\u{7}bell"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);

        assert_eq!(paths(&profile), ["/cache", "/data", "/tmp", "/var/run"]);
        for path in [
            "/srv/esc\\u{1b}[31mred",
            "/srv/bad\\xff",
            "/srv/back\\\\slash",
            "/new\\u{7}bell",
        ] {
            let warning = ProfileWarning::EscapedName { path: path.into() };
            assert!(
                profile.warnings.contains(&warning),
                "{path}: {:?}",
                profile.warnings
            );
        }
    }

    #[test]
    fn option_separators_left_out() {
        let options = ProfileOptions {
            learned: Some(learned(&["/x:exec,suid,size=1g", "/var/log,exec"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);

        assert_eq!(paths(&profile), ["/cache", "/data", "/tmp", "/var/run"]);
        for path in [
            "/srv/d:exec,suid,size=2g",
            "/x:exec,suid,size=1g",
            "/var/log,exec",
        ] {
            let warning = ProfileWarning::OptionSeparator { path: path.into() };
            assert!(
                profile.warnings.contains(&warning),
                "{path}: {:?}",
                profile.warnings
            );
        }
    }

    #[test]
    fn temporary_symlinks_to_system_directories_left_out() {
        let profile = build_profile(&app_config(), &hostile_tree(), &ProfileOptions::default());

        assert!(!paths(&profile).contains(&"/etc"), "{:?}", paths(&profile));
        assert!(
            !paths(&profile).contains(&"/usr/bin"),
            "{:?}",
            paths(&profile)
        );
        for (path, resolved) in [("/run", "/etc"), ("/var/tmp", "/usr/bin")] {
            let warning = ProfileWarning::RedirectedTemporary {
                path: path.into(),
                resolved: resolved.into(),
            };
            assert!(
                profile.warnings.contains(&warning),
                "{path}: {:?}",
                profile.warnings
            );
        }
    }

    #[test]
    fn owned_directory_with_content_left_out() {
        let profile = build_profile(&app_config(), &hostile_tree(), &ProfileOptions::default());

        assert!(!paths(&profile).contains(&"/app"), "{:?}", paths(&profile));
        assert!(paths(&profile).contains(&"/cache"), "{:?}", paths(&profile));
        let warning = ProfileWarning::OwnedWithContent {
            path: "/app".into(),
        };
        assert!(
            profile.warnings.contains(&warning),
            "{:?}",
            profile.warnings
        );
        assert!(warning.message().contains("hardfs learn"));
    }

    #[test]
    fn learned_path_below_owned_content_kept() {
        let options = ProfileOptions {
            learned: Some(learned(&["/app/cache"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);
        assert!(
            paths(&profile).contains(&"/app/cache"),
            "{:?}",
            paths(&profile)
        );
    }

    #[test]
    fn learned_owned_content_not_called_left_out() {
        let options = ProfileOptions {
            learned: Some(learned(&["/app"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);

        assert!(paths(&profile).contains(&"/app"), "{:?}", paths(&profile));
        let left_out = ProfileWarning::OwnedWithContent {
            path: "/app".into(),
        };
        assert!(
            !profile.warnings.contains(&left_out),
            "{:?}",
            profile.warnings
        );
    }

    #[test]
    fn learned_system_directories_warned() {
        let options = ProfileOptions {
            learned: Some(learned(&["/etc", "/usr/bin/x", "/srv"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);

        assert!(paths(&profile).contains(&"/etc"), "{:?}", paths(&profile));
        for path in ["/etc", "/usr/bin/x"] {
            let warning = ProfileWarning::LearnedSystemDirectory { path: path.into() };
            assert!(
                profile.warnings.contains(&warning),
                "{path}: {:?}",
                profile.warnings
            );
        }
        let srv = ProfileWarning::LearnedSystemDirectory {
            path: "/srv".into(),
        };
        assert!(!profile.warnings.contains(&srv), "{:?}", profile.warnings);
    }

    #[test]
    fn runtime_mounts_warned() {
        let options = ProfileOptions {
            learned: Some(learned(&["/proc", "/dev/shm", "/sys/x"])),
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);
        for path in ["/proc", "/dev/shm", "/sys/x"] {
            let warning = ProfileWarning::RuntimeMount { path: path.into() };
            assert!(
                profile.warnings.contains(&warning),
                "{path}: {:?}",
                profile.warnings
            );
        }
    }

    #[test]
    fn relative_volume_left_out() {
        let profile = build_profile(&app_config(), &hostile_tree(), &ProfileOptions::default());
        assert!(!paths(&profile).contains(&"/rel"), "{:?}", paths(&profile));
        let warning = ProfileWarning::RelativeVolume {
            volume: "rel".into(),
        };
        assert!(
            profile.warnings.contains(&warning),
            "{:?}",
            profile.warnings
        );
    }

    #[test]
    fn volume_mounted_as_named_volume() {
        let profile = build_profile(&app_config(), &hostile_tree(), &ProfileOptions::default());
        let mounts: Vec<(&str, MountKind)> = profile
            .paths
            .iter()
            .map(|path| (path.path.as_str(), path.mount))
            .collect();
        assert_eq!(
            mounts,
            [
                ("/cache", MountKind::Tmpfs),
                ("/data", MountKind::Volume),
                ("/tmp", MountKind::Tmpfs),
                ("/var/run", MountKind::Tmpfs),
            ]
        );
        let options = ProfileOptions {
            volumes_as_tmpfs: true,
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);
        assert!(
            profile
                .paths
                .iter()
                .all(|path| path.mount == MountKind::Tmpfs),
            "{:?}",
            profile.paths
        );
    }

    #[test]
    fn unused_size_override_warned() {
        let options = ProfileOptions {
            sizes: vec![("/nope".into(), 1 << 20), ("/tmp/".into(), 2 << 20)],
            ..ProfileOptions::default()
        };
        let profile = build_profile(&app_config(), &hostile_tree(), &options);
        let warning = ProfileWarning::UnusedSize {
            path: "/nope".into(),
        };
        assert!(
            profile.warnings.contains(&warning),
            "{:?}",
            profile.warnings
        );
        let tmp_warning = ProfileWarning::UnusedSize {
            path: "/tmp".into(),
        };
        assert!(
            !profile.warnings.contains(&tmp_warning),
            "{:?}",
            profile.warnings
        );
    }
}
