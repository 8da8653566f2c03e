//! Word expansion as BuildKit's Dockerfile frontend does it: quotes, the
//! escape character, `$NAME`, `${NAME}` and the `${NAME:-word}` family of
//! modifiers, producing either one word or a list of whitespace-split words.
//!
//! The behaviour follows BuildKit's `shell.Lex`, checked against its own
//! `envVarTest` and `wordsTest` tables in the conformance tests.

use thiserror::Error;

/// Nesting limit for `${a:-${b:-…}}`; deeper input is rejected instead of
/// growing the stack without bound.
const MAX_NESTING: usize = 64;

/// A failure to expand one word.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LexError {
    #[error("unexpected end of word while looking for the closing single quote")]
    UnterminatedSingleQuote,
    #[error("unexpected end of word while looking for the closing double quote")]
    UnterminatedDoubleQuote,
    #[error("unexpected end of word while looking for `{0}`")]
    Unterminated(char),
    #[error("syntax error: missing `}}`")]
    MissingBrace,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("unsupported modifier `{0}` in substitution")]
    UnsupportedModifier(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("variable substitutions nested more than {MAX_NESTING} deep")]
    TooDeep,
}

/// Variables visible to an expansion, in declaration order; a later entry
/// overrides an earlier one with the same name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    entries: Vec<(String, String)>,
}

impl Environment {
    pub fn new() -> Self {
        Environment::default()
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn set(&mut self, name: &str, value: &str) {
        self.entries.retain(|(key, _)| key != name);
        self.entries.push((name.to_string(), value.to_string()));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Settings for one expansion; the defaults match BuildKit's `NewLex('\\')`.
#[derive(Clone, Copy, Debug)]
pub struct Lexer {
    pub escape: char,
    /// Keeps quote characters in the output instead of removing them.
    pub raw_quotes: bool,
    /// Keeps escape characters in the output instead of removing them.
    pub raw_escapes: bool,
    /// Leaves references to unset variables as written (`$NAME`).
    pub skip_unset: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
        }
    }

    /// Expands `word` into one string, keeping whitespace as written.
    pub fn process_word(&self, word: &str, env: &Environment) -> Result<String, LexError> {
        self.run(word, env).map(|(single, _)| single)
    }

    /// Expands `text` into words split on unquoted whitespace, including
    /// whitespace that comes from variable values.
    pub fn process_words(&self, text: &str, env: &Environment) -> Result<Vec<String>, LexError> {
        self.run(text, env).map(|(_, words)| words)
    }

    fn run(&self, text: &str, env: &Environment) -> Result<(String, Vec<String>), LexError> {
        let mut state = State {
            lexer: self,
            env,
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        };
        state.process_until(None, self.raw_escapes)
    }
}

/// Accumulates whitespace-separated words.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }

    fn add_expanded(&mut self, text: &str) {
        text.chars().for_each(|ch| self.add_char(ch));
    }

