//! `hardfs verify`, `learn` and `profile` on images that `hardfs harden`
//! just wrote, and on an image with a HEALTHCHECK, all from the command
//! line and with real podman containers.
//!
//! Each hardened image goes to a temporary docker-archive named
//! `localhost/hardfs-test-hardened/IMAGE-PID:latest`, which `hardfs` loads
//! into podman; the test removes that image again, on failure too. No test
//! passes `--user` to `learn`: it runs as the user the hardened image sets.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use assert_cmd::Command;

/// Held by one hardened-image proof at a time.
static PROOF_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn hardfs() -> Command {
    let mut command = Command::cargo_bin("hardfs").unwrap();
    command.env("CONTAINERS_CONF", hardfs_test_images::containers_conf());
    command
}

fn podman(args: &[&str]) -> Output {
    Process::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(args)
        .output()
        .expect("podman runs")
}

fn export(name: &str) -> String {
    let manifest = hardfs_test_images::images_manifest();
    let archive = manifest["images"][name]["exports"]["docker-archive"]
        .as_str()
        .unwrap_or_else(|| panic!("images.json has no docker-archive export of {name}"));
    format!("docker-archive:{archive}")
}

/// An image archive in a temporary directory, removed from podman's
/// storage when dropped.
struct TestImage {
    directory: tempfile::TempDir,
    reference: String,
    podman_name: String,
}

impl TestImage {
    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }
}

impl Drop for TestImage {
    fn drop(&mut self) {
        let output = podman(&["rmi", "--force", "--ignore", &self.podman_name]);
        if !output.status.success() {
            eprintln!(
                "cannot remove {}: {}",
                self.podman_name,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// Runs `hardfs harden` on a test image into a temporary docker-archive.
fn harden(name: &str, extra: &[&str]) -> TestImage {
    let directory = tempfile::tempdir().unwrap();
    let podman_name = format!(
        "localhost/hardfs-test-hardened/{name}-{}:latest",
        std::process::id()
    );
    let archive = directory.path().join("hardened.tar");
    let output_reference = format!("docker-archive:{}:{podman_name}", archive.display());
    let image = TestImage {
        directory,
        reference: format!("docker-archive:{}", archive.display()),
        podman_name,
    };
    let output = hardfs()
        .args(["harden", &export(name), "--output", &output_reference])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "harden {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    image
}

/// Runs `hardfs verify --format json` and returns its exit code and report.
fn verify(image: &TestImage, options: &[&str], command: &[&str]) -> (i32, serde_json::Value) {
    let output = hardfs()
        .args(["verify", &image.reference, "--format", "json"])
        .args(options)
        .arg("--")
        .args(command)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "verify printed no JSON ({error}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), report)
}

/// Runs `hardfs learn` into `learned.json` and returns the learned paths.
fn learn(image: &TestImage, probes: &[&str], command: &[&str]) -> Vec<String> {
    let file = image.path("learned.json");
    let output = hardfs()
        .args(["learn", &image.reference, "--duration", "1", "--output"])
        .arg(&file)
        .args(probes)
        .arg("--")
        .args(command)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "learn: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let learned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    learned["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|path| path["path"].as_str().unwrap().to_string())
        .collect()
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|item| item.as_str().unwrap().to_string())
        .collect()
}

/// Returns the value after `flag` in `run` arguments.
fn flag_value<'a>(arguments: &'a [String], flag: &str) -> Option<&'a str> {
    let position = arguments.iter().position(|word| word == flag)?;
    arguments.get(position + 1).map(String::as_str)
}

/// Collects the paths of `--tmpfs PATH:OPTIONS` flags, sorted.
fn tmpfs_paths(arguments: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = arguments
        .windows(2)
        .filter(|pair| pair[0] == "--tmpfs")
        .map(|pair| pair[1].split(':').next().unwrap().to_string())
        .collect();
    paths.sort();
    paths
}

