//! Writing the output image. Everything is written under a temporary name
//! beside the output and renamed into place only when complete; a failure
//! removes the temporary files and leaves no output.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hardfs_tar::{EntryBuilder, Writer};
use serde_json::json;

use crate::hashing::sha256;
use crate::options::{OutputFormat, OutputReference};
use crate::HardenError;

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Staging directories and temporary archives that exist now, so that a
/// signal handler can remove them (a signal ends the process without
/// running `Drop`).
static STAGING_PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn staging_paths() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    STAGING_PATHS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn forget(path: &Path) {
    staging_paths().retain(|staged| staged != path);
}

/// Removes the staging files of every write in progress. For a signal
/// handler: the write it interrupts leaves no partial output behind.
pub fn remove_staging_files() {
    for path in std::mem::take(&mut *staging_paths()) {
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if let Err(error) = removed {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), %error, "cannot remove staging files");
            }
        }
    }
}

/// A staging directory laid out as an OCI image layout.
pub struct Staging {
    dir: PathBuf,
    output: OutputReference,
    /// Temporary archive file, while one is being written.
    archive: Option<PathBuf>,
    committed: bool,
}

impl Staging {
    /// Creates the staging directory. Fails when the output exists.
    pub fn create(output: &OutputReference) -> Result<Staging, HardenError> {
        if output.path.symlink_metadata().is_ok() {
            return Err(HardenError::OutputExists {
                path: output.path.clone(),
            });
        }
        let dir = temporary_sibling(&output.path, "staging");
        staging_paths().push(dir.clone());
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).map_err(|source| HardenError::Write {
            path: blobs.clone(),
            source,
        })?;
        Ok(Staging {
            dir,
            output: output.clone(),
            archive: None,
            committed: false,
        })
    }

    pub fn blobs(&self) -> PathBuf {
        self.dir.join("blobs/sha256")
    }

    /// Writes a small blob and returns its digest and size.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<(String, u64), HardenError> {
        let digest = sha256(bytes);
        let path = crate::rewrite::blob_path(&self.blobs(), &digest);
        write_file(&path, bytes)?;
        Ok((digest, bytes.len() as u64))
    }

    /// Writes the index (or docker-archive manifest) and moves the result
    /// to the output path. Returns the manifest digest.
    pub fn commit(
        mut self,
        manifest: &[u8],
        config_digest: &str,
        layer_digests: &[String],
    ) -> Result<String, HardenError> {
        let (manifest_digest, manifest_size) = self.write_blob(manifest)?;
        match self.output.format {
            OutputFormat::Oci | OutputFormat::OciArchive => {
                let mut descriptor = json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_digest,
                    "size": manifest_size,
                });
                if let Some(name) = &self.output.name {
                    descriptor["annotations"] = json!({ REF_NAME: name });
                }
                let index = json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [descriptor],
                });
                write_file(&self.dir.join("index.json"), &to_bytes(&index))?;
                write_file(&self.dir.join("oci-layout"), OCI_LAYOUT)?;
            }
            OutputFormat::DockerArchive => {
                let blob =
                    |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
                let tags: Vec<String> = self.output.name.iter().cloned().collect();
                let items = json!([{
                    "Config": blob(config_digest),
                    "RepoTags": tags,
                    "Layers": layer_digests.iter().map(|digest| blob(digest)).collect::<Vec<_>>(),
                }]);
                write_file(&self.dir.join("manifest.json"), &to_bytes(&items))?;
                // The OCI manifest blob is not referenced from manifest.json.
                let path = crate::rewrite::blob_path(&self.blobs(), &manifest_digest);
                fs::remove_file(&path).map_err(|source| HardenError::Write { path, source })?;
            }
        }
        self.publish()?;
        Ok(manifest_digest)
    }

    fn publish(&mut self) -> Result<(), HardenError> {
        let target = self.output.path.clone();
        let rename = |from: &Path| {
            fs::rename(from, &target).map_err(|source| HardenError::Write {
                path: target.clone(),
                source,
            })
        };
        if self.output.format == OutputFormat::Oci {
            // Forgotten first: once renamed, the directory is the output.
            forget(&self.dir);
            rename(&self.dir)?;
            self.committed = true;
            return Ok(());
        }
        let archive = temporary_sibling(&target, "archive");
        staging_paths().push(archive.clone());
        self.archive = Some(archive.clone());
        write_archive(&self.dir, &archive)?;
        if target.symlink_metadata().is_ok() {
            return Err(HardenError::OutputExists { path: target });
        }
        forget(&archive);
        rename(&archive)?;
        self.archive = None;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
            forget(&self.dir);
        }
        if let Some(archive) = &self.archive {
            let _ = fs::remove_file(archive);
            forget(archive);
        }
    }
}

/// A hidden name beside `path`, unique to this process.
fn temporary_sibling(path: &Path, purpose: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.hardfs-{purpose}-{}", std::process::id()))
}

fn to_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), HardenError> {
    fs::write(path, bytes).map_err(|source| HardenError::Write {
        path: path.into(),
        source,
    })
}

/// Writes the staging directory as a tar: names sorted, owner root, mtime
/// 0, so the same files always give the same archive.
fn write_archive(dir: &Path, archive: &Path) -> Result<(), HardenError> {
    let write_error = |source| HardenError::Write {
        path: archive.into(),
        source,
    };
    let file = File::create(archive).map_err(write_error)?;
    let mut writer = Writer::new(BufWriter::with_capacity(1 << 20, file));
    for (name, is_dir) in list_files(dir)? {
        if is_dir {
            writer
                .append(&EntryBuilder::dir(format!("{name}/")))
                .map_err(write_error)?;
            continue;
        }
        let path = dir.join(&name);
        let read_error = |source| HardenError::Read {
            path: path.clone(),
            source,
        };
        let mut content = File::open(&path).map_err(read_error)?;
        let size = content.metadata().map_err(read_error)?.len();
        writer
            .append_stream(&EntryBuilder::file(&name, []), size, &mut content)
            .map_err(write_error)?;
    }
    let mut sink = writer.finish().map_err(write_error)?;
    sink.flush().map_err(write_error)?;
    sink.into_inner()
        .map_err(|error| write_error(error.into_error()))?
        .sync_all()
        .map_err(write_error)
}

/// Relative names under `dir`, sorted, directories before their contents.
fn list_files(dir: &Path) -> Result<Vec<(String, bool)>, HardenError> {
    let mut out = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let path = dir.join(&relative);
        let read_error = |source| HardenError::Read {
            path: path.clone(),
            source,
        };
        for entry in fs::read_dir(&path).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let full = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let is_dir = entry.file_type().map_err(read_error)?.is_dir();
            if is_dir {
                pending.push(full.clone());
            }
            out.push((full, is_dir));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_cleanup_removes_staging_files() {
        let scratch = tempfile::tempdir().unwrap();
        let output = OutputReference::parse(&format!(
            "oci-archive:{}",
            scratch.path().join("out.tar").display()
        ))
        .unwrap();
        let staging = Staging::create(&output).unwrap();
        let dir = staging.dir.clone();
        std::fs::write(staging.blobs().join("partial"), b"x").unwrap();
        assert!(dir.is_dir());

        remove_staging_files();
        assert!(!dir.exists());
        assert!(!staging_paths().contains(&dir));
        drop(staging);
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    }
}
