//! Argument definitions. No logic lives here: each subcommand's arguments are
//! resolved into settings by its function in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hardfs_report::FailOn;

/// The version line: the package version and the gzip inflate
/// implementation built in, which sets audit and harden speed.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (gzip inflate: {})",
        env!("CARGO_PKG_VERSION"),
        hardfs_tar::Inflate::fastest().as_str()
    )
});

#[derive(Debug, Parser)]
#[command(
    name = "hardfs",
    version = VERSION.as_str(),
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
    /// Write a copy of an image with setuid/setgid bits, file capabilities,
    /// world-write bits and user-writable code removed, and print each change.
    Harden(Box<HardenArgs>),
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
    /// Dockerfiles to check, `-` for standard input [default: ./Dockerfile,
    /// else ./Containerfile].
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

    /// List every finding, the suppressed ones and every path the runtime
    /// user can write, instead of folding long lists in one directory.
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

    /// Mount kind for the image's volumes. `volume` is a persistent named
    /// volume (a PersistentVolumeClaim in Kubernetes). `tmpfs` loses its
    /// data when the container stops (an emptyDir in Kubernetes, so
    /// `emptydir` is accepted too).
    #[arg(long, value_enum, default_value_t = VolumeAs::Volume)]
    pub volume_as: VolumeAs,
}

/// Mount kind for image volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VolumeAs {
    Volume,
    #[value(alias = "emptydir")]
    Tmpfs,
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
    #[arg(long, value_name = "FILE", conflicts_with = "bare")]
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
    #[arg(
        long,
        value_name = "FILE",
        visible_alias = "learned",
        conflicts_with = "bare"
    )]
    pub profile: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub settings: ProfileSettings,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,

    #[command(flatten)]
    pub run: RunSettings,
}

#[derive(Debug, Args)]
pub struct HardenArgs {
    /// Input image: docker-archive:FILE, oci:DIR, oci-archive:FILE or a path.
    #[arg(required_unless_present = "rootfs", conflicts_with = "rootfs")]
    pub image: Option<String>,

    /// Output image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or
    /// docker-archive:FILE[:NAME:TAG]. Must not exist yet.
    #[arg(
        short,
        long,
        required_unless_present_any = ["dry_run", "rootfs"],
        conflicts_with = "rootfs"
    )]
    pub output: Option<String>,

    /// Harden an unpacked root filesystem in place instead of an image:
    /// setuid/setgid bits, capabilities and world-write bits only.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<std::path::PathBuf>,

    /// Print the plan without writing anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Settings file with `[[keep]]` tables (`path`, `reason`). Default:
    /// `.hardfs.toml` in the current directory, when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// Leave PATH unchanged (repeatable). Write `PATH=REASON` to record why.
    #[arg(long, value_name = "PATH[=REASON]")]
    pub keep: Vec<String>,

    /// Runtime user: NAME, UID, NAME:GROUP or UID:GID. Written to
    /// config.User as numeric uid:gid.
    #[arg(long)]
    pub user: Option<String>,

    /// Add this user to /etc/passwd and /etc/group when the image lacks it,
    /// and run as it unless --user says otherwise.
    #[arg(long, value_name = "NAME")]
    pub create_user: Option<String>,

    /// Allow the output to run as root.
    #[arg(long)]
    pub allow_root: bool,

    /// Paths the runtime user may keep writing (repeatable). Default: the
    /// valid volumes and the directories the runtime user owns.
    #[arg(long, value_name = "PATH")]
    pub writable: Vec<String>,

    /// Remove every volume from the configuration, not only invalid ones.
    #[arg(long)]
    pub drop_volumes: bool,

    /// Remove final-view paths matching GLOB with whiteouts (repeatable;
    /// `*` does not cross `/`).
    #[arg(long, value_name = "GLOB")]
    pub remove: Vec<String>,

    /// Remove a preset group of paths (repeatable).
    #[arg(long, value_enum, value_name = "PRESET")]
    pub preset: Vec<RemovalPreset>,

    /// Change to leave out (repeatable).
    #[arg(long, value_enum, value_name = "CHANGE")]
    pub skip: Vec<HardenChange>,

    /// Compression of rewritten layers. Default: each layer's input compression.
    #[arg(long, value_enum)]
    pub compression: Option<LayerCompression>,

    /// rewrite: patch the layers that hold a changed entry, leaving no
    /// ghost copy. append: add one layer on top (faster, but every lower
    /// blob keeps its privileged copies).
    #[arg(long, value_enum, default_value_t = HardenMode::Rewrite)]
    pub mode: HardenMode,

    /// Threads for reading and compressing; 0 means one per CPU.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HardenChange {
    /// Clearing setuid and setgid bits.
    SpecialBits,
    /// Removing security.capability xattrs.
    Capabilities,
    /// Clearing world-write bits.
    WorldWritable,
    /// Making what the runtime user can write root-owned.
    Ownership,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LayerCompression {
    Gzip,
    Zstd,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RemovalPreset {
    /// sh, bash, dash, ash, zsh, busybox and other shells.
    Shells,
    /// apt, dpkg, apk, yum, dnf, rpm and their databases.
    PackageManagers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HardenMode {
    Rewrite,
    Append,
}
