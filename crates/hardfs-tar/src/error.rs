//! Errors of the tar reader and the decompressors.

use std::io;

/// A tar stream that could not be read. Offsets are byte offsets in the
/// uncompressed stream; `entry` is the entry's name as far as it is known,
/// escaped for display.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("failed to read tar stream at offset {offset}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("failed to write tar stream at offset {offset}")]
    Write {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("tar stream ends inside {what} at offset {offset} (truncated)")]
    Truncated { what: &'static str, offset: u64 },
    #[error(
        "invalid header checksum at offset {offset} (stored {stored:o}, computed {computed:o})"
    )]
    Checksum {
        offset: u64,
        stored: u64,
        computed: u64,
    },
    #[error("invalid {field} field in header at offset {offset}: {value:?}")]
    Field {
        field: &'static str,
        offset: u64,
        value: String,
    },
    #[error("invalid PAX record in header at offset {offset}: {reason}")]
    Pax { offset: u64, reason: String },
    #[error("entry name at offset {offset} is {len} bytes, over the limit of {max}")]
    NameTooLong { offset: u64, len: usize, max: usize },
    #[error("extended header at offset {offset} is {size} bytes, over the limit of {max}")]
    ExtendedTooLarge { offset: u64, size: u64, max: u64 },
    #[error("entry `{entry}` at offset {offset} claims {size} bytes, over the limit of {max}")]
    EntryTooLarge {
        entry: String,
        offset: u64,
        size: u64,
        max: u64,
    },
    #[error("more than {max} entries in one tar stream")]
    TooManyEntries { max: u64 },
    #[error("unsupported entry type {typeflag:?} for `{entry}` at offset {offset}")]
    UnsupportedType {
        entry: String,
        offset: u64,
        typeflag: char,
    },
    #[error("failed to decompress the {compression} blob")]
    Decompress {
        compression: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("decompressed stream exceeds the limit of {max} bytes (a decompression bomb, or a layer larger than the limit allows)")]
    Bomb { max: u64 },
    #[error("unsupported compression {0} (hardfs reads gzip, zstd and uncompressed tar)")]
    UnsupportedCompression(&'static str),
}
