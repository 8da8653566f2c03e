//! Layer compression, detected by magic bytes whatever the media type says,
//! and a guard against decompression bombs.

use std::io::{self, BufRead, BufReader, Read};

use crate::{Inflate, TarError};

/// Compression of a layer blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Detects the compression from a blob's first bytes. An uncompressed tar
/// has no magic at offset 0, so anything that is not a known compressed
/// format is taken as a tar; formats hardfs cannot read are errors.
pub fn sniff(head: &[u8]) -> Result<Compression, TarError> {
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        [b'B', b'Z', b'h', ..] => Err(TarError::UnsupportedCompression("bzip2")),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Err(TarError::UnsupportedCompression("xz")),
        _ => Ok(Compression::None),
    }
}

/// Wraps a blob reader in the decompressor its magic bytes call for, with
/// output bounded by `max_output` bytes.
pub fn decompress<'a, R: Read + Send + 'a>(
    blob: R,
    max_output: u64,
) -> Result<(Compression, Box<dyn Read + Send + 'a>), TarError> {
    open(blob, max_output, true)
}

/// Like [`decompress`], but a gzip member's CRC-32 may go unchecked: ISA-L
/// checks it at little cost, zlib-rs skips it. For callers that check a
/// sha256 digest of the decompressed stream, which detects every change the
/// CRC would.
pub fn decompress_digest_checked<'a, R: Read + Send + 'a>(
    blob: R,
    max_output: u64,
) -> Result<(Compression, Box<dyn Read + Send + 'a>), TarError> {
    open(blob, max_output, false)
}

fn open<'a, R: Read + Send + 'a>(
    blob: R,
    max_output: u64,
    check_crc: bool,
) -> Result<(Compression, Box<dyn Read + Send + 'a>), TarError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, blob);
    let head = buffered
        .fill_buf()
        .map_err(|source| TarError::Io { offset: 0, source })?;
    let compression = sniff(head)?;
    let stream: Box<dyn Read + Send + 'a> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip if check_crc && !Inflate::fastest().checks_crc() => {
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        }
        Compression::Gzip => Box::new(crate::gzip::GzipMembers::new(buffered)),
        Compression::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|source| TarError::Io { offset: 0, source })?;
            // Frames written with long-distance matching use windows up to 2 GiB.
            decoder
                .window_log_max(31)
                .map_err(|source| TarError::Io { offset: 0, source })?;
            Box::new(decoder)
        }
    };
    Ok((
        compression,
        Box::new(LimitedReader::new(stream, max_output)),
    ))
}

/// Fails with [`TarError::Bomb`] once more than `max` bytes have been read.
pub struct LimitedReader<R> {
    inner: R,
    max: u64,
    count: u64,
}

impl<R> LimitedReader<R> {
    pub fn new(inner: R, max: u64) -> Self {
        LimitedReader {
            inner,
            max,
            count: 0,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.count += count as u64;
        if self.count > self.max {
            return Err(io::Error::other(TarError::Bomb { max: self.max }));
        }
        Ok(count)
    }
}
