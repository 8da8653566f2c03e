//! Argument definitions. No logic lives here: each subcommand's arguments are
//! resolved into settings by its function in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hardfs_report::FailOn;

#[derive(Debug, Parser)]
#[command(
    name = "hardfs",
    version,
    about = "Audit and harden container image filesystems"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log more to stderr: -v for debug, -vv for trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every rule with its ID, slug, default severity and title.
    Rules(RulesArgs),
    /// Print one rule: why it matters, how to fix it, and its reference.
    Explain(ExplainArgs),
    /// Audit an image's final filesystem: setuid files, capabilities,
    /// writable paths, users, volumes and privileged copies in lower layers.
    Audit(AuditArgs),
    /// Check Dockerfiles for filesystem-hardening mistakes before building.
    Lint(LintArgs),
    /// List the paths an image needs writable under a read-only root, as
    /// text, JSON or settings for podman, docker, compose, Kubernetes or OCI.
    Profile(ProfileArgs),
    /// Run an image with a writable root and record the directories it writes.
    Learn(LearnArgs),
    /// Run an image under its profile and report PASS or FAIL.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The image: docker-archive:FILE[:NAME:TAG|:@N], oci:DIR[:REF|:@N],
    /// oci-archive:FILE[:REF], dir:ROOTFS, or a bare path whose format is
    /// detected.
    pub image: String,

    /// Platform to pick from a multi-platform index, as OS/ARCH[/VARIANT]
    /// [default: this machine's].
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Largest uncompressed size of one layer, in bytes; a larger layer is
    /// rejected as a possible decompression bomb.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    pub max_layer_size: u64,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Dockerfiles to check [default: ./Dockerfile, else ./Containerfile].
    pub files: Vec<std::path::PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule ID (HF001) or slug (setuid-file).
    pub rule: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// Output and policy options shared by `hardfs audit` and `hardfs lint`,
/// flattened into each with `#[command(flatten)]` and resolved by
/// `output::Output::resolve`.
#[derive(Clone, Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Write the report to PATH instead of stdout (`-` is stdout). The file
    /// is written under a temporary name and renamed, so it is complete or
    /// absent.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Exit with 1 when a finding not allowlisted is at or above SEVERITY:
    /// info, low, medium, high, critical, or never [default: low, or
    /// `fail_on` in the config file].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Run only these rules (IDs or slugs; repeat or separate with commas).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Do not run these rules (IDs or slugs; repeat or separate with commas).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// Suppress findings of RULE whose path matches the glob PATH
    /// (repeatable), such as setuid-file:/usr/bin/passwd.
    #[arg(long, value_name = "RULE:PATH")]
    pub allow: Vec<String>,

    /// Read settings and allowlist entries from FILE instead of
    /// `.hardfs.toml` in the working directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Colour text output: `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// List every finding and the suppressed ones, instead of folding long
    /// lists in one directory.
    #[arg(long)]
    pub all: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// Options that shape a profile, shared by `profile` and `verify`.
#[derive(Debug, Args)]
pub struct ProfileSettings {
    /// Run as this user (name, uid, name:group or uid:gid from the image)
    /// instead of the image's USER.
    #[arg(long)]
    pub user: Option<String>,

    /// tmpfs size of one path, as PATH=SIZE with a k, m or g suffix
    /// (defaults: 16m for /run, 64m for every other path). Repeatable.
    #[arg(long = "size", value_name = "PATH=SIZE")]
    pub sizes: Vec<String>,

    /// Make nothing writable: a bare read-only root.
    #[arg(long)]
    pub bare: bool,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Image reference: docker-archive:PATH, oci:PATH, oci-archive:PATH,
    /// dir:PATH or a bare path.
    pub image: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ProfileFormat::Text)]
    pub format: ProfileFormat,

    /// Learned-paths file written by `hardfs learn`.
    #[arg(long, value_name = "FILE")]
    pub learned: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub settings: ProfileSettings,

    /// With --format kubernetes: patch this Deployment, StatefulSet, Pod or
    /// other workload manifest instead of writing a new Pod.
    #[arg(long, value_name = "FILE")]
    pub patch: Option<std::path::PathBuf>,

    /// Container to patch when the workload has several; also the name of
    /// the generated container.
    #[arg(long)]
    pub container: Option<String>,

    /// Name of the compose service or Kubernetes Pod.
    #[arg(long, default_value = "app")]
    pub name: String,

    /// Image name to write into compose, Kubernetes and command output
    /// (default: the reference as given).
    #[arg(long)]
    pub image_name: Option<String>,

    /// Write the output to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileFormat {
    Text,
    Json,
    Podman,
    Docker,
    Compose,
    Kubernetes,
    Oci,
}

/// Options for running containers, shared by `learn` and `verify`.
#[derive(Debug, Args)]
pub struct RunSettings {
    /// Readiness probe: http://:PORT/PATH (2xx expected), tcp:PORT,
    /// redis:PORT (PING must return PONG) or exec:CMD (exit status 0).
    /// Repeatable; all must pass. Without one, the image's HEALTHCHECK is
    /// used, else the container must stay up for 5 seconds.
    #[arg(long = "probe", value_name = "PROBE")]
    pub probes: Vec<String>,

    /// Seconds the probe may take to pass.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,

    /// Container engine (default: podman, else docker when `docker info`
    /// reaches an engine).
    #[arg(long, value_enum)]
    pub engine: Option<EngineChoice>,

    /// Run this image from the engine's storage instead of loading IMAGE
    /// into the engine.
    #[arg(long, value_name = "NAME")]
    pub engine_image: Option<String>,

    /// Memory limit of the container, as the engine spells it.
    #[arg(long, default_value = "512m")]
    pub memory: String,

    /// Maximum number of processes in the container.
    #[arg(long, default_value_t = 512)]
    pub pids_limit: u32,

    /// Command to run instead of the image's CMD.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Podman,
    Docker,
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Image reference, as for `hardfs profile`.
    pub image: String,

    /// Run as this user instead of the image's USER.
    #[arg(long)]
    pub user: Option<String>,

    /// Seconds to keep the container running after the probe passed.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,

    /// Write the learned-paths file here instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub run: RunSettings,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Image reference, as for `hardfs profile`.
    pub image: String,

    /// Learned-paths file to add to the profile.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub settings: ProfileSettings,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,

    #[command(flatten)]
    pub run: RunSettings,
}
