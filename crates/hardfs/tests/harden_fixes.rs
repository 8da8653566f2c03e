//! `hardfs harden` on small images written in code: device nodes, private
//! files of the runtime user, root-group write, kept and hidden hardlinks,
//! `--rootfs` limits and the checks made before anything is written.

mod support;

use std::path::Path;

use assert_cmd::Command;
use hardfs_tar::{EntryBuilder, EntryType};
use serde_json::{json, Value};
use support::{hardfs, slugs_and_paths, TestImage};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\napp:x:1000:\n";

fn base_layer() -> Vec<EntryBuilder> {
    vec![
        EntryBuilder::dir("etc/"),
        EntryBuilder::file("etc/passwd", PASSWD),
        EntryBuilder::file("etc/group", GROUP),
    ]
}

/// Writes an OCI layout with `layers` on top of the account files, run as
/// `app`, and returns its `oci:` reference.
fn layout(dir: &Path, layers: Vec<Vec<EntryBuilder>>) -> String {
    let mut all = vec![base_layer()];
    all.extend(layers);
    let image = TestImage::new(all, json!({"User": "app"}));
    let layout = dir.join("in");
    std::fs::create_dir_all(&layout).unwrap();
    image.write_oci(&layout);
    format!("oci:{}", layout.display())
}

/// Runs harden with `--format json` and returns its status, summary and
/// standard error.
fn harden_json(args: &[&str]) -> (Option<i32>, Value, String) {
    let output = hardfs()
        .arg("harden")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), summary, stderr)
}

/// Runs `command`, checks that hardfs rejected it with exit status 2, and
/// returns its standard error.
fn run_rejected(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    stderr
}

fn change<'a>(summary: &'a Value, path: &str) -> Option<&'a Value> {
    summary["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["path"] == path && change["hidden"] == false)
}

fn audit_slugs(reference: &str) -> Vec<(String, String)> {
    let output = hardfs()
        .args(["audit", reference, "--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    slugs_and_paths(&report)
}

#[test]
fn device_nodes_keep_their_modes() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::dir("dev/"),
            EntryBuilder::device("dev/null", EntryType::CharDevice, 1, 3).mode(0o666),
            EntryBuilder::dir("srv/"),
            EntryBuilder::device("srv/disk", EntryType::BlockDevice, 8, 0).mode(0o666),
            EntryBuilder::device("srv/own", EntryType::CharDevice, 1, 5)
                .mode(0o666)
                .owner(1000, 1000),
            EntryBuilder::fifo("srv/pipe").mode(0o666),
            EntryBuilder::file("srv/open", "x").mode(0o666),
        ]],
    );
    let (status, summary, stderr) = harden_json(&[&input, "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    for path in ["/dev/null", "/srv/disk", "/srv/own", "/srv/pipe"] {
        assert!(
            change(&summary, path).is_none(),
            "{path} changed: {summary}"
        );
    }
    assert_eq!(
        change(&summary, "/srv/open").unwrap()["after"]["mode"],
        0o644
    );
}

