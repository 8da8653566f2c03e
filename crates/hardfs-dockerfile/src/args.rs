//! Splitting one joined instruction line into keyword, flags and arguments,
//! with the per-instruction argument rules of BuildKit's line parsers.

use crate::ast::{Heredoc, Node};
use crate::error::ParseError;
use crate::lex::{Environment, Lexer};

/// Splits an instruction into keyword, flags and arguments.
pub(crate) fn split_instruction(
    line: &str,
    escape: char,
    number: usize,
) -> Result<Node, ParseError> {
    let trimmed = line.trim_matches(is_go_space);
    let (keyword, after_keyword) = match trimmed.find(is_blank) {
        Some(end) => (&trimmed[..end], trimmed[end..].trim_start_matches(is_blank)),
        None => (trimmed, ""),
    };
    let (flags, rest) = if after_keyword.is_empty() {
        (Vec::new(), "")
    } else {
        extract_flags(after_keyword)
    };
    let leading = line.len() - line.trim_start_matches(is_go_space).len();
    let rest_start = leading + trimmed.len() - rest.len();
    let args_text = rest.trim_matches(is_go_space);
    let args_offset = rest_start + (rest.len() - rest.trim_start_matches(is_go_space).len());

    let mut node = Node {
        keyword: keyword.to_string(),
        flags,
        args: Vec::new(),
        child: None,
        json: false,
        heredocs: Vec::new(),
        original: line.to_string(),
        args_offset,
        line: number,
        column: 1,
        end_line: number,
        segments: Vec::new(),
    };
    parse_arguments(&mut node, args_text, escape, number)?;
    Ok(node)
}

fn parse_arguments(
    node: &mut Node,
    args: &str,
    escape: char,
    number: usize,
) -> Result<(), ParseError> {
    let instruction = node.instruction();
    match instruction.as_str() {
        "add" | "copy" | "volume" => maybe_json_list(node, args, number)?,
        "arg" => node.args = parse_words(args, escape),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(node, args, number)?,
        "env" | "label" => node.args = name_values(args, escape, &instruction, number)?,
        "expose" | "from" => node.args = split_blanks(args),
        "healthcheck" => health_config(node, args, number)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => {
            if !args.is_empty() {
                node.args = vec![args.to_string()];
            }
        }
        "onbuild" => {
            if !args.is_empty() {
                let child = split_instruction(args, escape, number)?;
                node.child = Some(Box::new(child));
            }
        }
        // BuildKit's parser keeps unknown instructions with one empty
        // argument; the stage builder rejects them.
        _ => node.args = vec![String::new()],
    }
    Ok(())
}

/// Go's `unicode.IsSpace` for the characters that matter here.
fn is_go_space(ch: char) -> bool {
    ch.is_whitespace()
}

/// BuildKit splits the keyword and whitespace-delimited lists on
/// `[\t\v\f\r ]+`, which excludes newlines.
fn is_blank(ch: char) -> bool {
    matches!(ch, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

fn split_blanks(args: &str) -> Vec<String> {
    if args.is_empty() {
        return Vec::new();
    }
    args.split(is_blank)
        .filter(|word| !word.is_empty())
        .map(String::from)
        .collect()
}

/// Takes the leading `--name=value` words off the arguments. A `--` word
/// ends the flags and is dropped. Quotes and backslashes inside flags are
/// removed as BuildKit does.
fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_start_matches(is_go_space);
        if !start.starts_with("--") {
            return (flags, start);
        }
        let (word, had_quotes, consumed) = flag_word(start);
        rest = &start[consumed..];
        if word == "--" {
            return (flags, rest.trim_start_matches(is_go_space));
        }
        if had_quotes || !word.is_empty() {
            flags.push(word);
        }
        if rest.is_empty() {
            return (flags, rest);
        }
    }
}

/// Reads one flag word, returning it, whether it had quotes, and the bytes
/// consumed.
fn flag_word(text: &str) -> (String, bool, usize) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut had_quotes = false;
    let mut chars = text.char_indices().peekable();
    while let Some((index, ch)) = chars.next() {
        match quote {
            None if is_go_space(ch) => return (word, had_quotes, index),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                had_quotes = true;
            }
            Some(open) if ch == open => quote = None,
            _ if ch == '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    word.push(escaped);
                }
            }
            _ => word.push(ch),
        }
    }
    (word, had_quotes, text.len())
}

