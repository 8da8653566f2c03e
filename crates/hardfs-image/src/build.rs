//! Building the merged tree: layers are read and verified in parallel and
//! applied in order as soon as each is ready.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use hardfs_fs::{read_layer, Layer, ReadOptions, Tree};
use std::io::Read;

use hardfs_tar::{decompress_digest_checked, sniff, with_read_ahead, Compression};

use crate::config::LayerInfo;
use crate::digest::{HashingReader, Tally};
use crate::store::Store;
use crate::{rootfs, Image, ImageError, Source};

/// How to read layers.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub read: ReadOptions,
    /// Largest uncompressed size of one layer, in bytes; more is treated as
    /// a decompression bomb.
    pub max_layer_size: u64,
    /// Layers read at once; 0 means one per available CPU.
    pub threads: usize,
    /// Called after each layer is applied, with the count applied so far.
    pub progress: Option<Progress>,
}

/// A callback for progress display, shared with the reading threads.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            read: ReadOptions::with_account_files(),
            max_layer_size: 64 << 30,
            threads: 0,
            progress: None,
        }
    }
}

/// The merged tree and what reading the layers found.
pub struct BuildOutput {
    pub tree: Tree,
    /// Layers with the blob digests computed while reading.
    pub layers: Vec<LayerInfo>,
    /// Compression of each layer, by magic bytes.
    pub compressions: Vec<Compression>,
    /// Problems that did not stop the build.
    pub warnings: Vec<String>,
    /// Entries read, over all layers.
    pub entries: u64,
}

impl Image {
    /// Reads every layer, verifies its digests and applies it to a new tree.
    pub fn build_tree(&self, options: &BuildOptions) -> Result<BuildOutput, ImageError> {
        match &self.source {
            Source::RootDirectory(path) => rootfs::build(path, &options.read),
            Source::Layers(store) => {
                build_from_layers(&**store, &self.layers, options, &self.warnings)
            }
        }
    }
}

struct ReadLayer {
    layer: Layer,
    digest: String,
    blob_size: u64,
    compression: Compression,
}

fn build_from_layers(
    store: &dyn Store,
    layers: &[LayerInfo],
    options: &BuildOptions,
    warnings: &[String],
) -> Result<BuildOutput, ImageError> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        count => count,
    }
    .min(layers.len().max(1));
    // Workers may run this many layers ahead of the one being applied,
    // which bounds the memory held by parsed but unapplied layers.
    let window = threads + 1;
    let next = AtomicUsize::new(0);
    let applied = (Mutex::new(0usize), Condvar::new());
    let (sender, receiver) = mpsc::channel::<(usize, Result<ReadLayer, ImageError>)>();

    let mut output = BuildOutput {
        tree: Tree::new(),
        layers: layers.to_vec(),
        compressions: Vec::with_capacity(layers.len()),
        warnings: warnings.to_vec(),
        entries: 0,
    };
    std::thread::scope(|scope| -> Result<(), ImageError> {
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, applied) = (&next, &applied);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= layers.len() {
                    return;
                }
                let mut done = applied.0.lock().expect("layer window lock");
                while index >= *done + window {
                    done = applied.1.wait(done).expect("layer window lock");
                }
                drop(done);
                let result = read_one(store, &layers[index], options);
                if sender.send((index, result)).is_err() {
                    return;
                }
            });
        }
        drop(sender);

        let mut pending = BTreeMap::new();
        let mut expected = 0;
        let result = (|| {
            for (index, result) in receiver.iter() {
                pending.insert(index, result);
                while let Some(result) = pending.remove(&expected) {
                    let read = result?;
                    apply(&mut output, expected, read)?;
                    expected += 1;
                    if let Some(progress) = &options.progress {
                        (progress.0)(expected);
                    }
                    *applied.0.lock().expect("layer window lock") = expected;
                    applied.1.notify_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Let waiting workers run out of work instead of blocking.
            next.store(layers.len(), Ordering::SeqCst);
            *applied.0.lock().expect("layer window lock") = usize::MAX / 2;
            applied.1.notify_all();
        }
        result
    })?;
    Ok(output)
}

fn apply(output: &mut BuildOutput, index: usize, read: ReadLayer) -> Result<(), ImageError> {
    let info = &mut output.layers[index];
    info.digest = read.digest;
    info.size = Some(read.blob_size);
    if let Some(warning) = media_type_warning(info, read.compression) {
        output.warnings.push(warning);
    }
    output.compressions.push(read.compression);
    output.entries += (read.layer.entries.len() + read.layer.whiteouts.len()) as u64;
    let what = describe(info);
    tracing::debug!(
        layer = index,
        entries = read.layer.entries.len(),
        "applying layer"
    );
    output
        .tree
        .apply_layer(index, read.layer)
        .map_err(|source| ImageError::Layer { what, source })
}

