//! Writing layer blobs: a patched copy of a layer (headers rewritten,
//! contents streamed, DiffID and blob digest computed in the same pass), a
//! byte-for-byte copy of an untouched layer, or a new layer built here.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use hardfs_fs::normalize;
use hardfs_image::Image;
use hardfs_tar::{decompress, patch_stream, Compression, EntryBuilder, Limits, Writer};

use crate::compress::{Effort, Encoder};
use crate::hashing::Hashing;
use crate::plan::EntryEdit;
use crate::scan::MAX_LAYER_SIZE;
use crate::HardenError;

/// Bytes per chunk of the input read ahead of the patcher.
const READ_AHEAD_CHUNK: usize = 1 << 20;

/// A blob written to the output's `blobs/sha256` directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenBlob {
    pub digest: String,
    pub size: u64,
    /// Digest of the uncompressed tar.
    pub diff_id: String,
    pub compression: Compression,
    /// Entries whose headers were patched.
    pub patched: u64,
    /// Bytes of uncompressed tar written.
    pub tar_size: u64,
    /// Compression level, 0 without compression.
    pub level: i32,
}

/// Rewrites layer `index` with the headers of `edits` patched.
pub fn rewrite_layer(
    image: &Image,
    index: usize,
    edits: &BTreeMap<Box<[u8]>, EntryEdit>,
    compression: Compression,
    effort: Effort,
    threads: usize,
    blobs: &Path,
) -> Result<WrittenBlob, HardenError> {
    let digest = image.layers[index].digest.clone();
    let tar_error = |source| HardenError::LayerTar {
        layer: index,
        digest: digest.clone(),
        source,
    };
    let (blob, _) = image.open_layer_blob(index).map_err(HardenError::Image)?;
    let (_, stream) = decompress(blob, MAX_LAYER_SIZE).map_err(tar_error)?;

    let temporary = blobs.join(format!(".layer-{index}.partial"));
    let sink = BlobSink::create(&temporary, compression, effort, threads)?;
    // Inflating the input runs on its own thread, so that it overlaps with
    // hashing and compressing the output instead of adding to them.
    let (sink, stats) = hardfs_tar::with_read_ahead(stream, READ_AHEAD_CHUNK, |input| {
        patch_stream(input, sink, Limits::default(), |entry| {
            let path = normalize(&entry.path).ok()?;
            edits.get(&path)?.patch_for(entry)
        })
    })
    .map_err(|error| match error {
        // A full disk is a failure to write the output, not to read the layer.
        hardfs_tar::TarError::Write { source, .. } => HardenError::Write {
            path: temporary.clone(),
            source,
        },
        error => tar_error(error),
    })?;
    let mut written = sink.finish(&temporary, blobs)?;
    written.patched = stats.patched;
    tracing::debug!(
        layer = index,
        patched = stats.patched,
        digest = %written.digest,
        "rewrote layer"
    );
    Ok(written)
}

/// Rewrites layer `index` like [`rewrite_layer`], and once more at the
/// fallback level if the blob came out more than 1 % larger than the input
/// blob of `input_size` bytes. `digests_in_use` are blobs of other output
/// layers, which the first try must not delete when it has the same digest.
#[allow(clippy::too_many_arguments)]
pub fn rewrite_layer_within_bound(
    image: &Image,
    index: usize,
    edits: &BTreeMap<Box<[u8]>, EntryEdit>,
    compression: Compression,
    input_size: u64,
    threads: usize,
    blobs: &Path,
    digests_in_use: &[&str],
) -> Result<WrittenBlob, HardenError> {
    let bound = size_bound(input_size);
    let fast = rewrite_layer(
        image,
        index,
        edits,
        compression,
        Effort::Fast,
        threads,
        blobs,
    )?;
    if fast.size <= bound || compression == Compression::None {
        return Ok(fast);
    }
    tracing::info!(
        layer = index,
        size = fast.size,
        input_size,
        "rewritten layer is more than 1 % larger than its input, compressing it again at the fallback level"
    );
    if !digests_in_use.contains(&fast.digest.as_str()) {
        let path = blob_path(blobs, &fast.digest);
        std::fs::remove_file(&path).map_err(|source| HardenError::Write { path, source })?;
    }
    let small = rewrite_layer(
        image,
        index,
        edits,
        compression,
        Effort::Fallback,
        threads,
        blobs,
    )?;
    if small.size > bound {
        tracing::warn!(
            layer = index,
            size = small.size,
            input_size,
            "rewritten layer is more than 1 % larger than its input even at the fallback level"
        );
    }
    Ok(small)
}

