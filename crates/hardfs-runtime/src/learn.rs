//! `learn`: run an image with a writable root as its runtime user, and
//! reduce what it wrote to the directories a read-only root must mount.

use std::time::Duration;

use hardfs_fs::{FileKind, Tree};

use crate::profile::{has_option_separator, is_below, DEFAULT_SIZE};
use crate::render::{port_flags, tmpfs_options, user_flags};
use crate::session::{
    failed_write_paths, run_spec, start_failure_stderr, suggest_directories, wait_ready,
    ContainerGuard,
};
use crate::{
    parse_diff, reduce_changes, Engine, LearnedPath, LearnedPaths, Owner, Profile, Reason,
    RunOptions, RuntimeError, WritablePath,
};

/// Maximum number of runs of one `learn`: the first run, and one more for
/// each round of directories that the user was denied writing.
pub const MAX_LEARN_RUNS: usize = 4;

/// Settings of `learn`.
#[derive(Clone, Debug)]
pub struct LearnOptions {
    pub run: RunOptions,
    /// How long to keep the container running after it is ready.
    pub duration: Duration,
    /// The profile whose user, groups and port sysctl every run uses. Its
    /// paths are not mounted, so that the writes below them show in the
    /// diff.
    pub profile: Profile,
    /// The reference written into the learned-paths file.
    pub reference: String,
}

/// The result of `learn`.
#[derive(Clone, Debug)]
pub struct LearnOutcome {
    pub learned: LearnedPaths,
    /// Changes at the top level, which are never turned into `/`.
    pub at_root: Vec<String>,
    /// Whether the probe (or HEALTHCHECK, or staying up) succeeded in the
    /// last run.
    pub ready: bool,
    pub reason: String,
    /// The last log lines of the last run.
    pub logs: String,
    /// The `run` arguments of each run, in order.
    pub runs: Vec<Vec<String>>,
}

/// One run of the image.
struct Run {
    ready: bool,
    reason: String,
    logs: String,
    diff: String,
    arguments: Vec<String>,
}

/// Runs the image with a writable root as the profile's user, waits until
/// it is ready and then for `duration`, and reduces what it wrote to
/// directories.
///
/// A writable root does not make root-owned directories writable for a
/// non-root user, so a hardened image can fail before it writes anything
/// (nginx as www-data cannot create `/var/lib/nginx/body`). When a run
/// fails and the output names paths the user was denied writing, the
/// nearest image directory of each is mounted as a tmpfs owned by the user
/// and the image runs again, at most [`MAX_LEARN_RUNS`] times in all. The
/// mounted directories are learned paths too.
pub fn learn(
    engine: &dyn Engine,
    tree: &Tree,
    options: &LearnOptions,
) -> Result<LearnOutcome, RuntimeError> {
    let mut mounted: Vec<LearnedPath> = Vec::new();
    let mut runs = Vec::new();
    loop {
        let run = run_once(engine, options, &mounted)?;
        runs.push(run.arguments.clone());
        let denied = if run.ready {
            Vec::new()
        } else {
            denied_directories(&run.logs, tree, &mounted)
        };
        if denied.is_empty() || runs.len() >= MAX_LEARN_RUNS {
            return finish(engine, tree, options, run, mounted, runs);
        }
        for directory in denied {
            tracing::info!(
                path = %directory.path,
                denied = ?directory.denied,
                "the user was denied writing below this directory; mounting it and running the image again"
            );
            mounted.push(directory);
        }
    }
}

