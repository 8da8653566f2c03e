//! Archive names normalized to paths, and paths escaped for display.

use std::fmt::Write;

use crate::FsError;

/// A path relative to the image root, as `/`-separated components without
/// empty, `.` or `..` parts. The root itself is the empty path.
pub type NormalizedPath = Box<[u8]>;

/// Normalizes an archive name: `./a`, `a`, `/a` and `a//b/../a` name the
/// same path. A relative name whose `..` climbs above the root is an error,
/// as in Podman's and containerd's layer appliers, which clean the name with
/// Go's `filepath.Clean` and reject what then lies outside the root. An
/// absolute name is clamped at the root, as `filepath.Clean` does.
pub fn normalize(name: &[u8]) -> Result<NormalizedPath, FsError> {
    let absolute = name.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() && !absolute {
                    return Err(FsError::EscapesRoot {
                        entry: display_path(name),
                    });
                }
            }
            _ => parts.push(part),
        }
    }
    Ok(parts.join(&b'/').into_boxed_slice())
}

/// Escapes a path for terminals and JSON: printable UTF-8 is kept, a
/// backslash is doubled, and control characters and invalid bytes become
/// `\n`, `\t` or `\xNN`, so a name never reaches a terminal raw.
pub fn display_path(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 1);
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            match character {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Formats a normalized path as an absolute path for display.
pub(crate) fn display_absolute(path: &[u8]) -> String {
    format!("/{}", display_path(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_agree() {
        for name in [
            &b"./a/b"[..],
            b"a/b",
            b"/a/b",
            b"a//b/",
            b"a/./b",
            b"a/c/../b",
        ] {
            assert_eq!(&*normalize(name).unwrap(), b"a/b", "{}", display_path(name));
        }
    }

    #[test]
    fn root_spellings_are_empty() {
        for name in [&b"."[..], b"./", b"/", b""] {
            assert!(normalize(name).unwrap().is_empty());
        }
    }

    #[test]
    fn climbing_above_root_is_error() {
        assert!(matches!(
            normalize(b"../etc/passwd"),
            Err(FsError::EscapesRoot { .. })
        ));
        assert!(matches!(
            normalize(b"a/../../b"),
            Err(FsError::EscapesRoot { .. })
        ));
        assert_eq!(&*normalize(b"/../etc").unwrap(), b"etc");
    }

    #[test]
    fn display_escapes_control_and_invalid_bytes() {
        assert_eq!(display_path(b"caf\xe9\n\x1b[31m"), "caf\\xe9\\n\\u{1b}[31m");
        assert_eq!(display_path("a\\b é".as_bytes()), "a\\\\b é");
    }
}