#[test]
fn private_files_stay_user_readable() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::dir("app/").mode(0o755).owner(1000, 1000),
            EntryBuilder::dir("app/priv/").mode(0o700).owner(1000, 1000),
            EntryBuilder::file("app/priv/key", "secret")
                .mode(0o600)
                .owner(1000, 1000),
            EntryBuilder::file("app/run", "x")
                .mode(0o755)
                .owner(1000, 1000),
            EntryBuilder::dir("data/").mode(0o755).owner(1000, 1000),
        ]],
    );
    let (status, summary, stderr) = harden_json(&[&input, "--writable", "/data", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    let after = |path: &str| change(&summary, path).unwrap()["after"].clone();
    assert_eq!(
        after("/app/priv"),
        json!({"mode": 0o750, "uid": 0, "gid": 1000})
    );
    assert_eq!(
        after("/app/priv/key"),
        json!({"mode": 0o640, "uid": 0, "gid": 1000})
    );
    // Read access through "other" is enough: the group stays root.
    assert_eq!(
        after("/app/run"),
        json!({"mode": 0o755, "uid": 0, "gid": 0})
    );
    assert_eq!(after("/app"), json!({"mode": 0o755, "uid": 0, "gid": 0}));
}

#[test]
fn root_group_write_goes_with_world_write() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::dir("opt/").mode(0o2777),
            EntryBuilder::file("opt/ww", "x").mode(0o666),
            EntryBuilder::dir("shared/").mode(0o777).owner(0, 1000),
        ]],
    );
    let before = audit_slugs(&input);
    let output = scratch.path().join("out");
    let (status, summary, stderr) = harden_json(&[
        &input,
        "--writable",
        "/shared",
        "-o",
        &format!("oci:{}", output.display()),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(change(&summary, "/opt").unwrap()["after"]["mode"], 0o755);
    assert_eq!(change(&summary, "/opt/ww").unwrap()["after"]["mode"], 0o644);
    // A group other than root keeps its write bit.
    assert_eq!(change(&summary, "/shared").unwrap()["after"]["mode"], 0o775);

    let after = audit_slugs(&format!("oci:{}", output.display()));
    let new: Vec<_> = after
        .iter()
        .filter(|found| !before.contains(found))
        .collect();
    assert!(new.is_empty(), "new findings: {new:?}");
    assert!(
        !after.iter().any(|(slug, _)| slug == "group0-writable"),
        "{after:?}"
    );
}

/// `su` (setuid) hardlinked as `hl` in layer 1, and `su` whited out in
/// layer 2: a later build step deleted the first name of a hardlink pair.
fn hidden_hardlink_layers() -> Vec<Vec<EntryBuilder>> {
    vec![
        vec![
            EntryBuilder::dir("usr/"),
            EntryBuilder::dir("usr/bin/"),
            EntryBuilder::file("usr/bin/su", "su-binary").mode(0o4755),
            EntryBuilder::hardlink("usr/bin/hl", "usr/bin/su").mode(0o4755),
        ],
        vec![EntryBuilder::file("usr/bin/.wh.su", "").mode(0o600)],
    ]
}

#[test]
fn keep_covers_hidden_hardlink_names() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), hidden_hardlink_layers());
    let (status, summary, stderr) =
        harden_json(&[&input, "--keep", "/usr/bin/hl=operators", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    let touched: Vec<&Value> = summary["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["path"].as_str().unwrap().starts_with("/usr/bin/"))
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
    assert_eq!(summary["plan"]["kept"][0]["path"], "/usr/bin/hl");

    // The hidden name is a path of the image too: kept, with no warning.
    let (status, summary, stderr) = harden_json(&[&input, "--keep", "/usr/bin/su", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(summary["plan"]["warnings"], json!([]));
    assert!(change(&summary, "/usr/bin/hl").is_none(), "{summary}");
}

#[test]
fn append_mode_reads_hidden_hardlink_content() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), hidden_hardlink_layers());
    let output = scratch.path().join("out");
    let (status, summary, stderr) = harden_json(&[
        &input,
        "--mode",
        "append",
        "-o",
        &format!("oci:{}", output.display()),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        change(&summary, "/usr/bin/hl").unwrap()["after"]["mode"],
        0o755
    );
    let found = audit_slugs(&format!("oci:{}", output.display()));
    assert!(
        !found.contains(&("setuid-file".into(), "/usr/bin/hl".into())),
        "{found:?}"
    );
}

#[test]
fn rootfs_rejects_image_only_options() {
    let scratch = tempfile::tempdir().unwrap();
    let stderr = run_rejected(
        hardfs()
            .args(["harden", "--rootfs"])
            .arg(scratch.path())
            .args(["--remove", "/usr/bin/*", "--create-user", "bob"]),
    );
    assert!(
        stderr.contains("--create-user, --remove cannot be used with --rootfs"),
        "{stderr}"
    );
}

#[test]
fn rootfs_names_missing_and_symlinked_directories() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("nonexist");
    let stderr = run_rejected(hardfs().args(["harden", "--rootfs"]).arg(&missing));
    assert!(
        stderr.contains(&format!("`{}`: no such directory", missing.display())),
        "{stderr}"
    );

    std::fs::create_dir(scratch.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", scratch.path().join("rl")).unwrap();
    let stderr = run_rejected(
        hardfs()
            .args(["harden", "--rootfs"])
            .arg(scratch.path().join("rl")),
    );
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
}

#[test]
fn output_names_are_checked_before_writing() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), Vec::new());
    let rejected = scratch.path().join("upper.tar");
    let stderr = run_rejected(
        hardfs()
            .args(["harden", &input, "-o"])
            .arg(format!("docker-archive:{}:UPPER/App:1", rejected.display())),
    );
    assert!(stderr.contains("lowercase"));
    assert!(!rejected.exists());

    let archive = scratch.path().join("app.tar");
    let (status, _, stderr) = harden_json(&[
        &input,
        "-o",
        &format!("docker-archive:{}:app", archive.display()),
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let members = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&archive)
        .arg("manifest.json")
        .output()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&members.stdout).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!(["app:latest"]));
}