fn run_once(
    engine: &dyn Engine,
    options: &LearnOptions,
    mounted: &[LearnedPath],
) -> Result<Run, RuntimeError> {
    let profile = &options.profile;
    let mut flags = user_flags(profile);
    flags.extend(port_flags(profile));
    for directory in mounted {
        let path = WritablePath {
            path: directory.path.clone(),
            reasons: vec![Reason::Learned],
            mount: crate::MountKind::Tmpfs,
            size: DEFAULT_SIZE,
            mode: 0o755,
            owner: Owner::User,
            image_content: true,
        };
        flags.push("--tmpfs".into());
        let mount_options = tmpfs_options(&path, profile, engine.kind());
        flags.push(format!("{}:{mount_options}", directory.path));
    }

    let (spec, publish) = run_spec("learn", flags, &options.run)?;
    let arguments = spec.arguments();
    // The guard names the container before it exists, so that a signal
    // during `run` still removes it.
    let guard = ContainerGuard::new(engine, spec.name.clone());
    if let Err(error) = engine.run(&spec) {
        // A process that cannot be started is the image failing, as in
        // `verify`, not an engine error.
        let stderr = start_failure_stderr(error)?;
        drop(guard);
        return Ok(Run {
            ready: false,
            reason: format!(
                "the container did not start: {}",
                stderr.lines().last().unwrap_or("").trim()
            ),
            logs: stderr,
            diff: String::new(),
            arguments,
        });
    }

    let readiness = wait_ready(engine, &guard.id, &publish, &options.run)?;
    if readiness.ready {
        std::thread::sleep(options.duration);
    }
    let logs = engine.logs(&guard.id, options.run.log_lines)?;
    let diff = engine.diff(&guard.id)?;
    drop(guard);
    Ok(Run {
        ready: readiness.ready,
        reason: readiness.reason,
        logs,
        diff,
        arguments,
    })
}

/// Finds the image directories, not mounted yet, at or above the paths
/// that the output reports the user was denied writing. A directory whose
/// name contains `:` or `,` is never mounted, because it would add its own
/// tmpfs options.
// NOTE: "permission denied" may also come from a read. The directory is
// then mounted and learned all the same, and `denied` shows why.
fn denied_directories(logs: &str, tree: &Tree, mounted: &[LearnedPath]) -> Vec<LearnedPath> {
    let failed = failed_write_paths(logs);
    suggest_directories(&failed, tree)
        .into_iter()
        .filter(|directory| !mounted.iter().any(|known| known.path == *directory))
        .filter(|directory| {
            let unsafe_name = has_option_separator(directory);
            if unsafe_name {
                tracing::warn!(path = %directory, "not mounting a directory whose name contains `:` or `,`");
            }
            !unsafe_name
        })
        .map(|directory| LearnedPath {
            denied: failed
                .iter()
                .filter(|path| **path == directory || is_below(path, &directory))
                .cloned()
                .collect(),
            path: directory,
            writes: Vec::new(),
        })
        .collect()
}

fn finish(
    engine: &dyn Engine,
    tree: &Tree,
    options: &LearnOptions,
    run: Run,
    mounted: Vec<LearnedPath>,
    runs: Vec<Vec<String>>,
) -> Result<LearnOutcome, RuntimeError> {
    let changes = parse_diff(&run.diff).map_err(|line| RuntimeError::EngineOutput {
        command: format!("{} diff", engine.kind().program()),
        reason: format!("unexpected line `{line}`"),
    })?;
    let (mut paths, at_root) = reduce_changes(&changes, |path| {
        tree.lookup(path.trim_start_matches('/').as_bytes())
            .map(|file| file.inode().kind == FileKind::Directory)
    });
    add_mounted(&mut paths, mounted);
    Ok(LearnOutcome {
        learned: LearnedPaths::new(&options.reference, &options.run.command, paths),
        at_root,
        ready: run.ready,
        reason: run.reason,
        logs: run.logs,
        runs,
    })
}

