//! `hardfs profile`, `learn` and `verify` from the command line, on the
//! real test images from `scripts/build-images.sh`.

use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn export(name: &str) -> String {
    let manifest = hardfs_test_images::images_manifest();
    let archive = manifest["images"][name]["exports"]["docker-archive"]
        .as_str()
        .unwrap();
    format!("docker-archive:{archive}")
}

fn hardfs() -> Command {
    let mut command = Command::cargo_bin("hardfs").unwrap();
    command.env("CONTAINERS_CONF", hardfs_test_images::containers_conf());
    command
}

fn container_exists(name: &str) -> bool {
    let output = Process::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(["ps", "--all", "--format", "{{.Names}}"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|line| line == name)
}

#[test]
fn profile_json_reports_root() {
    let output = hardfs()
        .args(["profile", &export("nginx"), "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning: no USER is set"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["profile"]["user"]["uid"], 0);
    assert_eq!(report["profile"]["warnings"][0]["kind"], "runs-as-root");
    assert_eq!(report["profile"]["paths"][0]["path"], "/run");
}

#[test]
fn profile_compose_parses_back() {
    let output = hardfs()
        .args([
            "profile",
            &export("redis"),
            "--format",
            "compose",
            "--name",
            "cache",
            "--image-name",
            "example/redis:7",
            "--size",
            "/tmp=8m",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    // Quoted, because a YAML 1.1 reader takes `UID:GID` for a base-60 number.
    assert!(text.contains("    user: \"100:101\"\n"), "{text}");
    let compose: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let service = &compose["services"]["cache"];
    assert_eq!(service["image"], "example/redis:7");
    assert_eq!(service["read_only"], true);
    assert!(service["user"].is_string(), "{}", service["user"]);
    assert_eq!(service["user"], "100:101");
    assert_eq!(service["cap_drop"][0], "ALL");
    let tmpfs: Vec<&str> = service["tmpfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry.as_str().unwrap())
        .collect();
    assert!(
        tmpfs.contains(&"/tmp:rw,nosuid,nodev,noexec,size=8m,mode=1777"),
        "{tmpfs:?}"
    );
    assert!(
        tmpfs.contains(&"/var/lib/redis:rw,nosuid,nodev,noexec,size=64m,mode=0750,uid=100,gid=101"),
        "{tmpfs:?}"
    );
}

#[test]
fn profile_patch_needs_kubernetes_format() {
    let output = hardfs()
        .args(["profile", &export("redis"), "--patch", "x.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--patch works only with --format kubernetes"),
        "{stderr}"
    );
}

#[test]
fn bad_size_and_probe_are_usage_errors() {
    let output = hardfs()
        .args(["profile", &export("redis"), "--size", "/tmp=lots"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid tmpfs size `lots`"));

    let output = hardfs()
        .args(["verify", &export("redis"), "--probe", "ftp:21"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid probe `ftp:21`"));
}

#[test]
fn bare_with_learned_paths_rejected() {
    for (command, flag) in [("verify", "--profile"), ("profile", "--learned")] {
        let output = hardfs()
            .args([command, &export("redis"), "--bare", flag, "learned.json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot be used with"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn verify_without_engine_is_clear() {
    // No docker engine runs on the test machines; the docker CLI, where
    // installed, fails to connect, and where absent fails to start.
    let output = hardfs()
        .args(["verify", &export("redis"), "--engine", "docker"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: no container engine can run containers"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: install podman"), "{stderr}");
}

#[test]
fn verify_nginx_bare_then_learned() {
    let image = export("nginx");
    let output = hardfs()
        .args([
            "verify",
            &image,
            "--bare",
            "--user",
            "www-data",
            "--probe",
            "http://:80/",
            "--timeout",
            "20",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("FAIL: the container exited"), "{stdout}");
    assert!(
        stdout.contains("failed to write: /var/lib/nginx/body"),
        "{stdout}"
    );
    assert!(
        stdout.contains("suggestion: make /var/lib/nginx writable"),
        "{stdout}"
    );

    let learned = tempfile::NamedTempFile::new().unwrap();
    let output = hardfs()
        .args([
            "learn",
            &image,
            "--probe",
            "http://:80/",
            "--duration",
            "1",
            "--output",
        ])
        .arg(learned.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(learned.path()).unwrap()).unwrap();
    assert_eq!(file["format"], "hardfs-learned-paths");
    assert_eq!(file["paths"][1]["path"], "/var/lib/nginx");

    let output = hardfs()
        .args([
            "verify",
            &image,
            "--user",
            "www-data",
            "--probe",
            "http://:80/",
            "--format",
            "json",
            "--profile",
        ])
        .arg(learned.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert_eq!(report["verdict"], "PASS");
    assert!(report["reason"].as_str().unwrap().contains("200 OK"));
    let arguments: Vec<&str> = report["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|word| word.as_str().unwrap())
        .collect();
    let published = arguments.iter().find(|word| word.ends_with(":80")).unwrap();
    assert!(published.starts_with("127.0.0.1:"), "{published}");
}

#[test]
fn interrupt_removes_container() {
    let binary = assert_cmd::cargo::cargo_bin("hardfs");
    // A probe on a port nothing listens on keeps verify waiting.
    let mut child = Process::new(binary)
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args([
            "verify",
            &export("redis"),
            "--probe",
            "tcp:9",
            "--timeout",
            "120",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let name = format!("hardfs-verify-{}-0", child.id());
    let started = Instant::now();
    while !container_exists(&name) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        !container_exists(&name),
        "{name} is still there after Ctrl-C"
    );
    let left = private_images(child.id());
    assert!(left.is_empty(), "{left:?} still there after Ctrl-C");
}

/// Lists the image names that hardfs process `pid` loaded and that still
/// exist.
fn private_images(pid: u32) -> Vec<String> {
    let listed = Process::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|name| name.starts_with("localhost/hardfs-run/"))
        .filter(|name| name.ends_with(&format!(":{pid}")))
        .map(str::to_string)
        .collect()
}

/// Returns the ID that `name` points to in podman, or `None` when there is no such image.
fn image_id(name: &str) -> Option<String> {
    let output = Process::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(["image", "inspect", "--format", "{{.Id}}", name])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn verify_loads_under_private_name_and_removes_it() {
    // The OCI archive's ref name is `latest`, which `podman pull` turns
    // into the tag `localhost/latest:latest`.
    let manifest = hardfs_test_images::images_manifest();
    let archive = manifest["images"]["nginx"]["exports"]["oci-archive"]
        .as_str()
        .unwrap();
    let before = image_id("localhost/latest:latest");

    let child = Process::new(assert_cmd::cargo::cargo_bin("hardfs"))
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(["verify", &format!("oci-archive:{archive}"), "--bare"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let private_name = format!(":{pid}");
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(" localhost/hardfs-run/") && stdout.contains(&private_name),
        "{stdout}"
    );
    assert!(
        stdout.contains("--label 'dev.hardfs.run=verify'"),
        "{stdout}"
    );
    assert_eq!(image_id("localhost/latest:latest"), before);
    let left = private_images(pid);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn failed_learn_writes_no_file() {
    let directory = tempfile::tempdir().unwrap();
    let learned = directory.path().join("learned.json");
    let output = hardfs()
        .args(["learn", &export("redis"), "--user", "redis", "--output"])
        .arg(&learned)
        .args(["--", "sh", "-c", "echo cannot start; exit 3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the container exited with code 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no learned-paths file is written"),
        "{stderr}"
    );
    assert!(!learned.exists(), "{stderr}");
}

fn podman(args: &[&str]) -> std::process::Output {
    let output = Process::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Removes a tag built by a test when dropped.
struct BuiltImage(String);

impl Drop for BuiltImage {
    fn drop(&mut self) {
        let _ = Process::new("podman")
            .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
            .args(["rmi", "--ignore", &self.0])
            .output();
    }
}

#[test]
fn verify_mounts_volume_with_image_content() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir(directory.path().join("seed")).unwrap();
    std::fs::write(directory.path().join("seed/seed.txt"), "seed\n").unwrap();
    std::fs::write(
        directory.path().join("Containerfile"),
        "FROM localhost/hardfs-test/debian:bookworm\nCOPY seed /vdata\nVOLUME /vdata\nCMD [\"sleep\", \"60\"]\n",
    )
    .unwrap();
    let tag = format!("localhost/hardfs-test-volume/seed:{}", std::process::id());
    let image = BuiltImage(tag.clone());
    let context = directory.path().to_str().unwrap();
    podman(&["build", "--quiet", "--tag", &image.0, context]);
    let archive = directory.path().join("image.tar");
    let archive_text = archive.to_str().unwrap();
    podman(&[
        "save",
        "--format",
        "docker-archive",
        "--output",
        archive_text,
        &tag,
    ]);

    let output = hardfs()
        .args(["verify", &format!("docker-archive:{archive_text}")])
        .args(["--probe", "exec:test -s /vdata/seed.txt", "--timeout", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("PASS: probes passed"), "{stdout}");
    let ran = stdout
        .lines()
        .find(|line| line.starts_with("ran: "))
        .unwrap();
    let source = ran
        .split_whitespace()
        .find_map(|word| word.trim_matches('\'').strip_prefix("type=volume,source="))
        .unwrap_or_else(|| panic!("no volume mount in {ran}"));
    let (volume, destination) = source.split_once(",destination=").unwrap();
    assert_eq!(destination, "/vdata");
    assert!(volume.starts_with("hardfs-verify-"), "{volume}");
    assert!(!ran.contains("--tmpfs /vdata"), "{ran}");
    let volumes = podman(&["volume", "ls", "--format", "{{.Name}}"]);
    let volumes = String::from_utf8_lossy(&volumes.stdout);
    assert!(!volumes.lines().any(|name| name == volume), "{volumes}");
}

#[test]
fn missing_engine_image_named_without_pull() {
    let missing = format!("localhost/hardfs-test-missing/none:{}", std::process::id());
    let output = hardfs()
        .args(["verify", &export("redis"), "--engine-image", &missing])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--engine-image {missing}: podman has no image of that name"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("Trying to pull"), "{stderr}");
}

#[test]
fn unstartable_learn_fails_like_verify() {
    let output = hardfs()
        .args(["learn", &export("redis"), "--", "/hardfs-no-such-program"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAIL: the container did not start"),
        "{stderr}"
    );
    assert!(!stderr.contains("error: `podman run"), "{stderr}");
}
