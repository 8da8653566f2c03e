//! Reading every layer once: its entries (metadata only, plus the account
//! files), its verified digests and its compression, and the merged tree.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use hardfs_fs::{read_layer, Layer, ReadOptions, Tree};
use hardfs_image::Image;
use hardfs_tar::{decompress, Compression};

use crate::hashing::Hashing;
use crate::HardenError;

/// Largest uncompressed layer read, in bytes; more is treated as a
/// decompression bomb.
pub const MAX_LAYER_SIZE: u64 = 64 << 30;

/// One layer as read from its blob.
#[derive(Clone, Debug)]
pub struct ScannedLayer {
    pub layer: Layer,
    /// Digest of the blob as stored.
    pub digest: String,
    pub blob_size: u64,
    pub compression: Compression,
}

/// Every layer of an image and the filesystem they merge into.
pub struct Scan {
    pub layers: Vec<ScannedLayer>,
    pub tree: Tree,
}

/// Reads every layer of `image`, on up to `threads` threads, checking each
/// blob digest (where the format names it) and each DiffID.
pub fn scan(image: &Image, threads: usize) -> Result<Scan, HardenError> {
    let mut options = ReadOptions::with_account_files();
    // The programs the image runs, so that a script's `#!` interpreter can
    // be checked against removed paths.
    options.capture_names.extend(
        [&image.config.entrypoint, &image.config.cmd]
            .into_iter()
            .filter_map(|words| words.first())
            .filter_map(|program| program.rsplit('/').next())
            .filter(|name| !name.is_empty())
            .map(|name| Box::from(name.as_bytes())),
    );
    scan_with(image, threads, &options)
}

/// Like [`scan`], keeping the contents that `options` asks for.
pub fn scan_with(
    image: &Image,
    threads: usize,
    options: &ReadOptions,
) -> Result<Scan, HardenError> {
    let count = image.layers.len();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<ScannedLayer, HardenError>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return;
                }
                let result = scan_layer(image, index, options);
                results.lock().expect("scan results lock")[index] = Some(result);
            });
        }
    });
    let mut layers = Vec::with_capacity(count);
    let mut tree = Tree::new();
    let results = results.into_inner().expect("scan results lock");
    for (index, result) in results.into_iter().enumerate() {
        let scanned = result.expect("every layer was scanned")?;
        tree.apply_layer(index, scanned.layer.clone())
            .map_err(|source| HardenError::Merge {
                layer: index,
                digest: scanned.digest.clone(),
                source,
            })?;
        layers.push(scanned);
    }
    Ok(Scan { layers, tree })
}

fn scan_layer(
    image: &Image,
    index: usize,
    options: &ReadOptions,
) -> Result<ScannedLayer, HardenError> {
    let info = &image.layers[index];
    let (blob, _) = image.open_layer_blob(index).map_err(HardenError::Image)?;
    let mut blob = Hashing::new(blob);
    let tar_error = |source| HardenError::LayerTar {
        layer: index,
        digest: info.digest.clone(),
        source,
    };
    let (compression, stream) = match decompress(&mut blob, MAX_LAYER_SIZE) {
        Ok(opened) => opened,
        Err(source) => return Err(blob_mismatch(image, index).unwrap_or(tar_error(source))),
    };
    let mut stream = Hashing::new(stream);
    let layer = match read_layer(&mut stream, options) {
        Ok(layer) => layer,
        Err(source) => {
            drop(stream);
            let error = HardenError::Layer {
                layer: index,
                digest: info.digest.clone(),
                source,
            };
            return Err(blob_mismatch(image, index).unwrap_or(error));
        }
    };
    let (stream, diff_id, _) = stream.finish();
    drop(stream);
    // The decompressor may stop before the blob's last bytes.
    std::io::copy(&mut blob, &mut std::io::sink())
        .map_err(|source| tar_error(hardfs_tar::TarError::Io { offset: 0, source }))?;
    let (_, digest, blob_size) = blob.finish();

    // The blob digest first: a damaged blob also changes the DiffID.
    if !info.digest.is_empty() && digest != info.digest {
        return Err(HardenError::DigestMismatch {
            layer: index,
            what: "blob digest",
            expected: info.digest.clone(),
            actual: digest,
        });
    }
    if diff_id != info.diff_id {
        return Err(HardenError::DigestMismatch {
            layer: index,
            what: "DiffID",
            expected: info.diff_id.clone(),
            actual: diff_id,
        });
    }
    tracing::debug!(layer = index, %digest, compression = compression.as_str(), "read layer");
    Ok(ScannedLayer {
        layer,
        digest,
        blob_size,
        compression,
    })
}

/// Hashes the blob of a layer that could not be parsed, because a damaged
/// blob is the likelier cause. Returns the mismatch when the format names
/// the blob's digest and the hash differs.
fn blob_mismatch(image: &Image, index: usize) -> Option<HardenError> {
    let expected = &image.layers[index].digest;
    if expected.is_empty() {
        return None;
    }
    let (blob, _) = image.open_layer_blob(index).ok()?;
    let mut blob = Hashing::new(blob);
    std::io::copy(&mut blob, &mut std::io::sink()).ok()?;
    let (_, actual, _) = blob.finish();
    (actual != *expected).then(|| HardenError::DigestMismatch {
        layer: index,
        what: "blob digest",
        expected: expected.clone(),
        actual,
    })
}
