//! `harden` on the real test images: the output re-audits clean, untouched
//! layers keep their digests, two runs give the same bytes, and podman runs
//! the result. The images come from `scripts/build-images.sh`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use flate2::read::{GzDecoder, MultiGzDecoder};
use hardfs_audit::{audit, user_writable_paths, AuditInput, LayerRef};
use hardfs_fs::display_path;
use hardfs_harden::{
    HardenOptions, LayerAction, Outcome, OutputReference, Plan, GZIP_BLOCK_SIZE,
    GZIP_FALLBACK_LEVEL,
};
use hardfs_image::{BuildOptions, Image, Platform, Reference};
use hardfs_tar::Compression;
use sha2::{Digest, Sha256};

fn images_manifest() -> serde_json::Value {
    hardfs_test_images::images_manifest()
}

fn export(name: &str, format: &str) -> String {
    let manifest = images_manifest();
    manifest["images"][name]["exports"][format]
        .as_str()
        .unwrap_or_else(|| panic!("images.json has no {format} export of {name}"))
        .to_string()
}

/// Options each image needs: nginx runs as root by default, so it gets the
/// www-data user its package creates.
fn options_for(name: &str) -> HardenOptions {
    let mut options = HardenOptions {
        threads: 2,
        ..HardenOptions::default()
    };
    if name == "nginx" {
        options.user = Some("www-data".into());
    }
    options
}

fn harden(input: &str, output: &str, options: &HardenOptions) -> (Image, Plan, Outcome) {
    let image = Image::open(&Reference::parse(input).unwrap(), &Platform::host()).unwrap();
    let (scan, plan) = hardfs_harden::prepare(&image, options).unwrap();
    let output = OutputReference::parse(output).unwrap();
    let outcome = hardfs_harden::write(&image, &scan, &plan, options, &output).unwrap();
    (image, plan, outcome)
}

/// Re-audits an output image and checks that nothing the harden run
/// removes is left, and that the user writes only where allowed.
fn assert_hardened(output: &str, plan: &Plan, name: &str) {
    let image = Image::open(&Reference::parse(output).unwrap(), &Platform::host()).unwrap();
    let built = image.build_tree(&BuildOptions::default()).unwrap();
    assert!(
        built.tree.ghosts().is_empty(),
        "{name}: ghosts {:?}",
        built.tree.ghosts()
    );
    let layers: Vec<LayerRef> = built
        .layers
        .iter()
        .map(|layer| LayerRef {
            digest: layer.digest.clone(),
            created_by: layer.created_by.clone(),
        })
        .collect();
    let input = AuditInput::new(&built.tree, &image.config, layers, &built.warnings);
    let findings = audit(&input);
    for finding in &findings {
        let slug = finding.rule.slug;
        assert!(
            !matches!(
                slug,
                "setuid-file" | "setgid-file" | "file-capability" | "ghost-privileged-copy"
            ),
            "{name}: {slug} remains: {}",
            finding.message
        );
        if slug == "world-writable" {
            assert!(
                finding.message.contains("sticky bit"),
                "{name}: world-writable without sticky bit: {}",
                finding.message
            );
        }
    }
    let user = input.user.as_ref().expect("the output's user resolves");
    assert_ne!(user.uid, 0, "{name}: runs as root");
    let allowed: Vec<&String> = plan.writable.iter().chain(&plan.tmpfs).collect();
    for path in user_writable_paths(&input) {
        let shown = format!("/{}", display_path(&path));
        assert!(
            allowed
                .iter()
                .any(|root| shown == **root || shown.starts_with(&format!("{root}/"))),
            "{name}: {shown} is writable by the user but not in {allowed:?}"
        );
    }
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        files.insert(name, std::fs::read(entry.path()).unwrap());
    }
    files.insert(
        "index.json".into(),
        std::fs::read(dir.join("index.json")).unwrap(),
    );
    files
}

#[test]
fn outputs_reaudit_clean() {
    let scratch = tempfile::tempdir().unwrap();
    for name in ["nginx", "redis", "postgres", "appuser"] {
        let output = format!("oci:{}/{name}", scratch.path().display());
        let input = format!("oci:{}", export(name, "oci"));
        let (image, plan, outcome) = harden(&input, &output, &options_for(name));
        assert!(!plan.changes.is_empty(), "{name}: nothing changed");
        assert_hardened(&output, &plan, name);

        for layer in &outcome.layers {
            if layer.action == LayerAction::Copied {
                assert_eq!(layer.digest, image.layers[layer.index].digest, "{name}");
            }
        }
        let size_in: u64 = image.layers.iter().filter_map(|layer| layer.size).sum();
        let size_out: u64 = outcome.layers.iter().map(|layer| layer.size).sum();
        assert!(
            size_out <= size_in + size_in / 100,
            "{name}: output layers {size_out} bytes, input {size_in}"
        );
    }
}

