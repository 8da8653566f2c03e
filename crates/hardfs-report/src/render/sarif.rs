//! The SARIF 2.1.0 format, for code-scanning services such as GitHub's.
//!
//! Image findings carry a logical location chain image → layer → path in
//! `run.logicalLocations`, linked by `parentIndex`. They also carry a
//! physical location: the path relative to the image root (`uriBaseId`
//! `IMAGE_ROOT`), or the field name for configuration findings (`uriBaseId`
//! `IMAGE_CONFIG`). GitHub code scanning rejects an upload in which a
//! result has no `physicalLocation.artifactLocation.uri`, so every result
//! has one. Dockerfile findings carry the file and a region with
//! `startLine` and `startColumn`. Allowlisted findings are emitted as
//! results with an external suppression.

use std::collections::BTreeMap;
use std::io::{self, Write};

use hardfs_rules::{Applies, Finding, Location, Rule, Severity, RULES};
use serde::Serialize;
use serde_json::{json, Value};

use crate::escape::escape;
use crate::report::{ImageTarget, Report, Target};

const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The `uriBaseId` of image paths: the root of the image's filesystem.
const IMAGE_ROOT: &str = "IMAGE_ROOT";
/// The `uriBaseId` of image configuration fields such as `config.User`.
const IMAGE_CONFIG: &str = "IMAGE_CONFIG";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Value,
    invocations: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<Value>,
    results: Vec<Value>,
    properties: Value,
}

/// Writes `report` as a SARIF 2.1.0 log with one run.
pub fn render_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules = driver_rules(&report.target);
    let mut locations = LogicalLocations::default();
    if let Target::Image(image) = &report.target {
        locations.add_image(image);
    }

    let mut results = Vec::new();
    for finding in &report.findings {
        results.push(result(finding, &rules, &mut locations));
    }
    for suppressed in &report.suppressed {
        let mut entry = result(&suppressed.finding, &rules, &mut locations);
        entry["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": escape(&suppressed.reason),
            "properties": { "allowedBy": escape(&suppressed.origin) },
        }]);
        results.push(entry);
    }

    let log = SarifLog {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: json!({
                "driver": {
                    "name": escape(&report.tool.name),
                    "version": escape(&report.tool.version),
                    "rules": rules.iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
                }
            }),
            invocations: vec![invocation(report)],
            logical_locations: locations.entries,
            results,
            properties: target_properties(&report.target),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Lists the rules that apply to the target, in table order. Results point
/// into this list with `ruleIndex`.
fn driver_rules(target: &Target) -> Vec<&'static Rule> {
    let kind = match target {
        Target::Image(_) => Applies::Image,
        Target::Dockerfiles(_) => Applies::Dockerfile,
    };
    RULES
        .iter()
        .filter(|rule| rule.applies == kind || rule.applies == Applies::Both)
        .collect()
}

/// Builds the `reportingDescriptor` of one rule.
fn descriptor(rule: &Rule) -> Value {
    let mut properties = json!({
        "reference": rule.reference,
        "severity": rule.severity,
        "tags": ["security"],
    });
    if let Some(score) = security_severity(rule.severity) {
        properties["security-severity"] = json!(score);
    }
    json!({
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.why },
        "help": { "text": rule.fix },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": properties,
    })
}

/// SARIF has three levels for results; critical and high are errors.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Returns the `security-severity` score that GitHub code scanning reads
/// from a rule's properties. Code scanning shows 9.0 and above as critical, 7.0–8.9 as high,
/// 4.0–6.9 as medium and 0.1–3.9 as low. Info rules get none.
fn security_severity(severity: Severity) -> Option<&'static str> {
    match severity {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

fn result(finding: &Finding, rules: &[&'static Rule], locations: &mut LogicalLocations) -> Value {
    let rule_index = rules
        .iter()
        .position(|rule| std::ptr::eq(*rule, finding.rule));
    let message = match &finding.location {
        Location::Dockerfile { .. } => escape(&finding.message).into_owned(),
        _ => format!(
            "{}: {}",
            escape(finding.subject()),
            escape(&finding.message)
        ),
    };

    let mut result = json!({
        "ruleId": finding.rule.id,
        "level": level(finding.severity),
        "message": { "text": message },
        "locations": [location(finding, locations)],
        "partialFingerprints": {
            "hardfsSubject/v1": format!("{}:{}", finding.rule.id, escape(finding.subject())),
        },
        "properties": { "severity": finding.severity },
    });
    // A rule that does not apply to the target is not in `rules`, so the
    // result names it by `ruleId` alone.
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    result
}

fn location(finding: &Finding, locations: &mut LogicalLocations) -> Value {
    match &finding.location {
        Location::ImagePath {
            path, layer_index, ..
        } => {
            let index = locations.path(*layer_index, path);
            json!({
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": encode_uri_path(path.trim_start_matches('/')),
                        "uriBaseId": IMAGE_ROOT,
                    }
                },
                "logicalLocations": [locations.reference(index)],
            })
        }
        Location::ImageConfig { field } => {
            let index = locations.config_field(field);
            json!({
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": encode_uri_path(&escape(field)),
                        "uriBaseId": IMAGE_CONFIG,
                    }
                },
                "logicalLocations": [locations.reference(index)],
            })
        }
        Location::Dockerfile { file, line, column } => json!({
            "physicalLocation": {
                "artifactLocation": { "uri": file_uri(file) },
                "region": {
                    "startLine": (*line).max(1),
                    "startColumn": (*column).max(1),
                },
            }
        }),
    }
}

