//! `hardfs audit` as a user runs it: exit codes, formats, and errors on
//! bad input, on images written in code.

mod support;

use std::path::Path;

use hardfs_tar::EntryBuilder;
use predicates::prelude::*;
use serde_json::{json, Value};
use support::{hardfs, layer_blob, slugs_and_paths, TestImage};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";

fn sample_image() -> TestImage {
    TestImage::new(
        vec![
            vec![
                EntryBuilder::dir("etc/"),
                EntryBuilder::file("etc/passwd", PASSWD),
                EntryBuilder::file("etc/group", "root:x:0:\napp:x:1000:\n"),
                EntryBuilder::dir("usr/"),
                EntryBuilder::dir("usr/bin/"),
                EntryBuilder::file("usr/bin/su", "elf").mode(0o4755),
                EntryBuilder::file("usr/bin/wall", "elf")
                    .mode(0o2755)
                    .owner(0, 5),
                EntryBuilder::dir("tmp/").mode(0o1777),
            ],
            vec![
                EntryBuilder::dir("usr/"),
                EntryBuilder::dir("usr/bin/"),
                EntryBuilder::file("usr/bin/su", "elf").mode(0o755),
            ],
            vec![EntryBuilder::dir("app/").owner(1000, 1000)],
        ],
        json!({"User": "app", "Volumes": {"/var/log:ro": {}}}),
    )
}

fn json_report(reference: &str, extra: &[&str]) -> Value {
    let output = hardfs()
        .args(["audit", reference, "--format", "json", "--fail-on", "never"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn oci_layout_findings() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let report = json_report(&format!("oci:{}", layout.display()), &[]);
    let found = slugs_and_paths(&report);
    assert!(
        found.contains(&("setgid-file".into(), "/usr/bin/wall".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("ghost-privileged-copy".into(), "/usr/bin/su".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("user-writable".into(), "/app".into())),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(slug, _)| slug == "setuid-file"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(slug, _)| slug == "runs-as-root"),
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|(slug, _)| slug == "volume-with-options")
            .count(),
        1
    );
    assert_eq!(report["image"]["user"]["configured"], "app");
    assert_eq!(report["image"]["user"]["uid"], 1000);
}

#[test]
fn every_transport_gives_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample_image();
    let layout = image.write_oci(&dir.path().join("oci"));
    let archive = image.write_docker_archive(&dir.path().join("image.tar"), "localhost/sample:1");
    let from_oci = slugs_and_paths(&json_report(&format!("oci:{}", layout.display()), &[]));
    let from_archive = slugs_and_paths(&json_report(
        &format!("docker-archive:{}", archive.display()),
        &[],
    ));
    let detected = slugs_and_paths(&json_report(archive.to_str().unwrap(), &[]));
    assert_eq!(from_oci, from_archive);
    assert_eq!(from_archive, detected);
}

#[test]
fn fail_on_sets_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    hardfs()
        .args(["audit", &reference, "--fail-on", "high"])
        .assert()
        .code(1);
    hardfs()
        .args(["audit", &reference, "--fail-on", "critical"])
        .assert()
        .code(0);
    hardfs()
        .args([
            "audit",
            &reference,
            "--fail-on",
            "high",
            "--skip",
            "volume-with-options",
        ])
        .assert()
        .code(0);
}

#[test]
fn allow_suppresses_finding() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    let report = json_report(&reference, &["--allow", "setgid-file:/usr/bin/wall"]);
    assert!(!slugs_and_paths(&report).contains(&("setgid-file".into(), "/usr/bin/wall".into())));
    assert_eq!(report["suppressed"].as_array().unwrap().len(), 1);
    let report = json_report(&reference, &["--allow", "volume-declared:/var/log:ro"]);
    assert!(!slugs_and_paths(&report)
        .iter()
        .any(|(slug, _)| slug == "volume-declared"));
    assert_eq!(report["suppressed"].as_array().unwrap().len(), 1);
}