/// Bytes per chunk handed between the threads that read a layer. Small
/// chunks keep the memory of several layers read at once low.
const READ_AHEAD_CHUNK: usize = 128 * 1024;

/// Reads one layer blob, checking its digest, size and DiffID.
fn read_one(
    store: &dyn Store,
    info: &LayerInfo,
    options: &BuildOptions,
) -> Result<ReadLayer, ImageError> {
    let what = describe(info);
    let (mut blob, size) = store.open(&info.blob)?;
    let head = read_head(&mut blob).map_err(|source| store.io_error(&info.blob, source))?;
    let compressed = matches!(sniff(&head), Ok(Compression::Gzip | Compression::Zstd));
    let (blob, blob_tally) = HashingReader::new(std::io::Cursor::new(head).chain(blob));

    // A compressed layer is read in three threads: one reads and hashes
    // the blob, one decompresses it, and one hashes and parses the tar. An
    // uncompressed blob is the tar itself, so its digest is the DiffID.
    let read = if compressed {
        with_read_ahead(blob, READ_AHEAD_CHUNK, |blob| open_and_read(blob, options))
    } else {
        open_and_read(blob, options)
    };
    let (layer, tar_tally) = match read {
        Ok(read) => read,
        Err(failure) => {
            check_blob_digest(store, info, &what)?;
            if compressed && !failure.is_bomb() {
                check_decompression(store, info, options, &what)?;
            }
            let what = match media_type_warning(info, Compression::None) {
                Some(_) if !compressed => format!(
                    "{what}, which its media type `{}` calls compressed but which does not \
                     start with gzip's or zstd's magic bytes, so it was read as a tar,",
                    info.media_type.as_deref().unwrap_or_default()
                ),
                _ => what,
            };
            return Err(match failure {
                ReadFailure::Tar(source) => ImageError::Tar { what, source },
                ReadFailure::Layer(source) => ImageError::Layer { what, source },
            });
        }
    };
    let compression = tar_tally
        .as_ref()
        .map_or(Compression::None, |(compression, _)| *compression);

    let (digest, blob_size) = blob_tally.finish();
    if let Some(expected) = info.size {
        if expected != blob_size || blob_size != size {
            return Err(ImageError::SizeMismatch {
                what,
                expected,
                actual: blob_size,
            });
        }
    }
    if info.digest_known && digest != info.digest {
        return Err(ImageError::DigestMismatch {
            what,
            expected: info.digest.clone(),
            actual: digest,
        });
    }
    let diff_id = match tar_tally {
        Some((_, tally)) => tally.finish().0,
        None => digest.clone(),
    };
    if diff_id != info.diff_id {
        return Err(ImageError::DigestMismatch {
            what: format!("{what} DiffID"),
            expected: info.diff_id.clone(),
            actual: diff_id,
        });
    }
    Ok(ReadLayer {
        blob_size,
        layer,
        digest,
        compression,
    })
}

/// Why a layer blob could not be read: its compression or its tar.
enum ReadFailure {
    Tar(hardfs_tar::TarError),
    Layer(hardfs_fs::FsError),
}

