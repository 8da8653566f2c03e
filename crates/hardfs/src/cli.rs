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
    /// Check Dockerfiles for filesystem-hardening mistakes before building.
    Lint(LintArgs),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Dockerfiles to check [default: ./Dockerfile, else ./Containerfile].
    pub files: Vec<std::path::PathBuf>,

    /// Exit with status 1 when a finding has this severity or a higher one
    /// (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<hardfs_rules::Severity>,
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
