//! A streaming tar reader that yields headers and skips contents.
//!
//! It follows Go's `archive/tar`, which containerd, Docker and Podman use to
//! apply layers, wherever a malformed archive could be read two ways: a clean
//! end of input on a block boundary ends the archive, a single zero block
//! followed by a non-zero one is an error, and entry types that carry no
//! data (links, directories, devices, FIFOs) consume no data blocks whatever
//! their size field says.

use std::io::{self, Read, Seek, SeekFrom};

use crate::header::{self, field, Format, BLOCK_SIZE};
use crate::pax::{self, PaxFields};
use crate::{EntryType, TarError};

/// Bounds that turn hostile archives into errors instead of exhausted memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum length of an entry or link name, in bytes. Linux's PATH_MAX is 4096.
    pub max_name_len: usize,
    /// Largest PAX or GNU long-name header body, in bytes.
    pub max_extended_size: u64,
    /// Largest size a single entry may claim, in bytes.
    pub max_entry_size: u64,
    /// Most entries one archive may hold.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_name_len: 4096,
            max_extended_size: 1 << 20,
            max_entry_size: 1 << 40,
            max_entries: 10_000_000,
        }
    }
}

/// One archive entry's metadata. Names are raw bytes exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: Vec<u8>,
    /// Target of a symlink or hardlink; empty for other types.
    pub link_name: Vec<u8>,
    pub entry_type: EntryType,
    /// Permission and special bits (`0o7777` mask).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Bytes of content; 0 for types that carry none.
    pub size: u64,
    pub mtime: i64,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Extended attributes from `SCHILY.xattr.*` and `LIBARCHIVE.xattr.*`.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Offset of the entry's first block, extended headers included.
    pub header_offset: u64,
    /// Offset of the entry's own ustar header block.
    pub ustar_offset: u64,
    /// Offset of the first content byte.
    pub data_offset: u64,
}

impl Entry {
    /// Returns the value of one extended attribute.
    pub fn xattr(&self, key: &[u8]) -> Option<&[u8]> {
        self.xattrs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_slice())
    }
}

type SkipFn<R> = fn(&mut R, u64) -> io::Result<u64>;

/// Reads entries from a tar stream one header at a time.
pub struct Reader<R> {
    inner: R,
    skip: SkipFn<R>,
    limits: Limits,
    /// Bytes consumed from `inner` so far.
    offset: u64,
    /// Unread content bytes of the current entry.
    unread: u64,
    /// Padding after the current entry's content.
    padding: u64,
    entries: u64,
    global: PaxFields,
    finished: bool,
}

impl<R: Read> Reader<R> {
    /// Creates a reader that skips contents by reading them.
    pub fn new(inner: R) -> Self {
        Self::with_skip(inner, skip_by_reading::<R>)
    }
}

impl<R: Read + Seek> Reader<R> {
    /// Creates a reader that skips contents by seeking, for uncompressed
    /// archives in files. `inner` must be positioned at the archive's start.
    pub fn new_seekable(inner: R) -> Self {
        Self::with_skip(inner, skip_by_seeking::<R>)
    }
}

impl<R: Read> Reader<R> {
    fn with_skip(inner: R, skip: SkipFn<R>) -> Self {
        Reader {
            inner,
            skip,
            limits: Limits::default(),
            offset: 0,
            unread: 0,
            padding: 0,
            entries: 0,
            global: PaxFields::default(),
            finished: false,
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Bytes consumed from the underlying stream so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads the next entry's headers, skipping what is left of the previous
    /// entry's content. Returns `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.finished {
            return Ok(None);
        }
        self.skip_rest()?;
        let header_offset = self.offset;
        let mut extended = PaxFields::default();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        loop {
            let block_offset = self.offset;
            let Some(block) = self.read_header_block()? else {
                self.finished = true;
                return Ok(None);
            };
            header::verify_checksum(&block, block_offset)?;
            let typeflag = block[field::TYPEFLAG];
            let size = header::parse_number(&block, field::SIZE, "size", block_offset)?;
            match typeflag {
                b'x' => {
                    extended = pax::parse(&self.read_extended(size, block_offset)?, block_offset)?
                }
                b'g' => {
                    let global =
                        pax::parse(&self.read_extended(size, block_offset)?, block_offset)?;
                    let mut merged = global;
                    merged.inherit(&self.global);
                    self.global = merged;
                }
                b'L' => long_name = Some(trim_nuls(self.read_extended(size, block_offset)?)),
                b'K' => long_link = Some(trim_nuls(self.read_extended(size, block_offset)?)),
                b'V' => self.skip_data(size)?,
                _ => {
                    extended.inherit(&self.global);
                    let entry = self.finish_entry(
                        &block,
                        block_offset,
                        header_offset,
                        extended,
                        long_name,
                        long_link,
                    )?;
                    return Ok(Some(entry));
                }
            }
        }
    }