#[test]
fn unused_allow_entry_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    let config = dir.path().join("hardfs.toml");
    std::fs::write(
        &config,
        "[[allow]]\nrule = \"setgid-file\"\npath = \"/usr/bin/wall\"\nreason = \"needed\"\n\n\
         [[allow]]\nrule = \"setgid-file\"\npath = \"/usr/bin/wal\"\nreason = \"typo\"\n\n\
         [[allow]]\nrule = \"chmod-setuid\"\npath = \"Dockerfile\"\nreason = \"lint only\"\n",
    )
    .unwrap();

    let output = hardfs()
        .args(["audit", &reference, "--fail-on", "never", "--config"])
        .arg(&config)
        .args(["--allow", "setuid-file:/usr/bin/sudo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));

    let stderr = String::from_utf8(output.stderr).unwrap();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("warning: allowlist entry"))
        .collect();

    let expected_config = format!(
        "warning: allowlist entry HF002:/usr/bin/wal from {}:6 matched no finding; \
         check the rule and the path, or remove the entry",
        config.display()
    );
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert_eq!(warnings[0], expected_config);
    assert_eq!(
        warnings[1],
        "warning: allowlist entry HF001:/usr/bin/sudo from the command line matched no \
         finding; check the rule and the path, or remove the entry"
    );
}

#[test]
fn all_lists_writable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    let output = hardfs()
        .args(["audit", &reference, "--fail-on", "never", "--all"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("\nwritable by the runtime user (2 paths):\n  /app\n  /tmp\n"),
        "{text}"
    );
    let output = hardfs()
        .args(["audit", &reference, "--fail-on", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains("writable by the runtime user ("), "{text}");
}

#[test]
fn output_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    for format in ["text", "json", "sarif"] {
        let first = hardfs()
            .args(["audit", &reference, "--format", format])
            .output()
            .unwrap()
            .stdout;
        let second = hardfs()
            .args(["audit", &reference, "--format", format])
            .output()
            .unwrap()
            .stdout;
        assert!(!first.is_empty(), "{format}");
        assert_eq!(first, second, "{format}");
    }
}

#[test]
fn text_report_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    let output = hardfs().args(["audit", &reference]).output().unwrap();
    let text = String::from_utf8(output.stdout)
        .unwrap()
        .replace(&dir.path().display().to_string(), "[DIR]");
    insta::assert_snapshot!(text);
}

#[test]
fn json_and_sarif_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("oci:{}", sample_image().write_oci(dir.path()).display());
    for format in ["json", "sarif"] {
        let output = hardfs()
            .args(["audit", &reference, "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout)
            .unwrap()
            .replace(&dir.path().display().to_string(), "[DIR]")
            .replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
        insta::assert_snapshot!(format!("report_{format}"), text);
    }
}

fn assert_error(reference: &str, expected: &str) {
    hardfs()
        .args(["audit", reference])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(expected));
}

#[test]
fn corrupt_layer_names_blob() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let blob = layer_blob(&layout, 1);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let digest = format!("sha256:{}", blob.file_name().unwrap().to_str().unwrap());
    assert_error(
        &format!("oci:{}", layout.display()),
        &format!("layer 1 ({digest})"),
    );
}

#[test]
fn truncated_layer_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let blob = layer_blob(&layout, 0);
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    assert_error(&format!("oci:{}", layout.display()), "layer 0");
}

#[test]
fn wrong_diff_id_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = sample_image();
    let mut diff_ids: Vec<String> = image
        .layers
        .iter()
        .map(|layer| support::sha256(layer))
        .collect();
    diff_ids[2] = support::sha256(b"another layer");
    image.diff_ids = Some(diff_ids);
    let archive = image.write_docker_archive(&dir.path().join("image.tar"), "localhost/a:1");
    assert_error(
        &format!("docker-archive:{}", archive.display()),
        "layer 2 (`",
    );
    assert_error(
        &format!("docker-archive:{}", archive.display()),
        "DiffID digest mismatch: expected sha256:",
    );
}

#[test]
fn bare_whiteout_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = TestImage::new(
        vec![vec![
            EntryBuilder::dir("etc/"),
            EntryBuilder::file("etc/.wh.", ""),
        ]],
        json!({}),
    );
    let layout = image.write_oci(dir.path());
    assert_error(
        &format!("oci:{}", layout.display()),
        "whiteout `etc/.wh.` names no file",
    );
}

