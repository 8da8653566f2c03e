//! One finding: a rule that matched one object, with where it came from.

use serde::Serialize;

use crate::{Rule, Severity};

/// Where a finding sits: a path in an image, a line of a Dockerfile, or the
/// image configuration as a whole.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A path in the image's final filesystem, or in a lower layer for ghosts.
    ImagePath {
        /// Absolute path, escaped for display (see `hardfs_fs::display_path`).
        path: String,
        /// Index of the layer that last changed the path, base layer = 0.
        layer_index: usize,
        /// Digest of that layer's blob as stored (`sha256:…`).
        layer_digest: String,
        /// The history step (`created_by`) that made the layer, if recorded.
        created_by: Option<String>,
    },
    /// A field of the image configuration, such as `config.User`.
    ImageConfig { field: String },
    /// A position in a Dockerfile; line and column start at 1.
    Dockerfile {
        file: String,
        line: usize,
        column: usize,
    },
}

/// One rule matched against one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub location: Location,
    /// One sentence about this object: what is wrong with it, with its values.
    pub message: String,
}

impl Finding {
    /// Creates a finding at the rule's default severity.
    pub fn new(rule: &'static Rule, location: Location, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            location,
            message: message.into(),
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The path or config field this finding is about, for allowlists and sorting.
    /// A volume finding's subject is the volume path inside
    /// `config.Volumes[...]`, so that `--allow volume-declared:/data` matches.
    pub fn subject(&self) -> &str {
        match &self.location {
            Location::ImagePath { path, .. } => path,
            Location::ImageConfig { field } => field
                .strip_prefix("config.Volumes[")
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(field),
            Location::Dockerfile { file, .. } => file,
        }
    }

    /// Orders findings for output: rule ID, then location, then message.
    pub fn sort_key(&self) -> (&'static str, &Location, &str) {
        (self.rule.id, &self.location, &self.message)
    }
}

/// Sorts findings into the stable output order.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}
