//! A small POSIX shell splitter for RUN commands: it cuts a script into
//! simple commands at `&&`, `||`, `;`, `|`, `&`, newlines and parentheses,
//! and each command into words with their byte offsets.
//!
//! It is not a shell interpreter: it does not follow `if` conditions, loops
//! or functions, it only finds the commands written in the text, which is
//! what the lint rules need. Redirections and their targets are dropped.

use crate::lex::{Environment, Lexer};

/// One word of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word after quote removal and expansion of known variables;
    /// unknown variables stay as written (`$NAME`).
    pub text: String,
    /// The word as written.
    pub raw: String,
    /// Byte offset of the word in the script.
    pub offset: usize,
}

/// One simple command: a program name and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
}

impl Command {
    /// The command with leading `VAR=value` assignments and wrapper programs
    /// (`sudo`, `env`, `exec`, `nice`, `nohup`, `command`, `busybox`,
    /// `time`) removed, so that `words[0]` is the program that runs.
    pub fn unwrapped(&self) -> &[Word] {
        let mut words = self.words.as_slice();
        loop {
            let Some(first) = words.first() else {
                return words;
            };
            let name = program_name(&first.text);
            if is_assignment(&first.text) {
                words = &words[1..];
            } else if matches!(
                name,
                "sudo" | "env" | "exec" | "nice" | "nohup" | "command" | "time"
            ) {
                words = &words[1..];
                while words.first().is_some_and(|word| {
                    word.text.starts_with('-') || (name == "env" && is_assignment(&word.text))
                }) {
                    words = &words[1..];
                }
            } else if name == "busybox" && words.len() > 1 {
                words = &words[1..];
            } else {
                return words;
            }
        }
    }

    /// Returns the program name without its directory (`/bin/chmod` gives `chmod`).
    pub fn program(&self) -> Option<&str> {
        self.unwrapped()
            .first()
            .map(|word| program_name(&word.text))
    }
}

/// Returns the last path component of a program word.
pub fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                && !name.starts_with(|ch: char| ch.is_ascii_digit())
        }
        None => false,
    }
}

/// Words that start a compound command or negate one; the command proper
/// follows them.
const PREFIX_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{",
];

/// Splits `script` into simple commands, expanding words with `env`.
pub fn split_commands(script: &str, env: &Environment) -> Vec<Command> {
    let mut splitter = Splitter {
        chars: script.char_indices().collect(),
        pos: 0,
        script,
    };
    let lexer = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let mut commands = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    while let Some(token) = splitter.next_token() {
        match token {
            Token::Word(offset, raw) => {
                let text = lexer
                    .process_word(&raw, env)
                    .unwrap_or_else(|_| raw.replace(['\'', '"'], ""));
                current.push(Word { text, raw, offset });
            }
            Token::Separator => finish_command(&mut current, &mut commands),
        }
    }
    finish_command(&mut current, &mut commands);
    commands
}

fn finish_command(current: &mut Vec<Word>, commands: &mut Vec<Command>) {
    let mut words = std::mem::take(current);
    let skip = words
        .iter()
        .take_while(|word| PREFIX_WORDS.contains(&word.raw.as_str()))
        .count();
    words.drain(..skip);
    let first = words.first().map(|word| word.raw.as_str());
    if matches!(
        first,
        None | Some("for" | "case" | "fi" | "done" | "esac" | "}")
    ) {
        return;
    }
    commands.push(Command { words });
}

enum Token {
    Word(usize, String),
    Separator,
}

struct Splitter<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    script: &'a str,
}