#[test]
fn missing_and_unknown_inputs() {
    assert_error("oci:/nonexistent/layout", "oci-layout");
    assert_error(
        "/nonexistent/image.tar",
        "cannot read `/nonexistent/image.tar`",
    );
    assert_error("docker://docker.io/library/nginx", "skopeo copy");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    assert_error(junk.to_str().unwrap(), "junk.tar");
}

#[test]
fn several_images_need_a_choice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.tar");
    sample_image().write_docker_archive_tags(&path, &["localhost/a:1", "localhost/b:2"]);
    assert_error(path.to_str().unwrap(), "choose one with");
    assert_error(
        path.to_str().unwrap(),
        "@0 (localhost/a:1), @1 (localhost/b:2)",
    );
    assert_error(
        &format!("docker-archive:{}:localhost/none:1", path.display()),
        "no image matches `localhost/none:1`",
    );
    for selector in ["localhost/b:2", "@1"] {
        let report = json_report(
            &format!("docker-archive:{}:{selector}", path.display()),
            &[],
        );
        assert_eq!(report["image"]["user"]["configured"], "app");
    }
}

#[test]
fn nested_index_picks_platform() {
    let dir = tempfile::tempdir().unwrap();
    let amd = TestImage::new(
        vec![vec![EntryBuilder::file("amd", "x").mode(0o4755)]],
        json!({}),
    );
    let arm = TestImage::new(
        vec![vec![EntryBuilder::file("arm", "x").mode(0o4755)]],
        json!({}),
    );
    let manifests = vec![
        amd.write_manifest(dir.path(), "amd64"),
        arm.write_manifest(dir.path(), "arm64"),
    ];
    let nested = serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": manifests})).unwrap();
    let (digest, size) = support::put_blob(dir.path(), &nested);
    support::write_index(
        dir.path(),
        vec![json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        })],
    );
    let reference = format!("oci:{}:multi", dir.path().display());
    let setuid = |report: &Value| -> Vec<String> {
        slugs_and_paths(report)
            .into_iter()
            .filter(|(slug, _)| slug == "setuid-file")
            .map(|(_, path)| path)
            .collect()
    };
    assert_eq!(
        setuid(&json_report(&reference, &["--platform", "linux/amd64"])),
        ["/amd"]
    );
    assert_eq!(
        setuid(&json_report(&reference, &["--platform", "linux/arm64"])),
        ["/arm"]
    );
    hardfs()
        .args(["audit", &reference, "--platform", "linux/s390x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("linux/amd64, linux/arm64"));
}

#[test]
fn input_is_never_modified() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let before = snapshot_dir(&layout);
    hardfs()
        .args(["audit", &format!("oci:{}", layout.display())])
        .assert()
        .code(1);
    assert_eq!(before, snapshot_dir(&layout));
}

fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// Writes a Docker 25+ `docker save` archive: an OCI layout whose blobs are
/// uncompressed layers, plus a `manifest.json` pointing at
/// `blobs/sha256/...`, with the layer media type given.
fn write_docker25_archive(image: &TestImage, path: &Path, layer_media_type: &str, compress: bool) {
    let mut members = vec![EntryBuilder::file(
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )];
    let mut layer_paths = Vec::new();
    let mut descriptors = Vec::new();
    for layer in &image.layers {
        let blob = if compress {
            zstd_bytes(layer)
        } else {
            layer.clone()
        };
        let digest = support::sha256(&blob);
        let name = format!("blobs/sha256/{}", &digest[7..]);
        members.push(EntryBuilder::file(&name, &blob));
        descriptors
            .push(json!({"mediaType": layer_media_type, "digest": digest, "size": blob.len()}));
        layer_paths.push(name);
    }
    let diff_ids: Vec<String> = image
        .layers
        .iter()
        .map(|layer| support::sha256(layer))
        .collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": image.config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = support::sha256(&config);
    let config_name = format!("blobs/sha256/{}", &config_digest[7..]);
    members.push(EntryBuilder::file(&config_name, &config));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let manifest_digest = support::sha256(&manifest);
    members.push(EntryBuilder::file(
        format!("blobs/sha256/{}", &manifest_digest[7..]),
        &manifest,
    ));
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    members.push(EntryBuilder::file(
        "index.json",
        serde_json::to_vec(&index).unwrap(),
    ));
    let legacy = json!([{"Config": config_name, "RepoTags": ["localhost/app:latest"], "Layers": layer_paths}]);
    members.push(EntryBuilder::file(
        "manifest.json",
        serde_json::to_vec(&legacy).unwrap(),
    ));
    std::fs::write(path, support::tar(&members)).unwrap();
}

