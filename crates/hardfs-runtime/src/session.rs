//! Running an image for `learn` and `verify`: start it, wait for a probe,
//! read what it wrote or why it failed, and always remove the container,
//! on error and on Ctrl-C too.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use hardfs_fs::{FileKind, Tree};

use crate::render::{engine_flags, volume_source};
use crate::{Engine, MountKind, Probe, Profile, RunSpec, RuntimeError};

/// How long to wait between two looks at the container.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Removal callbacks of the containers alive right now, for the signal
/// handler.
type Cleanup = Box<dyn Fn() + Send>;
static LIVE_CONTAINERS: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(0);
/// The number in the next container's name, `hardfs-PURPOSE-PID-N`.
static NEXT_CONTAINER: AtomicU64 = AtomicU64::new(0);
static SIGNAL_HANDLER: Once = Once::new();
/// Set by the signal handler before it removes anything.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs a SIGINT/SIGTERM handler, once per process, that removes every
/// container still running and every image name still loaded, and exits
/// with status 130.
pub fn cleanup_on_signal() {
    SIGNAL_HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            let cleanups = std::mem::take(&mut *LIVE_CONTAINERS.lock().unwrap_or_else(|e| e.into_inner()));
            // Newest first: containers go before the image they run.
            for (_, cleanup) in cleanups.into_iter().rev() {
                cleanup();
            }
            std::process::exit(130);
        });
        if let Err(error) = installed {
            tracing::warn!(%error, "cannot install the Ctrl-C handler; an interrupted run may leave its container behind");
        }
    });
}

/// Waits for the signal handler to finish and exit with status 130, when
/// a signal arrived. The handler removes the container under a run, which
/// then fails, and without this wait the main thread reports that failure
/// and exits first, with the wrong status.
pub fn wait_if_interrupted() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// Removes its container, by name, when dropped, and until then lets the
/// signal handler remove it.
// NOTE: a signal that arrives while the engine's `run` command is still
// creating the container may remove nothing, and that command can finish
// after hardfs exits.
pub(crate) struct ContainerGuard<'a> {
    engine: &'a dyn Engine,
    pub(crate) id: String,
    token: u64,
}

impl<'a> ContainerGuard<'a> {
    pub(crate) fn new(engine: &'a dyn Engine, id: String) -> ContainerGuard<'a> {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::SeqCst);
        if let Some(cleanup) = engine.remover(&id) {
            LIVE_CONTAINERS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((token, cleanup));
        }
        ContainerGuard { engine, id, token }
    }
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        LIVE_CONTAINERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(token, _)| *token != self.token);
        match self.engine.remove(&self.id) {
            Ok(()) => tracing::debug!(container = %self.id, "removed the container"),
            Err(error) => {
                tracing::warn!(container = %self.id, %error, "cannot remove the container")
            }
        }
    }
}

/// Removes a named volume that a run created when dropped, and until then
/// lets the signal handler remove it. Created before the container's
/// guard, so that the container, which holds the volume, goes first.
pub(crate) struct VolumeGuard<'a> {
    engine: &'a dyn Engine,
    name: String,
    token: u64,
}

impl<'a> VolumeGuard<'a> {
    /// Creates the volume, registered for removal before it exists.
    pub(crate) fn create(
        engine: &'a dyn Engine,
        name: String,
        label: &str,
    ) -> Result<VolumeGuard<'a>, RuntimeError> {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::SeqCst);
        if let Some(cleanup) = engine.volume_remover(&name) {
            LIVE_CONTAINERS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((token, cleanup));
        }
        let guard = VolumeGuard {
            engine,
            name,
            token,
        };
        engine.create_volume(&guard.name, label)?;
        Ok(guard)
    }
}

impl Drop for VolumeGuard<'_> {
    fn drop(&mut self) {
        LIVE_CONTAINERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(token, _)| *token != self.token);
        match self.engine.remove_volume(&self.name) {
            Ok(()) => tracing::debug!(volume = %self.name, "removed the volume"),
            Err(error) => tracing::warn!(volume = %self.name, %error, "cannot remove the volume"),
        }
    }
}

/// The label on every container that `learn` and `verify` start, with
/// `learn` or `verify` as its value, and on every volume that `verify`
/// creates. A container left behind by a killed hardfs is found with
/// `podman ps --all --filter label=dev.hardfs.run`, and a volume with
/// `podman volume ls --filter label=dev.hardfs.run`.
pub const RUN_LABEL: &str = "dev.hardfs.run";

