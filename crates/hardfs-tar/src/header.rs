//! The fixed 512-byte ustar/GNU header block and its numeric fields.

use crate::TarError;

pub const BLOCK_SIZE: usize = 512;

/// Kind of a tar entry, from the header's typeflag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryType {
    Regular,
    Hardlink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

impl EntryType {
    /// The typeflag written for this kind.
    pub fn typeflag(self) -> u8 {
        match self {
            EntryType::Regular => b'0',
            EntryType::Hardlink => b'1',
            EntryType::Symlink => b'2',
            EntryType::CharDevice => b'3',
            EntryType::BlockDevice => b'4',
            EntryType::Directory => b'5',
            EntryType::Fifo => b'6',
        }
    }
}

/// Field offsets and widths of the ustar header.
pub(crate) mod field {
    pub const NAME: (usize, usize) = (0, 100);
    pub const MODE: (usize, usize) = (100, 8);
    pub const UID: (usize, usize) = (108, 8);
    pub const GID: (usize, usize) = (116, 8);
    pub const SIZE: (usize, usize) = (124, 12);
    pub const MTIME: (usize, usize) = (136, 12);
    pub const CHECKSUM: (usize, usize) = (148, 8);
    pub const TYPEFLAG: usize = 156;
    pub const LINKNAME: (usize, usize) = (157, 100);
    pub const MAGIC: (usize, usize) = (257, 8);
    pub const UNAME: (usize, usize) = (265, 32);
    pub const GNAME: (usize, usize) = (297, 32);
    pub const DEVMAJOR: (usize, usize) = (329, 8);
    pub const DEVMINOR: (usize, usize) = (337, 8);
    pub const PREFIX: (usize, usize) = (345, 155);
}

pub(crate) fn slice(block: &[u8; BLOCK_SIZE], (start, len): (usize, usize)) -> &[u8] {
    &block[start..start + len]
}

/// Returns a NUL-terminated string field without its terminator.
pub(crate) fn text(block: &[u8; BLOCK_SIZE], range: (usize, usize)) -> &[u8] {
    let bytes = slice(block, range);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The header's format, from its magic field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// POSIX ustar (`ustar\0` + `00`): the prefix field extends the name.
    Ustar,
    /// GNU (`ustar  \0`): bytes 345.. hold times and sparse data, not a prefix.
    Gnu,
    /// Pre-POSIX v7 tar: no magic, no prefix.
    V7,
}

pub(crate) fn format(block: &[u8; BLOCK_SIZE]) -> Format {
    let magic = slice(block, field::MAGIC);
    if magic == b"ustar  \0" {
        Format::Gnu
    } else if magic.starts_with(b"ustar") {
        Format::Ustar
    } else {
        Format::V7
    }
}