fn zstd_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut out, 3).unwrap();
    std::io::Write::write_all(&mut encoder, data).unwrap();
    encoder.finish().unwrap();
    out
}

#[test]
fn docker25_archive_matches_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let image = sample_image();
    let modern = dir.path().join("modern.tar");
    write_docker25_archive(
        &image,
        &modern,
        "application/vnd.oci.image.layer.v1.tar",
        false,
    );
    let legacy = image.write_docker_archive(&dir.path().join("legacy.tar"), "localhost/app:latest");
    let from_modern = slugs_and_paths(&json_report(modern.to_str().unwrap(), &[]));
    let from_legacy = slugs_and_paths(&json_report(legacy.to_str().unwrap(), &[]));
    assert_eq!(from_modern, from_legacy);
    // Read as an OCI archive too, through index.json.
    let from_oci = slugs_and_paths(&json_report(
        &format!("oci-archive:{}", modern.display()),
        &[],
    ));
    assert_eq!(from_oci, from_legacy);
}

#[test]
fn zstd_under_docker_media_type_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zstd.tar");
    write_docker25_archive(
        &sample_image(),
        &path,
        "application/vnd.docker.image.rootfs.diff.tar.zstd",
        true,
    );
    let report = json_report(&format!("oci-archive:{}", path.display()), &[]);
    let found = slugs_and_paths(&report);
    assert!(
        found.contains(&("setgid-file".into(), "/usr/bin/wall".into())),
        "{found:?}"
    );
    let warnings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["slug"] == "layer-format")
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .contains("zstd is defined only for OCI media types"));
}

#[test]
fn manifest_without_layers_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = TestImage::new(vec![vec![EntryBuilder::file("a", "x")]], json!({}));
    let layout = image.write_oci(dir.path());
    // Empty the manifest's layer list while the config still lists a DiffID.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_path = layout
        .join("blobs/sha256")
        .join(&index["manifests"][0]["digest"].as_str().unwrap()[7..]);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["layers"] = json!([]);
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let (digest, size) = support::put_blob(&layout, &bytes);
    let mut descriptor = index["manifests"][0].clone();
    descriptor["digest"] = json!(digest);
    descriptor["size"] = json!(size);
    support::write_index(&layout, vec![descriptor]);
    assert_error(
        &format!("oci:{}", layout.display()),
        "it lists 0 layers but the config's `rootfs.diff_ids` has 1",
    );
}

#[test]
fn legacy_repositories_archive_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.tar");
    let members = [
        EntryBuilder::file("repositories", r#"{"img":{"latest":"abc"}}"#),
        EntryBuilder::file("abc/json", "{}"),
        EntryBuilder::file(
            "abc/layer.tar",
            support::tar(&[EntryBuilder::file("a", "x")]),
        ),
        EntryBuilder::file("abc/VERSION", "1.0"),
    ];
    std::fs::write(&path, support::tar(&members)).unwrap();
    assert_error(
        &format!("docker-archive:{}", path.display()),
        "legacy v1.0 docker-archive",
    );
}

#[test]
fn root_directory_is_read_without_following_links() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), "x").unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/shadow", root.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink("../../..", root.join("usr/bin/up")).unwrap();
    let report = json_report(&format!("dir:{}", root.display()), &[]);
    let found = slugs_and_paths(&report);
    assert!(
        found.contains(&("setuid-file".into(), "/usr/bin/tool".into())),
        "{found:?}"
    );
    assert_eq!(report["image"]["transport"], "dir");
}

