//! Argument definitions. No logic lives here: each subcommand's arguments are
//! resolved into settings by its function in `cmd/`.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Write a copy of an image with setuid/setgid bits, file capabilities,
    /// world-write bits and user-writable code removed, and print each change.
    Harden(Box<HardenArgs>),
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