#[test]
fn output_inside_input_is_rejected() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), Vec::new());
    let inside = scratch.path().join("in/blobs/sha256/zz");
    let stderr = run_rejected(
        hardfs()
            .args(["harden", &input, "-o"])
            .arg(format!("oci:{}", inside.display())),
    );
    assert!(stderr.contains("is inside the input"), "{stderr}");
    assert!(!inside.exists());
}

#[test]
fn unmatched_keep_and_remove_warn() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), hidden_hardlink_layers());
    let (status, summary, stderr) = harden_json(&[
        &input,
        "--keep",
        "/nonexist",
        "--remove",
        "/nope/*",
        "--writable",
        "/nowhere",
        "--dry-run",
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    let warnings = summary["plan"]["warnings"].to_string();
    assert!(warnings.contains("--writable /nowhere"), "{warnings}");
    assert!(warnings.contains("--keep /nonexist"), "{warnings}");
    assert!(warnings.contains("--remove /nope/*"), "{warnings}");

    let stderr =
        run_rejected(hardfs().args(["harden", &input, "--keep", "/usr/bin/*", "--dry-run"]));
    assert!(stderr.contains("is a glob"));
}

#[test]
fn removed_paths_leave_the_summary() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::dir("tmp/").mode(0o1777),
            EntryBuilder::dir("data/").mode(0o755).owner(1000, 1000),
        ]],
    );
    let (status, summary, stderr) = harden_json(&[&input, "--remove", "*", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(summary["plan"]["writable"], json!([]));
    assert_eq!(summary["plan"]["tmpfs"], json!([]));
    assert!(summary["plan"]["removed"].to_string().contains("/tmp"));
    let warnings = summary["plan"]["warnings"].to_string();
    assert!(
        warnings.contains("removes /etc, a system directory"),
        "{warnings}"
    );
    assert!(
        warnings.contains("removes /tmp, a system directory"),
        "{warnings}"
    );
    assert!(!warnings.contains("removes /data"), "{warnings}");
}

#[test]
fn invalid_arguments_are_rejected() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), Vec::new());
    for (args, message) in [
        (["--writable", "relative"], "not an absolute path"),
        (["--create-user", "root"], "--create-user root"),
    ] {
        let output = hardfs()
            .args(["harden", &input, "--dry-run"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
}

#[test]
fn flipped_byte_is_a_digest_mismatch() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![EntryBuilder::file("big", vec![7u8; 4096])]],
    );
    let blob = support::layer_blob(&scratch.path().join("in"), 1);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&blob, bytes).unwrap();
    let stderr = run_rejected(hardfs().args(["harden", &input, "--dry-run"]));
    assert!(stderr.contains("blob digest mismatch"), "{stderr}");
}

/// Names in `dir` that are hardfs staging files.
fn staging_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".hardfs-"))
        .collect()
}

#[test]
fn signals_remove_staging_files() {
    let manifest = hardfs_test_images::images_manifest();
    let input = manifest["images"]["postgres"]["exports"]["oci-archive"]
        .as_str()
        .expect("images.json has an oci-archive export of postgres")
        .to_string();
    let binary = assert_cmd::cargo::cargo_bin("hardfs");
    for (signal, output) in [("INT", "oci-archive:OUT/pg.tar"), ("TERM", "oci:OUT/pg")] {
        let scratch = tempfile::tempdir().unwrap();
        let output = output.replace("OUT", &scratch.path().display().to_string());
        let mut child = std::process::Command::new(&binary)
            .args(["harden", &format!("oci-archive:{input}"), "-o", &output])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the layer writing has started.
        let started = std::time::Instant::now();
        while staging_names(scratch.path()).is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "harden ended before writing"
            );
            assert!(started.elapsed().as_secs() < 120, "no staging files");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{signal}");
        assert_eq!(
            staging_names(scratch.path()),
            Vec::<String>::new(),
            "SIG{signal}"
        );
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    }
}

