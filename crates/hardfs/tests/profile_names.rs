//! `hardfs profile` volume and image names, on images written in code.

mod support;

use std::path::Path;

use assert_cmd::Command;
use hardfs_tar::EntryBuilder;
use serde_json::json;
use support::TestImage;

fn volume_image(volumes: &[&str]) -> TestImage {
    let mut entries = vec![EntryBuilder::dir("etc")];
    for volume in volumes {
        entries.push(EntryBuilder::dir(volume.trim_start_matches('/')));
    }
    let volumes: serde_json::Map<String, serde_json::Value> = volumes
        .iter()
        .map(|volume| (volume.to_string(), json!({})))
        .collect();
    TestImage::new(
        vec![entries],
        json!({"User": "1000:1000", "Cmd": ["/app"], "Volumes": volumes}),
    )
}

/// Runs `hardfs profile IMAGE ARGS…` in `dir` and returns stdout and
/// stderr.
fn profile(dir: &Path, image: &str, args: &[&str]) -> (String, String) {
    let output = Command::cargo_bin("hardfs")
        .unwrap()
        .current_dir(dir)
        .arg("profile")
        .arg(image)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// Returns the `source=` values of the `--mount` flags in a run line.
fn sources(line: &str) -> Vec<String> {
    line.split("source=")
        .skip(1)
        .map(|rest| rest.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn cleaned_volume_paths_get_distinct_volumes() {
    let dir = tempfile::tempdir().unwrap();
    volume_image(&["/a/b-c", "/a-b/c", "/a_b/c", "/A/B/c"]).write_oci(&dir.path().join("vol"));
    let (stdout, _) = profile(
        dir.path(),
        "oci:vol",
        &["--format", "podman", "--image-name", "myapp"],
    );
    let mut names = sources(&stdout);
    assert_eq!(names.len(), 4, "{stdout}");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{stdout}");
    let (yaml, _) = profile(
        dir.path(),
        "oci:vol",
        &["--format", "kubernetes", "--image-name", "myapp"],
    );
    let mut claims: Vec<&str> = yaml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("claimName: "))
        .collect();
    claims.sort();
    claims.dedup();
    assert_eq!(claims.len(), 4, "{yaml}");
}

#[test]
fn volume_name_ignores_how_the_path_is_written() {
    let dir = tempfile::tempdir().unwrap();
    volume_image(&["/data"]).write_oci(&dir.path().join("app"));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let (here, stderr) = profile(dir.path(), "oci:app", &["--format", "podman"]);
    assert!(!stderr.contains("repository name"), "{stderr}");
    let (there, _) = profile(
        &dir.path().join("sub"),
        "oci:../app",
        &["--format", "podman"],
    );
    assert_eq!(sources(&here), sources(&there));
    let source = &sources(&here)[0];
    assert!(source.ends_with("-data"), "{source}");
    assert!(
        !source.contains("oci") && !source.contains("app"),
        "{source}"
    );

    let (compose, stderr) = profile(dir.path(), "oci:app", &["--format", "compose"]);
    assert!(
        stderr.contains("warning: oci:app carries no repository name"),
        "{stderr}"
    );
    assert!(!compose.contains("oci:app"), "{compose}");

    // A patch keeps the manifest's image fields, so it needs no name.
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n    - {name: app, image: registry.example/app:1}\n",
    )
    .unwrap();
    let (patched, stderr) = profile(
        dir.path(),
        "oci:app",
        &[
            "--format",
            "kubernetes",
            "--patch",
            manifest.to_str().unwrap(),
        ],
    );
    assert!(!stderr.contains("repository name"), "{stderr}");
    assert!(
        patched.contains("image: registry.example/app:1"),
        "{patched}"
    );
}

#[test]
fn volume_name_from_repo_tag() {
    let dir = tempfile::tempdir().unwrap();
    volume_image(&["/data"])
        .write_docker_archive(&dir.path().join("app.tar"), "localhost/tester/app:1");
    let (compose, stderr) = profile(
        dir.path(),
        "docker-archive:app.tar",
        &["--format", "compose"],
    );
    assert!(!stderr.contains("repository name"), "{stderr}");
    assert!(
        compose.contains("image: localhost/tester/app:1"),
        "{compose}"
    );
    assert!(compose.contains("app-1-data"), "{compose}");
}