    /// Reads the current entry's content, which must be at most `max` bytes.
    /// Call it after `next_entry` and before the next call to it.
    pub fn read_data(&mut self, max: u64) -> Result<Vec<u8>, TarError> {
        if self.unread > max {
            return Err(TarError::Field {
                field: "size",
                offset: self.offset,
                value: format!(
                    "{} bytes, more than the {max} bytes this content may have",
                    self.unread
                ),
            });
        }
        let mut data = vec![0u8; self.unread as usize];
        self.read_exact(&mut data, "entry content")?;
        self.unread = 0;
        Ok(data)
    }

    /// Consumes the rest of the stream after the end-of-archive marker, so a
    /// hashing reader underneath sees every byte. Returns the bytes consumed.
    pub fn drain(&mut self) -> Result<u64, TarError> {
        let offset = self.offset;
        let consumed = io::copy(&mut self.inner, &mut io::sink())
            .map_err(|source| io_error(offset, source))?;
        self.offset += consumed;
        Ok(consumed)
    }

    fn finish_entry(
        &mut self,
        block: &[u8; BLOCK_SIZE],
        ustar_offset: u64,
        header_offset: u64,
        extended: PaxFields,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
    ) -> Result<Entry, TarError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(TarError::TooManyEntries {
                max: self.limits.max_entries,
            });
        }
        let path = match (extended.path, long_name) {
            (Some(path), _) | (None, Some(path)) => path,
            (None, None) => ustar_name(block),
        };
        let link_name = extended
            .linkpath
            .or(long_link)
            .unwrap_or_else(|| header::text(block, field::LINKNAME).to_vec());
        self.check_name(&path, ustar_offset)?;
        self.check_name(&link_name, ustar_offset)?;

        let typeflag = block[field::TYPEFLAG];
        let entry_type = entry_type(typeflag, &path).ok_or_else(|| TarError::UnsupportedType {
            entry: String::from_utf8_lossy(&path).into_owned(),
            offset: ustar_offset,
            typeflag: char::from(typeflag),
        })?;
        let stored_size = match extended.size {
            Some(size) => size,
            None => header::parse_number(block, field::SIZE, "size", ustar_offset)?,
        };
        let size = if carries_data(entry_type, typeflag) {
            stored_size
        } else {
            0
        };
        if size > self.limits.max_entry_size {
            return Err(TarError::EntryTooLarge {
                entry: String::from_utf8_lossy(&path).into_owned(),
                offset: ustar_offset,
                size,
                max: self.limits.max_entry_size,
            });
        }
        let uid = match extended.uid {
            Some(uid) => uid,
            None => header::parse_number(block, field::UID, "uid", ustar_offset)?,
        };
        let gid = match extended.gid {
            Some(gid) => gid,
            None => header::parse_number(block, field::GID, "gid", ustar_offset)?,
        };
        let mtime = match extended.mtime {
            Some(mtime) => mtime,
            None => header::parse_mtime(block, ustar_offset)?,
        };
        let mode = header::parse_number(block, field::MODE, "mode", ustar_offset)?;
        let (dev_major, dev_minor) = match entry_type {
            EntryType::CharDevice | EntryType::BlockDevice => (
                device_number(block, field::DEVMAJOR, "devmajor", ustar_offset)?,
                device_number(block, field::DEVMINOR, "devminor", ustar_offset)?,
            ),
            _ => (0, 0),
        };

        self.unread = size;
        self.padding = padding(size);
        Ok(Entry {
            path,
            link_name: if matches!(entry_type, EntryType::Symlink | EntryType::Hardlink) {
                link_name
            } else {
                Vec::new()
            },
            entry_type,
            mode: (mode & 0o7777) as u32,
            uid,
            gid,
            size,
            mtime,
            dev_major,
            dev_minor,
            xattrs: extended.xattrs,
            header_offset,
            ustar_offset,
            data_offset: self.offset,
        })
    }

    fn check_name(&self, name: &[u8], offset: u64) -> Result<(), TarError> {
        if name.len() > self.limits.max_name_len {
            return Err(TarError::NameTooLong {
                offset,
                len: name.len(),
                max: self.limits.max_name_len,
            });
        }
        Ok(())
    }

    /// Reads the next header block. A clean end of input on a block boundary
    /// and two zero blocks both end the archive.
    fn read_header_block(&mut self) -> Result<Option<[u8; BLOCK_SIZE]>, TarError> {
        let Some(block) = self.read_block_or_eof()? else {
            return Ok(None);
        };
        if !header::is_zero_block(&block) {
            return Ok(Some(block));
        }
        let second_offset = self.offset;
        match self.read_block_or_eof()? {
            None => Ok(None),
            Some(second) if header::is_zero_block(&second) => Ok(None),
            Some(_) => Err(TarError::Field {
                field: "header",
                offset: second_offset,
                value: "a header follows a single zero block".into(),
            }),
        }
    }

    fn read_block_or_eof(&mut self) -> Result<Option<[u8; BLOCK_SIZE]>, TarError> {
        let mut block = [0u8; BLOCK_SIZE];
        let mut filled = 0;
        while filled < BLOCK_SIZE {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(count) => filled += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(io_error(self.offset + filled as u64, source)),
            }
        }
        self.offset += filled as u64;
        match filled {
            0 => Ok(None),
            BLOCK_SIZE => Ok(Some(block)),
            _ => Err(TarError::Truncated {
                what: "a header block",
                offset: self.offset,
            }),
        }
    }

    fn read_extended(&mut self, size: u64, offset: u64) -> Result<Vec<u8>, TarError> {
        if size > self.limits.max_extended_size {
            return Err(TarError::ExtendedTooLarge {
                offset,
                size,
                max: self.limits.max_extended_size,
            });
        }
        let mut body = vec![0u8; size as usize];
        self.read_exact(&mut body, "an extended header")?;
        self.skip_exact(padding(size), "extended header padding")?;
        Ok(body)
    }

    fn read_exact(&mut self, buffer: &mut [u8], what: &'static str) -> Result<(), TarError> {
        match self.inner.read_exact(buffer) {
            Ok(()) => {
                self.offset += buffer.len() as u64;
                Ok(())
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                Err(TarError::Truncated {
                    what,
                    offset: self.offset,
                })
            }
            Err(source) => Err(io_error(self.offset, source)),
        }
    }

    fn skip_data(&mut self, size: u64) -> Result<(), TarError> {
        self.skip_exact(size + padding(size), "entry content")
    }

    fn skip_rest(&mut self) -> Result<(), TarError> {
        let count = self.unread + self.padding;
        self.unread = 0;
        self.padding = 0;
        self.skip_exact(count, "entry content")
    }

    fn skip_exact(&mut self, count: u64, what: &'static str) -> Result<(), TarError> {
        if count == 0 {
            return Ok(());
        }
        let skipped =
            (self.skip)(&mut self.inner, count).map_err(|source| io_error(self.offset, source))?;
        self.offset += skipped;
        if skipped < count {
            return Err(TarError::Truncated {
                what,
                offset: self.offset,
            });
        }
        Ok(())
    }
}