#[test]
fn ghost_copies_are_patched() {
    let scratch = tempfile::tempdir().unwrap();
    let output = format!("oci:{}/appuser", scratch.path().display());
    let input = format!("oci:{}", export("appuser", "oci"));
    let (_, plan, _) = harden(&input, &output, &options_for("appuser"));
    let hidden = plan.changes.iter().filter(|change| change.hidden).count();
    assert!(hidden > 0, "the appuser image has ghost copies to patch");
    assert_hardened(&output, &plan, "appuser");
}

#[test]
fn same_input_gives_same_bytes() {
    let scratch = tempfile::tempdir().unwrap();
    let input = format!("oci:{}", export("redis", "oci"));
    let options = options_for("redis");
    let first = scratch.path().join("first");
    let second = scratch.path().join("second");
    let (_, _, one) = harden(&input, &format!("oci:{}:v1", first.display()), &options);
    let (_, _, two) = harden(&input, &format!("oci:{}:v1", second.display()), &options);
    assert_eq!(one.manifest_digest, two.manifest_digest);
    assert!(files_of(&first) == files_of(&second));

    let archive_one = scratch.path().join("one.tar");
    let archive_two = scratch.path().join("two.tar");
    harden(
        &input,
        &format!("oci-archive:{}", archive_one.display()),
        &options,
    );
    harden(
        &input,
        &format!("oci-archive:{}", archive_two.display()),
        &options,
    );
    assert!(std::fs::read(&archive_one).unwrap() == std::fs::read(&archive_two).unwrap());
}

