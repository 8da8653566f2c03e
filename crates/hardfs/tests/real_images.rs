//! `hardfs audit` on the real images that `scripts/build-images.sh` builds
//! from Debian packages, with the findings they must give.

use std::collections::BTreeSet;

use assert_cmd::Command;
use serde_json::Value;

fn images_manifest() -> Value {
    hardfs_test_images::images_manifest()
}

fn audit(reference: &str) -> Value {
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .args(["audit", reference, "--format", "json", "--fail-on", "never"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn export(manifest: &Value, name: &str, format: &str) -> String {
    let path = manifest["images"][name]["exports"][format]
        .as_str()
        .unwrap_or_else(|| panic!("no {format} export of {name}"));
    format!("{format}:{path}")
}

fn findings<'a>(report: &'a Value, slug: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["slug"] == slug)
        .collect()
}

fn paths(findings: &[&Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|finding| finding["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn appuser_findings() {
    let manifest = images_manifest();
    let base = audit(&export(&manifest, "debian", "oci"));
    let report = audit(&export(&manifest, "appuser", "oci-archive"));

    assert!(findings(&report, "setuid-file").is_empty());
    assert!(findings(&report, "setgid-file").is_empty());
    assert!(findings(&report, "runs-as-root").is_empty());
    assert_eq!(report["image"]["user"]["configured"], "appuser");

    // One ghost for each setuid or setgid file of the Debian base, in layer 0.
    let mut base_privileged = paths(&findings(&base, "setuid-file"));
    base_privileged.extend(paths(&findings(&base, "setgid-file")));
    assert!(base_privileged.len() >= 10, "{base_privileged:?}");
    let ghosts = findings(&report, "ghost-privileged-copy");
    assert_eq!(paths(&ghosts), base_privileged);
    assert!(ghosts.iter().all(|ghost| ghost["layer_index"] == 0));
    assert!(ghosts.iter().all(|ghost| ghost["message"]
        .as_str()
        .unwrap()
        .contains("find / -xdev -perm /6000")));

    let colon = findings(&report, "volume-with-options");
    assert_eq!(colon.len(), 1);
    assert_eq!(colon[0]["severity"], "high");
    assert!(colon[0]["message"]
        .as_str()
        .unwrap()
        .contains("`/var/log:ro`"));

    let writable = findings(&report, "user-writable");
    let data = writable
        .iter()
        .find(|finding| finding["path"] == "/app/data")
        .expect("/app/data writable");
    assert_eq!(data["layer_index"], 1);
    assert!(data["created_by"]
        .as_str()
        .unwrap()
        .contains("useradd -r appuser"));
}

#[test]
fn server_images_trace_setuid_to_base_layer() {
    let manifest = images_manifest();
    let base = audit(&export(&manifest, "debian", "oci"));
    let base_setuid = paths(&findings(&base, "setuid-file"));
    for name in ["nginx", "redis", "postgres"] {
        let report = audit(&export(&manifest, name, "docker-archive"));
        let setuid = findings(&report, "setuid-file");
        assert_eq!(paths(&setuid), base_setuid, "{name}");
        for finding in &setuid {
            assert_eq!(finding["layer_index"], 0, "{name}: {finding}");
            assert_eq!(
                finding["layer_digest"], report["image"]["layers"][0]["digest"],
                "{name}"
            );
            assert_eq!(finding["severity"], "high", "{name}: {finding}");
        }
    }
}

#[test]
fn non_root_servers_do_not_run_as_root() {
    let manifest = images_manifest();
    for name in ["redis", "postgres"] {
        let report = audit(&export(&manifest, name, "oci"));
        assert!(findings(&report, "runs-as-root").is_empty(), "{name}");
        assert!(!findings(&report, "user-writable").is_empty(), "{name}");
    }
    let nginx = audit(&export(&manifest, "nginx", "oci"));
    assert_eq!(findings(&nginx, "runs-as-root").len(), 1);
}