#[test]
fn rootfs_lists_outside_hardlinks() {
    use std::os::unix::fs::PermissionsExt;

    let scratch = tempfile::tempdir().unwrap();
    let outside = scratch.path().join("outside");
    std::fs::write(&outside, b"x").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let root = scratch.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::hard_link(&outside, root.join("linked")).unwrap();

    let output = hardfs()
        .args(["harden", "--rootfs"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("changed nothing"), "{stdout}");
    assert!(
        stdout.contains("another hardlinked name lies outside"),
        "{stdout}"
    );
    assert!(stdout.contains("  /linked\n"), "{stdout}");
    let mode = std::fs::metadata(&outside).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o4755);
}

/// Unmounts a file system mounted by a test when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_a_write_error() {
    let scratch = tempfile::tempdir().unwrap();
    // Bytes from a linear congruential generator, which gzip cannot shrink
    // below the 2 MiB file system. The compressor buffers several MiB (a
    // 16 MiB layer was written only when the blob was finished), so the
    // layer is 48 MiB and the disk fills while the layer is rewritten.
    let mut state: u32 = 1;
    let noise: Vec<u8> = (0..48 << 20)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::file("noise", noise),
            EntryBuilder::file("su", "x").mode(0o4755),
        ]],
    );
    let small = scratch.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "cannot mount a 2 MiB tmpfs on {}; run the tests as root",
        small.display()
    );
    let _mounted = Mounted(small.clone());

    let stderr = run_rejected(
        hardfs()
            .args(["harden", &input, "-o"])
            .arg(format!("oci-archive:{}", small.join("out.tar").display())),
    );
    assert!(stderr.contains("failed to write"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(!stderr.contains("cannot read"), "{stderr}");
    assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0);
}

#[test]
fn rootfs_deep_tree_within_fd_limit() {
    use std::os::unix::fs::PermissionsExt;

    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("root");
    let mut deep = root.clone();
    for _ in 0..400 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let su = deep.join("su");
    std::fs::write(&su, b"x").unwrap();
    std::fs::set_permissions(&su, std::fs::Permissions::from_mode(0o4755)).unwrap();

    // 64 descriptors are far fewer than the 400 levels.
    let binary = assert_cmd::cargo::cargo_bin("hardfs");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" harden --rootfs \"$1\"")
        .arg(&binary)
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mode = std::fs::metadata(&su).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
}

#[test]
fn cross_layer_hardlink_is_warned() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![
            vec![
                EntryBuilder::dir("usr/"),
                EntryBuilder::file("usr/tool", "elf"),
            ],
            vec![
                EntryBuilder::dir("usr/"),
                EntryBuilder::hardlink("usr/again", "usr/tool"),
            ],
        ],
    );
    let (status, summary, stderr) = harden_json(&[&input, "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        summary["plan"]["warnings"],
        json!([
            "/usr/again in layer 2 is a hardlink to a file of a lower layer, which podman \
             cannot unpack; the output keeps it, so rebuild that layer with the link target in it"
        ])
    );
}

