//! `hardfs harden` from the command line: the JSON plan, the root-user
//! error with its hint, and `--rootfs`. The images come from
//! `scripts/build-images.sh`.

use assert_cmd::Command;

fn nginx_layout() -> String {
    let manifest = hardfs_test_images::images_manifest();
    manifest["images"]["nginx"]["exports"]["oci"]
        .as_str()
        .expect("images.json has an oci export of nginx")
        .to_string()
}

#[test]
fn dry_run_prints_json_plan() {
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .args(["harden", &format!("oci:{}", nginx_layout())])
        .args(["--user", "www-data", "--dry-run", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["version"], 1);
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["plan"]["user"], "33:33");
    let changes = summary["plan"]["changes"].as_array().unwrap();
    let su = changes
        .iter()
        .find(|change| change["path"] == "/usr/bin/su")
        .expect("the plan clears /usr/bin/su");
    assert_eq!(su["before"]["mode"], 0o4755);
    assert_eq!(su["after"]["mode"], 0o755);
    assert_eq!(su["actions"][0], "clear-setuid");
}

#[test]
fn root_user_fails_with_hint() {
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .args(["harden", &format!("oci:{}", nginx_layout()), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: the container would run as root"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: choose a non-root user"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn rootfs_mode_clears_bits() {
    use std::os::unix::fs::PermissionsExt;

    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("su");
    std::fs::write(&file, b"x").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o4755)).unwrap();
    Command::cargo_bin("hardfs")
        .unwrap()
        .args(["harden", "--rootfs"])
        .arg(scratch.path())
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "/su  4755 0:0 -> 0755 0:0  clear-setuid",
        ));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
}

#[test]
fn settings_file_keeps_path() {
    let scratch = tempfile::tempdir().unwrap();
    let settings = scratch.path().join("hardfs.toml");
    std::fs::write(
        &settings,
        "[[keep]]\npath = \"/usr/bin/su\"\nreason = \"operators switch users\"\n",
    )
    .unwrap();
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .args(["harden", &format!("oci:{}", nginx_layout())])
        .args([
            "--user",
            "www-data",
            "--dry-run",
            "--format",
            "json",
            "--config",
        ])
        .arg(&settings)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let changes = summary["plan"]["changes"].as_array().unwrap();
    assert!(changes.iter().all(|change| change["path"] != "/usr/bin/su"));
    assert!(changes
        .iter()
        .any(|change| change["path"] == "/usr/bin/passwd"));
    assert_eq!(summary["plan"]["kept"][0]["path"], "/usr/bin/su");
    assert_eq!(
        summary["plan"]["kept"][0]["reason"],
        "operators switch users"
    );
}

#[test]
fn invalid_settings_file_is_error() {
    let scratch = tempfile::tempdir().unwrap();
    let settings = scratch.path().join("hardfs.toml");
    std::fs::write(&settings, "[[keep]]\npath = \"/x\"\n").unwrap();
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .args(["harden", "--rootfs"])
        .arg(scratch.path())
        .arg("--config")
        .arg(&settings)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid settings file"), "{stderr}");
}
