//! `hardfs lint` end to end: findings in the shared report formats,
//! `--fail-on`, default file discovery and errors.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn hardfs() -> Command {
    let mut command = Command::cargo_bin("hardfs").expect("hardfs binary");
    command.env("NO_COLOR", "1");
    command
}

fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// (slug, line, column, severity) of each finding in a JSON report.
fn findings(stdout: &[u8]) -> Vec<(String, u64, u64, String)> {
    let report: Value = serde_json::from_slice(stdout).expect("JSON report");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["slug"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap(),
                finding["column"].as_u64().unwrap(),
                finding["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn json_lists_each_finding() {
    let dir = TempDir::new().unwrap();
    write(&dir, "Dockerfile", "FROM debian\nVOLUME /var/log:ro\n");
    let output = hardfs()
        .current_dir(dir.path())
        .args([
            "lint",
            "Dockerfile",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        findings(&output.stdout),
        [
            ("runs-as-root".into(), 1, 1, "medium".into()),
            ("volume-declared".into(), 2, 1, "low".into()),
            ("volume-with-options".into(), 2, 1, "high".into()),
        ]
    );
}

#[test]
fn text_names_file_and_rule() {
    let dir = TempDir::new().unwrap();
    write(&dir, "Dockerfile", "FROM debian\nVOLUME /var/log:ro\n");
    hardfs()
        .current_dir(dir.path())
        .args(["lint", "Dockerfile"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("volume-with-options"))
        .stdout(predicate::str::contains("Dockerfile:2:1"));
}

#[test]
fn fail_on_sets_exit_code() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "Dockerfile", "FROM debian\nVOLUME /var/log:ro\n");
    hardfs()
        .arg("lint")
        .arg(&file)
        .args(["--fail-on", "high"])
        .assert()
        .code(1);
    hardfs()
        .arg("lint")
        .arg(&file)
        .args(["--fail-on", "critical"])
        .assert()
        .code(0);
    hardfs()
        .arg("lint")
        .arg(&file)
        .args(["--fail-on", "high", "--skip", "HF009"])
        .assert()
        .code(0);
}

#[test]
fn clean_file_has_no_findings() {
    let dir = TempDir::new().unwrap();
    let file = write(
        &dir,
        "Dockerfile",
        "FROM debian\nRUN useradd -u 1000 app\nUSER 1000:1000\n",
    );
    let output = hardfs()
        .arg("lint")
        .arg(&file)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(findings(&output.stdout).is_empty());
}

#[test]
fn defaults_to_dockerfile_then_containerfile() {
    let dir = TempDir::new().unwrap();
    write(&dir, "Containerfile", "FROM debian\nUSER 1000\n");
    let output = hardfs()
        .current_dir(dir.path())
        .args(["lint", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0], "Containerfile");
    write(&dir, "Dockerfile", "FROM debian\n");
    let output = hardfs()
        .current_dir(dir.path())
        .args(["lint", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["files"][0], "Dockerfile");
}

#[test]
fn missing_default_file_is_an_error() {
    let dir = TempDir::new().unwrap();
    hardfs()
        .current_dir(dir.path())
        .arg("lint")
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no Dockerfile or Containerfile"));
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "Dockerfile", "FROM debian\nENV\n");
    hardfs()
        .arg("lint")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot parse {}:2",
            file.display()
        )));
}

#[test]
fn bad_file_does_not_stop_the_others() {
    let dir = TempDir::new().unwrap();
    let bad = write(&dir, "Bad.Dockerfile", "# only a comment\n");
    let good = write(&dir, "Dockerfile", "FROM debian\nVOLUME /var/log:ro\n");
    let output = hardfs()
        .arg("lint")
        .arg(&bad)
        .arg(&good)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(findings(&output.stdout).len(), 3);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("file has no instructions"));
}

#[test]
fn unreadable_file_is_an_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    hardfs()
        .arg("lint")
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot read {}",
            missing.display()
        )))
        .stdout("");
}

#[test]
fn dash_reads_standard_input() {
    let dir = TempDir::new().unwrap();
    let output = hardfs()
        .current_dir(dir.path())
        .args(["lint", "-", "--format", "json", "--fail-on", "never"])
        .write_stdin("FROM debian\nRUN install -m 4755 tool /usr/bin/tool\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        findings(&output.stdout),
        [
            ("runs-as-root".into(), 1, 1, "medium".into()),
            ("chmod-setuid".into(), 2, 13, "high".into()),
        ]
    );
}

#[test]
fn dash_syntax_error_names_standard_input() {
    hardfs()
        .args(["lint", "-"])
        .write_stdin("FROM debian\nONBUILD\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot parse -:2"));
}