/// Splits on whitespace, keeping quotes and escape characters, as BuildKit's
/// `parseWords` does for ARG, ENV and LABEL.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
        }
        match quote {
            None => {
                if ch.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    in_word = false;
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    let Some(next) = chars.next() else { continue };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
            Some(open) => {
                if ch == open {
                    quote = None;
                }
                if ch == escape && open != '\'' {
                    let Some(next) = chars.next() else {
                        quote = None;
                        continue;
                    };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
        }
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// ENV and LABEL: either `name value…` or `name=value …`, as
/// `name, value, separator` triples.
fn name_values(
    rest: &str,
    escape: char,
    instruction: &str,
    number: usize,
) -> Result<Vec<String>, ParseError> {
    let words = parse_words(rest, escape);
    let missing = || ParseError::MissingValue {
        line: number,
        instruction: instruction.to_ascii_uppercase(),
    };
    let Some(first) = words.first() else {
        return Err(missing());
    };
    if !first.contains('=') {
        let (name, value) = match rest.find(is_blank) {
            Some(end) => (&rest[..end], rest[end..].trim_start_matches(is_blank)),
            None => return Err(missing()),
        };
        return Ok(vec![name.into(), value.into(), String::new()]);
    }
    let mut args = Vec::new();
    for word in &words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(ParseError::MissingEquals {
                line: number,
                instruction: instruction.to_ascii_uppercase(),
                word: word.clone(),
            });
        };
        args.extend([name.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(args)
}

enum Json {
    Strings(Vec<String>),
    NotArray,
    NotStrings,
}

fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::NotArray;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Ok(values) => {
            let strings: Option<Vec<String>> = values
                .into_iter()
                .map(|value| value.as_str().map(String::from))
                .collect();
            strings.map_or(Json::NotStrings, Json::Strings)
        }
        Err(error) if error.is_data() => Json::NotStrings,
        Err(_) => Json::NotArray,
    }
}

/// RUN, CMD, ENTRYPOINT and SHELL: a JSON string array, or else the whole
/// text as one shell-form argument.
fn maybe_json(node: &mut Node, rest: &str, number: usize) -> Result<(), ParseError> {
    if rest.is_empty() {
        return Ok(());
    }
    match parse_json(rest) {
        Json::Strings(strings) => {
            node.args = strings;
            node.json = true;
        }
        Json::NotStrings => return Err(not_strings(node, number)),
        Json::NotArray => node.args = vec![rest.to_string()],
    }
    Ok(())
}

/// ADD, COPY and VOLUME: a JSON string array, or else whitespace-split words.
fn maybe_json_list(node: &mut Node, rest: &str, number: usize) -> Result<(), ParseError> {
    match parse_json(rest) {
        Json::Strings(strings) => {
            node.args = strings;
            node.json = true;
        }
        Json::NotStrings => return Err(not_strings(node, number)),
        Json::NotArray => node.args = split_blanks(rest),
    }
    Ok(())
}

fn not_strings(node: &Node, number: usize) -> ParseError {
    ParseError::NotStringArray {
        line: number,
        instruction: node.keyword.to_ascii_uppercase(),
    }
}

/// HEALTHCHECK: the type word (`CMD`, `NONE`) and then the command.
fn health_config(node: &mut Node, rest: &str, number: usize) -> Result<(), ParseError> {
    let type_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if type_end == 0 {
        return Ok(());
    }
    let command = rest[type_end..].trim_start();
    maybe_json(node, command, number)?;
    node.args.insert(0, rest[..type_end].to_string());
    Ok(())
}

/// Finds the heredoc markers in an instruction's joined text.
pub(crate) fn parse_heredocs(line: &str, number: usize) -> Result<Vec<Heredoc>, ParseError> {
    let lexer = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        ..Lexer::new('\\')
    };
    let words = lexer
        .process_words(line, &Environment::new())
        .unwrap_or_default();
    let mut heredocs = Vec::new();
    for word in words {
        if let Some(heredoc) = heredoc_from_word(&word, number)? {
            heredocs.push(heredoc);
        }
    }
    Ok(heredocs)
}

/// Parses `[n]<<[-]WORD`. A word without the `<<` prefix is not a heredoc.
fn heredoc_from_word(word: &str, number: usize) -> Result<Option<Heredoc>, ParseError> {
    let digits = word.len()
        - word
            .trim_start_matches(|ch: char| ch.is_ascii_digit())
            .len();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, delimiter) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if delimiter.is_empty() || delimiter.contains('<') {
        return Ok(None);
    }
    let lexer = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let invalid = |source| ParseError::InvalidHeredoc {
        line: number,
        word: word.to_string(),
        source,
    };
    let names = lexer
        .process_words(delimiter, &Environment::new())
        .map_err(invalid)?;
    let [name] = names.as_slice() else {
        return Ok(None);
    };
    // Quoting any part of the delimiter, including with a backslash as in
    // POSIX here-documents, turns off expansion of the body.
    let quoted = delimiter.contains(['\'', '"', '\\']);
    Ok(Some(Heredoc {
        name: name.clone(),
        expand: !quoted,
        chomp,
        fd: word[..digits].parse().ok(),
        content: String::new(),
        content_line: number + 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stop_at_double_dash() {
        let (flags, rest) = extract_flags("--a=1 -- --b x");
        assert_eq!(flags, ["--a=1"]);
        assert_eq!(rest, "--b x");
    }

    #[test]
    fn heredoc_delimiter_forms() {
        let docs = parse_heredocs("RUN <<EOF 3<<-'X' cat <<\\Y <<<no", 1).unwrap();
        let names: Vec<_> = docs.iter().map(|doc| doc.name.as_str()).collect();
        assert_eq!(names, ["EOF", "X", "Y"]);
        assert!(docs[0].expand);
        assert!(!docs[1].expand);
        assert!(docs[1].chomp);
        assert_eq!(docs[1].fd, Some(3));
        assert!(!docs[2].expand);
    }
}
