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
