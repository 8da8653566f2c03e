//! The rule table shared by `hardfs audit` and `hardfs lint`, and the finding
//! type both produce.
//!
//! Every rule is one [`Rule`] descriptor in [`RULES`]. Rule IDs and slugs are
//! part of the interface: JSON and SARIF output, `.hardfs.toml` allowlists and
//! `--only`/`--skip` all name rules by them, so they never change once
//! published.

mod finding;
mod table;

pub use finding::{sort_findings, Finding, Location};
pub use table::{Applies, Rule, RULES};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How much a finding matters, lowest first, so that `>=` compares severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "invalid severity `{text}`: expected one of info, low, medium, high, critical"
                )
            })
    }
}

/// Finds a rule by its ID (`HF001`) or slug (`setuid-file`), ignoring ASCII case.
pub fn lookup(id_or_slug: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| {
        rule.id.eq_ignore_ascii_case(id_or_slug) || rule.slug.eq_ignore_ascii_case(id_or_slug)
    })
}