/// The repository that images are loaded under, one tag per process.
pub const IMAGE_REPOSITORY: &str = "localhost/hardfs-run";

/// An image name loaded into the engine for one run of hardfs. Dropping
/// it removes the name, and the signal handler removes it until then.
pub struct EngineImage {
    /// `localhost/hardfs-run/DIGEST:PID`, to pass to `run`.
    pub name: String,
    token: u64,
    remove: Option<Cleanup>,
}

impl Drop for EngineImage {
    fn drop(&mut self) {
        LIVE_CONTAINERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(token, _)| *token != self.token);
        if let Some(remove) = &self.remove {
            remove();
            tracing::debug!(image = %self.name, "removed the image name");
        }
    }
}

/// Loads an image into the engine under a name of its own,
/// `localhost/hardfs-run/` with the first 12 hex digits of the config
/// digest and the process ID as tag, so that no name the user has is
/// created or moved.
pub fn load_engine_image(
    engine: &dyn Engine,
    reference: &hardfs_image::Reference,
    config_digest: &str,
) -> Result<EngineImage, RuntimeError> {
    let hex = config_digest.rsplit(':').next().unwrap_or(config_digest);
    let short: String = hex.chars().take(12).collect();
    let name = format!("{IMAGE_REPOSITORY}/{short}:{}", std::process::id());
    // Registered before the copy starts, so that Ctrl-C during the copy
    // removes whatever part of the name exists.
    let token = NEXT_TOKEN.fetch_add(1, Ordering::SeqCst);
    if let Some(cleanup) = engine.image_remover(&name) {
        LIVE_CONTAINERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((token, cleanup));
    }
    let image = EngineImage {
        remove: engine.image_remover(&name),
        name,
        token,
    };
    engine.load_image(reference, &image.name)?;
    Ok(image)
}

/// Settings shared by `learn` and `verify`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The image's name or ID in the engine.
    pub image: String,
    /// Probes that must all pass, in order. A probe that passed is not
    /// tried again.
    pub probes: Vec<Probe>,
    /// Whether the image has a HEALTHCHECK to use when there is no probe.
    pub has_healthcheck: bool,
    /// How long the probe may take to pass.
    pub timeout: Duration,
    /// Without probe or HEALTHCHECK, how long the container must stay up.
    pub stable_for: Duration,
    pub memory: String,
    pub pids_limit: u32,
    pub command: Vec<String>,
    /// Log lines kept for the report.
    pub log_lines: usize,
    /// The directory that relative names in the container's output are
    /// resolved against, from [`output_directory`].
    pub relative_to: Option<String>,
}

impl RunOptions {
    pub fn new(image: &str) -> RunOptions {
        RunOptions {
            image: image.into(),
            probes: Vec::new(),
            has_healthcheck: false,
            timeout: Duration::from_secs(30),
            stable_for: Duration::from_secs(5),
            memory: "512m".into(),
            pids_limit: 512,
            command: Vec::new(),
            log_lines: 20,
            relative_to: None,
        }
    }
}

/// Settings of `verify`.
pub type VerifyOptions = RunOptions;

/// PASS or FAIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

/// The result of `verify`.
#[derive(Clone, Debug)]
pub struct VerifyOutcome {
    pub verdict: Verdict,
    /// The reason for the verdict, in one line.
    pub reason: String,
    /// The full `run` arguments used.
    pub arguments: Vec<String>,
    /// The last log lines, on failure.
    pub logs: String,
    /// Paths that the container's output reports it could not write.
    pub failed_writes: Vec<String>,
    /// Directories to add to the profile: the nearest directory of the
    /// image at or above each failed write.
    pub suggestions: Vec<String>,
    /// Further advice, such as why the engine could not start the
    /// container.
    pub hints: Vec<String>,
    /// Log lines that report a read-only file system or a denied
    /// permission, on PASS as on FAIL: a process that stays up can still
    /// have failed to write.
    pub write_errors: Vec<String>,
    pub elapsed: Duration,
}

