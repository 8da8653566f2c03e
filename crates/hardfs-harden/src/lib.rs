//! Rewriting a container image so that its filesystem is hardened.
//!
//! [`prepare`] reads every layer once and computes a [`Plan`]: each header
//! edit with its reason (setuid, setgid and capabilities cleared,
//! world-write removed, what the runtime user could write locked to root),
//! the runtime user, and the volumes kept. [`write`] then writes a new
//! image: layers with an entry to change are re-emitted with only those
//! headers patched, untouched layers are copied byte for byte (so their
//! digests stay the same), and the configuration, history and manifest are
//! updated. The same input and options give byte-identical output.

mod append;
mod compress;
mod error;
mod hashing;
mod metadata;
mod options;
mod output;
mod plan;
mod remove;
mod rewrite;
mod rootfs;
mod scan;
mod user;

pub use compress::{
    GZIP_BLOCK_SIZE, GZIP_FALLBACK_LEVEL, GZIP_LEVEL, ZSTD_FALLBACK_LEVEL, ZSTD_LEVEL,
};
pub use error::HardenError;
pub use metadata::INPUT_ANNOTATION;
pub use options::{HardenOptions, OutputFormat, OutputReference};
pub use output::remove_staging_files;
pub use plan::{Action, Change, DroppedVolume, EntryEdit, KeptPath, Metadata, Plan};
pub use remove::preset;
pub use rootfs::{harden_rootfs, RootfsOutcome};
pub use scan::{Scan, ScannedLayer};
pub use user::{CreatedUser, RuntimeUser};

use std::collections::BTreeSet;
use std::time::Instant;

use hardfs_image::Image;
use hardfs_tar::{Compression, EntryBuilder};
use serde::Serialize;

use metadata::OutputLayer;
use output::Staging;

/// Origin of one output layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerAction {
    /// Copied byte for byte.
    Copied,
    /// Re-emitted with patched headers.
    Rewritten,
    /// Added by hardfs: account files of a created user and whiteouts of
    /// removed paths.
    Added,
}

/// One layer of the output with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerOutcome {
    /// Position in the output, base layer = 0.
    pub index: usize,
    pub action: LayerAction,
    /// Digest of the input blob; empty for an added layer.
    pub input_digest: String,
    pub digest: String,
    pub size: u64,
    pub compression: &'static str,
    /// Compression level of a rewritten or added layer: 0 without
    /// compression, a fallback level when the first try exceeded the
    /// input blob by more than 1 %. `None` for a copied layer.
    pub compression_level: Option<i32>,
    /// Entries whose headers were patched.
    pub patched_entries: u64,
    /// Uncompressed bytes and seconds spent, for rewritten layers.
    pub tar_bytes: u64,
    pub seconds: f64,
    /// CPU seconds that the whole process, all threads, used while this
    /// layer was written. Compared with `seconds`, it shows how much CPU
    /// the layer got on a shared machine.
    pub cpu_seconds: f64,
}

/// The written image.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub output: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layers: Vec<LayerOutcome>,
}

/// Reads the image's layers and plans the changes.
pub fn prepare(image: &Image, options: &HardenOptions) -> Result<(Scan, Plan), HardenError> {
    if image.layers.is_empty() && image.config_bytes.is_empty() {
        return Err(HardenError::RootDirectoryInput);
    }
    let scan = scan::scan(image, options.thread_count())?;
    let plan = plan::plan(&scan, &image.config, options)?;
    Ok((scan, plan))
}