fn container_exists(name: &str) -> bool {
    let output = podman(&["ps", "--all", "--format", "{{.Names}}"]);
    assert!(output.status.success(), "podman ps failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|line| line == name)
}

/// What to run and expect for one image.
struct Case<'a> {
    probes: &'a [&'a str],
    command: &'a [&'a str],
    /// Extra options of the bare verify, such as a shorter timeout.
    bare_options: &'a [&'a str],
    failed_write: &'a str,
    suggestion: &'a str,
    learned: &'a [&'a str],
    passed_reason: &'a str,
}

/// Checks the three steps on a hardened image: a bare read-only root
/// fails and names the path, `learn` finds the paths, and `verify` with
/// them passes. Returns the `run` arguments of the run that passed.
fn prove(image: &TestImage, case: &Case) -> Vec<String> {
    // The hardened images share their rewritten base layer, and each run
    // removes its copy of the image at the end, so the three proofs take
    // turns.
    let _turn = PROOF_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let probes: Vec<&str> = case
        .probes
        .iter()
        .flat_map(|probe| ["--probe", *probe])
        .collect();

    let mut bare_options = vec!["--bare"];
    bare_options.extend(&probes);
    bare_options.extend(case.bare_options);
    let (code, failed) = verify(image, &bare_options, case.command);
    assert_eq!(failed["verdict"], "FAIL", "{failed:#}");
    assert_eq!(code, 1);
    assert!(
        strings(&failed["failed_writes"]).contains(&case.failed_write.to_string()),
        "{:#}",
        failed["failed_writes"]
    );
    assert_eq!(strings(&failed["suggestions"]), [case.suggestion]);

    assert_eq!(learn(image, &probes, case.command), case.learned);

    let learned_file = image.path("learned.json");
    let mut profile_options = vec!["--profile", learned_file.to_str().unwrap()];
    profile_options.extend(&probes);
    let (code, passed) = verify(image, &profile_options, case.command);
    assert_eq!(passed["verdict"], "PASS", "{passed:#}");
    assert_eq!(code, 0);
    let reason = passed["reason"].as_str().unwrap();
    assert!(reason.contains(case.passed_reason), "{reason}");

    let arguments = strings(&passed["arguments"]);
    assert!(arguments.contains(&"--read-only".to_string()));
    let tmpfs = tmpfs_paths(&arguments);
    // A learned path can be folded into a writable directory above it.
    for path in case.learned {
        let covered = tmpfs
            .iter()
            .any(|mount| path == mount || path.starts_with(&format!("{mount}/")));
        assert!(covered, "{path} is not at or below one of {tmpfs:?}");
    }
    for run in [&failed, &passed] {
        let name = flag_value(&strings(&run["arguments"]), "--name")
            .unwrap()
            .to_string();
        assert!(!container_exists(&name), "{name} was not removed");
    }
    arguments
}