/// Builds the FAIL outcome of a container whose process the engine could
/// not start, such as a binary on a noexec tmpfs.
fn start_failure(profile: &Profile, arguments: Vec<String>, stderr: String) -> VerifyOutcome {
    let covering: Vec<&str> = profile
        .paths
        .iter()
        .map(|path| path.path.as_str())
        .filter(|path| {
            stderr
                .split(|character: char| character.is_whitespace() || "\"'`:".contains(character))
                .any(|word| word == *path || crate::profile::is_below(word, path))
        })
        .collect();
    let hint = if covering.is_empty() {
        "the engine could not start the container under this profile; check that the image starts without it, and that no tmpfs of the profile hides a file the process runs".to_string()
    } else {
        format!(
            "the error names a path under {}, which the profile mounts as a noexec tmpfs; leave it out of the learned-paths file, or mount a volume there",
            covering.join(", ")
        )
    };
    VerifyOutcome {
        verdict: Verdict::Fail,
        reason: format!(
            "the container did not start: {}",
            stderr.lines().last().unwrap_or("").trim()
        ),
        arguments,
        logs: stderr,
        failed_writes: Vec::new(),
        suggestions: Vec::new(),
        hints: vec![hint],
        write_errors: Vec::new(),
        elapsed: Duration::ZERO,
    }
}

/// The end of waiting for a container.
pub(crate) struct Readiness {
    pub(crate) ready: bool,
    pub(crate) reason: String,
}

