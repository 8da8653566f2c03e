//! SHA-256 digests and byte counts of streams as they are read or written.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Formats a finished hash as `sha256:<hex>`.
pub fn format_digest(hash: &[u8]) -> String {
    let mut out = String::with_capacity(7 + hash.len() * 2);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

pub fn sha256(data: &[u8]) -> String {
    format_digest(&Sha256::digest(data))
}

/// Hashes what passes through it, as a reader or as a writer.
pub struct Hashing<T> {
    pub inner: T,
    hasher: Sha256,
    count: u64,
}

impl<T> Hashing<T> {
    pub fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The digest and byte count so far.
    pub fn finish(self) -> (T, String, u64) {
        (
            self.inner,
            format_digest(&self.hasher.finalize()),
            self.count,
        )
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..count]);
        self.count += count as u64;
        Ok(count)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let count = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..count]);
        self.count += count as u64;
        Ok(count)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
