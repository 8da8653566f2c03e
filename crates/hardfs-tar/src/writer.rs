//! A deterministic tar writer: ustar headers, with PAX records only where a
//! value does not fit (long or non-UTF-8 names, xattrs, large ids or sizes)
//! or GNU long-name entries when asked.

use std::io::{self, Write};

use crate::header::{self, field, BLOCK_SIZE};
use crate::pax;
use crate::EntryType;

/// One entry to write: metadata plus content for regular files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryBuilder {
    pub path: Vec<u8>,
    pub link_name: Vec<u8>,
    pub entry_type: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub data: Vec<u8>,
}

impl EntryBuilder {
    fn new(path: impl AsRef<[u8]>, entry_type: EntryType, mode: u32) -> Self {
        EntryBuilder {
            path: path.as_ref().to_vec(),
            link_name: Vec::new(),
            entry_type,
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            dev_major: 0,
            dev_minor: 0,
            xattrs: Vec::new(),
            data: Vec::new(),
        }
    }

    /// A regular file, mode 0644, owned by root.
    pub fn file(path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        let mut entry = Self::new(path, EntryType::Regular, 0o644);
        entry.data = data.as_ref().to_vec();
        entry
    }

    /// A directory, mode 0755, owned by root.
    pub fn dir(path: impl AsRef<[u8]>) -> Self {
        Self::new(path, EntryType::Directory, 0o755)
    }

    pub fn symlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let mut entry = Self::new(path, EntryType::Symlink, 0o777);
        entry.link_name = target.as_ref().to_vec();
        entry
    }

    pub fn hardlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let mut entry = Self::new(path, EntryType::Hardlink, 0o644);
        entry.link_name = target.as_ref().to_vec();
        entry
    }

    pub fn device(path: impl AsRef<[u8]>, entry_type: EntryType, major: u32, minor: u32) -> Self {
        let mut entry = Self::new(path, entry_type, 0o660);
        entry.dev_major = major;
        entry.dev_minor = minor;
        entry
    }

    pub fn fifo(path: impl AsRef<[u8]>) -> Self {
        Self::new(path, EntryType::Fifo, 0o644)
    }

    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    pub fn owner(mut self, uid: u64, gid: u64) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }

    pub fn mtime(mut self, mtime: i64) -> Self {
        self.mtime = mtime;
        self
    }

    pub fn xattr(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.xattrs
            .push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
}

/// How names longer than the ustar fields are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongNames {
    Pax,
    Gnu,
}

/// Writes entries to a tar stream.
pub struct Writer<W: Write> {
    inner: W,
    long_names: LongNames,
}

impl<W: Write> Writer<W> {
    pub fn new(inner: W) -> Self {
        Writer {
            inner,
            long_names: LongNames::Pax,
        }
    }

    /// Writes long names as GNU `L`/`K` entries instead of PAX records.
    pub fn gnu_long_names(mut self) -> Self {
        self.long_names = LongNames::Gnu;
        self
    }

    pub fn append(&mut self, entry: &EntryBuilder) -> io::Result<()> {
        let size = if entry.entry_type == EntryType::Regular {
            entry.data.len() as u64
        } else {
            0
        };
        self.append_header(entry, size)?;
        if size > 0 {
            self.inner.write_all(&entry.data)?;
            self.write_padding(size)?;
        }
        Ok(())
    }