/// Rewritten gzip layers are multi-member streams that `gzip -t` accepts
/// and that decode to the tar their DiffID names, and the output bytes are
/// the same with one and with two threads.
#[test]
fn gzip_output_is_valid_and_thread_independent() {
    let scratch = tempfile::tempdir().unwrap();
    let input = format!("oci:{}", export("postgres", "oci"));
    let mut outputs = Vec::new();
    for threads in [1, 2] {
        let options = HardenOptions {
            threads,
            compression: Some(Compression::Gzip),
            ..options_for("postgres")
        };
        let directory = scratch.path().join(format!("threads-{threads}"));
        let (_, _, outcome) = harden(&input, &format!("oci:{}", directory.display()), &options);
        outputs.push((directory, outcome));
    }
    let (directory, outcome) = &outputs[0];
    assert_eq!(outcome.manifest_digest, outputs[1].1.manifest_digest);
    assert!(files_of(directory) == files_of(&outputs[1].0));

    let written = Image::open(
        &Reference::parse(&format!("oci:{}", directory.display())).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    let mut rewritten = 0;
    for layer in &outcome.layers {
        if layer.action != LayerAction::Rewritten {
            continue;
        }
        rewritten += 1;
        let blob = directory
            .join("blobs/sha256")
            .join(layer.digest.trim_start_matches("sha256:"));
        let test = Command::new("gzip").arg("-t").arg(&blob).output().unwrap();
        assert!(
            test.status.success(),
            "gzip -t {}: {}",
            blob.display(),
            String::from_utf8_lossy(&test.stderr)
        );

        let compressed = std::fs::read(&blob).unwrap();
        let mut tar = Vec::new();
        MultiGzDecoder::new(&compressed[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(tar.len() as u64, layer.tar_bytes);
        let diff_id = format!("sha256:{:x}", Sha256::digest(&tar));
        assert_eq!(diff_id, written.layers[layer.index].diff_id);

        // A single-member decoder stops after the first member, which holds
        // one block of the tar.
        let mut first_member = Vec::new();
        GzDecoder::new(&compressed[..])
            .read_to_end(&mut first_member)
            .unwrap();
        assert_eq!(first_member.len(), GZIP_BLOCK_SIZE.min(tar.len()));
        assert!(first_member == tar[..first_member.len()]);
    }
    assert!(rewritten > 0, "postgres has layers to rewrite");
}

#[test]
fn zstd_input_keeps_zstd() {
    let scratch = tempfile::tempdir().unwrap();
    let output = format!("oci:{}/nginx", scratch.path().display());
    let input = format!("oci:{}", export("nginx", "oci-zstd"));
    let (_, plan, outcome) = harden(&input, &output, &options_for("nginx"));
    let rewritten: Vec<_> = outcome
        .layers
        .iter()
        .filter(|layer| layer.action == LayerAction::Rewritten)
        .collect();
    assert!(!rewritten.is_empty());
    for layer in rewritten {
        assert_eq!(layer.compression, "zstd");
    }
    assert_hardened(&output, &plan, "nginx (zstd)");
}

#[test]
fn existing_output_is_rejected_untouched() {
    let scratch = tempfile::tempdir().unwrap();
    let existing = scratch.path().join("out.tar");
    std::fs::write(&existing, b"keep me").unwrap();
    let image = Image::open(
        &Reference::parse(&format!("oci:{}", export("redis", "oci"))).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    let options = options_for("redis");
    let (scan, plan) = hardfs_harden::prepare(&image, &options).unwrap();
    let output = OutputReference::parse(&format!("oci-archive:{}", existing.display())).unwrap();
    let error = hardfs_harden::write(&image, &scan, &plan, &options, &output).unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    let names: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "temporary files were left behind");
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .output()
        .expect("run podman")
}

fn podman_ok(args: &[&str]) -> String {
    let output = podman(args);
    assert!(
        output.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An image loaded into podman, removed when dropped.
struct LoadedImage(String);

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "-f", &self.0]);
    }
}

/// Loads a hardened docker-archive into podman.
fn load_hardened(name: &str, scratch: &Path) -> LoadedImage {
    let tag = format!("localhost/hardfs-harden-test/{name}:latest");
    let archive = scratch.join(format!("{name}.tar"));
    let input = format!("oci:{}", export(name, "oci"));
    harden(
        &input,
        &format!("docker-archive:{}:{tag}", archive.display()),
        &options_for(name),
    );
    podman_ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let image = LoadedImage(tag.clone());
    let found = podman_ok(&[
        "run", "--rm", "--user", "0", &tag, "find", "/", "-xdev", "-perm", "/6000",
    ]);
    assert_eq!(found, "", "{name}: setuid/setgid files remain");
    image
}

/// A container removed when dropped, so a failed assertion cleans up too.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-v", "-t", "0", &self.0]);
    }
}

fn wait_until(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..60 {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    false
}

#[test]
fn podman_runs_hardened_services() {
    let scratch = tempfile::tempdir().unwrap();

    let nginx = load_hardened("nginx", scratch.path());
    let web = Container("hardfs-harden-test-nginx".into());
    podman_ok(&[
        "run",
        "-d",
        "--name",
        &web.0,
        "--read-only",
        "--tmpfs",
        "/run:U",
        "--tmpfs",
        "/var/lib/nginx:U",
        "--tmpfs",
        "/tmp:U",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=0",
        "-p",
        "127.0.0.1:18481:80",
        &nginx.0,
    ]);
    let answered = wait_until(|| {
        Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:18481/",
            ])
            .output()
            .is_ok_and(|output| output.stdout == b"200")
    });
    assert!(
        answered,
        "nginx did not answer 200: {}",
        podman_ok(&["logs", &web.0])
    );

    let redis = load_hardened("redis", scratch.path());
    let cache = Container("hardfs-harden-test-redis".into());
    podman_ok(&[
        "run",
        "-d",
        "--name",
        &cache.0,
        "--read-only",
        "--tmpfs",
        "/tmp:U",
        &redis.0,
    ]);
    let pong = wait_until(|| {
        let output = podman(&["exec", &cache.0, "redis-cli", "ping"]);
        output.stdout.starts_with(b"PONG")
    });
    assert!(
        pong,
        "redis did not answer PING: {}",
        podman_ok(&["logs", &cache.0])
    );

    let postgres = load_hardened("postgres", scratch.path());
    let database = Container("hardfs-harden-test-postgres".into());
    podman_ok(&[
        "run",
        "-d",
        "--name",
        &database.0,
        "--tmpfs",
        "/tmp:U",
        &postgres.0,
    ]);
    let selected = wait_until(|| {
        let output = podman(&[
            "exec",
            &database.0,
            "psql",
            "-h",
            "/var/run/postgresql",
            "-tAc",
            "SELECT 1",
        ]);
        output.stdout == b"1\n"
    });
    assert!(
        selected,
        "postgres did not answer SELECT 1: {}",
        podman_ok(&["logs", &database.0])
    );
}