pub(crate) fn is_zero_block(block: &[u8; BLOCK_SIZE]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Verifies the header checksum: the sum of all bytes with the checksum field
/// counted as spaces. Some old writers summed signed bytes; both are accepted.
pub(crate) fn verify_checksum(block: &[u8; BLOCK_SIZE], offset: u64) -> Result<(), TarError> {
    let stored = parse_number(block, field::CHECKSUM, "checksum", offset)?;
    let (start, len) = field::CHECKSUM;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (index, &byte) in block.iter().enumerate() {
        let byte = if (start..start + len).contains(&index) {
            b' '
        } else {
            byte
        };
        unsigned += u64::from(byte);
        signed += i64::from(byte as i8);
    }
    if stored == unsigned || i64::try_from(stored).ok() == Some(signed) {
        Ok(())
    } else {
        Err(TarError::Checksum {
            offset,
            stored,
            computed: unsigned,
        })
    }
}

/// Parses a numeric field: octal ASCII padded with spaces or NULs, or GNU
/// base-256 (first byte's high bit set) for values that do not fit.
pub(crate) fn parse_number(
    block: &[u8; BLOCK_SIZE],
    range: (usize, usize),
    name: &'static str,
    offset: u64,
) -> Result<u64, TarError> {
    let bytes = slice(block, range);
    let invalid = || TarError::Field {
        field: name,
        offset,
        value: String::from_utf8_lossy(bytes).into_owned(),
    };
    if bytes[0] & 0x80 != 0 {
        if bytes[0] == 0xff {
            // Negative base-256 is only meaningful for mtime; callers that
            // accept it use `parse_signed`.
            return Err(invalid());
        }
        let mut value: u64 = u64::from(bytes[0] & 0x7f);
        for &byte in &bytes[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(byte)))
                .ok_or_else(invalid)?;
        }
        return Ok(value);
    }
    // As Go's archive/tar: trim spaces and NULs at both ends, stop at the
    // first NUL left, and require octal digits for the rest.
    let is_padding = |b: &u8| *b == b' ' || *b == 0;
    let start = bytes
        .iter()
        .position(|b| !is_padding(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_padding(b))
        .map_or(start, |last| last + 1);
    let trimmed = &bytes[start..end];
    let trimmed = &trimmed[..trimmed
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(trimmed.len())];
    if trimmed.is_empty() {
        return Ok(0);
    }
    let mut value: u64 = 0;
    for &byte in trimmed {
        if !(b'0'..=b'7').contains(&byte) {
            return Err(invalid());
        }
        value = value
            .checked_mul(8)
            .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(value)
}

/// Parses the mtime field, which GNU tar may store as negative base-256.
pub(crate) fn parse_mtime(block: &[u8; BLOCK_SIZE], offset: u64) -> Result<i64, TarError> {
    let bytes = slice(block, field::MTIME);
    if bytes[0] == 0xff {
        let mut value: i64 = -1;
        for &byte in &bytes[1..] {
            value = value.wrapping_shl(8) | i64::from(byte);
        }
        return Ok(value);
    }
    let value = parse_number(block, field::MTIME, "mtime", offset)?;
    i64::try_from(value).map_err(|_| TarError::Field {
        field: "mtime",
        offset,
        value: value.to_string(),
    })
}

/// Writes `value` as zero-padded octal with a NUL terminator, or as GNU
/// base-256 when it does not fit.
pub(crate) fn write_number(block: &mut [u8; BLOCK_SIZE], (start, len): (usize, usize), value: u64) {
    let field = &mut block[start..start + len];
    let digits = len - 1;
    if value < 8u64.pow(digits as u32) {
        let text = format!("{value:0digits$o}");
        field[..digits].copy_from_slice(text.as_bytes());
        field[digits] = 0;
    } else {
        field.fill(0);
        let mut rest = value;
        for byte in field.iter_mut().rev() {
            *byte = (rest & 0xff) as u8;
            rest >>= 8;
        }
        field[0] |= 0x80;
    }
}

/// Computes and stores the checksum of a header block.
pub(crate) fn write_checksum(block: &mut [u8; BLOCK_SIZE]) {
    let (start, len) = field::CHECKSUM;
    block[start..start + len].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[start..start + len].copy_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_with(range: (usize, usize), bytes: &[u8]) -> [u8; BLOCK_SIZE] {
        let mut block = [0u8; BLOCK_SIZE];
        block[range.0..range.0 + bytes.len()].copy_from_slice(bytes);
        block
    }

    #[test]
    fn octal_with_spaces_and_nuls() {
        let block = block_with(field::SIZE, b"  0001750 \0");
        assert_eq!(
            parse_number(&block, field::SIZE, "size", 0).unwrap(),
            0o1750
        );
    }

    #[test]
    fn base256_size() {
        let mut bytes = [0u8; 12];
        bytes[0] = 0x80;
        bytes[7] = 0x02;
        let block = block_with(field::SIZE, &bytes);
        assert_eq!(
            parse_number(&block, field::SIZE, "size", 0).unwrap(),
            2u64 << 32
        );
    }

    #[test]
    fn non_octal_digit_is_error() {
        let block = block_with(field::UID, b"00000 9\0");
        assert!(matches!(
            parse_number(&block, field::UID, "uid", 7),
            Err(TarError::Field { offset: 7, .. })
        ));
    }

    #[test]
    fn number_round_trips_through_base256() {
        for value in [0, 7, 0o7777777, 0o10000000, u64::from(u32::MAX) * 3] {
            let mut block = [0u8; BLOCK_SIZE];
            write_number(&mut block, field::UID, value);
            assert_eq!(parse_number(&block, field::UID, "uid", 0).unwrap(), value);
        }
    }

    #[test]
    fn negative_mtime() {
        let mut bytes = [0xffu8; 12];
        bytes[11] = 0xfe;
        let block = block_with(field::MTIME, &bytes);
        assert_eq!(parse_mtime(&block, 0).unwrap(), -2);
    }
}