#[test]
fn config_file_shared_with_harden() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!(
        "oci:{}",
        sample_image().write_oci(&dir.path().join("oci")).display()
    );
    let config =
        "[[allow]]\nrule = \"setgid-file\"\npath = \"/usr/bin/wall\"\nreason = \"tty group\"\n\n\
                  [[keep]]\npath = \"/usr/bin/wall\"\nreason = \"tty group\"\n";
    std::fs::write(dir.path().join(".hardfs.toml"), config).unwrap();
    let output = hardfs()
        .current_dir(dir.path())
        .args([
            "audit",
            &reference,
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["suppressed"].as_array().unwrap().len(), 1);
    hardfs()
        .current_dir(dir.path())
        .args(["harden", &reference, "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("/usr/bin/wall"));
}

#[test]
fn version_names_gzip_inflate() {
    let output = hardfs().arg("--version").output().unwrap();
    assert!(output.status.success());
    let line = String::from_utf8(output.stdout).unwrap();
    let expected = if std::env::var_os("HARDFS_EXPECT_ISAL").is_some() {
        "ISA-L"
    } else {
        hardfs_tar::Inflate::fastest().as_str()
    };
    assert_eq!(
        line,
        format!(
            "hardfs {} (gzip inflate: {expected})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

/// Puts `blob` in place of layer `index` of the layout in `dir`, with the
/// manifest and index rewritten to its digest and size, so that only
/// reading the blob can find what is wrong with it.
fn replace_layer_blob(dir: &Path, index: usize, blob: &[u8]) {
    let index_path = dir.join("index.json");
    let mut index_json: Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let manifest_digest = index_json["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest_path = dir.join("blobs/sha256").join(&manifest_digest[7..]);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let (digest, size) = support::put_blob(dir, blob);
    manifest["layers"][index]["digest"] = json!(digest);
    manifest["layers"][index]["size"] = json!(size);
    let (digest, size) = support::put_blob(dir, &serde_json::to_vec(&manifest).unwrap());
    index_json["manifests"][0]["digest"] = json!(digest);
    index_json["manifests"][0]["size"] = json!(size);
    std::fs::write(&index_path, serde_json::to_vec(&index_json).unwrap()).unwrap();
}

#[test]
fn damaged_gzip_layer_is_named() {
    let image = sample_image();
    let layer = &image.layers[0];
    let mut wrong_crc = support::gzip(layer);
    let length = wrong_crc.len();
    wrong_crc[length - 8] ^= 0x01;
    let mut long_name = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 255];
    long_name.extend(vec![b'n'; 600]);
    long_name.push(0);
    long_name.extend(&support::gzip(layer)[10..]);
    let cases = [
        (wrong_crc, "gzip member does not match its trailer (CRC-32 or ISIZE)"),
        (
            long_name,
            "invalid gzip header: the file name is longer than 511 bytes, which podman and docker reject",
        ),
    ];
    for (blob, cause) in cases {
        let dir = tempfile::tempdir().unwrap();
        image.write_oci(dir.path());
        replace_layer_blob(dir.path(), 0, &blob);
        let before = std::fs::read(layer_blob(dir.path(), 0)).unwrap();
        let output = hardfs()
            .arg("audit")
            .arg(format!("oci:{}", dir.path().display()))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("cannot read layer 0 (sha256:"), "{stderr}");
        assert!(
            stderr.contains("caused by: failed to decompress the gzip blob"),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("caused by: {cause}")), "{stderr}");
        assert!(std::fs::read(layer_blob(dir.path(), 0)).unwrap() == before);
    }
}

#[test]
fn platform_of_single_image_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let reference = format!("oci:{}", layout.display());
    let output = hardfs()
        .args(["audit", &reference, "--platform", "linux/arm64"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("is linux/amd64, not the linux/arm64 that --platform asks for"),
        "{stderr}"
    );
    let output = hardfs()
        .args([
            "audit",
            &reference,
            "--platform",
            "linux/amd64",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn layer_over_size_limit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let layout = sample_image().write_oci(dir.path());
    let output = hardfs()
        .args(["audit", &format!("oci:{}", layout.display())])
        .args(["--max-layer-size", "1000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("decompressed stream exceeds the limit of 1000 bytes"),
        "{stderr}"
    );
    // The limit is reported from the first pass, without decompressing again.
    assert!(!stderr.contains("failed to decompress"), "{stderr}");
}