/// Writes the hardened image to `output`.
pub fn write(
    image: &Image,
    scan: &Scan,
    plan: &Plan,
    options: &HardenOptions,
    output: &OutputReference,
) -> Result<Outcome, HardenError> {
    let staging = Staging::create(output)?;
    let blobs = staging.blobs();
    let threads = options.thread_count();
    let rewritten: BTreeSet<usize> = if options.append {
        BTreeSet::new()
    } else {
        plan.rewritten_layers().into_iter().collect()
    };
    let appended = if options.append {
        append::appended_entries(image, scan, plan, threads)?
    } else {
        Vec::new()
    };
    let input_annotations = metadata::input_layer_annotations(image.manifest_bytes.as_deref());

    let mut layers = Vec::new();
    let mut outcomes = Vec::new();
    for (index, scanned) in scan.layers.iter().enumerate() {
        let info = &image.layers[index];
        let started = Instant::now();
        let cpu_started = process_cpu_seconds();
        let (layer, outcome) = if rewritten.contains(&index) {
            let compression = options.compression.unwrap_or(scanned.compression);
            tracing::debug!(layer = index, "rewriting layer: it has entries to change");
            let digests_in_use: Vec<&str> = layers
                .iter()
                .map(|layer: &OutputLayer| layer.digest.as_str())
                .collect();
            let blob = rewrite::rewrite_layer_within_bound(
                image,
                index,
                &plan.edits[index],
                compression,
                scanned.blob_size,
                threads,
                &blobs,
                &digests_in_use,
            )?;
            let layer = OutputLayer {
                rewritten: true,
                digest: blob.digest.clone(),
                size: blob.size,
                diff_id: blob.diff_id.clone(),
                media_type: metadata::layer_media_type(compression).into(),
                annotations: None,
            };
            let outcome = LayerOutcome {
                index,
                action: LayerAction::Rewritten,
                input_digest: scanned.digest.clone(),
                digest: blob.digest,
                size: blob.size,
                compression: compression.as_str(),
                compression_level: Some(blob.level),
                patched_entries: blob.patched,
                tar_bytes: blob.tar_size,
                seconds: started.elapsed().as_secs_f64(),
                cpu_seconds: process_cpu_seconds() - cpu_started,
            };
            (layer, outcome)
        } else {
            tracing::debug!(layer = index, "copying layer: nothing to change");
            let (digest, size) = rewrite::copy_layer(image, index, &blobs)?;
            if digest != scanned.digest {
                return Err(HardenError::DigestMismatch {
                    layer: index,
                    what: "blob digest (changed while hardening)",
                    expected: scanned.digest.clone(),
                    actual: digest,
                });
            }
            let media_type = match &info.media_type {
                Some(media_type) if media_type.starts_with("application/vnd.oci.") => {
                    media_type.clone()
                }
                _ => metadata::layer_media_type(scanned.compression).into(),
            };
            let layer = OutputLayer {
                rewritten: false,
                digest: digest.clone(),
                size,
                diff_id: info.diff_id.clone(),
                media_type,
                annotations: input_annotations.get(index).cloned().flatten(),
            };
            let outcome = LayerOutcome {
                index,
                action: LayerAction::Copied,
                input_digest: scanned.digest.clone(),
                digest,
                size,
                compression: scanned.compression.as_str(),
                compression_level: None,
                patched_entries: 0,
                tar_bytes: 0,
                seconds: started.elapsed().as_secs_f64(),
                cpu_seconds: process_cpu_seconds() - cpu_started,
            };
            (layer, outcome)
        };
        layers.push(layer);
        outcomes.push(outcome);
    }

    if plan.adds_layer() || !appended.is_empty() {
        let compression = options.compression.unwrap_or_else(|| {
            scan.layers
                .last()
                .map_or(Compression::Gzip, |layer| layer.compression)
        });
        let mut entries = appended;
        entries.extend(added_entries(scan, plan));
        let blob = rewrite::write_layer(&entries, compression, threads, &blobs)?;
        outcomes.push(LayerOutcome {
            index: layers.len(),
            action: LayerAction::Added,
            input_digest: String::new(),
            digest: blob.digest.clone(),
            size: blob.size,
            compression: compression.as_str(),
            compression_level: Some(blob.level),
            patched_entries: 0,
            tar_bytes: blob.tar_size,
            seconds: 0.0,
            cpu_seconds: 0.0,
        });
        layers.push(OutputLayer {
            rewritten: true,
            digest: blob.digest,
            size: blob.size,
            diff_id: blob.diff_id,
            media_type: metadata::layer_media_type(compression).into(),
            annotations: None,
        });
    }

    let config = metadata::config(
        &image.config_bytes,
        plan,
        &layers,
        &rewritten,
        plan.adds_layer() || options.append,
    )?;
    let (config_digest, config_size) = staging.write_blob(&config)?;
    let input_name = image
        .manifest_digest
        .clone()
        .unwrap_or_else(|| image.config_digest.clone());
    let manifest = metadata::manifest(
        image.manifest_bytes.as_deref(),
        &input_name,
        &config_digest,
        config_size,
        &layers,
    );
    let layer_digests: Vec<String> = layers.iter().map(|layer| layer.digest.clone()).collect();
    let manifest_digest = staging.commit(&manifest, &config_digest, &layer_digests)?;
    Ok(Outcome {
        output: output.path.display().to_string(),
        manifest_digest,
        config_digest,
        layers: outcomes,
    })
}

fn process_cpu_seconds() -> f64 {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    time.tv_sec as f64 + time.tv_nsec as f64 / 1e9
}

/// Entries of the layer hardfs adds: `/etc/passwd` and `/etc/group` with
/// the created user (keeping the mode and owner the image gave them), and
/// a whiteout for each removed path.
fn added_entries(scan: &Scan, plan: &Plan) -> Vec<EntryBuilder> {
    let mut entries = Vec::new();
    if let Some(created) = plan.user.as_ref().and_then(|user| user.created.as_ref()) {
        for (path, content) in [
            ("etc/passwd", &created.passwd),
            ("etc/group", &created.group),
        ] {
            let (mode, uid, gid) = scan
                .tree
                .lookup(path.as_bytes())
                .map(|file| file.inode())
                .map_or((0o644, 0, 0), |inode| (inode.mode, inode.uid, inode.gid));
            entries.push(
                EntryBuilder::file(path, content)
                    .mode(mode & !0o6022)
                    .owner(uid, gid),
            );
        }
    }
    for path in &plan.whiteouts {
        entries.push(EntryBuilder::file(remove::whiteout_name(path), []).mode(0o600));
    }
    entries
}