fn skip_by_reading<R: Read>(inner: &mut R, count: u64) -> io::Result<u64> {
    io::copy(&mut inner.take(count), &mut io::sink())
}

/// Seeks forward, then checks that the stream really has that many bytes
/// so a truncated file is still reported.
fn skip_by_seeking<R: Read + Seek>(inner: &mut R, count: u64) -> io::Result<u64> {
    let position = inner.stream_position()?;
    let end = inner.seek(SeekFrom::End(0))?;
    let target = position.saturating_add(count).min(end);
    inner.seek(SeekFrom::Start(target))?;
    Ok(target - position)
}

/// Maps an I/O error, unwrapping a [`TarError`] that a wrapped reader (such
/// as the decompression-bomb guard) raised inside it.
fn io_error(offset: u64, source: io::Error) -> TarError {
    if source.get_ref().is_some_and(|inner| inner.is::<TarError>()) {
        if let Ok(inner) = source.into_inner().unwrap().downcast::<TarError>() {
            return *inner;
        }
        unreachable!("checked the inner error type above");
    }
    TarError::Io { offset, source }
}

fn padding(size: u64) -> u64 {
    (BLOCK_SIZE as u64 - size % BLOCK_SIZE as u64) % BLOCK_SIZE as u64
}

fn trim_nuls(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// The ustar name: prefix + `/` + name for POSIX headers, the name alone for
/// GNU and v7 headers, whose bytes 345.. are not a prefix.
fn ustar_name(block: &[u8; BLOCK_SIZE]) -> Vec<u8> {
    let name = header::text(block, field::NAME);
    let prefix = match header::format(block) {
        Format::Ustar => header::text(block, field::PREFIX),
        Format::Gnu | Format::V7 => &[],
    };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        let mut full = Vec::with_capacity(prefix.len() + 1 + name.len());
        full.extend_from_slice(prefix);
        full.push(b'/');
        full.extend_from_slice(name);
        full
    }
}

fn entry_type(typeflag: u8, path: &[u8]) -> Option<EntryType> {
    Some(match typeflag {
        b'0' | b'7' => EntryType::Regular,
        // Pre-POSIX archives mark directories with a trailing slash only.
        0 if path.ends_with(b"/") => EntryType::Directory,
        0 => EntryType::Regular,
        b'1' => EntryType::Hardlink,
        b'2' => EntryType::Symlink,
        b'3' => EntryType::CharDevice,
        b'4' => EntryType::BlockDevice,
        b'5' | b'D' => EntryType::Directory,
        b'6' => EntryType::Fifo,
        _ => return None,
    })
}

/// Whether the entry's data blocks follow its header. Go's `archive/tar`
/// treats links, devices, directories and FIFOs as header-only; a GNU
/// dump directory (`D`) carries a listing that is skipped.
fn carries_data(entry_type: EntryType, typeflag: u8) -> bool {
    entry_type == EntryType::Regular || typeflag == b'D'
}

fn device_number(
    block: &[u8; BLOCK_SIZE],
    range: (usize, usize),
    name: &'static str,
    offset: u64,
) -> Result<u32, TarError> {
    let value = header::parse_number(block, range, name, offset)?;
    u32::try_from(value).map_err(|_| TarError::Field {
        field: name,
        offset,
        value: value.to_string(),
    })
}
