//! Copying a tar stream while rewriting the headers of chosen entries.
//!
//! Only the header blocks of a patched entry change: its ustar block gets a
//! new mode, owner and checksum, and its PAX extended header loses the
//! records the patch drops (an extended header left without records is
//! removed). Contents, padding, global headers, untouched entries and the
//! end-of-archive blocks are copied byte for byte, so an archive patched
//! with no changes is identical to its input.

use std::io::{self, Read, Write};

use crate::header::{self, field, BLOCK_SIZE};
use crate::pax;
use crate::{Entry, Limits, Reader, TarError};

/// Changes to one entry's headers. `None` fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderPatch {
    /// New permission and special bits (`0o7777` mask); file type bits that
    /// some writers keep in the mode field are preserved.
    pub mode: Option<u32>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    /// Extended attribute names whose PAX records are removed.
    pub drop_xattrs: Vec<Vec<u8>>,
}

impl HeaderPatch {
    pub fn is_empty(&self) -> bool {
        self.mode.is_none()
            && self.uid.is_none()
            && self.gid.is_none()
            && self.drop_xattrs.is_empty()
    }
}

/// Counts from one [`patch_stream`] run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchStats {
    pub entries: u64,
    pub patched: u64,
    /// Bytes of tar read, which equals bytes written plus the bytes removed
    /// with dropped PAX records.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Copies the tar stream `input` to `output`, rewriting the headers of each
/// entry for which `decide` returns a patch. Content bytes go straight from
/// input to output, so memory stays bounded by the largest header.
pub fn patch_stream<R, W, F>(
    input: R,
    output: W,
    limits: Limits,
    mut decide: F,
) -> Result<(W, PatchStats), TarError>
where
    R: Read,
    W: Write,
    F: FnMut(&Entry) -> Option<HeaderPatch>,
{
    let mut reader = Reader::new(Tap::new(input, output)).with_limits(limits);
    match copy_entries(&mut reader, &mut decide) {
        Ok(stats) => finish(reader, stats),
        Err(error) => match reader.get_mut().write_error.take() {
            Some(source) => Err(TarError::Write {
                offset: reader.get_mut().written,
                source,
            }),
            None => Err(error),
        },
    }
}

fn copy_entries<R, W, F>(
    reader: &mut Reader<Tap<R, W>>,
    decide: &mut F,
) -> Result<PatchStats, TarError>
where
    R: Read,
    W: Write,
    F: FnMut(&Entry) -> Option<HeaderPatch>,
{
    let mut stats = PatchStats::default();
    while let Some(entry) = reader.next_entry()? {
        stats.entries += 1;
        let tap = reader.get_mut();
        let headers = std::mem::take(&mut tap.held);
        let patch = decide(&entry).filter(|patch| !patch.is_empty());
        let bytes = match &patch {
            Some(patch) => {
                stats.patched += 1;
                patch_headers(&headers, patch, entry.header_offset)?
            }
            None => headers,
        };
        tap.write(&bytes, entry.header_offset)?;
        tap.passthrough = entry.size + padding(entry.size);
    }
    reader.drain()?;
    stats.bytes_in = reader.offset();
    Ok(stats)
}

fn finish<R: Read, W: Write>(
    reader: Reader<Tap<R, W>>,
    mut stats: PatchStats,
) -> Result<(W, PatchStats), TarError> {
    let mut tap = reader.into_inner();
    let rest = std::mem::take(&mut tap.held);
    tap.write(&rest, stats.bytes_in)?;
    if let Some(source) = tap.write_error.take() {
        return Err(TarError::Write {
            offset: tap.written,
            source,
        });
    }
    stats.bytes_out = tap.written;
    Ok((tap.output, stats))
}

/// Rewrites one entry's header blocks: zero or more extension headers
/// (`x`, `g`, `L`, `K`, `V`) followed by its ustar block. `offset` is the
/// position of the first block in the stream, for error messages.
pub fn patch_headers(
    headers: &[u8],
    patch: &HeaderPatch,
    offset: u64,
) -> Result<Vec<u8>, TarError> {
    let truncated = |at: usize| TarError::Truncated {
        what: "a header being patched",
        offset: offset + at as u64,
    };
    let mut out = Vec::with_capacity(headers.len());
    let mut position = 0;
    loop {
        let block = read_block(headers, position).ok_or_else(|| truncated(position))?;
        let block_offset = offset + position as u64;
        let typeflag = block[field::TYPEFLAG];
        if !matches!(typeflag, b'x' | b'g' | b'L' | b'K' | b'V') {
            if position + BLOCK_SIZE != headers.len() {
                return Err(TarError::Field {
                    field: "header",
                    offset: block_offset,
                    value: "data follows the ustar block of a header being patched".into(),
                });
            }
            out.extend_from_slice(&patch_ustar(block, patch));
            return Ok(out);
        }
        let size = header::parse_number(&block, field::SIZE, "size", block_offset)?;
        let body_start = position + BLOCK_SIZE;
        let body_end = body_start + size as usize;
        let next = body_end + padding(size) as usize;
        let body = headers
            .get(body_start..body_end)
            .ok_or_else(|| truncated(body_start))?;
        if typeflag == b'x' {
            let records = filter_records(body, patch, block_offset)?;
            if !records.is_empty() {
                out.extend_from_slice(&extended_header(block, &records));
            }
        } else {
            out.extend_from_slice(
                headers
                    .get(position..next)
                    .ok_or_else(|| truncated(position))?,
            );
        }
        position = next;
    }
}