    /// Appends a regular file whose `size` bytes of content come from
    /// `content` instead of `entry.data`, for files too large to hold in
    /// memory. Fails when `content` ends early.
    pub fn append_stream(
        &mut self,
        entry: &EntryBuilder,
        size: u64,
        content: &mut impl io::Read,
    ) -> io::Result<()> {
        self.append_header(entry, size)?;
        let copied = io::copy(&mut io::Read::take(content, size), &mut self.inner)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("content ended after {copied} of {size} bytes"),
            ));
        }
        self.write_padding(size)
    }

    fn append_header(&mut self, entry: &EntryBuilder, size: u64) -> io::Result<()> {
        let mut records = Vec::new();
        let mut block = [0u8; BLOCK_SIZE];

        let name_fits = self.place_name(&mut block, &entry.path);
        if !name_fits {
            match self.long_names {
                LongNames::Pax => pax_path_record(&mut records, b"path", &entry.path),
                LongNames::Gnu => self.write_gnu_long(b'L', &entry.path)?,
            }
        }
        if entry.link_name.len() > field::LINKNAME.1 {
            match self.long_names {
                LongNames::Pax => pax_path_record(&mut records, b"linkpath", &entry.link_name),
                LongNames::Gnu => self.write_gnu_long(b'K', &entry.link_name)?,
            }
        } else {
            put(&mut block, field::LINKNAME.0, &entry.link_name);
        }
        for (key, value, range) in [
            ("uid", entry.uid, field::UID),
            ("gid", entry.gid, field::GID),
        ] {
            if value > 0o7777777 {
                pax::encode_record(&mut records, key.as_bytes(), value.to_string().as_bytes());
            }
            header::write_number(&mut block, range, value);
        }
        for (key, value) in &entry.xattrs {
            let mut full_key = b"SCHILY.xattr.".to_vec();
            full_key.extend_from_slice(key);
            pax::encode_record(&mut records, &full_key, value);
        }

        header::write_number(&mut block, field::MODE, u64::from(entry.mode));
        header::write_number(&mut block, field::SIZE, size);
        header::write_number(&mut block, field::MTIME, entry.mtime.max(0) as u64);
        block[field::TYPEFLAG] = entry.entry_type.typeflag();
        block[field::MAGIC.0..field::MAGIC.0 + 8].copy_from_slice(b"ustar\x0000");
        header::write_number(&mut block, field::DEVMAJOR, u64::from(entry.dev_major));
        header::write_number(&mut block, field::DEVMINOR, u64::from(entry.dev_minor));

        if !records.is_empty() {
            self.write_pax_header(&entry.path, entry.mtime, &records)?;
        }
        header::write_checksum(&mut block);
        self.inner.write_all(&block)
    }

    /// Writes bytes as they are, for tests that need malformed archives.
    pub fn append_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }

    /// Writes the end-of-archive marker (two zero blocks) and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; BLOCK_SIZE * 2])?;
        Ok(self.inner)
    }

    /// Stores the name in the name field, or split across prefix and name.
    /// Returns false when it fits in neither way.
    fn place_name(&self, block: &mut [u8; BLOCK_SIZE], path: &[u8]) -> bool {
        if path.len() <= field::NAME.1 {
            put(block, field::NAME.0, path);
            return true;
        }
        // Split at a slash so that the prefix fits 155 bytes and the rest 100.
        let split = path
            .iter()
            .enumerate()
            .filter(|&(index, &byte)| {
                byte == b'/' && index <= field::PREFIX.1 && path.len() - index - 1 <= field::NAME.1
            })
            .map(|(index, _)| index)
            .next();
        match split {
            Some(index) if index > 0 && index + 1 < path.len() => {
                put(block, field::PREFIX.0, &path[..index]);
                put(block, field::NAME.0, &path[index + 1..]);
                true
            }
            _ => {
                put(block, field::NAME.0, &path[..field::NAME.1]);
                false
            }
        }
    }

    fn write_pax_header(&mut self, path: &[u8], mtime: i64, records: &[u8]) -> io::Result<()> {
        let mut block = [0u8; BLOCK_SIZE];
        let base = path
            .rsplit(|&b| b == b'/')
            .find(|part| !part.is_empty())
            .unwrap_or(b"entry");
        let mut name = b"PaxHeaders/".to_vec();
        name.extend_from_slice(&base[..base.len().min(field::NAME.1 - name.len())]);
        put(&mut block, field::NAME.0, &name);
        header::write_number(&mut block, field::MODE, 0o644);
        header::write_number(&mut block, field::UID, 0);
        header::write_number(&mut block, field::GID, 0);
        header::write_number(&mut block, field::SIZE, records.len() as u64);
        header::write_number(&mut block, field::MTIME, mtime.max(0) as u64);
        block[field::TYPEFLAG] = b'x';
        block[field::MAGIC.0..field::MAGIC.0 + 8].copy_from_slice(b"ustar\x0000");
        header::write_checksum(&mut block);
        self.inner.write_all(&block)?;
        self.inner.write_all(records)?;
        self.write_padding(records.len() as u64)
    }

    fn write_gnu_long(&mut self, typeflag: u8, value: &[u8]) -> io::Result<()> {
        let mut block = [0u8; BLOCK_SIZE];
        put(&mut block, field::NAME.0, b"././@LongLink");
        header::write_number(&mut block, field::MODE, 0o644);
        header::write_number(&mut block, field::SIZE, value.len() as u64 + 1);
        block[field::TYPEFLAG] = typeflag;
        block[field::MAGIC.0..field::MAGIC.0 + 8].copy_from_slice(b"ustar  \0");
        header::write_checksum(&mut block);
        self.inner.write_all(&block)?;
        self.inner.write_all(value)?;
        self.inner.write_all(&[0])?;
        self.write_padding(value.len() as u64 + 1)
    }

    fn write_padding(&mut self, size: u64) -> io::Result<()> {
        let padding = (BLOCK_SIZE - (size % BLOCK_SIZE as u64) as usize) % BLOCK_SIZE;
        self.inner.write_all(&[0u8; BLOCK_SIZE][..padding])
    }
}

/// Adds a PAX path record, marking the header binary when the name is not
/// UTF-8 (POSIX pax `hdrcharset`).
fn pax_path_record(records: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    if std::str::from_utf8(value).is_err() && !contains_record(records, b"hdrcharset") {
        pax::encode_record(records, b"hdrcharset", b"BINARY");
    }
    pax::encode_record(records, key, value);
}

fn contains_record(records: &[u8], key: &[u8]) -> bool {
    records
        .windows(key.len() + 2)
        .any(|window| window[1..=key.len()] == *key && window[0] == b' ')
}

fn put(block: &mut [u8; BLOCK_SIZE], start: usize, value: &[u8]) {
    block[start..start + value.len()].copy_from_slice(value);
}
