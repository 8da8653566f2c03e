//! The line-level parser: directives, comments, continuations and heredocs,
//! turning the text into [`Node`]s the way BuildKit's `parser.Parse` does.

use crate::args::{parse_heredocs, split_instruction};
use crate::ast::{Directives, Dockerfile, Heredoc, Node, Segment};
use crate::error::ParseError;

/// Maximum length of a physical line, in bytes. Real Dockerfiles stay far below it; the
/// limit turns hostile input into an error instead of unbounded work.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Maximum length of an instruction after joining continuation lines, in bytes.
pub const MAX_INSTRUCTION_BYTES: usize = 8 << 20;

/// Parses Dockerfile text.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        lines: text.split_inclusive('\n').collect(),
        next: 0,
        directives: DirectiveScanner::default(),
        comments: Vec::new(),
        warnings: Vec::new(),
    };
    let mut nodes = Vec::new();
    while let Some(node) = parser.instruction()? {
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ParseError::NoInstructions);
    }
    Ok(Dockerfile {
        directives: parser.directives.found,
        nodes,
        comments: parser.comments,
        warnings: parser.warnings,
    })
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    /// Index of the next unread line; line numbers are this plus one.
    next: usize,
    directives: DirectiveScanner,
    comments: Vec<(usize, String)>,
    warnings: Vec<String>,
}

impl<'a> Parser<'a> {
    /// Reads one physical line, returning its number and its text without
    /// the line ending.
    fn read_line(&mut self) -> Result<Option<(usize, &'a str)>, ParseError> {
        let Some(raw) = self.lines.get(self.next).copied() else {
            return Ok(None);
        };
        self.next += 1;
        let number = self.next;
        if raw.len() > MAX_LINE_BYTES {
            return Err(ParseError::LineTooLong {
                line: number,
                length: raw.len(),
                limit: MAX_LINE_BYTES,
            });
        }
        let text = raw.trim_end_matches(['\r', '\n']);
        if let Some(comment) = text.trim_start().strip_prefix('#') {
            self.comments.push((number, comment.to_string()));
        }
        Ok(Some((number, text)))
    }

    /// Reads the next instruction, or `None` at the end of the file.
    fn instruction(&mut self) -> Result<Option<Node>, ParseError> {
        loop {
            let Some((number, text)) = self.read_line()? else {
                return Ok(None);
            };
            let trimmed = text.trim_start();
            self.directives.scan(number, trimmed)?;
            let content = if is_comment(trimmed) { "" } else { trimmed };
            let escape = self.directives.found.escape;
            let (first, ends) = trim_continuation(content, escape);
            if ends && first.is_empty() {
                continue;
            }
            let column = text[..text.len() - trimmed.len()].chars().count() + 1;
            let mut buffer = first.to_string();
            let mut segments = vec![Segment {
                offset: 0,
                line: number,
                column,
            }];
            if !ends {
                self.continuation(&mut buffer, &mut segments, number)?;
            }
            return self.finish(buffer, segments, number).map(Some);
        }
    }

    /// Appends continuation lines to `buffer` until a line does not end with
    /// the escape character. Comment lines and blank lines inside are
    /// skipped, as BuildKit does.
    fn continuation(
        &mut self,
        buffer: &mut String,
        segments: &mut Vec<Segment>,
        start: usize,
    ) -> Result<(), ParseError> {
        let escape = self.directives.found.escape;
        while let Some((number, text)) = self.read_line()? {
            self.directives.scan(number, text)?;
            if is_comment(text.trim_start()) {
                continue;
            }
            if text.trim_start().is_empty() {
                self.warnings
                    .push(format!("line {number}: empty continuation line"));
                continue;
            }
            let (part, ends) = trim_continuation(text, escape);
            segments.push(Segment {
                offset: buffer.len(),
                line: number,
                column: 1,
            });
            buffer.push_str(part);
            if buffer.len() > MAX_INSTRUCTION_BYTES {
                return Err(ParseError::InstructionTooLong {
                    line: start,
                    limit: MAX_INSTRUCTION_BYTES,
                });
            }
            if ends {
                break;
            }
        }
        Ok(())
    }

