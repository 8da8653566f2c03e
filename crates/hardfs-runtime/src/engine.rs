//! Container engines behind one trait: the podman CLI, and the docker CLI
//! with the same flags where `docker info` reaches an engine.
//!
//! The CLI engine passes its environment through, so podman reads
//! `CONTAINERS_CONF` from the caller's environment; callers that need a
//! particular configuration set it with [`CliEngine::with_env`].

use std::ffi::OsString;
use std::process::{Command, Output, Stdio};

use crate::RuntimeError;

/// Copies of an image into the engine tried before giving up.
const COPY_ATTEMPTS: u32 = 3;

/// The CLI that an engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Podman,
    Docker,
}

impl EngineKind {
    pub fn program(self) -> &'static str {
        match self {
            EngineKind::Podman => "podman",
            EngineKind::Docker => "docker",
        }
    }
}

/// A container to start detached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSpec {
    pub name: String,
    /// Image ID or name in the engine's storage.
    pub image: String,
    /// Profile flags such as `--read-only` and `--tmpfs`.
    pub flags: Vec<String>,
    /// (host port, container port) pairs, published on 127.0.0.1 only.
    pub publish: Vec<(u16, u16)>,
    /// Memory limit as the engine spells it (`512m`).
    pub memory: String,
    pub pids_limit: u32,
    /// Replaces the image's command when not empty.
    pub command: Vec<String>,
    /// `KEY=VALUE` labels, so that a container left behind can be found.
    pub labels: Vec<String>,
}

impl RunSpec {
    /// Builds the `run` arguments, without the program name.
    pub fn arguments(&self) -> Vec<String> {
        // `--pull never`: the image is always local (loaded by hardfs or
        // named with --engine-image), so a missing one must not send the
        // engine to a registry.
        let mut args: Vec<String> = vec![
            "run".into(),
            "--detach".into(),
            "--pull".into(),
            "never".into(),
            "--name".into(),
            self.name.clone(),
            "--network".into(),
            "bridge".into(),
            "--memory".into(),
            self.memory.clone(),
            "--pids-limit".into(),
            self.pids_limit.to_string(),
        ];
        for label in &self.labels {
            args.push("--label".into());
            args.push(label.clone());
        }
        for (host, container) in &self.publish {
            args.push("--publish".into());
            args.push(format!("127.0.0.1:{host}:{container}"));
        }
        args.extend(self.flags.iter().cloned());
        args.push(self.image.clone());
        args.extend(self.command.iter().cloned());
        args
    }
}

/// Whether a container is running, and its exit code once it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerState {
    pub running: bool,
    pub exit_code: i64,
}

/// The result of a command run in a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The container operations that `learn` and `verify` need.
pub trait Engine {
    fn kind(&self) -> EngineKind;
    /// Copies a hardfs image reference into the engine's storage under
    /// `name` (`REPOSITORY:TAG`), creating or moving no other name.
    fn load_image(
        &self,
        reference: &hardfs_image::Reference,
        name: &str,
    ) -> Result<(), RuntimeError>;
    /// Removes the name that [`Engine::load_image`] created, and the image
    /// when no other name or container uses it.
    fn remove_image(&self, name: &str) -> Result<(), RuntimeError>;
    /// A callback that removes the image name from a signal handler.
    fn image_remover(&self, name: &str) -> Option<Box<dyn Fn() + Send>>;
    /// Starts a container detached and returns its ID.
    fn run(&self, spec: &RunSpec) -> Result<String, RuntimeError>;
    fn state(&self, container: &str) -> Result<ContainerState, RuntimeError>;
    /// Reads the last `tail` lines of the container's stdout and stderr.
    fn logs(&self, container: &str, tail: usize) -> Result<String, RuntimeError>;
    /// Filesystem changes as `A|C|D PATH` lines.
    fn diff(&self, container: &str) -> Result<String, RuntimeError>;
    fn exec(&self, container: &str, argv: &[String]) -> Result<ExecOutput, RuntimeError>;
    /// Runs the image's HEALTHCHECK once; `true` when it passed.
    fn health(&self, container: &str) -> Result<bool, RuntimeError>;
    /// Removes a container by name or ID, stopping it first without
    /// waiting. A container that does not exist is not an error for podman.
    fn remove(&self, container: &str) -> Result<(), RuntimeError>;
    /// A callback that removes the container from a signal handler, where
    /// the engine itself cannot be borrowed; `None` when not needed.
    fn remover(&self, container: &str) -> Option<Box<dyn Fn() + Send>>;
    /// Creates an empty named volume with a `KEY=VALUE` label. The engine
    /// copies the image's files into it when a container first mounts it.
    fn create_volume(&self, name: &str, label: &str) -> Result<(), RuntimeError>;
    /// Removes a named volume and its data.
    fn remove_volume(&self, name: &str) -> Result<(), RuntimeError>;
    /// A callback that removes the volume from a signal handler.
    fn volume_remover(&self, name: &str) -> Option<Box<dyn Fn() + Send>>;
}

