//! Snapshot tests of the three formats, output stability, escaping of
//! hostile names, and SARIF schema validation.

mod common;

use hardfs_report::{render, render_json, render_sarif, render_text, Format, Report, TextOptions};
use serde_json::Value;

use common::{dockerfile_report, image_report, incomplete_image_report};

fn text(report: &Report, options: TextOptions) -> String {
    let mut out = Vec::new();
    render_text(report, options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn json(report: &Report) -> String {
    let mut out = Vec::new();
    render_json(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn sarif(report: &Report) -> String {
    let mut out = Vec::new();
    render_sarif(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_image_snapshot() {
    insta::assert_snapshot!(text(&image_report(), TextOptions::default()));
}

#[test]
fn text_image_all_snapshot() {
    let options = TextOptions {
        all: true,
        ..TextOptions::default()
    };
    insta::assert_snapshot!(text(&image_report(), options));
}

#[test]
fn text_incomplete_image_snapshot() {
    insta::assert_snapshot!(text(&incomplete_image_report(), TextOptions::default()));
}

#[test]
fn text_dockerfile_snapshot() {
    insta::assert_snapshot!(text(&dockerfile_report(), TextOptions::default()));
}

#[test]
fn json_image_snapshot() {
    insta::assert_snapshot!(json(&image_report()));
}

#[test]
fn json_dockerfile_snapshot() {
    insta::assert_snapshot!(json(&dockerfile_report()));
}

#[test]
fn sarif_image_snapshot() {
    insta::assert_snapshot!(sarif(&incomplete_image_report()));
}

#[test]
fn sarif_dockerfile_snapshot() {
    insta::assert_snapshot!(sarif(&dockerfile_report()));
}

/// No format lets a raw control character through: the hostile names in the
/// sample reports contain newlines, ESC and BEL.
#[test]
fn no_format_writes_raw_control_characters() {
    for report in [incomplete_image_report(), dockerfile_report()] {
        for output in [
            text(&report, TextOptions::default()),
            json(&report),
            sarif(&report),
        ] {
            assert!(!output.contains('\x1b'), "raw ESC in:\n{output}");
            assert!(!output.contains('\x07'), "raw BEL in:\n{output}");
        }
    }
}

#[test]
fn text_escapes_newline_in_path() {
    let output = text(&image_report(), TextOptions::default());
    assert!(
        output.contains("/srv/evil\\nname\\x1b[31m: world-writable file"),
        "{output}"
    );
}

#[test]
fn colored_text_has_only_own_escapes() {
    let options = TextOptions {
        color: true,
        all: false,
    };
    let output = text(&image_report(), options);
    assert!(output.contains("\x1b[1mHF001\x1b[0m"), "{output}");
    assert!(output.contains("\x1b[31mhigh"), "{output}");
    // The hostile path's own ESC stays escaped.
    assert!(output.contains("/srv/evil\\nname\\x1b[31m"), "{output}");
    // Every raw ESC starts one of the renderer's SGR sequences.
    for (index, _) in output.match_indices('\x1b') {
        let rest = &output[index + 1..];
        let sequence: String = rest.chars().take_while(|c| *c != 'm').collect();
        assert!(
            ["[0", "[1", "[2", "[31", "[33", "[36", "[1;31"].contains(&sequence.as_str()),
            "unexpected escape sequence {sequence:?}"
        );
    }
}

#[test]
fn text_folds_long_directories_unless_all() {
    let folded = text(&image_report(), TextOptions::default());
    assert!(folded.contains("cache-02"), "{folded}");
    assert!(!folded.contains("cache-03"), "{folded}");
    assert!(
        folded.contains("… 9 more in /usr/share/app (--all lists them)"),
        "{folded}"
    );

    let all = TextOptions {
        all: true,
        ..TextOptions::default()
    };
    let listed = text(&image_report(), all);
    assert!(listed.contains("cache-11"), "{listed}");
    assert!(!listed.contains("more in"), "{listed}");
}

#[test]
fn text_summary_counts_by_severity() {
    let output = text(&incomplete_image_report(), TextOptions::default());
    let summary = output.lines().last().unwrap();
    assert_eq!(
        summary,
        "17 findings: 2 high, 15 medium; 1 suppressed; 1 problem, the check is incomplete"
    );
}

#[test]
fn json_is_identical_between_runs_and_input_orders() {
    let first = json(&image_report());
    assert_eq!(first, json(&image_report()));

    let mut findings = common::image_findings();
    findings.reverse();
    let mut reversed = Report::new(common::image_target(), findings, vec![], &common::policy());
    reversed.tool = common::tool();
    assert_eq!(first, json(&reversed));
}

#[test]
fn json_fields_have_expected_values() {
    let document: Value = serde_json::from_str(&json(&image_report())).unwrap();
    assert_eq!(document["schema_version"], 1);
    assert_eq!(document["tool"]["name"], "hardfs");
    assert_eq!(document["image"]["reference"], "registry.example/app:1.0");
    assert_eq!(document["image"]["user"]["uid"], 0);
    assert_eq!(document["image"]["layers"][3]["size"], 4000);

    let first = &document["findings"][0];
    assert_eq!(first["rule"], "HF001");
    assert_eq!(first["slug"], "setuid-file");
    assert_eq!(first["severity"], "high");
    assert_eq!(first["kind"], "image_path");
    assert_eq!(first["path"], "/usr/bin/passwd");
    assert_eq!(first["layer_index"], 1);
    assert!(first["layer_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:1"));
    assert!(first["created_by"].as_str().unwrap().contains("apt-get"));

    let suppressed = &document["suppressed"][0];
    assert_eq!(suppressed["rule"], "HF002");
    assert_eq!(suppressed["reason"], "wall and write need the tty group");
    assert_eq!(suppressed["allowed_by"], ".hardfs.toml:4");
    assert_eq!(document["summary"]["medium"], 15);
}

#[test]
fn json_dockerfile_findings_have_positions() {
    let document: Value = serde_json::from_str(&json(&dockerfile_report())).unwrap();
    assert!(document.get("image").is_none());
    assert_eq!(document["files"][0], "Dockerfile");
    let finding = &document["findings"][0];
    assert_eq!(finding["rule"], "HF007");
    assert_eq!(finding["file"], "Dockerfile");
    assert_eq!(finding["line"], 20);
    assert_eq!(finding["column"], 1);
    assert_eq!(document["suppressed"][0]["allowed_by"], "the command line");
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn sarif_matches_published_schema() {
    let validator = sarif_validator();
    for report in [
        image_report(),
        incomplete_image_report(),
        dockerfile_report(),
    ] {
        let document: Value = serde_json::from_str(&sarif(&report)).unwrap();
        let errors = schema_errors(&validator, &document);
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[test]
fn sarif_schema_rejects_invalid_level() {
    let validator = sarif_validator();
    let mut document: Value = serde_json::from_str(&sarif(&image_report())).unwrap();
    document["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!schema_errors(&validator, &document).is_empty());
}

#[test]
fn sarif_image_result_has_location_chain() {
    let document: Value = serde_json::from_str(&sarif(&image_report())).unwrap();
    let run = &document["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "HF001");
    assert_eq!(result["level"], "error");

    let physical = &result["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(physical["uri"], "usr/bin/passwd");
    assert_eq!(physical["uriBaseId"], "IMAGE_ROOT");

    let logical = &result["locations"][0]["logicalLocations"][0];
    let entries = run["logicalLocations"].as_array().unwrap();
    let path = &entries[logical["index"].as_u64().unwrap() as usize];
    assert_eq!(path["name"], "/usr/bin/passwd");
    let layer = &entries[path["parentIndex"].as_u64().unwrap() as usize];
    assert_eq!(layer["name"], "layer 1");
    let image = &entries[layer["parentIndex"].as_u64().unwrap() as usize];
    assert_eq!(image["kind"], "image");
    assert_eq!(image["name"], "registry.example/app:1.0");

    let rule_index = result["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][rule_index];
    assert_eq!(rule["id"], "HF001");
    assert_eq!(rule["name"], "setuid-file");
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
}

#[test]
fn sarif_marks_suppressed_and_problems() {
    let document: Value = serde_json::from_str(&sarif(&incomplete_image_report())).unwrap();
    let run = &document["runs"][0];
    let suppressed: Vec<&Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "HF002");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "wall and write need the tty group"
    );

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["message"]["text"],
        "layer 4 (sha256:4444): truncated gzip stream"
    );
}

#[test]
fn sarif_results_all_have_artifact_uri() {
    for report in [image_report(), dockerfile_report()] {
        let document: Value = serde_json::from_str(&sarif(&report)).unwrap();
        for result in document["runs"][0]["results"].as_array().unwrap() {
            let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            assert!(
                uri.as_str().is_some_and(|uri| !uri.is_empty()),
                "{result:#}"
            );
        }
    }
}

#[test]
fn sarif_config_result_names_field() {
    let document: Value = serde_json::from_str(&sarif(&image_report())).unwrap();
    let result = document["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["ruleId"] == "HF007")
        .unwrap();
    let location = &result["locations"][0];
    let artifact = &location["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uri"], "config.User");
    assert_eq!(artifact["uriBaseId"], "IMAGE_CONFIG");
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "registry.example/app:1.0/config.User"
    );
}

#[test]
fn sarif_dockerfile_result_has_region() {
    let document: Value = serde_json::from_str(&sarif(&dockerfile_report())).unwrap();
    let result = &document["runs"][0]["results"][0];
    let physical = &result["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "Dockerfile");
    assert_eq!(physical["region"]["startLine"], 20);
    assert_eq!(physical["region"]["startColumn"], 1);
}

#[test]
fn render_dispatches_by_format() {
    let report = dockerfile_report();
    let mut out = Vec::new();
    render(&report, Format::Json, TextOptions::default(), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), json(&report));
}