fn read_block(headers: &[u8], position: usize) -> Option<[u8; BLOCK_SIZE]> {
    headers
        .get(position..position + BLOCK_SIZE)?
        .try_into()
        .ok()
}

/// The ustar block with the patched fields and a new checksum. A patched
/// owner also sets the user and group names, which runtimes ignore but
/// `tar tv` shows, to match.
fn patch_ustar(mut block: [u8; BLOCK_SIZE], patch: &HeaderPatch) -> [u8; BLOCK_SIZE] {
    if let Some(mode) = patch.mode {
        let (start, len) = field::MODE;
        let old = header::parse_number(&block, field::MODE, "mode", 0).unwrap_or(0);
        let new = (old & !0o7777) | u64::from(mode & 0o7777);
        block[start..start + len].fill(0);
        header::write_number(&mut block, field::MODE, new);
    }
    if let Some(uid) = patch.uid {
        header::write_number(&mut block, field::UID, uid);
        set_name(&mut block, field::UNAME, uid);
    }
    if let Some(gid) = patch.gid {
        header::write_number(&mut block, field::GID, gid);
        set_name(&mut block, field::GNAME, gid);
    }
    header::write_checksum(&mut block);
    block
}

fn set_name(block: &mut [u8; BLOCK_SIZE], (start, len): (usize, usize), id: u64) {
    if header::format(block) == header::Format::V7 {
        return;
    }
    let name: &[u8] = if id == 0 { b"root" } else { b"" };
    block[start..start + len].fill(0);
    block[start..start + name.len()].copy_from_slice(name);
}

/// The PAX records of `body` without those the patch drops: the named
/// xattrs in both spellings, and `uid`/`gid`/`uname`/`gname` when the
/// patch sets the owner (a record would override the ustar field).
fn filter_records(body: &[u8], patch: &HeaderPatch, offset: u64) -> Result<Vec<u8>, TarError> {
    let mut kept = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() && !rest.iter().all(|&b| b == 0) {
        let (key, _value, tail) = pax::next_record(rest, offset)?;
        let record = &rest[..rest.len() - tail.len()];
        if !drops(key, patch) {
            kept.extend_from_slice(record);
        }
        rest = tail;
    }
    Ok(kept)
}

fn drops(key: &[u8], patch: &HeaderPatch) -> bool {
    match key {
        b"uid" | b"uname" => return patch.uid.is_some(),
        b"gid" | b"gname" => return patch.gid.is_some(),
        _ => {}
    }
    patch.drop_xattrs.iter().any(|name| {
        key.strip_prefix(b"SCHILY.xattr.") == Some(name.as_slice())
            || key
                .strip_prefix(b"LIBARCHIVE.xattr.")
                .is_some_and(|encoded| url_decode(encoded) == *name)
    })
}

fn url_decode(encoded: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut index = 0;
    while index < encoded.len() {
        let hex = encoded
            .get(index + 1..index + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (encoded[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

/// An extended header block with a new body: the size field and checksum
/// follow the body, everything else is kept from the original block.
fn extended_header(mut block: [u8; BLOCK_SIZE], body: &[u8]) -> Vec<u8> {
    let (start, len) = field::SIZE;
    block[start..start + len].fill(0);
    header::write_number(&mut block, field::SIZE, body.len() as u64);
    header::write_checksum(&mut block);
    let mut out = Vec::with_capacity(BLOCK_SIZE * 2 + body.len());
    out.extend_from_slice(&block);
    out.extend_from_slice(body);
    out.resize(out.len() + padding(body.len() as u64) as usize, 0);
    out
}

fn padding(size: u64) -> u64 {
    (BLOCK_SIZE as u64 - size % BLOCK_SIZE as u64) % BLOCK_SIZE as u64
}

/// A reader that sends the first `passthrough` bytes it reads straight to
/// the output (entry contents) and holds the rest (headers) until the
/// patcher has decided what to write in their place.
struct Tap<R, W> {
    input: R,
    output: W,
    passthrough: u64,
    held: Vec<u8>,
    written: u64,
    /// A failed write, reported after the reader returns, because the
    /// reader would describe it as a read failure.
    write_error: Option<io::Error>,
}

impl<R, W: Write> Tap<R, W> {
    fn new(input: R, output: W) -> Self {
        Tap {
            input,
            output,
            passthrough: 0,
            held: Vec::new(),
            written: 0,
            write_error: None,
        }
    }

    fn write(&mut self, bytes: &[u8], offset: u64) -> Result<(), TarError> {
        if let Some(source) = self.write_error.take() {
            return Err(TarError::Write { offset, source });
        }
        self.output
            .write_all(bytes)
            .map_err(|source| TarError::Write { offset, source })?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl<R: Read, W: Write> Read for Tap<R, W> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.input.read(buffer)?;
        let direct = (count as u64).min(self.passthrough) as usize;
        if direct > 0 {
            if let Err(error) = self.output.write_all(&buffer[..direct]) {
                let kind = error.kind();
                self.write_error = Some(error);
                return Err(io::Error::new(kind, "output write failed"));
            }
            self.written += direct as u64;
            self.passthrough -= direct as u64;
        }
        self.held.extend_from_slice(&buffer[direct..count]);
        Ok(count)
    }
}
