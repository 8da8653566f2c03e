//! The image model against what podman shows inside a running container of
//! the same image: setuid, setgid, world-writable, file capabilities, and
//! what the image's user can write. The images and the oracle script come
//! from `scripts/build-images.sh` and `scripts/oracle.sh`, which
//! `scripts/test.sh` provides.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use hardfs_audit::{user_writable_paths, AuditInput};
use hardfs_fs::{display_path, FileKind, Tree};
use hardfs_image::{BuildOptions, Image, ImageConfig, Platform, Reference};

fn images_manifest() -> serde_json::Value {
    hardfs_test_images::images_manifest()
}

/// Runs the oracle and returns its records split into fields.
fn oracle(image_ref: &str, writable: bool) -> Vec<Vec<String>> {
    let script = std::env::var_os("HARDFS_ORACLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| hardfs_test_images::repo_root().join("scripts/oracle.sh"));
    let mut command = Command::new("bash");
    command.arg(&script);
    if writable {
        command.arg("--writable");
    }
    let output = command
        .arg(image_ref)
        .output()
        .expect("run the oracle script");
    assert!(
        output.status.success(),
        "oracle failed for {image_ref}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("oracle output is UTF-8")
        .lines()
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect()
}

fn model(oci_dir: &str) -> (Tree, ImageConfig) {
    let reference = Reference::parse(&format!("oci:{oci_dir}")).unwrap();
    let image = Image::open(&reference, &Platform::host()).unwrap();
    let built = image.build_tree(&BuildOptions::default()).unwrap();
    (built.tree, image.config)
}

fn under_mount(path: &str, mounts: &BTreeSet<String>) -> bool {
    mounts
        .iter()
        .any(|mount| path == mount || path.starts_with(&format!("{mount}/")))
}

/// `(kind, mode uid gid, path)` records of the model for the oracle's kinds.
fn model_records(tree: &Tree, mounts: &BTreeSet<String>) -> BTreeSet<(String, String, String)> {
    let mut records = BTreeSet::new();
    tree.walk(|path, file| {
        let path = format!("/{}", display_path(path));
        if path == "/" || under_mount(&path, mounts) {
            return;
        }
        let inode = file.inode();
        let meta = format!("{:04o} {} {}", inode.mode, inode.uid, inode.gid);
        if inode.kind == FileKind::Regular && inode.mode & 0o4000 != 0 {
            records.insert(("setuid".into(), meta.clone(), path.clone()));
        }
        if inode.kind == FileKind::Regular && inode.mode & 0o2000 != 0 {
            records.insert(("setgid".into(), meta.clone(), path.clone()));
        }
        if inode.kind != FileKind::Symlink && inode.mode & 0o002 != 0 {
            records.insert(("world-writable".into(), meta.clone(), path.clone()));
        }
        if let Some(value) = inode.capability() {
            let hex: String = value.iter().map(|byte| format!("{byte:02x}")).collect();
            records.insert(("capability".into(), hex, path));
        }
    });
    records
}

fn oracle_records(
    records: &[Vec<String>],
) -> (BTreeSet<(String, String, String)>, BTreeSet<String>) {
    let mounts: BTreeSet<String> = records
        .iter()
        .filter(|record| record[0] == "mount")
        .map(|record| record[1].clone())
        .collect();
    let mut kept = BTreeSet::new();
    for record in records {
        match record[0].as_str() {
            "setuid" | "setgid" if record[4] == "f" => {
                kept.insert((
                    record[0].clone(),
                    format!("{} {} {}", record[1], record[2], record[3]),
                    record[5].clone(),
                ));
            }
            "world-writable" => {
                kept.insert((
                    record[0].clone(),
                    format!("{} {} {}", record[1], record[2], record[3]),
                    record[5].clone(),
                ));
            }
            "capability" => {
                kept.insert((record[0].clone(), record[2].clone(), record[3].clone()));
            }
            _ => {}
        }
    }
    (kept, mounts)
}

#[test]
fn model_matches_running_container() {
    let manifest = images_manifest();
    for name in ["nginx", "redis", "postgres", "appuser"] {
        let image = &manifest["images"][name];
        let image_ref = image["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing from images.json"));
        let (tree, _) = model(image["exports"]["oci"].as_str().unwrap());
        let (expected, mounts) = oracle_records(&oracle(image_ref, false));
        let actual = model_records(&tree, &mounts);
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: model lacks {missing:#?}\nmodel has extra {extra:#?}"
        );
        if name != "appuser" {
            assert!(
                expected.iter().any(|(kind, ..)| kind == "setuid"),
                "{name}: the oracle found no setuid file"
            );
        }
    }
}

#[test]
fn user_writable_matches_running_container() {
    let manifest = images_manifest();
    for name in ["redis", "postgres", "appuser"] {
        let image = &manifest["images"][name];
        let image_ref = image["reference"].as_str().unwrap();
        let (tree, config) = model(image["exports"]["oci"].as_str().unwrap());
        let records = oracle(image_ref, true);
        let mounts: BTreeSet<String> = records
            .iter()
            .filter(|record| record[0] == "mount")
            .map(|record| record[1].clone())
            .collect();
        let expected: BTreeSet<String> = records
            .iter()
            .filter(|record| record[0] == "writable")
            .map(|record| record[5].clone())
            .collect();
        let input = AuditInput::new(&tree, &config, Vec::new(), &[]);
        let actual: BTreeSet<String> = user_writable_paths(&input)
            .iter()
            .map(|path| format!("/{}", display_path(path)))
            .filter(|path| !under_mount(path, &mounts))
            .collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: model lacks {missing:#?}\nmodel has extra {extra:#?}"
        );
        assert!(!expected.is_empty(), "{name}: the user can write nothing?");
    }
}