#[test]
fn removal_and_created_user() {
    let scratch = tempfile::tempdir().unwrap();
    let output = format!("oci:{}/nginx", scratch.path().display());
    let input = format!("oci:{}", export("nginx", "oci"));
    let mut options = HardenOptions {
        threads: 2,
        create_user: Some("svc".into()),
        ..HardenOptions::default()
    };
    options.remove = hardfs_harden::preset("shells")
        .unwrap()
        .iter()
        .map(|glob| glob.to_string())
        .collect();
    options.remove.push("/usr/sbin/nginx".into());
    let (image, plan, outcome) = harden(&input, &output, &options);
    assert!(
        plan.removed.contains(&"/usr/bin/bash".to_string()),
        "{:?}",
        plan.removed
    );
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("config.Cmd"),
        "{}",
        plan.warnings[0]
    );
    assert_eq!(outcome.layers.len(), image.layers.len() + 1);
    assert_eq!(outcome.layers.last().unwrap().action, LayerAction::Added);

    let hardened = Image::open(&Reference::parse(&output).unwrap(), &Platform::host()).unwrap();
    assert_eq!(hardened.config.user.as_deref(), Some("10001:10001"));
    let built = hardened.build_tree(&BuildOptions::default()).unwrap();
    assert!(built.tree.lookup(b"usr/bin/bash").is_none());
    assert!(built.tree.lookup(b"usr/sbin/nginx").is_none());
    assert!(built.tree.lookup(b"usr/bin/ls").is_some());
    let passwd = String::from_utf8_lossy(built.tree.content(b"etc/passwd").unwrap()).into_owned();
    assert!(
        passwd.ends_with("svc:x:10001:10001::/nonexistent:/usr/sbin/nologin\n"),
        "{passwd}"
    );
    assert_hardened(&output, &plan, "nginx (removal)");
}