/// Runs the image under the profile and reports PASS or FAIL.
pub fn verify(
    engine: &dyn Engine,
    profile: &Profile,
    tree: &Tree,
    options: &VerifyOptions,
) -> Result<VerifyOutcome, RuntimeError> {
    let started = Instant::now();
    let (mut spec, publish) = run_spec("verify", Vec::new(), options)?;
    // Volumes are named after the container, so that each run starts
    // with fresh copies of the image's files, as a first deployment does.
    spec.flags = engine_flags(profile, engine.kind(), &spec.name);
    let arguments = spec.arguments();
    let label = format!("{RUN_LABEL}=verify");
    let mut volumes = Vec::new();
    for path in profile
        .paths
        .iter()
        .filter(|path| path.mount == MountKind::Volume)
    {
        let name = volume_source(&spec.name, &path.path);
        volumes.push(VolumeGuard::create(engine, name, &label)?);
    }
    // The guard names the container before it exists, so that a signal
    // during `run` still removes it.
    let guard = ContainerGuard::new(engine, spec.name.clone());
    if let Err(error) = engine.run(&spec) {
        let stderr = start_failure_stderr(error)?;
        let mut outcome = start_failure(profile, arguments, stderr);
        drop(guard);
        drop(volumes);
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    }

    let readiness = wait_ready(engine, &guard.id, &publish, options)?;
    let mut outcome = VerifyOutcome {
        verdict: if readiness.ready {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        reason: readiness.reason,
        arguments,
        logs: String::new(),
        failed_writes: Vec::new(),
        suggestions: Vec::new(),
        hints: Vec::new(),
        write_errors: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let logs = engine.logs(&guard.id, options.log_lines)?;
    outcome.write_errors = write_error_lines(&logs)
        .into_iter()
        .map(str::to_string)
        .collect();
    if outcome.verdict == Verdict::Fail {
        outcome.logs = logs;
        outcome.failed_writes = resolve_relative(
            failed_write_paths(&outcome.logs),
            options.relative_to.as_deref(),
        );
        outcome.suggestions = suggest_directories(&outcome.failed_writes, tree);
    }
    drop(guard);
    drop(volumes);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Returns the engine's stderr when `run` failed because the process could
/// not be started, and the error itself otherwise. podman and docker exit
/// with 126 when the process cannot be invoked and 127 when it is not
/// found, and with 125 for their own errors, such as an unknown image.
pub(crate) fn start_failure_stderr(error: RuntimeError) -> Result<String, RuntimeError> {
    match error {
        RuntimeError::EngineCommand { stderr, status, .. }
            if status.ends_with(" 126") || status.ends_with(" 127") =>
        {
            Ok(stderr)
        }
        other => Err(other),
    }
}

pub(crate) fn run_spec(
    purpose: &str,
    flags: Vec<String>,
    options: &RunOptions,
) -> Result<(RunSpec, Vec<(u16, u16)>), RuntimeError> {
    let mut publish: Vec<(u16, u16)> = Vec::new();
    for container_port in options.probes.iter().filter_map(Probe::container_port) {
        if !publish.iter().any(|(_, port)| *port == container_port) {
            publish.push((free_port()?, container_port));
        }
    }
    let spec = RunSpec {
        name: format!(
            "hardfs-{purpose}-{}-{}",
            std::process::id(),
            NEXT_CONTAINER.fetch_add(1, Ordering::SeqCst)
        ),
        image: options.image.clone(),
        flags,
        publish: publish.clone(),
        memory: options.memory.clone(),
        pids_limit: options.pids_limit,
        command: options.command.clone(),
        labels: vec![format!("{RUN_LABEL}={purpose}")],
    };
    Ok((spec, publish))
}

/// Finds a port on 127.0.0.1 that is free at the time of the call.
fn free_port() -> Result<u16, RuntimeError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| RuntimeError::NoFreePort { source })?;
    let port = listener
        .local_addr()
        .map_err(|source| RuntimeError::NoFreePort { source })?
        .port();
    Ok(port)
}

/// Polls until the container stops, every probe passed or time runs out.
pub(crate) fn wait_ready(
    engine: &dyn Engine,
    container: &str,
    publish: &[(u16, u16)],
    options: &RunOptions,
) -> Result<Readiness, RuntimeError> {
    let started = Instant::now();
    let mut pending: Vec<&Probe> = options.probes.iter().collect();
    let mut passed = Vec::new();
    let mut last = String::from("no attempt yet");
    loop {
        let state = engine.state(container)?;
        if !state.running {
            return Ok(Readiness {
                ready: false,
                reason: format!("the container exited with code {}", state.exit_code),
            });
        }
        let elapsed = started.elapsed();
        if !options.probes.is_empty() {
            while let Some(probe) = pending.first() {
                let host_port = probe.container_port().and_then(|port| {
                    publish
                        .iter()
                        .find(|(_, published)| *published == port)
                        .map(|(host, _)| *host)
                });
                let outcome = probe.check(engine, container, host_port)?;
                if !outcome.passed {
                    last = outcome.detail;
                    break;
                }
                passed.push(outcome.detail);
                pending.remove(0);
            }
            if pending.is_empty() {
                let reason = format!("probes passed: {}", passed.join("; "));
                return confirm_running(engine, container, reason);
            }
        } else if options.has_healthcheck {
            if engine.health(container)? {
                return confirm_running(engine, container, "HEALTHCHECK passed".into());
            }
            last = "HEALTHCHECK failed".into();
        } else if elapsed >= options.stable_for {
            return Ok(Readiness {
                ready: true,
                reason: format!(
                    "the container stayed up for {} s (no probe and no HEALTHCHECK)",
                    options.stable_for.as_secs()
                ),
            });
        }
        if elapsed >= options.timeout {
            return Ok(Readiness {
                ready: false,
                reason: format!(
                    "not ready within {} s; last probe result: {}",
                    options.timeout.as_secs(),
                    last.chars().take(300).collect::<String>()
                ),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Checks once more that the container runs, because a probe may pass
/// just before a server gives up.
fn confirm_running(
    engine: &dyn Engine,
    container: &str,
    reason: String,
) -> Result<Readiness, RuntimeError> {
    std::thread::sleep(POLL_INTERVAL);
    let state = engine.state(container)?;
    Ok(if state.running {
        Readiness {
            ready: true,
            reason,
        }
    } else {
        Readiness {
            ready: false,
            reason: format!(
                "{reason}, but then the container exited with code {}",
                state.exit_code
            ),
        }
    })
}

/// Collects the paths named on log lines that report a read-only file
/// system or a denied permission. A path on one of the two lines before
/// such a line counts too, because some programs (redis) print the path
/// first. Relative names in double quotes are kept as written.
pub fn failed_write_paths(logs: &str) -> Vec<String> {
    let lines: Vec<&str> = logs.lines().collect();
    let mut paths = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !reports_write_error(line) {
            continue;
        }
        let mut found = absolute_paths(line);
        if found.is_empty() {
            found = quoted_relative_names(line);
        }
        if found.is_empty() {
            for previous in lines[index.saturating_sub(2)..index].iter().rev() {
                found = absolute_paths(previous);
                if !found.is_empty() {
                    break;
                }
            }
        }
        for path in found {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
}

/// Words of a log line that report a read-only file system or a denied
/// permission, compared in lowercase.
const WRITE_ERROR_MARKERS: [&str; 4] = [
    "read-only file system",
    "permission denied",
    "erofs",
    "eacces",
];

fn reports_write_error(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    WRITE_ERROR_MARKERS
        .iter()
        .any(|marker| lower.contains(marker))
}

/// Returns the log lines that report a read-only file system or a denied
/// permission.
pub fn write_error_lines(logs: &str) -> Vec<&str> {
    logs.lines()
        .filter(|line| reports_write_error(line))
        .collect()
}

fn absolute_paths(line: &str) -> Vec<String> {
    line.split(|character: char| character.is_whitespace() || "\"'`()[]{}<>,;=".contains(character))
        .filter(|word| word.starts_with('/') && word.len() > 1)
        .map(|word| word.trim_end_matches([':', '.', ',']).to_string())
        .filter(|word| !word.starts_with("/proc/") && !word.starts_with("/dev/"))
        .collect()
}

/// Relative file names in double quotes, such as postgres's
/// `"postmaster.pid"`.
// NOTE: the directory they are relative to (the process's working
// directory) is not known here, so they get no suggestion.
fn quoted_relative_names(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .filter(|name| !name.is_empty() && !name.starts_with('/'))
        .filter(|name| !name.contains(char::is_whitespace))
        .map(str::to_string)
        .collect()
}

/// Finds the directory that relative names in a process's output are
/// most likely relative to. That is the only argument of `process` that
/// is a directory of the image (postgres changes to its `-D` data
/// directory), else the image's working directory unless it is `/`.
// NOTE: this is a guess. With two directory arguments, the first one is
// not chosen, and a process that changes to a directory it was not given
// gets its names joined to the wrong one.
pub fn output_directory(
    process: &[String],
    working_dir: Option<&str>,
    tree: &Tree,
) -> Option<String> {
    let directories: Vec<&String> = process
        .iter()
        .filter(|argument| argument.starts_with('/') && argument.len() > 1)
        .filter(|argument| {
            tree.lookup_following(argument.trim_start_matches('/').as_bytes())
                .is_some_and(|file| file.inode().kind == FileKind::Directory)
        })
        .collect();
    match directories.as_slice() {
        [only] => Some(only.trim_end_matches('/').to_string()),
        [] => working_dir
            .filter(|directory| directory.starts_with('/') && directory.len() > 1)
            .map(|directory| directory.trim_end_matches('/').to_string()),
        _ => None,
    }
}

/// Joins each relative name to `base`, keeping it as it is without one.
fn resolve_relative(paths: Vec<String>, base: Option<&str>) -> Vec<String> {
    let Some(base) = base else {
        return paths;
    };
    let mut resolved: Vec<String> = Vec::new();
    for path in paths {
        let path = if path.starts_with('/') {
            path
        } else {
            format!("{base}/{}", path.trim_start_matches("./"))
        };
        if !resolved.contains(&path) {
            resolved.push(path);
        }
    }
    resolved
}

/// Directories whose files belong to the system, not to the application.
const SYSTEM_DIRECTORIES: [&str; 6] = ["/etc", "/usr", "/bin", "/lib", "/lib64", "/sbin"];

/// Returns whether a path is a system directory or lies below one, where
/// a writable tmpfs would let the process replace system files.
pub fn is_system_directory(path: &str) -> bool {
    SYSTEM_DIRECTORIES
        .iter()
        .any(|system| path == *system || crate::profile::is_below(path, system))
}

/// Finds the nearest image directory at or above each absolute path,
/// leaving out `/`.
pub(crate) fn suggest_directories(paths: &[String], tree: &Tree) -> Vec<String> {
    let mut suggestions = Vec::new();
    for path in paths.iter().filter(|path| path.starts_with('/')) {
        let mut candidate = path.trim_end_matches('/').to_string();
        while !candidate.is_empty() {
            let is_directory = tree
                .lookup_following(candidate.trim_start_matches('/').as_bytes())
                .is_some_and(|file| file.inode().kind == FileKind::Directory);
            if is_directory {
                break;
            }
            candidate.truncate(candidate.rfind('/').unwrap_or(0));
        }
        if !candidate.is_empty() && !suggestions.contains(&candidate) {
            suggestions.push(candidate);
        }
    }
    suggestions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContainerState;

    #[test]
    fn nginx_log_names_path() {
        let logs = "2026/12/04 16:17:00 [emerg] 1#1: mkdir() \"/var/lib/nginx/body\" failed (30: Read-only file system)\n";
        assert_eq!(failed_write_paths(logs), ["/var/lib/nginx/body"]);
    }

    #[test]
    fn redis_log_path_on_earlier_line() {
        let logs = "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line 3\n>>> 'dir \"/var/lib/redis\"'\nPermission denied\n";
        assert_eq!(failed_write_paths(logs), ["/var/lib/redis"]);
    }

    #[test]
    fn postgres_log_path_with_colon() {
        let logs = "FATAL:  could not create lock file \"/run/postgresql/.s.PGSQL.5432.lock\": Read-only file system\nLOG: shutting down /var/x\n";
        assert_eq!(
            failed_write_paths(logs),
            ["/run/postgresql/.s.PGSQL.5432.lock"]
        );
    }

    #[test]
    fn relative_name_in_quotes() {
        let logs = "FATAL:  could not create lock file \"postmaster.pid\": Read-only file system\n";
        assert_eq!(failed_write_paths(logs), ["postmaster.pid"]);
    }

    #[test]
    fn relative_name_joined_to_base() {
        let paths = vec!["postmaster.pid".to_string(), "/run/x".to_string()];
        assert_eq!(
            resolve_relative(paths.clone(), Some("/var/lib/pg")),
            ["/var/lib/pg/postmaster.pid", "/run/x"]
        );
        assert_eq!(resolve_relative(paths.clone(), None), paths);
    }

    #[test]
    fn system_directories_recognized() {
        assert!(is_system_directory("/etc"));
        assert!(is_system_directory("/usr/lib/x"));
        assert!(is_system_directory("/sbin"));
        assert!(!is_system_directory("/etcetera"));
        assert!(!is_system_directory("/var/lib/nginx"));
    }

    #[test]
    fn unrelated_lines_give_nothing() {
        assert!(
            failed_write_paths("started /usr/bin/app\nlistening on /run/app.sock\n").is_empty()
        );
    }

    /// A scripted engine that records every call that changes something.
    /// Its container exits at once with nginx's message (or `state`); `run`
    /// fails as podman's does for an entrypoint on a noexec tmpfs when
    /// `run_failure` is an exit status, and an image load fails when
    /// `load_fails` is set.
    #[derive(Default)]
    struct TestEngine {
        /// What `inspect` returns; `None` makes it fail.
        state: Option<ContainerState>,
        run_failure: Option<&'static str>,
        load_fails: bool,
        started: Mutex<Vec<String>>,
        removed: Mutex<Vec<String>>,
        /// `create NAME` and `remove NAME`, in order.
        volumes: Mutex<Vec<String>>,
        loaded: Mutex<Vec<String>>,
        /// Images removed through `image_remover`, shared with its cleanups.
        images_removed: std::sync::Arc<Mutex<Vec<String>>>,
    }

    impl TestEngine {
        fn exiting(state: Option<ContainerState>) -> TestEngine {
            TestEngine {
                state,
                ..TestEngine::default()
            }
        }

        fn failing_run(status: &'static str) -> TestEngine {
            TestEngine {
                run_failure: Some(status),
                ..TestEngine::default()
            }
        }

        fn loading(load_fails: bool) -> TestEngine {
            TestEngine {
                load_fails,
                ..TestEngine::default()
            }
        }
    }

    impl Engine for TestEngine {
        fn kind(&self) -> crate::EngineKind {
            crate::EngineKind::Podman
        }
        fn load_image(&self, _: &hardfs_image::Reference, name: &str) -> Result<(), RuntimeError> {
            self.loaded.lock().unwrap().push(name.to_string());
            if self.load_fails {
                return Err(RuntimeError::EngineOutput {
                    command: "skopeo copy".into(),
                    reason: "broken".into(),
                });
            }
            Ok(())
        }
        fn remove_image(&self, _: &str) -> Result<(), RuntimeError> {
            unreachable!("images are removed through image_remover")
        }
        fn image_remover(&self, name: &str) -> Option<Cleanup> {
            let removed = std::sync::Arc::clone(&self.images_removed);
            let name = name.to_string();
            Some(Box::new(move || removed.lock().unwrap().push(name.clone())))
        }
        fn run(&self, spec: &RunSpec) -> Result<String, RuntimeError> {
            if let Some(status) = self.run_failure {
                return Err(RuntimeError::EngineCommand {
                    command: format!("podman run {}", spec.name),
                    status: status.into(),
                    stderr: "Error: runc: runc create failed: exec: \"/app/server\": permission denied: OCI permission denied".into(),
                });
            }
            assert!(spec.arguments().contains(&"--read-only".to_string()));
            self.started.lock().unwrap().push(spec.name.clone());
            Ok("fake-id".into())
        }
        fn state(&self, container: &str) -> Result<ContainerState, RuntimeError> {
            self.state.ok_or_else(|| RuntimeError::EngineOutput {
                command: format!("inspect {container}"),
                reason: "broken".into(),
            })
        }
        fn logs(&self, _: &str, _: usize) -> Result<String, RuntimeError> {
            Ok(
                "[emerg] mkdir() \"/var/lib/nginx/body\" failed (30: Read-only file system)\n"
                    .into(),
            )
        }
        fn diff(&self, _: &str) -> Result<String, RuntimeError> {
            Ok(String::new())
        }
        fn exec(&self, _: &str, _: &[String]) -> Result<crate::ExecOutput, RuntimeError> {
            unreachable!("no exec probe in these tests")
        }
        fn health(&self, _: &str) -> Result<bool, RuntimeError> {
            Ok(false)
        }
        fn remove(&self, container: &str) -> Result<(), RuntimeError> {
            self.removed.lock().unwrap().push(container.to_string());
            Ok(())
        }
        fn remover(&self, _: &str) -> Option<Cleanup> {
            None
        }
        fn create_volume(&self, name: &str, label: &str) -> Result<(), RuntimeError> {
            assert_eq!(label, "dev.hardfs.run=verify");
            self.volumes.lock().unwrap().push(format!("create {name}"));
            Ok(())
        }
        fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
            self.volumes.lock().unwrap().push(format!("remove {name}"));
            Ok(())
        }
        fn volume_remover(&self, _: &str) -> Option<Cleanup> {
            None
        }
    }

    fn bare_profile() -> Profile {
        Profile {
            user: None,
            paths: Vec::new(),
            privileged_ports: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn verify_fails_when_container_exits() {
        let engine = TestEngine::exiting(Some(ContainerState {
            running: false,
            exit_code: 1,
        }));
        let outcome = verify(
            &engine,
            &bare_profile(),
            &Tree::new(),
            &RunOptions::new("image"),
        )
        .unwrap();
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(outcome.reason, "the container exited with code 1");
        assert_eq!(outcome.failed_writes, ["/var/lib/nginx/body"]);
        let started = engine.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        assert!(started[0].starts_with("hardfs-verify-"), "{started:?}");
        assert_eq!(*engine.removed.lock().unwrap(), started);
        let label_at = outcome.arguments.iter().position(|word| word == "--label");
        let label = label_at.map(|index| outcome.arguments[index + 1].as_str());
        assert_eq!(
            label,
            Some("dev.hardfs.run=verify"),
            "{:?}",
            outcome.arguments
        );
    }

    #[test]
    fn verify_volumes_distinct_for_cleaned_paths() {
        let engine = TestEngine::exiting(Some(ContainerState {
            running: false,
            exit_code: 1,
        }));
        let mut profile = bare_profile();
        for path in ["/a/b-c", "/a-b/c"] {
            profile.paths.push(crate::WritablePath {
                path: path.into(),
                reasons: vec![crate::Reason::Volume],
                mount: crate::MountKind::Volume,
                size: 1 << 20,
                mode: 0o755,
                owner: crate::Owner::User,
                image_content: false,
            });
        }
        verify(&engine, &profile, &Tree::new(), &RunOptions::new("image")).unwrap();

        let volumes = engine.volumes.lock().unwrap().clone();
        let created: Vec<&String> = volumes
            .iter()
            .filter(|line| line.starts_with("create "))
            .collect();
        assert_eq!(created.len(), 2, "{volumes:?}");
        assert_ne!(created[0], created[1], "{volumes:?}");
    }

    #[test]
    fn verify_creates_and_removes_volumes() {
        let engine = TestEngine::exiting(Some(ContainerState {
            running: false,
            exit_code: 1,
        }));
        let mut profile = bare_profile();
        profile.paths.push(crate::WritablePath {
            path: "/var/lib/db".into(),
            reasons: vec![crate::Reason::Volume],
            mount: crate::MountKind::Volume,
            size: 1 << 20,
            mode: 0o755,
            owner: crate::Owner::User,
            image_content: true,
        });
        let outcome = verify(&engine, &profile, &Tree::new(), &RunOptions::new("image")).unwrap();

        let container = engine.started.lock().unwrap()[0].clone();
        let volume = format!("{container}-var-lib-db");
        assert_eq!(
            *engine.volumes.lock().unwrap(),
            [format!("create {volume}"), format!("remove {volume}")]
        );
        let mount = format!("type=volume,source={volume},destination=/var/lib/db");
        assert!(
            outcome.arguments.contains(&mount),
            "{:?}",
            outcome.arguments
        );
        assert!(
            !outcome.arguments.contains(&"--tmpfs".to_string()),
            "{:?}",
            outcome.arguments
        );
    }

    #[test]
    fn container_removed_on_engine_error() {
        let engine = TestEngine::exiting(None);
        let error = verify(
            &engine,
            &bare_profile(),
            &Tree::new(),
            &RunOptions::new("image"),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("inspect hardfs-verify-"),
            "{error}"
        );
        let started = engine.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        assert!(started[0].starts_with("hardfs-verify-"), "{started:?}");
        assert_eq!(*engine.removed.lock().unwrap(), started);
    }

    fn archive_reference() -> hardfs_image::Reference {
        hardfs_image::Reference::parse("oci-archive:image.tar").unwrap()
    }

    #[test]
    fn image_loaded_under_private_name() {
        let engine = TestEngine::loading(false);
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let image = load_engine_image(&engine, &archive_reference(), digest).unwrap();
        let expected = format!("localhost/hardfs-run/0123456789ab:{}", std::process::id());

        assert_eq!(image.name, expected);
        assert_eq!(
            engine.loaded.lock().unwrap().as_slice(),
            std::slice::from_ref(&expected)
        );
        assert!(engine.images_removed.lock().unwrap().is_empty());
        drop(image);
        assert_eq!(*engine.images_removed.lock().unwrap(), [expected]);
    }

    #[test]
    fn failed_load_removes_name() {
        let engine = TestEngine::loading(true);
        let result = load_engine_image(&engine, &archive_reference(), "sha256:abc");
        assert!(result.is_err());
        assert_eq!(engine.images_removed.lock().unwrap().len(), 1);
    }

    #[test]
    fn engine_error_stays_error() {
        let engine = TestEngine::failing_run("exit status: 125");
        let error = verify(
            &engine,
            &bare_profile(),
            &Tree::new(),
            &RunOptions::new("image"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("exit status: 125"), "{error}");
        assert_eq!(engine.removed.lock().unwrap().len(), 1);
    }

    #[test]
    fn start_failure_is_fail_with_hint() {
        let engine = TestEngine::failing_run("exit status: 126");
        let mut profile = bare_profile();
        profile.paths.push(crate::WritablePath {
            path: "/app".into(),
            reasons: vec![crate::Reason::Learned],
            mount: crate::MountKind::Tmpfs,
            size: 1 << 20,
            mode: 0o755,
            owner: crate::Owner::User,
            image_content: true,
        });
        let outcome = verify(&engine, &profile, &Tree::new(), &RunOptions::new("image")).unwrap();

        assert_eq!(outcome.verdict, Verdict::Fail);
        assert!(
            outcome.reason.starts_with("the container did not start: "),
            "{}",
            outcome.reason
        );
        assert!(
            outcome.reason.contains("permission denied"),
            "{}",
            outcome.reason
        );
        assert_eq!(outcome.hints.len(), 1);
        assert!(
            outcome.hints[0].contains("under /app"),
            "{:?}",
            outcome.hints
        );
        assert_eq!(engine.removed.lock().unwrap().len(), 1);
    }

    #[test]
    fn verify_passes_when_container_stays_up() {
        let engine = TestEngine::exiting(Some(ContainerState {
            running: true,
            exit_code: 0,
        }));
        let mut options = RunOptions::new("image");
        options.stable_for = Duration::from_millis(10);
        let outcome = verify(&engine, &bare_profile(), &Tree::new(), &options).unwrap();
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert!(outcome.reason.contains("stayed up"), "{}", outcome.reason);
        assert_eq!(
            outcome.write_errors,
            ["[emerg] mkdir() \"/var/lib/nginx/body\" failed (30: Read-only file system)"]
        );
        assert!(outcome.logs.is_empty(), "{}", outcome.logs);
        let started = engine.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        assert!(started[0].starts_with("hardfs-verify-"), "{started:?}");
        assert_eq!(*engine.removed.lock().unwrap(), started);
    }
}
