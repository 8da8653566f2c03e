//! Escaping of untrusted text (file names, `created_by` steps, messages)
//! before it reaches a terminal or a report file.
//!
//! Image layers and Dockerfiles are written by whoever built them. A file
//! name containing ESC can recolour or clear the reader's terminal, and a
//! newline can forge a line of output, so every such string goes through
//! [`escape`] in every format.

use std::borrow::Cow;
use std::fmt::Write;

/// Replaces control characters and bidirectional formatting characters with
/// visible escapes: `\n`, `\r`, `\t`, `\x1b` for the other C0 controls and
/// DEL, and `\u{9b}` for C1 controls and bidi overrides.
///
/// Backslashes are left alone because image paths arrive already escaped for
/// display, and escaping them again would change `\x0a` into `\\x0a`.
/// Neutralizing ESC (0x1b) and CSI (U+009B) is what disarms ANSI escape
/// sequences: the rest of a sequence is plain printable text.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }

    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Returns true for a character that can move the cursor, change the terminal's state or
/// reorder the text around it when printed.
fn needs_escape(character: char) -> bool {
    character.is_control() || is_bidi_control(character)
}

/// Returns true for the Unicode bidirectional embedding, override and
/// isolate characters, which can make a displayed name read differently from its bytes
/// (CVE-2021-42574).
fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        let escaped = escape("/usr/bin/passwd — ok");
        assert!(matches!(escaped, Cow::Borrowed(_)));
        assert_eq!(escaped, "/usr/bin/passwd — ok");
    }

    #[test]
    fn newline_tab_and_return_use_short_escapes() {
        assert_eq!(escape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
    }

    #[test]
    fn ansi_sequence_loses_its_escape_byte() {
        assert_eq!(escape("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    }

    #[test]
    fn other_c0_controls_and_del_use_hex() {
        assert_eq!(escape("\0\x07\x7f"), "\\x00\\x07\\x7f");
    }

    #[test]
    fn c1_csi_is_escaped() {
        assert_eq!(escape("x\u{9b}31m"), "x\\u{9b}31m");
    }

    #[test]
    fn bidi_override_is_escaped() {
        assert_eq!(escape("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn backslash_is_kept() {
        assert_eq!(escape("/tmp/a\\x0ab"), "/tmp/a\\x0ab");
    }
}