#[test]
fn removed_script_interpreter_is_warned() {
    let scratch = tempfile::tempdir().unwrap();
    let layers = vec![
        base_layer(),
        vec![
            EntryBuilder::dir("usr/"),
            EntryBuilder::dir("usr/bin/"),
            EntryBuilder::file("usr/bin/dash", "elf").mode(0o755),
            EntryBuilder::symlink("usr/bin/sh", "dash"),
            EntryBuilder::symlink("bin", "usr/bin"),
            EntryBuilder::dir("app/"),
            EntryBuilder::file("app/server", "#!/bin/sh\nexec sleep 100\n").mode(0o755),
            EntryBuilder::file("app/tool", "#!/usr/bin/env -S dash -e\ntrue\n").mode(0o755),
        ],
    ];
    let image = TestImage::new(
        layers,
        json!({"User": "app", "Cmd": ["/app/server"], "Entrypoint": ["tool"], "Env": ["PATH=/app:/usr/bin"]}),
    );

    let layout = scratch.path().join("in");
    std::fs::create_dir_all(&layout).unwrap();
    image.write_oci(&layout);
    let input = format!("oci:{}", layout.display());

    let (status, summary, stderr) = harden_json(&[&input, "--preset", "shells", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        summary["plan"]["warnings"],
        json!([
            "config.Entrypoint runs `tool`, a script for `dash`, which resolves to \
             /usr/bin/dash under the removed /usr/bin/dash",
            "config.Cmd runs `/app/server`, a script for `/bin/sh`, which resolves to \
             /usr/bin/sh under the removed /usr/bin/sh"
        ])
    );

    let (_, kept, _) = harden_json(&[&input, "--dry-run"]);
    assert_eq!(kept["plan"]["warnings"], json!([]));
}

#[test]
fn writable_root_and_volume_paths() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), hidden_hardlink_layers());
    let (status, _, stderr) = harden_json(&[&input, "--writable", "/", "--dry-run"]);
    assert_eq!(status, Some(2));
    assert!(
        stderr.contains("--writable / would leave the whole filesystem writable"),
        "{stderr}"
    );

    let (status, summary, stderr) =
        harden_json(&[&input, "--writable", "/w\u{1b}[2J", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        summary["plan"]["warnings"],
        json!(["--writable /w\\u{1b}[2J: the image has no such path, so it gives no write access"])
    );
}

#[test]
fn writable_volume_without_directory_is_not_warned() {
    let scratch = tempfile::tempdir().unwrap();
    let image = TestImage::new(
        vec![base_layer()],
        json!({"User": "app", "Volumes": {"/data": {}}}),
    );
    let layout = scratch.path().join("in");
    std::fs::create_dir_all(&layout).unwrap();
    image.write_oci(&layout);
    let input = format!("oci:{}", layout.display());
    let (status, summary, stderr) = harden_json(&[
        &input,
        "--writable",
        "/data",
        "--writable",
        "/nowhere",
        "--dry-run",
    ]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        summary["plan"]["warnings"],
        json!(["--writable /nowhere: the image has no such path, so it gives no write access"])
    );
}

#[test]
fn summary_counts_agree_with_their_nouns() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(
        scratch.path(),
        vec![vec![
            EntryBuilder::dir("usr/"),
            EntryBuilder::file("usr/su", "elf").mode(0o4755),
        ]],
    );
    let output = hardfs()
        .args(["harden", &input, "--dry-run"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("would change 1 entry (0 hidden lower copies) in 1 of 2 layers:"),
        "{text}"
    );
}

#[test]
fn created_user_that_is_not_run_is_warned() {
    let scratch = tempfile::tempdir().unwrap();
    let input = layout(scratch.path(), hidden_hardlink_layers());
    let (status, _, stderr) =
        harden_json(&[&input, "--user", "app", "--create-user", "bob", "--dry-run"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning: --create-user bob adds a user the image will not run as, because \
             --user app names another; drop one of the two options"
        ),
        "{stderr}"
    );
}

#[test]
fn text_summary_escapes_names_and_volumes() {
    let scratch = tempfile::tempdir().unwrap();
    let image = TestImage::new(
        vec![
            base_layer(),
            vec![
                EntryBuilder::dir("usr/"),
                EntryBuilder::dir("usr/bin/"),
                EntryBuilder::file("usr/bin/bidi\u{202e}exe.txt", "elf").mode(0o4755),
                EntryBuilder::dir("data\u{1b}[5m/").owner(1000, 1000),
            ],
        ],
        json!({"User": "app", "Volumes": {"/data\u{1b}[5m": {}}}),
    );
    let layout = scratch.path().join("in");
    std::fs::create_dir_all(&layout).unwrap();
    image.write_oci(&layout);
    let output = hardfs()
        .args(["harden", &format!("oci:{}", layout.display()), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(!stdout.contains('\u{202e}'), "{stdout}");
    assert!(stdout.contains("/usr/bin/bidi\\u{202e}exe.txt"), "{stdout}");
    assert!(stdout.contains("/data\\x1b[5m"), "{stdout}");
}