    fn finish(
        &mut self,
        buffer: String,
        segments: Vec<Segment>,
        number: usize,
    ) -> Result<Node, ParseError> {
        let column = segments[0].column;
        let mut node = split_instruction(&buffer, self.directives.found.escape, number)?;
        node.line = number;
        node.column = column;
        node.segments = segments;
        node.end_line = self.next;
        // Heredoc markers count anywhere in the joined instruction, also on
        // a continuation line; the bodies start after its last line.
        if node.can_contain_heredoc() && buffer.contains("<<") {
            for mut heredoc in parse_heredocs(&buffer, number)? {
                self.read_heredoc(&mut heredoc, number)?;
                node.heredocs.push(heredoc);
            }
            node.end_line = self.next;
        }
        Ok(node)
    }

    fn read_heredoc(&mut self, heredoc: &mut Heredoc, start: usize) -> Result<(), ParseError> {
        heredoc.content_line = self.next + 1;
        while let Some(raw) = self.lines.get(self.next).copied() {
            self.next += 1;
            let mut candidate = raw.trim_end_matches(['\r', '\n']);
            let mut body_line = raw;
            if heredoc.chomp {
                candidate = candidate.trim_start_matches('\t');
                body_line = body_line.trim_start_matches('\t');
            }
            if candidate == heredoc.name {
                return Ok(());
            }
            heredoc.content.push_str(body_line);
        }
        Err(ParseError::UnterminatedHeredoc {
            line: start,
            name: heredoc.name.clone(),
        })
    }
}

impl Node {
    /// RUN, COPY and ADD in shell form take heredocs, also inside ONBUILD.
    fn can_contain_heredoc(&self) -> bool {
        let node = match &self.child {
            Some(child) if self.instruction() == "onbuild" => child,
            _ => self,
        };
        matches!(node.instruction().as_str(), "run" | "copy" | "add") && !node.json
    }
}

fn is_comment(trimmed: &str) -> bool {
    trimmed.starts_with('#')
}

/// Removes a trailing escape character (plus trailing spaces and tabs) and
/// reports whether the line ends the instruction. As in BuildKit, the
/// escape character does not continue the line when another escape character
/// precedes it: a doubled escape at the end is literal.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let without_blanks = line.trim_end_matches([' ', '\t']);
    let Some(rest) = without_blanks.strip_suffix(escape) else {
        return (line, true);
    };
    match rest.chars().next_back() {
        Some(previous) if previous == escape => (line, true),
        _ => (rest, false),
    }
}

/// Recognises parser directives, which count only in the leading run of
/// `# name=value` lines: any other line, including a blank one, an unknown
/// directive or a plain comment, ends that run.
#[derive(Default)]
struct DirectiveScanner {
    done: bool,
    found: Directives,
    seen: Vec<String>,
}

impl DirectiveScanner {
    fn scan(&mut self, number: usize, line: &str) -> Result<(), ParseError> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = directive(line) else {
            self.done = true;
            return Ok(());
        };
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&name) {
            return Err(ParseError::DuplicateDirective { line: number, name });
        }
        self.seen.push(name.clone());
        match name.as_str() {
            "escape" => {
                self.found.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError::InvalidEscape {
                            line: number,
                            value: value.into(),
                        })
                    }
                };
            }
            "syntax" => self.found.syntax = Some(value.into()),
            _ => self.found.check = Some(value.into()),
        }
        Ok(())
    }
}

/// Splits `# name = value` into a lowercased name and a trimmed value.
fn directive(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let name_end = rest
        .find(|ch: char| !ch.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..name_end];
    if name.is_empty() || !name.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[name_end..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_after_blank_line_is_a_comment() {
        let file = parse("\n#escape=`\nFROM x\n").unwrap();
        assert_eq!(file.directives.escape, '\\');
    }

    #[test]
    fn duplicate_directive_is_rejected() {
        let error = parse("# escape=`\n# escape=\\\nFROM x\n").unwrap_err();
        assert_eq!(
            error,
            ParseError::DuplicateDirective {
                line: 2,
                name: "escape".into()
            }
        );
    }

    #[test]
    fn nodes_keep_line_and_column() {
        let file = parse("FROM a\n\n  RUN one \\\n  # note\n two\n").unwrap();
        let run = &file.nodes[1];
        assert_eq!((run.line, run.column, run.end_line), (3, 3, 5));
        let offset = run.original.find("two").unwrap();
        assert_eq!(run.position(offset), (5, 2));
    }

    #[test]
    fn long_line_is_an_error() {
        let text = format!("FROM a\nRUN {}\n", "x".repeat(MAX_LINE_BYTES + 1));
        let error = parse(&text).unwrap_err();
        assert!(matches!(error, ParseError::LineTooLong { line: 2, .. }));
    }
}