/// Adds the mounted directories to the paths from the diff, keeping no
/// path below another and the list sorted.
fn add_mounted(paths: &mut Vec<LearnedPath>, mounted: Vec<LearnedPath>) {
    for directory in mounted {
        if let Some(ancestor) = paths
            .iter_mut()
            .find(|path| path.path == directory.path || is_below(&directory.path, &path.path))
        {
            ancestor.denied.extend(directory.denied);
            continue;
        }
        let mut merged = directory;
        paths.retain(|path| {
            let below = is_below(&path.path, &merged.path);
            if below {
                merged.writes.extend(path.writes.iter().cloned());
            }
            !below
        });
        paths.push(merged);
    }
    paths.sort_by(|a, b| a.path.cmp(&b.path));
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use hardfs_fs::{read_layer, ReadOptions};
    use hardfs_tar::{EntryBuilder, Writer};

    use super::*;
    use crate::{ContainerState, EngineKind, ExecOutput, RunSpec, RunUser};

    /// An engine whose container exits with a "Permission denied" line
    /// until every directory in `needs` is mounted, and then stays up and
    /// writes `/srv/data/file`.
    struct DeniedEngine {
        needs: Vec<&'static str>,
        /// The exit status of a `run` that cannot start the process.
        start_status: Option<&'static str>,
        started: Mutex<Vec<RunSpec>>,
        removed: Mutex<Vec<String>>,
    }

    impl DeniedEngine {
        fn new(needs: &[&'static str]) -> DeniedEngine {
            DeniedEngine {
                needs: needs.to_vec(),
                start_status: None,
                started: Mutex::new(Vec::new()),
                removed: Mutex::new(Vec::new()),
            }
        }

        /// Returns the first needed directory that the last run did not mount.
        fn missing(&self) -> Option<&'static str> {
            let started = self.started.lock().unwrap();
            let flags = &started.last().expect("a run started").flags;
            self.needs.iter().copied().find(|need| {
                !flags
                    .iter()
                    .any(|flag| flag.starts_with(&format!("{need}:")))
            })
        }
    }

    impl Engine for DeniedEngine {
        fn kind(&self) -> EngineKind {
            EngineKind::Podman
        }
        fn load_image(&self, _: &hardfs_image::Reference, _: &str) -> Result<(), RuntimeError> {
            unreachable!("these tests load no image")
        }
        fn remove_image(&self, _: &str) -> Result<(), RuntimeError> {
            unreachable!("these tests load no image")
        }
        fn image_remover(&self, _: &str) -> Option<Box<dyn Fn() + Send>> {
            None
        }
        fn run(&self, spec: &RunSpec) -> Result<String, RuntimeError> {
            self.started.lock().unwrap().push(spec.clone());
            match self.start_status {
                Some(status) => Err(RuntimeError::EngineCommand {
                    command: format!("podman run {}", spec.name),
                    status: status.into(),
                    stderr: "Error: crun: executable file `/app/server` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found".into(),
                }),
                None => Ok(spec.name.clone()),
            }
        }
        fn state(&self, _: &str) -> Result<ContainerState, RuntimeError> {
            let running = self.missing().is_none();
            let exit_code = if running { 0 } else { 1 };
            Ok(ContainerState { running, exit_code })
        }
        fn logs(&self, _: &str, _: usize) -> Result<String, RuntimeError> {
            Ok(match self.missing() {
                Some(need) => format!("open() \"{need}/x\" failed (13: Permission denied)\n"),
                None => String::new(),
            })
        }
        fn diff(&self, _: &str) -> Result<String, RuntimeError> {
            Ok(match self.missing() {
                Some(_) => String::new(),
                None => "C /srv\nC /srv/data\nA /srv/data/file\n".into(),
            })
        }
        fn exec(&self, _: &str, _: &[String]) -> Result<ExecOutput, RuntimeError> {
            unreachable!("no exec probe in these tests")
        }
        fn health(&self, _: &str) -> Result<bool, RuntimeError> {
            Ok(false)
        }
        fn remove(&self, container: &str) -> Result<(), RuntimeError> {
            self.removed.lock().unwrap().push(container.to_string());
            Ok(())
        }
        fn remover(&self, _: &str) -> Option<Box<dyn Fn() + Send>> {
            None
        }
        fn create_volume(&self, _: &str, _: &str) -> Result<(), RuntimeError> {
            unreachable!("learn creates no volume")
        }
        fn remove_volume(&self, _: &str) -> Result<(), RuntimeError> {
            unreachable!("learn creates no volume")
        }
        fn volume_remover(&self, _: &str) -> Option<Box<dyn Fn() + Send>> {
            None
        }
    }

    fn image_tree() -> Tree {
        let mut writer = Writer::new(Vec::new());
        for directory in ["srv/", "srv/data/", "var/", "var/lib/"] {
            writer.append(&EntryBuilder::dir(directory)).unwrap();
        }
        for directory in ["a", "b", "c", "d", "e"] {
            let entry = EntryBuilder::dir(format!("var/lib/{directory}/"));
            writer.append(&entry).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let mut tree = Tree::new();
        let layer = read_layer(&bytes[..], &ReadOptions::with_account_files()).unwrap();
        tree.apply_layer(0, layer).unwrap();
        tree
    }

    fn options() -> LearnOptions {
        let mut run = RunOptions::new("image");
        run.stable_for = Duration::from_millis(10);
        LearnOptions {
            run,
            duration: Duration::ZERO,
            profile: Profile {
                user: Some(RunUser {
                    uid: 1000,
                    gid: 1000,
                    groups: Vec::new(),
                    name: Some("app".into()),
                    configured: Some("app".into()),
                }),
                paths: Vec::new(),
                privileged_ports: Vec::new(),
                warnings: Vec::new(),
            },
            reference: "oci:image".into(),
        }
    }

    #[test]
    fn denied_directories_mounted_and_learned() {
        let engine = DeniedEngine::new(&["/var/lib/a", "/var/lib/b"]);
        let outcome = learn(&engine, &image_tree(), &options()).unwrap();

        assert!(outcome.ready, "{}", outcome.reason);
        assert_eq!(outcome.runs.len(), 3);
        assert_eq!(
            outcome.learned.paths,
            [
                learned("/srv/data", &["A /srv/data/file"], &[]),
                learned("/var/lib/a", &[], &["/var/lib/a/x"]),
                learned("/var/lib/b", &[], &["/var/lib/b/x"]),
            ]
        );

        let started = engine.started.lock().unwrap();
        assert_eq!(started[0].flags, ["--user", "1000:1000"]);
        assert_eq!(
            started[2].flags,
            [
                "--user",
                "1000:1000",
                "--tmpfs",
                "/var/lib/a:rw,nosuid,nodev,noexec,size=64m,mode=0755,U",
                "--tmpfs",
                "/var/lib/b:rw,nosuid,nodev,noexec,size=64m,mode=0755,U",
            ]
        );
        let names: Vec<String> = started.iter().map(|spec| spec.name.clone()).collect();
        assert_eq!(*engine.removed.lock().unwrap(), names);
    }

    #[test]
    fn start_failure_is_not_ready() {
        let mut engine = DeniedEngine::new(&[]);
        engine.start_status = Some("exit status: 127");
        let outcome = learn(&engine, &image_tree(), &options()).unwrap();

        assert!(!outcome.ready);
        assert!(
            outcome
                .reason
                .starts_with("the container did not start: Error: crun"),
            "{}",
            outcome.reason
        );
        assert!(outcome.learned.paths.is_empty());
        assert_eq!(outcome.runs.len(), 1);
        assert_eq!(engine.removed.lock().unwrap().len(), 1);

        engine.start_status = Some("exit status: 125");
        assert!(learn(&engine, &image_tree(), &options()).is_err());
    }

    #[test]
    fn learn_stops_after_max_runs() {
        let needs = [
            "/var/lib/a",
            "/var/lib/b",
            "/var/lib/c",
            "/var/lib/d",
            "/var/lib/e",
        ];
        let engine = DeniedEngine::new(&needs);
        let outcome = learn(&engine, &image_tree(), &options()).unwrap();

        assert!(!outcome.ready);
        assert_eq!(outcome.reason, "the container exited with code 1");
        assert_eq!(outcome.runs.len(), MAX_LEARN_RUNS);
        let paths: Vec<&str> = outcome
            .learned
            .paths
            .iter()
            .map(|path| path.path.as_str())
            .collect();
        assert_eq!(paths, ["/var/lib/a", "/var/lib/b", "/var/lib/c"]);
        assert_eq!(engine.removed.lock().unwrap().len(), MAX_LEARN_RUNS);
    }

    #[test]
    fn denied_directory_with_option_separator_not_mounted() {
        let mut writer = Writer::new(Vec::new());
        writer.append(&EntryBuilder::dir("x:exec/")).unwrap();
        let bytes = writer.finish().unwrap();
        let mut tree = Tree::new();
        let layer = read_layer(&bytes[..], &ReadOptions::with_account_files()).unwrap();
        tree.apply_layer(0, layer).unwrap();

        let engine = DeniedEngine::new(&["/x:exec"]);
        let outcome = learn(&engine, &tree, &options()).unwrap();

        assert_eq!(outcome.runs.len(), 1);
        let started = engine.started.lock().unwrap();
        assert!(
            !started
                .iter()
                .any(|spec| spec.flags.iter().any(|flag| flag.starts_with("/x:exec"))),
            "{:?}",
            started[0].flags
        );
    }

    #[test]
    fn denial_outside_image_directories_stops() {
        let engine = DeniedEngine::new(&["/opt/app"]);
        let outcome = learn(&engine, &image_tree(), &options()).unwrap();

        assert!(!outcome.ready);
        assert_eq!(outcome.runs.len(), 1);
        assert!(
            outcome.learned.paths.is_empty(),
            "{:?}",
            outcome.learned.paths
        );
    }

    fn learned(path: &str, writes: &[&str], denied: &[&str]) -> LearnedPath {
        LearnedPath {
            path: path.into(),
            writes: writes.iter().map(|write| write.to_string()).collect(),
            denied: denied.iter().map(|path| path.to_string()).collect(),
        }
    }

    #[test]
    fn mounted_directory_joins_diff_paths_sorted() {
        let mut paths = vec![learned("/run", &["A /run/nginx.pid"], &[])];
        add_mounted(
            &mut paths,
            vec![learned("/var/lib/nginx", &[], &["/var/lib/nginx/body"])],
        );
        assert_eq!(
            paths,
            [
                learned("/run", &["A /run/nginx.pid"], &[]),
                learned("/var/lib/nginx", &[], &["/var/lib/nginx/body"]),
            ]
        );
    }

    #[test]
    fn mounted_directory_folds_paths_below_it() {
        let mut paths = vec![
            learned("/srv/app/cache", &["A /srv/app/cache/x"], &[]),
            learned("/var/log", &["A /var/log/app.log"], &[]),
        ];
        add_mounted(&mut paths, vec![learned("/srv/app", &[], &["/srv/app/db"])]);
        assert_eq!(
            paths,
            [
                learned("/srv/app", &["A /srv/app/cache/x"], &["/srv/app/db"]),
                learned("/var/log", &["A /var/log/app.log"], &[]),
            ]
        );
    }

    #[test]
    fn mounted_directory_below_diff_path_merges() {
        let mut paths = vec![learned("/var/lib", &["A /var/lib/x"], &[])];
        add_mounted(
            &mut paths,
            vec![learned("/var/lib/nginx", &[], &["/var/lib/nginx/body"])],
        );
        assert_eq!(
            paths,
            [learned(
                "/var/lib",
                &["A /var/lib/x"],
                &["/var/lib/nginx/body"]
            )]
        );
    }
}
