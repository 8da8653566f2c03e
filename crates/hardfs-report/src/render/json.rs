//! The JSON format, for scripts. Its shape is versioned by `schema_version`:
//! adding a field keeps the version, while renaming, removing or retyping
//! one raises it.

use std::io::{self, Write};

use hardfs_rules::{Finding, Location, Severity};
use serde::Serialize;

use crate::escape::escape;
use crate::report::{ImageTarget, Report, Target};

/// The current `schema_version`.
pub const JSON_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: JsonTool<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<JsonImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<String>>,
    findings: Vec<JsonFinding>,
    suppressed: Vec<JsonSuppressed>,
    problems: Vec<JsonProblem>,
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonTool<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct JsonImage {
    reference: String,
    transport: String,
    manifest_digest: Option<String>,
    config_digest: String,
    user: JsonUser,
    layers: Vec<JsonLayer>,
}

#[derive(Serialize)]
struct JsonUser {
    /// `config.User` as written, or null when unset.
    configured: Option<String>,
    uid: Option<u32>,
    gid: Option<u32>,
    /// Every path the user can write; empty for root and for a user that
    /// does not resolve.
    writable: Vec<String>,
}

#[derive(Serialize)]
struct JsonLayer {
    index: usize,
    digest: String,
    size: u64,
    created_by: Option<String>,
}

#[derive(Serialize)]
struct JsonFinding {
    rule: &'static str,
    slug: &'static str,
    severity: Severity,
    message: String,
    #[serde(flatten)]
    location: JsonLocation,
}

/// The location fields, flattened into the finding next to a `kind` tag.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum JsonLocation {
    ImagePath {
        path: String,
        layer_index: usize,
        layer_digest: String,
        created_by: Option<String>,
    },
    ImageConfig {
        field: String,
    },
    Dockerfile {
        file: String,
        line: usize,
        column: usize,
    },
}

#[derive(Serialize)]
struct JsonSuppressed {
    #[serde(flatten)]
    finding: JsonFinding,
    reason: String,
    /// `the command line` or `FILE:LINE` of the allowlist entry.
    allowed_by: String,
}

#[derive(Serialize)]
struct JsonProblem {
    subject: String,
    message: String,
}

#[derive(Serialize)]
struct JsonSummary {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
    suppressed: usize,
    problems: usize,
}

/// Writes `report` as pretty-printed JSON followed by a newline. The same
/// report always gives the same bytes: findings are in [`hardfs_rules::sort_findings`]
/// order and every object has a fixed field order.
pub fn render_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (image, files) = match &report.target {
        Target::Image(image) => (Some(json_image(image)), None),
        Target::Dockerfiles(files) => (None, Some(files.iter().map(text).collect())),
    };
    let document = JsonReport {
        schema_version: JSON_SCHEMA_VERSION,
        tool: JsonTool {
            name: &report.tool.name,
            version: &report.tool.version,
        },
        image,
        files,
        findings: report.findings.iter().map(json_finding).collect(),
        suppressed: report
            .suppressed
            .iter()
            .map(|suppressed| JsonSuppressed {
                finding: json_finding(&suppressed.finding),
                reason: text(&suppressed.reason),
                allowed_by: text(&suppressed.origin),
            })
            .collect(),
        problems: report
            .problems
            .iter()
            .map(|problem| JsonProblem {
                subject: text(&problem.subject),
                message: text(&problem.message),
            })
            .collect(),
        summary: json_summary(report),
    };

    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Escapes untrusted text: JSON escapes C0 controls itself, but not C1
/// controls or bidi overrides, and readers often print values raw.
fn text(value: impl AsRef<str>) -> String {
    escape(value.as_ref()).into_owned()
}

fn json_image(image: &ImageTarget) -> JsonImage {
    JsonImage {
        reference: text(&image.reference),
        transport: text(&image.transport),
        manifest_digest: image.manifest_digest.as_ref().map(text),
        config_digest: text(&image.config_digest),
        user: JsonUser {
            configured: image.user.configured.as_ref().map(text),
            uid: image.user.resolved.map(|(uid, _)| uid),
            gid: image.user.resolved.map(|(_, gid)| gid),
            writable: image.user.writable.clone(),
        },
        layers: image
            .layers
            .iter()
            .map(|layer| JsonLayer {
                index: layer.index,
                digest: text(&layer.digest),
                size: layer.size,
                created_by: layer.created_by.as_ref().map(text),
            })
            .collect(),
    }
}

fn json_finding(finding: &Finding) -> JsonFinding {
    let location = match &finding.location {
        Location::ImagePath {
            path,
            layer_index,
            layer_digest,
            created_by,
        } => JsonLocation::ImagePath {
            path: text(path),
            layer_index: *layer_index,
            layer_digest: text(layer_digest),
            created_by: created_by.as_ref().map(text),
        },
        Location::ImageConfig { field } => JsonLocation::ImageConfig { field: text(field) },
        Location::Dockerfile { file, line, column } => JsonLocation::Dockerfile {
            file: text(file),
            line: *line,
            column: *column,
        },
    };
    JsonFinding {
        rule: finding.rule.id,
        slug: finding.rule.slug,
        severity: finding.severity,
        message: text(&finding.message),
        location,
    }
}

fn json_summary(report: &Report) -> JsonSummary {
    let [info, low, medium, high, critical] = report.counts().map(|(_, count)| count);
    JsonSummary {
        critical,
        high,
        medium,
        low,
        info,
        suppressed: report.suppressed.len(),
        problems: report.problems.len(),
    }
}