    fn add_raw(&mut self, text: &str) {
        self.word.push_str(text);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct State<'a> {
    lexer: &'a Lexer,
    env: &'a Environment,
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl State<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    /// Processes characters until `stop` (consumed) or the end of input.
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), LexError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '\'' => {
                    let text = self.single_quoted()?;
                    result.push_str(&text);
                    words.add_raw(&text);
                }
                '"' => {
                    let text = self.double_quoted()?;
                    result.push_str(&text);
                    words.add_raw(&text);
                }
                '$' => {
                    let text = self.dollar()?;
                    result.push_str(&text);
                    words.add_expanded(&text);
                }
                _ => {
                    self.pos += 1;
                    if ch != self.lexer.escape {
                        words.add_char(ch);
                        result.push(ch);
                        continue;
                    }
                    if raw_escapes {
                        words.add_raw_char(ch);
                        result.push(ch);
                    }
                    // The escape character quotes the next one; at the end of
                    // the word it disappears.
                    let Some(escaped) = self.next() else { break };
                    words.add_raw_char(escaped);
                    result.push(escaped);
                }
            }
        }
        match stop {
            Some(stop) => Err(LexError::Unterminated(stop)),
            None => Ok((result, words.finish())),
        }
    }

    /// Single quotes keep everything literal, including the escape character.
    fn single_quoted(&mut self) -> Result<String, LexError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(LexError::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    /// Double quotes expand `$` and let the escape character quote only
    /// `"`, `$` and itself; before any other character it stays literal.
    fn double_quoted(&mut self) -> Result<String, LexError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(LexError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => result.push_str(&self.dollar()?),
                Some(ch) => {
                    self.pos += 1;
                    let mut out = ch;
                    if ch == self.lexer.escape {
                        if self.lexer.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(next)
                                if next == '"' || next == '$' || next == self.lexer.escape =>
                            {
                                self.pos += 1;
                                out = next;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(out);
                }
            }
        }
    }

    fn dollar(&mut self) -> Result<String, LexError> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.env.get(&name) {
                Some(value) => value.to_string(),
                None if self.lexer.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(LexError::MissingBrace),
            Some('{' | '}' | ':') => return Err(LexError::BadSubstitution),
            Some(_) => {}
        }
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LexError::TooDeep);
        }
        let result = self.braced();
        self.depth -= 1;
        result
    }

    /// Handles `${NAME…}` after the opening brace.
    fn braced(&mut self) -> Result<String, LexError> {
        let name = self.name();
        let Some(ch) = self.next() else {
            return Err(LexError::MissingBrace);
        };
        let value = self.env.get(&name).map(str::to_string);
        match ch {
            '}' => Ok(match value {
                Some(value) => value,
                None if self.lexer.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' => {
                let Some(modifier) = self.next() else {
                    return Err(LexError::MissingBrace);
                };
                self.modifier(&name, value, modifier, true)
            }
            '+' | '-' | '?' | '#' | '%' => self.modifier(&name, value, ch, false),
            '/' => self.replace(&name, value),
            other => Err(LexError::UnsupportedModifier(other.to_string())),
        }
    }

    fn modifier(
        &mut self,
        name: &str,
        value: Option<String>,
        modifier: char,
        null_is_unset: bool,
    ) -> Result<String, LexError> {
        let spelled = if null_is_unset {
            format!(":{modifier}")
        } else {
            modifier.to_string()
        };
        let raw_escapes = modifier == '#' || modifier == '%';
        let (word, _) = self
            .process_until(Some('}'), raw_escapes)
            .map_err(|error| {
                if self.peek().is_none() {
                    LexError::MissingBrace
                } else {
                    error
                }
            })?;
        if value.is_none() && self.lexer.skip_unset {
            return Ok(format!("${{{name}{spelled}{word}}}"));
        }
        let unset = match &value {
            None => true,
            Some(value) => null_is_unset && value.is_empty(),
        };
        match modifier {
            '-' => Ok(if unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            '+' => Ok(if unset { String::new() } else { word }),
            '?' => {
                if unset {
                    let default = if value.is_none() {
                        "is not allowed to be unset"
                    } else {
                        "is not allowed to be empty"
                    };
                    let message = if word.is_empty() {
                        default.into()
                    } else {
                        word
                    };
                    return Err(LexError::Required {
                        name: name.into(),
                        message,
                    });
                }
                Ok(value.unwrap_or_default())
            }
            '#' | '%' => {
                let value = value.unwrap_or_default();
                let (greedy, pattern) = match word.strip_prefix(modifier) {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, word),
                };
                Ok(trim_pattern(&value, &pattern, modifier == '#', greedy))
            }
            _ => Err(LexError::UnsupportedModifier(spelled)),
        }
    }

    /// `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`.
    fn replace(&mut self, name: &str, value: Option<String>) -> Result<String, LexError> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let (pattern, _) = self.process_until(Some('/'), true)?;
        let (replacement, _) = self.process_until(Some('}'), true)?;
        let Some(value) = value else {
            return Ok(if self.lexer.skip_unset {
                format!("${{{name}/{pattern}/{replacement}}}")
            } else {
                String::new()
            });
        };
        if pattern.is_empty() {
            return Ok(value);
        }
        Ok(replace_pattern(&value, &pattern, &replacement, all))
    }

    /// Reads a variable name: letters, digits and `_`, or all the digits of
    /// a positional parameter, or one special parameter character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(digit) = self.peek().filter(char::is_ascii_digit) {
                    name.push(digit);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }
}

