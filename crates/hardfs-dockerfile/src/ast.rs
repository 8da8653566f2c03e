//! The parsed form of a Dockerfile: one [`Node`] per instruction, in the
//! shape BuildKit's parser produces, with positions for every node.

use std::fmt::Write;

/// The parser directives found at the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` frontend image, if given.
    pub syntax: Option<String>,
    /// The escape character: `\` unless `# escape=` chose the backtick.
    pub escape: char,
    /// `# check=` settings for BuildKit's build checks, if given.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// One here-document attached to an instruction (`<<EOF` … `EOF`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word with quotes removed.
    pub name: String,
    /// False when any part of the delimiter was quoted, which disables
    /// variable expansion in the body.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the delimiter line.
    pub chomp: bool,
    /// The file descriptor written before `<<`, as in `3<<EOF`.
    pub fd: Option<u32>,
    /// The body, every line with its newline; leading tabs already removed
    /// when `chomp` is set.
    pub content: String,
    /// Line number of the first body line.
    pub content_line: usize,
}

/// A stretch of [`Node::original`] that starts at a known place in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

/// One instruction.
///
/// `args` has BuildKit's shape, which depends on the instruction: ENV and
/// LABEL give `name, value, separator` triples (separator `=` or empty for
/// the old `ENV name value` form); RUN, CMD, ENTRYPOINT and SHELL in shell
/// form give the whole command as one string; HEALTHCHECK gives its type
/// followed by the command; an unknown instruction gives one empty string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The instruction keyword as written, such as `RUN` or `copy`.
    pub keyword: String,
    /// Flags before the arguments, such as `--chown=app`, in order.
    pub flags: Vec<String>,
    pub args: Vec<String>,
    /// The instruction that ONBUILD wraps.
    pub child: Option<Box<Node>>,
    /// True when the arguments were given as a JSON array (exec form).
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
    /// The instruction text with continuations joined and comments removed.
    pub original: String,
    /// Byte offset in `original` where the arguments (after the flags) start.
    pub args_offset: usize,
    /// First line of the instruction, starting at 1.
    pub line: usize,
    /// Column of the keyword on `line`, starting at 1.
    pub column: usize,
    /// Last line of the instruction, heredoc bodies included.
    pub end_line: usize,
    pub(crate) segments: Vec<Segment>,
}

impl Node {
    /// Returns the lowercased keyword, which is how instructions are matched.
    pub fn instruction(&self) -> String {
        self.keyword.to_ascii_lowercase()
    }

    /// Returns the argument text after the flags, as written.
    pub fn args_text(&self) -> &str {
        self.original.get(self.args_offset..).unwrap_or("").trim()
    }

    /// Maps a byte offset in `original` to the line and column it came from.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let Some(segment) = self.segments.iter().rev().find(|s| s.offset <= offset) else {
            return (self.line, self.column);
        };
        let end = offset.min(self.original.len());
        let chars = self
            .original
            .get(segment.offset..end)
            .map_or(0, |text| text.chars().count());
        (segment.line, segment.column + chars)
    }

    /// Renders the node as BuildKit's parser test results do:
    /// `(keyword ["--flag"] "arg" …)` without the outer parentheses.
    pub fn dump(&self) -> String {
        let mut text = self.keyword.to_lowercase();
        if !self.flags.is_empty() {
            let flags: Vec<String> = self.flags.iter().map(|flag| go_quote(flag)).collect();
            let _ = write!(text, " [{}]", flags.join(" "));
        }
        if let Some(child) = &self.child {
            let _ = write!(text, " ({})", child.dump());
        }
        for arg in &self.args {
            text.push(' ');
            text.push_str(&go_quote(arg));
        }
        text
    }
}

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    pub nodes: Vec<Node>,
    /// Every comment line as `(line, text after '#')`, including comments
    /// inside continued instructions, for inline suppressions.
    pub comments: Vec<(usize, String)>,
    /// Non-fatal problems BuildKit also warns about, such as empty
    /// continuation lines.
    pub warnings: Vec<String>,
}

impl Dockerfile {
    /// Renders the whole tree in BuildKit's test-result format, one line per
    /// node.
    pub fn dump(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("({})\n", node.dump()))
            .collect()
    }
}

/// Quotes a string as Go's `strconv.Quote` does, which is how BuildKit's
/// test results print arguments.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for ch in text.chars() {
        match ch {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{b}' => quoted.push_str("\\v"),
            ch if (ch as u32) < 0x20 || ch == '\u{7f}' => {
                let _ = write!(quoted, "\\x{:02x}", ch as u32);
            }
            ch if ch.is_control() => {
                let _ = if (ch as u32) <= 0xffff {
                    write!(quoted, "\\u{:04x}", ch as u32)
                } else {
                    write!(quoted, "\\U{:08x}", ch as u32)
                };
            }
            ch => quoted.push(ch),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{0}\t\n"), r#""\x00\t\n""#);
        assert_eq!(go_quote("♥"), "\"♥\"");
    }
}