/// Renders the profile with the learned paths in `format`.
fn render_profile(image: &TestImage, format: &str) -> String {
    let learned_file = image.path("learned.json");
    let output = hardfs()
        .args(["profile", &image.reference, "--format", format])
        .args([
            "--image-name",
            "example/app:1",
            "--name",
            "app",
            "--learned",
        ])
        .arg(&learned_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "profile --format {format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Checks that the compose and Kubernetes outputs, read back, carry the
/// user, mounts and settings of the podman flags that passed.
fn check_outputs_mirror(image: &TestImage, passed: &[String]) {
    let flag_paths = tmpfs_paths(passed);
    let user = flag_value(passed, "--user").unwrap();
    let (uid, gid) = user.split_once(':').unwrap();
    let uid: u64 = uid.parse().unwrap();
    let gid: u64 = gid.parse().unwrap();

    let compose_text = render_profile(image, "compose");
    assert!(
        compose_text.contains(&format!("user: \"{user}\"")),
        "{compose_text}"
    );
    let compose: serde_json::Value = serde_saphyr::from_str(&compose_text).unwrap();
    let service = &compose["services"]["app"];
    assert_eq!(service["user"], serde_json::json!(user), "a string");
    assert_eq!(service["read_only"], true);
    assert_eq!(service["cap_drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        service["security_opt"],
        serde_json::json!(["no-new-privileges:true"])
    );
    let mut compose_paths: Vec<String> = strings(&service["tmpfs"])
        .iter()
        .map(|entry| entry.split(':').next().unwrap().to_string())
        .collect();
    compose_paths.sort();
    assert_eq!(compose_paths, flag_paths);
    if let Some(sysctl) = flag_value(passed, "--sysctl") {
        let (name, value) = sysctl.split_once('=').unwrap();
        assert_eq!(service["sysctls"][name], value);
    }

    let pod_text = render_profile(image, "kubernetes");
    let pod: serde_json::Value = serde_saphyr::from_str(&pod_text).unwrap();
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["image"], "example/app:1");
    let context = &container["securityContext"];
    assert_eq!(context["runAsNonRoot"], true);
    assert_eq!(context["runAsUser"], uid);
    assert_eq!(context["runAsGroup"], gid);
    assert_eq!(context["readOnlyRootFilesystem"], true);
    assert_eq!(context["allowPrivilegeEscalation"], false);
    assert_eq!(context["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(context["seccompProfile"]["type"], "RuntimeDefault");
    let mut mount_paths: Vec<String> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| mount["mountPath"].as_str().unwrap().to_string())
        .collect();
    mount_paths.sort();
    assert_eq!(mount_paths, flag_paths);
}

#[test]
fn hardened_nginx_learns_and_verifies() {
    let image = harden("nginx", &["--user", "www-data"]);
    let passed = prove(
        &image,
        &Case {
            probes: &["http://:80/"],
            command: &[],
            bare_options: &[],
            failed_write: "/var/lib/nginx/body",
            suggestion: "/var/lib/nginx",
            learned: &["/run", "/var/lib/nginx"],
            passed_reason: "HTTP/1.1 200 OK",
        },
    );
    assert_eq!(flag_value(&passed, "--user"), Some("33:33"));
    assert_eq!(
        flag_value(&passed, "--sysctl"),
        Some("net.ipv4.ip_unprivileged_port_start=0")
    );
    check_outputs_mirror(&image, &passed);
}

#[test]
fn hardened_redis_learns_and_verifies() {
    let image = harden("redis", &[]);
    // Protected mode replies -DENIED to connections that do not come from
    // loopback, and published ports arrive from the bridge. redis writes
    // nothing until it saves, so SAVE is part of readiness.
    let passed = prove(
        &image,
        &Case {
            probes: &["redis:6379", "exec:sh -c 'test \"$(redis-cli SAVE)\" = OK'"],
            command: &[
                "redis-server",
                "--bind",
                "0.0.0.0",
                "--protected-mode",
                "no",
                "--dir",
                "/var/lib/redis",
            ],
            bare_options: &["--timeout", "5"],
            failed_write: "/var/lib/redis",
            suggestion: "/var/lib/redis",
            learned: &["/var/lib/redis"],
            passed_reason: "+PONG",
        },
    );
    check_outputs_mirror(&image, &passed);
}

#[test]
fn hardened_postgres_learns_and_verifies() {
    let image = harden("postgres", &[]);
    let passed = prove(
        &image,
        &Case {
            probes: &["exec:psql -tAc 'SELECT 1'"],
            command: &[],
            bare_options: &[],
            // postgres names the lock file relative to its data directory,
            // the -D argument of the image's command.
            failed_write: "/var/lib/postgresql/15/main/postmaster.pid",
            suggestion: "/var/lib/postgresql/15/main",
            learned: &["/run/postgresql", "/var/lib/postgresql/15/main"],
            passed_reason: "exit status 0: 1",
        },
    );
    check_outputs_mirror(&image, &passed);
}

/// Builds an image from the nginx test image with a HEALTHCHECK that
/// requests `path` from nginx and passes on HTTP 200, and saves it as a
/// docker-archive. podman keeps HEALTHCHECK only in the docker format.
fn build_with_healthcheck(tag: &str, path: &str) -> TestImage {
    let directory = tempfile::tempdir().unwrap();
    let manifest = hardfs_test_images::images_manifest();
    let base = manifest["images"]["nginx"]["reference"].as_str().unwrap();
    let check = format!(
        "exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET {path} HTTP/1.0\\\\r\\\\n\\\\r\\\\n' >&3 && grep -q '200 OK' <&3"
    );
    let containerfile = format!(
        "FROM {base}\nHEALTHCHECK --interval=5s --timeout=3s CMD [\"bash\", \"-c\", \"{check}\"]\n"
    );
    std::fs::write(directory.path().join("Containerfile"), containerfile).unwrap();

    let podman_name = format!(
        "localhost/hardfs-test-healthcheck/{tag}-{}:latest",
        std::process::id()
    );
    let archive = directory.path().join("image.tar");
    let image = TestImage {
        reference: format!("docker-archive:{}", archive.display()),
        podman_name,
        directory,
    };

    let context = image.directory.path().to_str().unwrap();
    let built = podman(&[
        "build",
        "--format",
        "docker",
        "--quiet",
        "--tag",
        &image.podman_name,
        context,
    ]);
    assert!(
        built.status.success(),
        "podman build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let saved = podman(&[
        "save",
        "--format",
        "docker-archive",
        "--output",
        archive.to_str().unwrap(),
        &image.podman_name,
    ]);
    assert!(
        saved.status.success(),
        "podman save: {}",
        String::from_utf8_lossy(&saved.stderr)
    );
    image
}

fn write_learned(directory: &Path) -> PathBuf {
    let file = directory.join("learned.json");
    let learned = serde_json::json!({
        "format": "hardfs-learned-paths",
        "version": 1,
        "paths": [{ "path": "/var/lib/nginx" }, { "path": "/run" }],
    });
    std::fs::write(&file, learned.to_string()).unwrap();
    file
}

#[test]
fn healthcheck_is_probe_without_probe() {
    let image = build_with_healthcheck("ok", "/");

    // learn without --probe waits for the HEALTHCHECK as well.
    assert_eq!(learn(&image, &[], &[]), ["/run", "/var/lib/nginx"]);

    let learned_file = image.path("learned.json");
    let learned_file = learned_file.to_str().unwrap();
    let (code, passed) = verify(
        &image,
        &["--user", "www-data", "--profile", learned_file],
        &[],
    );
    assert_eq!(passed["verdict"], "PASS", "{passed:#}");
    assert_eq!(code, 0);
    assert_eq!(passed["reason"], "HEALTHCHECK passed");

    let (code, failed) = verify(&image, &["--user", "www-data", "--bare"], &[]);
    assert_eq!(failed["verdict"], "FAIL", "{failed:#}");
    assert_eq!(code, 1);
}

#[test]
fn failing_healthcheck_fails_verify() {
    // nginx returns 404 for this path, so the HEALTHCHECK never passes
    // although the container stays up.
    let image = build_with_healthcheck("missing", "/no-such-page");
    let learned_file = write_learned(image.directory.path());
    let learned_file = learned_file.to_str().unwrap();
    let options = [
        "--user",
        "www-data",
        "--profile",
        learned_file,
        "--timeout",
        "4",
    ];
    let (code, failed) = verify(&image, &options, &[]);
    assert_eq!(failed["verdict"], "FAIL", "{failed:#}");
    assert_eq!(code, 1);
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("last probe result: HEALTHCHECK failed"),
        "{reason}"
    );
}

#[test]
fn docker_without_engine_named() {
    let directory = tempfile::tempdir().unwrap();
    let socket = directory.path().join("docker.sock");
    let output = hardfs()
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["verify", &export("nginx"), "--engine", "docker"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: no container engine can run containers: the docker CLI is installed, but `docker info` reached no engine"),
        "{stderr}"
    );
    assert!(stderr.contains(&socket.display().to_string()), "{stderr}");
    assert!(stderr.contains("start the docker daemon"), "{stderr}");
}

#[test]
fn neither_engine_named() {
    // A PATH with the docker CLI but no podman.
    let directory = tempfile::tempdir().unwrap();
    let docker = which("docker");
    std::os::unix::fs::symlink(&docker, directory.path().join("docker")).unwrap();
    let socket = directory.path().join("docker.sock");
    let output = hardfs()
        .env("PATH", directory.path())
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["verify", &export("nginx")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("podman is not installed (not found in PATH), so install it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the docker CLI is installed, but `docker info` reached no engine"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not in PATH"))
}
