//! Tar reading and writing for container image layers.
//!
//! The reader walks a tar stream header by header without touching file
//! contents unless asked. It handles ustar, GNU long names and links
//! (`L`/`K`), PAX extended headers (`path`, `linkpath`, `size`, `uid`, `gid`,
//! `mtime`, `SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`) read by their length, so
//! binary attribute values with newline or NUL bytes survive, and names as
//! raw bytes. Every field is bounded, and limits on name length, PAX size,
//! entry size and entry count turn hostile input into errors.
//!
//! The patcher copies a tar stream while rewriting the headers of chosen
//! entries in place, leaving every other byte as it was.
//!
//! The writer emits deterministic ustar/PAX archives; the image rewriter and
//! the tests both use it.

mod compress;
mod error;
mod gzip;
mod header;
#[cfg(hardfs_isal)]
mod isal;
mod patch;
mod pax;
mod read_ahead;
mod reader;
mod writer;

pub use compress::{decompress, decompress_digest_checked, sniff, Compression, LimitedReader};
pub use error::TarError;
pub use gzip::{GzipMembers, Inflate};
pub use header::{EntryType, BLOCK_SIZE};
pub use patch::{patch_headers, patch_stream, HeaderPatch, PatchStats};
pub use read_ahead::{with_read_ahead, ReadAhead};
pub use reader::{Entry, Limits, Reader};
pub use writer::{EntryBuilder, LongNames, Writer};

/// Xattr key of Linux file capabilities.
pub const CAPABILITY_XATTR: &[u8] = b"security.capability";