impl Splitter<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, ch)| ch)
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, ch)| ch)
    }

    fn offset(&self) -> usize {
        self.chars
            .get(self.pos)
            .map_or(self.script.len(), |&(offset, _)| offset)
    }

    fn next_token(&mut self) -> Option<Token> {
        loop {
            let ch = self.peek()?;
            match ch {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\\' if self.peek_at(1) == Some('\n') => self.pos += 2,
                '\n' | ';' | '&' | '|' | '(' | ')' => {
                    self.pos += 1;
                    return Some(Token::Separator);
                }
                '#' => {
                    while self.peek().is_some_and(|ch| ch != '\n') {
                        self.pos += 1;
                    }
                }
                '<' | '>' => self.skip_redirection(),
                _ => {
                    let start = self.offset();
                    let is_redirect = self.read_word();
                    let raw = self.script[start..self.offset()].to_string();
                    if is_redirect {
                        self.skip_redirection();
                        continue;
                    }
                    return Some(Token::Word(start, raw));
                }
            }
        }
    }

    /// Skips a redirection operator and its target word.
    fn skip_redirection(&mut self) {
        while self
            .peek()
            .is_some_and(|ch| matches!(ch, '<' | '>' | '&' | '|' | '-'))
        {
            self.pos += 1;
        }
        while self.peek().is_some_and(|ch| ch == ' ' || ch == '\t') {
            self.pos += 1;
        }
        if self
            .peek()
            .is_some_and(|ch| !matches!(ch, '\n' | ';' | '&' | '|' | '(' | ')'))
        {
            self.read_word();
        }
    }

    /// Reads one word. Returns true when the word turned out to be a file
    /// descriptor number followed by a redirection operator (`2>`).
    fn read_word(&mut self) -> bool {
        let start = self.pos;
        while let Some(ch) = self.peek() {
            match ch {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' => return false,
                '<' | '>' => {
                    let digits = self.chars[start..self.pos]
                        .iter()
                        .all(|&(_, ch)| ch.is_ascii_digit());
                    return digits;
                }
                '\\' => self.pos += 2,
                '\'' => self.skip_until('\''),
                '"' => self.skip_double_quoted(),
                '`' => self.skip_until('`'),
                '$' if matches!(self.peek_at(1), Some('(' | '{')) => self.skip_balanced(),
                _ => self.pos += 1,
            }
        }
        false
    }

    fn skip_until(&mut self, close: char) {
        self.pos += 1;
        while let Some(ch) = self.peek() {
            self.pos += 1;
            if ch == close {
                return;
            }
        }
    }

    fn skip_double_quoted(&mut self) {
        self.pos += 1;
        while let Some(ch) = self.peek() {
            match ch {
                '\\' => self.pos += 2,
                '"' => {
                    self.pos += 1;
                    return;
                }
                '$' if matches!(self.peek_at(1), Some('(' | '{')) => self.skip_balanced(),
                _ => self.pos += 1,
            }
        }
    }

    /// Skips `$(…)`, `$((…))` or `${…}`, counting nested brackets.
    fn skip_balanced(&mut self) {
        let open = self.peek_at(1).unwrap_or('(');
        let close = if open == '(' { ')' } else { '}' };
        self.pos += 2;
        let mut depth = 1;
        while let Some(ch) = self.peek() {
            self.pos += 1;
            match ch {
                '\\' => self.pos += 1,
                '\'' => {
                    self.pos -= 1;
                    self.skip_until('\'');
                }
                ch if ch == open => depth += 1,
                ch if ch == close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &str) -> Vec<Vec<String>> {
        split_commands(script, &Environment::new())
            .iter()
            .map(|command| {
                command
                    .unwrapped()
                    .iter()
                    .map(|word| word.text.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_on_operators() {
        let commands = programs("apt-get update && chmod 777 /x; echo 'a b' | tee y || true");
        assert_eq!(
            commands,
            [
                vec!["apt-get", "update"],
                vec!["chmod", "777", "/x"],
                vec!["echo", "a b"],
                vec!["tee", "y"],
                vec!["true"],
            ]
        );
    }

    #[test]
    fn drops_redirections_and_comments() {
        let commands = programs("chown app /d 2>/dev/null >> log # note\nsudo -E chmod u+s /bin/x");
        assert_eq!(
            commands,
            [vec!["chown", "app", "/d"], vec!["chmod", "u+s", "/bin/x"]]
        );
    }

    #[test]
    fn keeps_substitutions_in_one_word() {
        let commands = programs("if [ -d /x ]; then chown \"$(id -u):0\" /x; fi");
        assert_eq!(commands[1], vec!["chown", "$(id -u):0", "/x"]);
    }

    #[test]
    fn expands_known_variables() {
        let mut env = Environment::new();
        env.set("APP_USER", "web");
        let commands = split_commands("chown -R ${APP_USER}:$GROUP /srv", &env);
        let texts: Vec<_> = commands[0]
            .words
            .iter()
            .map(|word| word.text.as_str())
            .collect();
        assert_eq!(texts, ["chown", "-R", "web:$GROUP", "/srv"]);
        assert_eq!(commands[0].words[3].offset, 28);
    }
}
