//! `hardfs lint` end to end: output lines, `--fail-on`, default file
//! discovery and errors.

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn hardfs() -> Command {
    Command::cargo_bin("hardfs").expect("hardfs binary")
}

fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

#[test]
fn prints_one_line_per_finding() {
    let dir = TempDir::new().unwrap();
    write(&dir, "Dockerfile", "FROM debian\nVOLUME /var/log:ro\n");
    let output = hardfs()
        .current_dir(dir.path())
        .args(["lint", "Dockerfile"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("Dockerfile:1:1 medium runs-as-root "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("Dockerfile:2:1 low volume-declared "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("Dockerfile:2:1 high volume-with-options "),
        "{}",
        lines[2]
    );
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
}

#[test]
fn clean_file_prints_nothing() {
    let dir = TempDir::new().unwrap();
    let file = write(&dir, "Dockerfile", "FROM debian\nUSER 10001:10001\n");
    hardfs()
        .arg("lint")
        .arg(&file)
        .args(["--fail-on", "info"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn defaults_to_dockerfile_then_containerfile() {
    let dir = TempDir::new().unwrap();
    write(&dir, "Containerfile", "FROM debian\n");
    hardfs()
        .current_dir(dir.path())
        .arg("lint")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "Containerfile:1:1 medium runs-as-root",
        ));
    write(&dir, "Dockerfile", "FROM debian\nUSER 0\n");
    hardfs()
        .current_dir(dir.path())
        .arg("lint")
        .assert()
        .stdout(predicate::str::starts_with(
            "Dockerfile:2:1 medium runs-as-root",
        ));
}

#[test]
fn missing_default_file_is_an_error() {
    let dir = TempDir::new().unwrap();
    hardfs()
        .current_dir(dir.path())
        .arg("lint")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no Dockerfile or Containerfile"));
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = TempDir::new().unwrap();
    let file = write(
        &dir,
        "Dockerfile",
        "FROM debian\nRUN cat <<EOF\nnever closed\n",
    );
    let expected = format!("cannot parse {}:2", file.display());
    hardfs()
        .arg("lint")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expected))
        .stderr(predicate::str::contains("unterminated heredoc"));
}

#[test]
fn bad_file_does_not_stop_the_others() {
    let dir = TempDir::new().unwrap();
    let bad = write(&dir, "Bad.Dockerfile", "# only a comment\n");
    let good = write(&dir, "Dockerfile", "FROM debian\n");
    hardfs()
        .arg("lint")
        .arg(&bad)
        .arg(&good)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("runs-as-root"))
        .stderr(predicate::str::contains("file has no instructions"));
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
        .stderr(predicate::str::contains("cannot read"));
}
