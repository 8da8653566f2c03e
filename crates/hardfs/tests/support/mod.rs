//! Test images written in code: OCI layouts and docker-archives with
//! real tar, gzip and sha256 bytes, and the hardfs command that reads them.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use hardfs_tar::{EntryBuilder, Writer};
use serde_json::json;
use sha2::{Digest, Sha256};

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

pub fn tar(entries: &[EntryBuilder]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    for entry in entries {
        writer.append(entry).unwrap();
    }
    writer.finish().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// An image to write: layers (uncompressed tars), history steps and config.
pub struct TestImage {
    pub layers: Vec<Vec<u8>>,
    pub steps: Vec<String>,
    pub config: serde_json::Value,
    /// DiffIDs written to the config instead of the layers' real ones.
    pub diff_ids: Option<Vec<String>>,
}

impl TestImage {
    pub fn new(layers: Vec<Vec<EntryBuilder>>, config: serde_json::Value) -> Self {
        let steps = (0..layers.len())
            .map(|index| format!("/bin/sh -c step {index}"))
            .collect();
        TestImage {
            layers: layers.iter().map(|entries| tar(entries)).collect(),
            steps,
            config,
            diff_ids: None,
        }
    }

    fn config_bytes(&self) -> Vec<u8> {
        let diff_ids: Vec<String> = match &self.diff_ids {
            Some(diff_ids) => diff_ids.clone(),
            None => self.layers.iter().map(|layer| sha256(layer)).collect(),
        };
        let history: Vec<_> = self
            .steps
            .iter()
            .map(|step| json!({"created_by": step}))
            .collect();
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }))
        .unwrap()
    }

    /// Writes a gzip OCI layout and returns its directory.
    pub fn write_oci(&self, dir: &Path) -> PathBuf {
        let manifest = self.write_manifest(dir, "amd64");
        let mut descriptor = manifest;
        descriptor["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
        write_index(dir, vec![descriptor]);
        dir.to_path_buf()
    }

    /// Writes this image's layers, config (for `architecture`) and manifest
    /// as blobs of the layout in `dir`, and returns the manifest descriptor.
    pub fn write_manifest(&self, dir: &Path, architecture: &str) -> serde_json::Value {
        let layers: Vec<_> = self
            .layers
            .iter()
            .map(|layer| {
                let (digest, size) = put_blob(dir, &gzip(layer));
                json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
            })
            .collect();
        let mut config: serde_json::Value = serde_json::from_slice(&self.config_bytes()).unwrap();
        config["architecture"] = json!(architecture);
        let (config_digest, config_size) = put_blob(dir, &serde_json::to_vec(&config).unwrap());
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": layers,
        }))
        .unwrap();
        let (digest, size) = put_blob(dir, &manifest);
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": {"os": "linux", "architecture": architecture},
        })
    }

    /// Writes a legacy docker-archive (`<id>/layer.tar`) and returns its path.
    pub fn write_docker_archive(&self, path: &Path, tag: &str) -> PathBuf {
        self.write_docker_archive_tags(path, &[tag])
    }

    /// Writes a docker-archive listing this image once per tag, as
    /// `docker save` of several tags does.
    pub fn write_docker_archive_tags(&self, path: &Path, tags: &[&str]) -> PathBuf {
        let config = self.config_bytes();
        let config_name = format!("{}.json", &sha256(&config)[7..]);
        let mut members = vec![EntryBuilder::file(&config_name, &config)];
        let mut layer_names = Vec::new();
        for layer in &self.layers {
            let name = format!("{}/layer.tar", &sha256(layer)[7..]);
            members.push(EntryBuilder::file(&name, layer));
            layer_names.push(name);
        }
        let manifest: Vec<_> = tags
            .iter()
            .map(|tag| json!({"Config": config_name, "RepoTags": [tag], "Layers": layer_names}))
            .collect();
        members.push(EntryBuilder::file(
            "manifest.json",
            serde_json::to_vec(&manifest).unwrap(),
        ));
        std::fs::write(path, tar(&members)).unwrap();
        path.to_path_buf()
    }
}

/// Stores a blob in the layout in `dir` and returns its digest and size.
pub fn put_blob(dir: &Path, data: &[u8]) -> (String, usize) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let digest = sha256(data);
    std::fs::write(blobs.join(&digest[7..]), data).unwrap();
    (digest, data.len())
}

/// Writes `index.json` and `oci-layout` for the given manifest descriptors.
pub fn write_index(dir: &Path, manifests: Vec<serde_json::Value>) {
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// The blob file of a layer (by index) in an OCI layout written above.
pub fn layer_blob(dir: &Path, index: usize) -> PathBuf {
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index_json["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("blobs/sha256").join(&manifest_digest[7..])).unwrap(),
    )
    .unwrap();
    let digest = manifest["layers"][index]["digest"].as_str().unwrap();
    dir.join("blobs/sha256").join(&digest[7..])
}

/// Returns the hardfs binary as a command, without colour or log settings
/// from the environment.
pub fn hardfs() -> Command {
    let mut command = Command::cargo_bin("hardfs").unwrap();
    command.env("NO_COLOR", "1").env_remove("HARDFS_LOG");
    command
}

/// Returns each finding of a JSON report as (slug, path); the path is empty
/// for a finding about the config.
pub fn slugs_and_paths(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["slug"].as_str().unwrap().to_string(),
                finding["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