impl ReadFailure {
    /// Returns whether the decompressed stream passed the size limit. The
    /// decompressor already named that cause, and decompressing the blob
    /// once more would take as long again.
    fn is_bomb(&self) -> bool {
        let mut error: Option<&(dyn std::error::Error + 'static)> = match self {
            ReadFailure::Tar(error) => Some(error),
            ReadFailure::Layer(error) => Some(error),
        };
        while let Some(current) = error {
            let inner = current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map_or(current, |inner| inner as &(dyn std::error::Error + 'static));
            if matches!(
                inner.downcast_ref::<hardfs_tar::TarError>(),
                Some(hardfs_tar::TarError::Bomb { .. })
            ) {
                return true;
            }
            error = current.source();
        }
        false
    }
}

/// Decompresses a blob and reads its tar, hashing the tar on the way when
/// it was compressed; the tally is absent for an uncompressed blob, whose
/// own digest is its DiffID.
fn open_and_read(
    blob: impl Read + Send,
    options: &BuildOptions,
) -> Result<(Layer, Option<(Compression, Tally)>), ReadFailure> {
    let (compression, stream) =
        decompress_digest_checked(blob, options.max_layer_size).map_err(ReadFailure::Tar)?;
    if compression == Compression::None {
        return read_layer(stream, &options.read)
            .map(|layer| (layer, None))
            .map_err(ReadFailure::Layer);
    }
    with_read_ahead(stream, READ_AHEAD_CHUNK, |tar| {
        let (tar, tally) = HashingReader::new(tar);
        read_layer(tar, &options.read)
            .map(|layer| (layer, Some((compression, tally))))
            .map_err(ReadFailure::Layer)
    })
}

/// Reads the first bytes of a blob, enough for [`sniff`], or fewer at its end.
fn read_head(blob: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(8);
    blob.take(8).read_to_end(&mut head)?;
    Ok(head)
}

/// Hashes a whole blob whose content failed to parse: a blob that does not
/// match its descriptor is reported as that, the plainer cause.
fn check_blob_digest(store: &dyn Store, info: &LayerInfo, what: &str) -> Result<(), ImageError> {
    if !info.digest_known {
        return Ok(());
    }
    let (blob, _) = store.open(&info.blob)?;
    let (mut blob, tally) = HashingReader::new(blob);
    if std::io::copy(&mut blob, &mut std::io::sink()).is_err() {
        return Ok(());
    }
    let (actual, _) = tally.finish();
    if actual != info.digest {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: info.digest.clone(),
            actual,
        });
    }
    Ok(())
}

/// Decompresses a whole compressed blob whose tar failed to parse. Damage
/// in the compressed stream is the plainer cause, and the tar reader may
/// have met the damaged bytes before the gzip trailer revealed them.
fn check_decompression(
    store: &dyn Store,
    info: &LayerInfo,
    options: &BuildOptions,
    what: &str,
) -> Result<(), ImageError> {
    let (blob, _) = store.open(&info.blob)?;
    let (compression, mut stream) =
        hardfs_tar::decompress(blob, options.max_layer_size).map_err(|source| ImageError::Tar {
            what: what.to_string(),
            source,
        })?;
    match std::io::copy(&mut stream, &mut std::io::sink()) {
        Ok(_) => Ok(()),
        Err(source) => Err(ImageError::Tar {
            what: what.to_string(),
            source: hardfs_tar::TarError::Decompress {
                compression: compression.as_str(),
                source,
            },
        }),
    }
}

fn describe(info: &LayerInfo) -> String {
    if info.digest.is_empty() {
        format!("layer {} (`{}`)", info.index, info.blob)
    } else {
        format!("layer {} ({})", info.index, info.digest)
    }
}

/// Flags a media type that claims another compression than the blob has,
/// or a zstd layer under a Docker media type, which defines none.
fn media_type_warning(info: &LayerInfo, compression: Compression) -> Option<String> {
    let media_type = info.media_type.as_deref()?;
    let claimed = if media_type.ends_with("+gzip") || media_type.ends_with(".tar.gzip") {
        Compression::Gzip
    } else if media_type.ends_with("+zstd") || media_type.ends_with(".tar.zstd") {
        Compression::Zstd
    } else {
        Compression::None
    };
    if claimed != compression {
        let actual = match compression {
            Compression::None => "an uncompressed tar".to_string(),
            other => format!("{}-compressed", other.as_str()),
        };
        return Some(format!(
            "layer {} ({}) has media type `{media_type}` but its blob is {actual}; it was read by its magic bytes",
            info.index, info.digest
        ));
    }
    if media_type.starts_with("application/vnd.docker.") && compression == Compression::Zstd {
        return Some(format!(
            "layer {} ({}) uses `{media_type}`: zstd is defined only for OCI media types, and Docker rejects it",
            info.index, info.digest
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bomb_found_inside_io_error() {
        let bomb = hardfs_tar::TarError::Io {
            offset: 512,
            source: std::io::Error::other(hardfs_tar::TarError::Bomb { max: 100 }),
        };
        assert!(ReadFailure::Layer(hardfs_fs::FsError::Tar(bomb)).is_bomb());
        assert!(ReadFailure::Tar(hardfs_tar::TarError::Bomb { max: 100 }).is_bomb());

        let damaged = hardfs_tar::TarError::Io {
            offset: 512,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "bad CRC"),
        };
        assert!(!ReadFailure::Layer(hardfs_fs::FsError::Tar(damaged)).is_bomb());
    }
}