/// Removes the shortest (or, when `greedy`, longest) prefix or suffix of
/// `value` that matches the glob `pattern`.
fn trim_pattern(value: &str, pattern: &str, prefix: bool, greedy: bool) -> String {
    let bounds: Vec<usize> = value
        .char_indices()
        .map(|(index, _)| index)
        .chain([value.len()])
        .collect();
    let mut candidates: Vec<usize> = bounds.clone();
    if greedy == prefix {
        candidates.reverse();
    }
    for cut in candidates {
        let (matched, rest) = if prefix {
            (&value[..cut], &value[cut..])
        } else {
            (&value[cut..], &value[..cut])
        };
        if glob_matches(pattern, matched) {
            return rest.to_string();
        }
    }
    value.to_string()
}

fn replace_pattern(value: &str, pattern: &str, replacement: &str, all: bool) -> String {
    let mut output = String::new();
    let mut start = 0;
    while start < value.len() {
        let found = value[start..]
            .char_indices()
            .map(|(index, _)| start + index)
            .chain([value.len()])
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find(|&end| glob_matches(pattern, &value[start..end]));
        match found {
            Some(end) => {
                output.push_str(replacement);
                start = end;
                if !all {
                    output.push_str(&value[start..]);
                    return output;
                }
            }
            None => {
                let ch = value[start..].chars().next().unwrap_or_default();
                output.push(ch);
                start += ch.len_utf8();
            }
        }
    }
    output
}

/// One element of a glob pattern.
#[derive(Clone, Copy, PartialEq)]
enum Glob {
    Char(char),
    AnyChar,
    AnyRun,
}

/// Matches `text` against a shell glob with `*`, `?` and backslash-quoted
/// literals; other characters, including `[`, match themselves.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        tokens.push(match ch {
            '*' => Glob::AnyRun,
            '?' => Glob::AnyChar,
            '\\' => Glob::Char(chars.next().unwrap_or('\\')),
            ch => Glob::Char(ch),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        let token = tokens.get(p).copied();
        if token == Some(Glob::AnyChar) || token == Some(Glob::Char(text[t])) {
            p += 1;
            t += 1;
        } else if token == Some(Glob::AnyRun) {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    tokens[p..].iter().all(|&token| token == Glob::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        let mut env = Environment::new();
        env.set("V", "value");
        env.set("PATHS", "/a/b/c.tar.gz");
        env
    }

    #[test]
    fn default_and_alternative() {
        let lexer = Lexer::default();
        assert_eq!(lexer.process_word("${X:-d}", &env()).unwrap(), "d");
        assert_eq!(lexer.process_word("${V:+alt}", &env()).unwrap(), "alt");
        assert_eq!(lexer.process_word("${X:+alt}", &env()).unwrap(), "");
    }

    #[test]
    fn prefix_and_suffix_trimming() {
        let lexer = Lexer::default();
        assert_eq!(
            lexer.process_word("${PATHS#*/}", &env()).unwrap(),
            "a/b/c.tar.gz"
        );
        assert_eq!(
            lexer.process_word("${PATHS##*/}", &env()).unwrap(),
            "c.tar.gz"
        );
        assert_eq!(
            lexer.process_word("${PATHS%.*}", &env()).unwrap(),
            "/a/b/c.tar"
        );
        assert_eq!(
            lexer.process_word("${PATHS%%.*}", &env()).unwrap(),
            "/a/b/c"
        );
    }

    #[test]
    fn pattern_replacement() {
        let lexer = Lexer::default();
        assert_eq!(
            lexer.process_word("${PATHS/\\//-}", &env()).unwrap(),
            "-a/b/c.tar.gz"
        );
        assert_eq!(lexer.process_word("${V//a/A}", &env()).unwrap(), "vAlue");
    }

    #[test]
    fn skip_unset_keeps_references() {
        let lexer = Lexer {
            skip_unset: true,
            ..Lexer::default()
        };
        assert_eq!(
            lexer.process_word("$X-${Y}-$V", &env()).unwrap(),
            "$X-${Y}-value"
        );
        assert_eq!(lexer.process_word("${Y:-d}", &env()).unwrap(), "${Y:-d}");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let word = "${A:-".repeat(200) + &"}".repeat(200);
        let error = Lexer::default().process_word(&word, &env()).unwrap_err();
        assert_eq!(error, LexError::TooDeep);
    }
}
