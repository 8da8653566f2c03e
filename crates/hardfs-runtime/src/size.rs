//! tmpfs sizes as the mount option spells them: bytes with an optional
//! `k`, `m` or `g` suffix (powers of 1024).

use crate::RuntimeError;

/// Parses `64m`, `512k`, `1g` or a plain byte count.
pub fn parse_size(text: &str) -> Result<u64, RuntimeError> {
    let invalid = || RuntimeError::InvalidSize { size: text.into() };
    let lower = text.trim().to_ascii_lowercase();
    let (digits, shift) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 10),
        Some(b'm') => (&lower[..lower.len() - 1], 20),
        Some(b'g') => (&lower[..lower.len() - 1], 30),
        _ => (lower.as_str(), 0),
    };
    let value: u64 = digits.parse().map_err(|_| invalid())?;
    if value == 0 {
        return Err(invalid());
    }
    value.checked_mul(1 << shift).ok_or_else(invalid)
}

/// Formats bytes with the largest suffix that divides them exactly.
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(30, "g"), (20, "m"), (10, "k")] {
        if bytes >= 1 << shift && bytes & ((1 << shift) - 1) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Formats bytes as a Kubernetes quantity (`64Mi`).
pub(crate) fn kubernetes_quantity(bytes: u64) -> String {
    for (shift, suffix) in [(30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if bytes >= 1 << shift && bytes & ((1 << shift) - 1) == 0 {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_suffixes_parse() {
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("512K").unwrap(), 512 << 10);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
    }

    #[test]
    fn size_rejects_garbage() {
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("12x").is_err());
        assert!(parse_size("m").is_err());
        assert!(parse_size("99999999999999g").is_err());
    }

    #[test]
    fn size_formats_round_trip() {
        assert_eq!(format_size(64 << 20), "64m");
        assert_eq!(format_size(1536 << 10), "1536k");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(kubernetes_quantity(16 << 20), "16Mi");
        assert_eq!(kubernetes_quantity(2 << 30), "2Gi");
    }
}