/// Builds the URI of a Dockerfile path. Relative paths stay relative, so
/// code scanning resolves them against the repository root, and absolute
/// ones become `file://` URIs.
fn file_uri(file: &str) -> String {
    let encoded = encode_uri_path(&escape(file));
    if file.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

/// Percent-encodes every byte except unreserved characters and `/`. A colon
/// is encoded too, or `a:b` would read as a URI with scheme `a`.
fn encode_uri_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `run.logicalLocations`: the image, its layers and the paths findings
/// name, each linked to its parent by `parentIndex`.
#[derive(Default)]
struct LogicalLocations {
    entries: Vec<Value>,
    reference: String,
    /// Index of each layer's entry, by layer index.
    layers: BTreeMap<usize, usize>,
    /// Index of each path or config field entry, by its qualified name.
    names: BTreeMap<String, usize>,
}

impl LogicalLocations {
    fn add_image(&mut self, image: &ImageTarget) {
        self.reference = escape(&image.reference).into_owned();
        self.push(json!({
            "name": self.reference,
            "fullyQualifiedName": self.reference,
            "kind": "image",
        }));
        for layer in &image.layers {
            self.layer(layer.index);
        }
    }

    fn push(&mut self, entry: Value) -> usize {
        self.entries.push(entry);
        self.entries.len() - 1
    }

    /// Returns the entry of layer `layer_index`, adding it on first use so
    /// that a finding in a layer the target does not list still resolves.
    fn layer(&mut self, layer_index: usize) -> usize {
        if let Some(index) = self.layers.get(&layer_index) {
            return *index;
        }
        let entry = json!({
            "name": format!("layer {layer_index}"),
            "fullyQualifiedName": format!("{}/layers/{layer_index}", self.reference),
            "kind": "layer",
            "parentIndex": 0,
        });
        let index = self.push(entry);
        self.layers.insert(layer_index, index);
        index
    }

    fn path(&mut self, layer_index: usize, path: &str) -> usize {
        let parent = self.layer(layer_index);
        let path = escape(path);
        let name = format!("{}/layers/{layer_index}{path}", self.reference);
        self.named(name, path.into_owned(), "file", parent)
    }

    fn config_field(&mut self, field: &str) -> usize {
        let field = escape(field).into_owned();
        let name = format!("{}/{field}", self.reference);
        self.named(name, field, "property", 0)
    }

    fn named(&mut self, qualified: String, name: String, kind: &str, parent: usize) -> usize {
        if let Some(index) = self.names.get(&qualified) {
            return *index;
        }
        let entry = json!({
            "name": name,
            "fullyQualifiedName": qualified,
            "kind": kind,
            "parentIndex": parent,
        });
        let index = self.push(entry);
        self.names.insert(qualified, index);
        index
    }

    /// Builds a result's reference to entry `index`.
    fn reference(&self, index: usize) -> Value {
        json!({
            "index": index,
            "fullyQualifiedName": self.entries[index]["fullyQualifiedName"],
        })
    }
}

/// Builds the run's one invocation: successful unless a problem left part of the target
/// unchecked, with each problem as an error notification.
fn invocation(report: &Report) -> Value {
    let notifications: Vec<Value> = report
        .problems
        .iter()
        .map(|problem| {
            json!({
                "level": "error",
                "message": {
                    "text": format!("{}: {}", escape(&problem.subject), escape(&problem.message)),
                },
            })
        })
        .collect();
    json!({
        "executionSuccessful": report.problems.is_empty(),
        "toolExecutionNotifications": notifications,
    })
}

/// Describes the target in the run's property bag.
fn target_properties(target: &Target) -> Value {
    match target {
        Target::Image(image) => json!({
            "image": {
                "reference": escape(&image.reference),
                "transport": escape(&image.transport),
                "manifestDigest": image.manifest_digest.as_deref().map(escape),
                "configDigest": escape(&image.config_digest),
                "user": image.user.configured.as_deref().map(escape),
                "uid": image.user.resolved.map(|(uid, _)| uid),
                "gid": image.user.resolved.map(|(_, gid)| gid),
            }
        }),
        Target::Dockerfiles(files) => json!({
            "files": files.iter().map(|file| escape(file)).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_slashes_and_unreserved() {
        assert_eq!(encode_uri_path("usr/lib/a-b_c.d~e"), "usr/lib/a-b_c.d~e");
        assert_eq!(encode_uri_path("a b:c%"), "a%20b%3Ac%25");
        assert_eq!(encode_uri_path("é"), "%C3%A9");
    }

    #[test]
    fn dockerfile_uri_is_relative_or_file_scheme() {
        assert_eq!(file_uri("build/Dockerfile"), "build/Dockerfile");
        assert_eq!(file_uri("/src/Dockerfile"), "file:///src/Dockerfile");
    }

    #[test]
    fn levels_map_from_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
    }

    #[test]
    fn driver_rules_follow_target_kind() {
        let image = driver_rules(&Target::Image(ImageTarget {
            reference: String::new(),
            transport: String::new(),
            manifest_digest: None,
            config_digest: String::new(),
            user: Default::default(),
            layers: vec![],
        }));
        let dockerfile = driver_rules(&Target::Dockerfiles(vec![]));
        assert!(image.iter().any(|rule| rule.id == "HF001"));
        assert!(image.iter().any(|rule| rule.id == "HF007"));
        assert!(!image.iter().any(|rule| rule.id == "HF014"));
        assert!(dockerfile.iter().any(|rule| rule.id == "HF014"));
        assert!(dockerfile.iter().any(|rule| rule.id == "HF007"));
        assert!(!dockerfile.iter().any(|rule| rule.id == "HF001"));
    }
}
