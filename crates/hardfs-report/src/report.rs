//! The report value every renderer reads: what was checked, the findings
//! kept and suppressed, and the problems that made the check incomplete.

use std::error::Error;

use hardfs_rules::{sort_findings, Finding, Severity};

use crate::policy::{Policy, Verdict};

/// The program that produced a report, as named in JSON and SARIF output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of hardfs.
    pub fn hardfs() -> Self {
        Tool {
            name: "hardfs".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The checked object: one image or a set of Dockerfiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Image(ImageTarget),
    Dockerfiles(Vec<String>),
}

/// An image as `hardfs audit` read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTarget {
    /// The image reference exactly as the user gave it.
    pub reference: String,
    /// The transport that read it, such as `docker-archive` or `oci`.
    pub transport: String,
    /// Digest of the image manifest (`sha256:…`), when the transport has one.
    pub manifest_digest: Option<String>,
    /// Digest of the image configuration blob (`sha256:…`).
    pub config_digest: String,
    pub user: ImageUser,
    /// Layers from the base (index 0) up.
    pub layers: Vec<LayerInfo>,
}

/// The user the image runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageUser {
    /// `config.User` as written; `None` when the field is absent or empty.
    pub configured: Option<String>,
    /// The `(uid, gid)` it resolves to through the image's passwd and group
    /// files; `None` when it does not resolve.
    pub resolved: Option<(u32, u32)>,
    /// Every path the user can write, absolute and escaped, in path order.
    /// Empty for root, who can write everything, and for a user that does
    /// not resolve.
    pub writable: Vec<String>,
}

/// One layer of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Position from the base layer, which is 0.
    pub index: usize,
    /// Digest of the layer blob as stored (`sha256:…`).
    pub digest: String,
    /// Size of the layer blob in bytes.
    pub size: u64,
    /// The history step that made the layer, if the image records one.
    pub created_by: Option<String>,
}

/// A finding an allowlist entry matched, with the reason it was allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub finding: Finding,
    /// The reason the allowlist entry gives.
    pub reason: String,
    /// The entry's origin: `the command line` or `FILE:LINE`.
    pub origin: String,
}

/// A failure that did not stop the run but left part of the target
/// unchecked, such as one unreadable layer or Dockerfile. Any problem makes
/// the exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The object that failed: `layer 2 (sha256:…)`, a Dockerfile path.
    pub subject: String,
    /// The error with its causes, joined by `: `.
    pub message: String,
}

impl Problem {
    /// Records `error` and its chain of causes against `subject`.
    pub fn from_error(subject: impl Into<String>, error: &dyn Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Problem {
            subject: subject.into(),
            message,
        }
    }
}

/// Everything one run of `hardfs audit` or `hardfs lint` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub tool: Tool,
    pub target: Target,
    /// Findings left after the policy, in [`sort_findings`] order.
    pub findings: Vec<Finding>,
    /// Findings an allowlist entry matched, in [`sort_findings`] order.
    pub suppressed: Vec<Suppressed>,
    pub problems: Vec<Problem>,
}

impl Report {
    /// Builds a report by passing `findings` through `policy`. Findings of
    /// rules that `--only`/`--skip` leave out are dropped, allowlisted ones
    /// are kept aside as suppressed, and both lists are sorted.
    pub fn new(
        target: Target,
        findings: Vec<Finding>,
        problems: Vec<Problem>,
        policy: &Policy,
    ) -> Self {
        let mut kept = Vec::new();
        let mut suppressed = Vec::new();
        for finding in findings {
            match policy.judge(&finding) {
                Verdict::Keep => kept.push(finding),
                Verdict::Deselected => {}
                Verdict::Allowed(entry) => suppressed.push(Suppressed {
                    reason: entry.reason.clone(),
                    origin: entry.origin.to_string(),
                    finding,
                }),
            }
        }

        sort_findings(&mut kept);
        suppressed.sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));
        Report {
            tool: Tool::hardfs(),
            target,
            findings: kept,
            suppressed,
            problems,
        }
    }

    /// Counts kept findings per severity, in [`Severity::ALL`] order.
    pub fn counts(&self) -> [(Severity, usize); 5] {
        Severity::ALL.map(|severity| {
            let count = self
                .findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .count();
            (severity, count)
        })
    }
}
