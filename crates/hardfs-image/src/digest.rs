//! SHA-256 digests computed while a stream is read.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Formats a digest as `sha256:<hex>`.
pub(crate) fn format(hash: &[u8]) -> String {
    let mut out = String::with_capacity(7 + hash.len() * 2);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

pub(crate) fn sha256(data: &[u8]) -> String {
    format(&Sha256::digest(data))
}

/// The running hash and byte count of a [`HashingReader`], readable after
/// the reader has moved into a decompressor.
#[derive(Clone, Default)]
pub(crate) struct Tally(Arc<Mutex<(Sha256, u64)>>);

impl Tally {
    pub fn finish(&self) -> (String, u64) {
        let state = self.0.lock().expect("digest state lock");
        (format(&state.0.clone().finalize()), state.1)
    }
}

/// Hashes every byte read through it into a shared [`Tally`].
pub(crate) struct HashingReader<R> {
    inner: R,
    tally: Tally,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> (Self, Tally) {
        let tally = Tally::default();
        (
            HashingReader {
                inner,
                tally: tally.clone(),
            },
            tally,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        let mut state = self.tally.0.lock().expect("digest state lock");
        state.0.update(&buffer[..count]);
        state.1 += count as u64;
        Ok(count)
    }
}

/// Checks that `digest` is a well-formed sha256 digest and returns its hex part.
pub(crate) fn hex_part(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}