#[test]
fn root_user_is_rejected() {
    let image = Image::open(
        &Reference::parse(&format!("oci:{}", export("nginx", "oci"))).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    let error = hardfs_harden::prepare(&image, &HardenOptions::default())
        .err()
        .expect("nginx runs as root");
    assert!(error.to_string().contains("would run as root"), "{error}");
}

#[test]
fn append_mode_leaves_ghosts() {
    let scratch = tempfile::tempdir().unwrap();
    let output = format!("oci:{}/appuser", scratch.path().display());
    let input = format!("oci:{}", export("appuser", "oci"));
    let options = HardenOptions {
        append: true,
        ..options_for("appuser")
    };
    let (image, _, outcome) = harden(&input, &output, &options);
    assert_eq!(outcome.layers.len(), image.layers.len() + 1);
    for (index, layer) in image.layers.iter().enumerate() {
        assert_eq!(outcome.layers[index].action, LayerAction::Copied);
        assert_eq!(outcome.layers[index].digest, layer.digest);
    }

    let hardened = Image::open(&Reference::parse(&output).unwrap(), &Platform::host()).unwrap();
    let built = hardened.build_tree(&BuildOptions::default()).unwrap();
    let input = AuditInput::new(&built.tree, &hardened.config, Vec::new(), &built.warnings);
    let slugs: Vec<&str> = audit(&input)
        .iter()
        .map(|finding| finding.rule.slug)
        .collect();
    assert!(!slugs.contains(&"setuid-file"), "{slugs:?}");
    assert!(!slugs.contains(&"setgid-file"), "{slugs:?}");
    assert!(!slugs.contains(&"file-capability"), "{slugs:?}");
    assert!(
        !built.tree.ghosts().is_empty(),
        "append mode leaves the lower copies"
    );
}

/// postgres's user is in the ssl-cert group. The hardened config.User is
/// the uid alone, and podman with runc gives the container that group;
/// with `uid:gid` it would not.
#[test]
fn runtime_user_keeps_supplementary_groups() {
    let scratch = tempfile::tempdir().unwrap();
    let tag = "localhost/hardfs-harden-test/postgres-groups:latest";
    let archive = scratch.path().join("postgres-groups.tar");
    let input = format!("oci:{}", export("postgres", "oci"));
    let (_, plan, _) = harden(
        &input,
        &format!("docker-archive:{}:{tag}", archive.display()),
        &options_for("postgres"),
    );
    let user = plan.user.as_ref().expect("postgres has a runtime user");
    assert!(
        !user.groups.is_empty(),
        "postgres is in supplementary groups"
    );
    assert_eq!(user.spec(), user.uid.to_string());

    podman_ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    let image = LoadedImage(tag.into());
    let id = |args: &[&str]| {
        let output = podman_ok(&[&["run", "--rm"], args, &[&image.0, "id"]].concat());
        output.trim().to_string()
    };
    let groups_of = |output: &str| -> Vec<u64> {
        let listed = output.split("groups=").nth(1).unwrap_or_default();
        let mut groups: Vec<u64> = listed
            .split(',')
            .filter_map(|group| group.split('(').next()?.parse().ok())
            .collect();
        groups.sort_unstable();
        groups
    };

    let mut expected = user.groups.clone();
    expected.push(user.gid);
    expected.sort_unstable();
    let configured = id(&[]);
    assert!(
        configured.starts_with(&format!("uid={}(", user.uid)),
        "{configured}"
    );
    assert!(
        configured.contains(&format!(" gid={}(", user.gid)),
        "{configured}"
    );
    assert_eq!(groups_of(&configured), expected, "{configured}");

    let with_group = id(&["--user", &format!("{}:{}", user.uid, user.gid)]);
    assert_eq!(groups_of(&with_group), vec![user.gid], "{with_group}");
}

/// Copies the OCI layout `source` to `target` with every layer blob
/// recompressed by `gzip -9 -n`, which compresses harder than the tools
/// that built the test images.
fn recompress_layers_with_gzip_9(source: &Path, target: &Path) {
    let blobs = target.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let blob_of = |digest: &str| source.join("blobs/sha256").join(&digest[7..]);
    let store = |bytes: &[u8]| {
        let digest = format!("sha256:{:x}", Sha256::digest(bytes));
        std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
        digest
    };
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(source.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob_of(&manifest_digest)).unwrap()).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    store(&std::fs::read(blob_of(&config_digest)).unwrap());

    for layer in manifest["layers"].as_array_mut().unwrap() {
        let input = blob_of(layer["digest"].as_str().unwrap());
        let output = Command::new("sh")
            .arg("-c")
            .arg("gzip -dc \"$1\" | gzip -9 -n")
            .arg("sh")
            .arg(&input)
            .output()
            .unwrap();
        assert!(output.status.success(), "gzip -9 of {}", input.display());
        layer["digest"] = store(&output.stdout).into();
        layer["size"] = output.stdout.len().into();
    }
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    index["manifests"][0]["digest"] = store(&manifest_bytes).into();
    index["manifests"][0]["size"] = manifest_bytes.len().into();
    std::fs::write(
        target.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    std::fs::write(
        target.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}

/// A gzip -9 input makes the fast level's output more than 1 % larger,
/// so the layer is compressed again at the fallback level.
#[test]
fn hard_compressed_input_uses_fallback_level() {
    let scratch = tempfile::tempdir().unwrap();
    let source = Path::new(&export("redis", "oci")).to_path_buf();
    let recompressed = scratch.path().join("redis-gzip-9");
    recompress_layers_with_gzip_9(&source, &recompressed);

    let input = format!("oci:{}", recompressed.display());
    let output = format!("oci:{}", scratch.path().join("out").display());
    let (image, plan, outcome) = harden(&input, &output, &options_for("redis"));
    assert_hardened(&output, &plan, "redis (gzip -9)");

    let mut fallbacks = 0;
    for layer in &outcome.layers {
        let input_size = image.layers[layer.index].size.unwrap();
        assert!(
            layer.size <= input_size + input_size / 100,
            "layer {}: {} bytes, input {input_size}",
            layer.index,
            layer.size
        );
        if layer.compression_level == Some(GZIP_FALLBACK_LEVEL) {
            fallbacks += 1;
        }
    }
    assert!(fallbacks > 0, "no layer needed the fallback level");

    let blobs: Vec<_> = std::fs::read_dir(scratch.path().join("out/blobs/sha256"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        blobs.iter().all(|name| !name.starts_with('.')),
        "temporary blobs left: {blobs:?}"
    );
    let referenced = outcome.layers.len() + 2;
    assert_eq!(blobs.len(), referenced, "unreferenced blobs: {blobs:?}");
}