/// The podman or docker command-line client.
#[derive(Clone, Debug)]
pub struct CliEngine {
    kind: EngineKind,
    env: Vec<(OsString, OsString)>,
}

impl CliEngine {
    pub fn new(kind: EngineKind) -> CliEngine {
        CliEngine {
            kind,
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every command this engine runs.
    pub fn with_env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> CliEngine {
        self.env.push((name.into(), value.into()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.kind.program());
        command.args(args).stdin(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    fn describe(&self, args: &[&str]) -> String {
        format!("{} {}", self.kind.program(), args.join(" "))
    }

    fn output(&self, args: &[&str]) -> Result<Output, RuntimeError> {
        tracing::debug!(command = %self.describe(args), "running");
        self.command(args)
            .output()
            .map_err(|source| RuntimeError::EngineSpawn {
                program: self.kind.program().into(),
                source,
            })
    }

    /// Runs a command and returns its stdout, or an error with its stderr.
    fn checked(&self, args: &[&str]) -> Result<String, RuntimeError> {
        let output = self.output(args)?;
        if !output.status.success() {
            return Err(RuntimeError::EngineCommand {
                command: self.describe(args),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn unexpected(&self, args: &[&str], reason: String) -> RuntimeError {
        RuntimeError::EngineOutput {
            command: self.describe(args),
            reason,
        }
    }
}

impl Engine for CliEngine {
    fn kind(&self) -> EngineKind {
        self.kind
    }

    fn load_image(
        &self,
        reference: &hardfs_image::Reference,
        name: &str,
    ) -> Result<(), RuntimeError> {
        use hardfs_image::Transport;

        if reference.transport == Transport::Dir {
            return Err(RuntimeError::ImageNotRunnable {
                reference: reference.text.clone(),
                reason: "an unpacked root directory cannot be run; pass --engine-image with the image's name in the engine".into(),
            });
        }
        let mut source = format!("{}:{}", reference.transport, reference.path.display());
        match &reference.selector {
            Some(hardfs_image::Selector::Name(selected)) => {
                source.push_str(&format!(":{selected}"))
            }
            Some(hardfs_image::Selector::Index(index)) => source.push_str(&format!(":@{index}")),
            None => {}
        }
        // `podman pull` and `docker load` name the image after the names
        // recorded in the archive (an OCI ref name `latest` becomes
        // `localhost/latest:latest`), which can move a tag the user has.
        // skopeo writes exactly the destination name.
        // NOTE: the docker-daemon destination has not been run against a
        // docker engine in this project's tests.
        let destination = match self.kind {
            EngineKind::Podman => format!("containers-storage:{name}"),
            EngineKind::Docker => format!("docker-daemon:{name}"),
        };
        let args = ["copy", "--quiet", source.as_str(), destination.as_str()];
        tracing::debug!(command = %format!("skopeo {}", args.join(" ")), "running");
        let mut command = Command::new("skopeo");
        command.args(args).stdin(Stdio::null());
        for (variable, value) in &self.env {
            command.env(variable, value);
        }
        // Another run that removes its copy of an image sharing a layer
        // with this one can delete that layer while skopeo reuses it, and
        // skopeo then fails with "layer not known". A new attempt copies
        // the layer again.
        let mut attempts = 0;
        let output = loop {
            attempts += 1;
            let output = command
                .output()
                .map_err(|source| RuntimeError::EngineSpawn {
                    program: "skopeo".into(),
                    source,
                })?;
            let shared_layer_removed = !output.status.success()
                && String::from_utf8_lossy(&output.stderr).contains("layer not known");
            if !shared_layer_removed || attempts == COPY_ATTEMPTS {
                break output;
            }
            tracing::debug!(
                attempts,
                "a shared layer was removed during the copy; copying again"
            );
        };
        if !output.status.success() {
            return Err(RuntimeError::EngineCommand {
                command: format!("skopeo {}", args.join(" ")),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(())
    }

    fn remove_image(&self, name: &str) -> Result<(), RuntimeError> {
        let args: &[&str] = match self.kind {
            EngineKind::Podman => &["rmi", "--ignore", name],
            EngineKind::Docker => &["rmi", name],
        };
        self.checked(args).map(|_| ())
    }

    fn image_remover(&self, name: &str) -> Option<Box<dyn Fn() + Send>> {
        let engine = self.clone();
        let name = name.to_string();
        Some(Box::new(move || {
            if let Err(error) = engine.remove_image(&name) {
                tracing::warn!(image = %name, %error, "cannot remove the image name");
            }
        }))
    }

    fn run(&self, spec: &RunSpec) -> Result<String, RuntimeError> {
        let arguments = spec.arguments();
        let args: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let stdout = self.checked(&args)?;
        stdout
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .map(str::to_string)
            .ok_or_else(|| self.unexpected(&args, "no container ID".into()))
    }

    fn state(&self, container: &str) -> Result<ContainerState, RuntimeError> {
        let args = [
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            container,
        ];
        let stdout = self.checked(&args)?;
        let mut fields = stdout.split_whitespace();
        let running = fields.next().map(|value| value == "true");
        let exit_code = fields.next().and_then(|value| value.parse().ok());
        match (running, exit_code) {
            (Some(running), Some(exit_code)) => Ok(ContainerState { running, exit_code }),
            _ => Err(self.unexpected(&args, format!("`{}`", stdout.trim()))),
        }
    }

    fn logs(&self, container: &str, tail: usize) -> Result<String, RuntimeError> {
        let tail = tail.to_string();
        let args = ["logs", "--tail", tail.as_str(), container];
        let output = self.output(&args)?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(text)
    }

    fn diff(&self, container: &str) -> Result<String, RuntimeError> {
        self.checked(&["diff", container])
    }

    fn exec(&self, container: &str, argv: &[String]) -> Result<ExecOutput, RuntimeError> {
        let mut args = vec!["exec", container];
        args.extend(argv.iter().map(String::as_str));
        let output = self.output(&args)?;
        Ok(ExecOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn health(&self, container: &str) -> Result<bool, RuntimeError> {
        match self.kind {
            EngineKind::Podman => Ok(self
                .output(&["healthcheck", "run", container])?
                .status
                .success()),
            EngineKind::Docker => {
                let args = ["inspect", "--format", "{{.State.Health.Status}}", container];
                Ok(self.checked(&args)?.trim() == "healthy")
            }
        }
    }

    fn remove(&self, container: &str) -> Result<(), RuntimeError> {
        // `--volumes` removes the anonymous volumes that the engine made
        // for image volumes the run did not mount, as `learn` does not.
        let args: &[&str] = match self.kind {
            EngineKind::Podman => &[
                "rm",
                "--force",
                "--volumes",
                "--ignore",
                "--time",
                "0",
                container,
            ],
            EngineKind::Docker => &["rm", "--force", "--volumes", container],
        };
        self.checked(args).map(|_| ())
    }

    fn remover(&self, container: &str) -> Option<Box<dyn Fn() + Send>> {
        let engine = self.clone();
        let container = container.to_string();
        Some(Box::new(move || {
            if let Err(error) = engine.remove(&container) {
                tracing::warn!(%container, %error, "cannot remove the container");
            }
        }))
    }

    fn create_volume(&self, name: &str, label: &str) -> Result<(), RuntimeError> {
        self.checked(&["volume", "create", "--label", label, name])
            .map(|_| ())
    }

    fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        self.checked(&["volume", "rm", "--force", name]).map(|_| ())
    }

    fn volume_remover(&self, name: &str) -> Option<Box<dyn Fn() + Send>> {
        let engine = self.clone();
        let name = name.to_string();
        Some(Box::new(move || {
            if let Err(error) = engine.remove_volume(&name) {
                tracing::warn!(volume = %name, %error, "cannot remove the volume");
            }
        }))
    }
}

impl CliEngine {
    /// Returns whether the engine's storage has an image of this name or ID.
    pub fn has_image(&self, name: &str) -> Result<bool, RuntimeError> {
        let args: &[&str] = match self.kind {
            EngineKind::Podman => &["image", "exists", name],
            EngineKind::Docker => &["image", "inspect", "--format", "{{.Id}}", name],
        };
        Ok(self.output(args)?.status.success())
    }
}

/// Finds an engine that can run containers: podman first, then the docker
/// CLI when `docker info` reaches an engine. The error names each engine
/// tried, why it cannot run containers and what to do about it.
pub fn detect_engine(preferred: Option<EngineKind>) -> Result<CliEngine, RuntimeError> {
    let kinds = match preferred {
        Some(kind) => vec![kind],
        None => vec![EngineKind::Podman, EngineKind::Docker],
    };
    let mut details = Vec::new();
    for kind in kinds {
        let engine = CliEngine::new(kind);
        // Both clients succeed at `info` only when an engine can be reached.
        let template = match kind {
            EngineKind::Podman => "{{.Host.OCIRuntime.Name}}",
            EngineKind::Docker => "{{.ServerVersion}}",
        };
        match engine.checked(&["info", "--format", template]) {
            Ok(_) => return Ok(engine),
            Err(error) => {
                tracing::debug!(engine = kind.program(), %error, "the engine cannot run containers");
                details.push(engine_problem(kind, &error));
            }
        }
    }
    Err(RuntimeError::NoEngine {
        details: details.join("; "),
    })
}

/// Describes why an engine cannot run containers, and the next step.
fn engine_problem(kind: EngineKind, error: &RuntimeError) -> String {
    let program = kind.program();
    match (kind, error) {
        (_, RuntimeError::EngineSpawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            format!("{program} is not installed (not found in PATH), so install it")
        }
        (EngineKind::Docker, RuntimeError::EngineCommand { stderr, .. }) => format!(
            "the docker CLI is installed, but `docker info` reached no engine ({stderr}), so start the docker daemon or point DOCKER_HOST at a running one"
        ),
        (EngineKind::Podman, RuntimeError::EngineCommand { stderr, .. }) => format!(
            "`podman info` failed ({stderr}), so check the podman setup, such as the file that CONTAINERS_CONF names"
        ),
        _ => format!("{program}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_never_pulls() {
        let spec = RunSpec {
            name: "c".into(),
            image: "localhost/x:1".into(),
            ..RunSpec::default()
        };
        let arguments = spec.arguments();
        let at = arguments.iter().position(|word| word == "--pull").unwrap();
        assert_eq!(arguments[at + 1], "never");
        assert!(
            at < arguments
                .iter()
                .position(|word| word == "localhost/x:1")
                .unwrap()
        );
    }

    #[test]
    fn missing_program_named_with_next_step() {
        let error = RuntimeError::EngineSpawn {
            program: "podman".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            engine_problem(EngineKind::Podman, &error),
            "podman is not installed (not found in PATH), so install it"
        );
    }

    #[test]
    fn docker_without_engine_says_start_daemon() {
        let error = RuntimeError::EngineCommand {
            command: "docker info --format {{.ServerVersion}}".into(),
            status: "exit status: 1".into(),
            stderr: "Cannot connect to the Docker daemon".into(),
        };
        let problem = engine_problem(EngineKind::Docker, &error);
        assert!(
            problem.contains("reached no engine (Cannot connect to the Docker daemon)"),
            "{problem}"
        );
        assert!(problem.contains("start the docker daemon"), "{problem}");
    }
}
