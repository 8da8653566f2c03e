//! Errors from resolving the policy.

use std::io;
use std::path::PathBuf;

/// A policy setting or config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown rule `{name}` in {origin} (valid rules: {valid})")]
    UnknownRule {
        name: String,
        /// The flag, or `FILE:LINE` in the config file.
        origin: String,
        valid: String,
    },

    #[error("invalid --allow `{value}`: expected RULE:PATH, such as setuid-file:/usr/bin/passwd")]
    InvalidAllow { value: String },

    #[error("invalid path pattern `{pattern}` in {origin}")]
    InvalidPattern {
        pattern: String,
        origin: String,
        #[source]
        source: glob::PatternError,
    },

    #[error("invalid fail_on `{value}` in {origin}: expected one of info, low, medium, high, critical, never")]
    InvalidFailOn { value: String, origin: String },

    #[error("config file {} not found", path.display())]
    ConfigNotFound {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to read config file {}", path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// TOML syntax errors, unknown keys and values of the wrong type. The
    /// TOML parser's message is kept as text because its own `Display`
    /// repeats the source line with a caret, which does not fit on one line.
    #[error("invalid config file {}:{line}:{column}: {message}", path.display())]
    ConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("missing reason in the [[allow]] entry at {}:{line}: every allowlist entry in a config file needs one", path.display())]
    MissingReason { path: PathBuf, line: usize },
}