/// Returns the largest size a rewritten layer may have before it is
/// compressed again: its input's size plus 1 %, but at least 1 KiB more.
/// A layer of a few hundred bytes grows by more than 1 % from a different
/// gzip header alone.
fn size_bound(input_size: u64) -> u64 {
    input_size + (input_size / 100).max(1024)
}

/// Copies layer `index` byte for byte and checks its digest again.
pub fn copy_layer(image: &Image, index: usize, blobs: &Path) -> Result<(String, u64), HardenError> {
    let (blob, _) = image.open_layer_blob(index).map_err(HardenError::Image)?;
    let temporary = blobs.join(format!(".layer-{index}.partial"));
    let write_error = |source| HardenError::Write {
        path: temporary.clone(),
        source,
    };
    let file = File::create(&temporary).map_err(write_error)?;
    let mut reader = Hashing::new(blob);
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    io::copy(&mut reader, &mut writer).map_err(write_error)?;
    writer.flush().map_err(write_error)?;
    let (_, digest, size) = reader.finish();
    let target = blob_path(blobs, &digest);
    std::fs::rename(&temporary, &target).map_err(|source| HardenError::Write {
        path: target,
        source,
    })?;
    Ok((digest, size))
}

/// Writes a new layer holding `entries`.
pub fn write_layer(
    entries: &[EntryBuilder],
    compression: Compression,
    threads: usize,
    blobs: &Path,
) -> Result<WrittenBlob, HardenError> {
    let temporary = blobs.join(".added-layer.partial");
    let write_error = |source| HardenError::Write {
        path: temporary.clone(),
        source,
    };
    let sink = BlobSink::create(&temporary, compression, Effort::Fast, threads)?;
    let mut writer = Writer::new(sink);
    for entry in entries {
        writer.append(entry).map_err(write_error)?;
    }
    let sink = writer.finish().map_err(write_error)?;
    sink.finish(&temporary, blobs)
}

/// The path of a blob in `blobs/sha256`.
pub fn blob_path(blobs: &Path, digest: &str) -> PathBuf {
    blobs.join(digest.trim_start_matches("sha256:"))
}

/// Uncompressed tar in, hashed twice (tar and blob) on the way to a file.
struct BlobSink {
    tar: Hashing<Encoder<Hashing<BufWriter<File>>>>,
    compression: Compression,
    level: i32,
}

impl BlobSink {
    fn create(
        path: &Path,
        compression: Compression,
        effort: Effort,
        threads: usize,
    ) -> Result<Self, HardenError> {
        let write_error = |source| HardenError::Write {
            path: path.into(),
            source,
        };
        let file = File::create(path).map_err(write_error)?;
        let blob = Hashing::new(BufWriter::with_capacity(1 << 20, file));
        let encoder = Encoder::new(blob, compression, effort, threads).map_err(write_error)?;
        Ok(BlobSink {
            tar: Hashing::new(encoder),
            compression,
            level: effort.level(compression),
        })
    }

    /// Finishes compression and moves the file to its digest's name.
    fn finish(self, temporary: &Path, blobs: &Path) -> Result<WrittenBlob, HardenError> {
        let write_error = |source| HardenError::Write {
            path: temporary.into(),
            source,
        };
        let (encoder, diff_id, tar_size) = self.tar.finish();
        let blob = encoder.finish().map_err(write_error)?;
        let (mut file, digest, size) = blob.finish();
        file.flush().map_err(write_error)?;
        drop(file);
        let target = blob_path(blobs, &digest);
        std::fs::rename(temporary, &target).map_err(|source| HardenError::Write {
            path: target,
            source,
        })?;
        Ok(WrittenBlob {
            digest,
            size,
            diff_id,
            compression: self.compression,
            patched: 0,
            tar_size,
            level: self.level,
        })
    }
}

impl Write for BlobSink {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.tar.write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tar.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::size_bound;

    #[test]
    fn size_bound_has_a_floor() {
        assert_eq!(size_bound(250), 1274);
        assert_eq!(size_bound(102_400), 103_424);
        assert_eq!(size_bound(1_000_000), 1_010_000);
    }
}
