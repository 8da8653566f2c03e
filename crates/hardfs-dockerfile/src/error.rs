//! Errors from parsing and analysing a Dockerfile. Every variant names the
//! line it is about; the caller adds the file name.

use thiserror::Error;

use crate::lex::LexError;

/// A failure to parse or analyse a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("line {line}: only one `{name}` parser directive can be used")]
    DuplicateDirective { line: usize, name: String },
    #[error("line {line}: invalid escape character `{value}`: expected `\\` or a backtick")]
    InvalidEscape { line: usize, value: String },
    #[error("line {line}: line is {length} bytes long, more than the limit of {limit}")]
    LineTooLong {
        line: usize,
        length: usize,
        limit: usize,
    },
    #[error("line {line}: instruction is more than {limit} bytes long")]
    InstructionTooLong { line: usize, limit: usize },
    #[error("line {line}: unterminated heredoc `{name}`: no line with only the delimiter")]
    UnterminatedHeredoc { line: usize, name: String },
    #[error("line {line}: invalid heredoc delimiter `{word}`")]
    InvalidHeredoc {
        line: usize,
        word: String,
        #[source]
        source: LexError,
    },
    #[error("line {line}: {instruction} requires a name and a value")]
    MissingValue { line: usize, instruction: String },
    #[error("line {line}: {instruction} argument `{word}` has no `=`: expected name=value")]
    MissingEquals {
        line: usize,
        instruction: String,
        word: String,
    },
    #[error("line {line}: {instruction} JSON array may contain only strings")]
    NotStringArray { line: usize, instruction: String },
    #[error("file has no instructions")]
    NoInstructions,
    #[error("line {line}: unknown instruction `{keyword}`")]
    UnknownInstruction { line: usize, keyword: String },
    #[error("line {line}: {instruction} requires {expected}")]
    MissingArguments {
        line: usize,
        instruction: String,
        expected: &'static str,
    },
    #[error("line {line}: instruction {instruction} before the first FROM")]
    BeforeFrom { line: usize, instruction: String },
    #[error("line {line}: invalid word in {instruction}")]
    Expansion {
        line: usize,
        instruction: String,
        #[source]
        source: LexError,
    },
    #[error("line {line}: {instruction} flag `{flag}`: {reason}")]
    InvalidFlag {
        line: usize,
        instruction: String,
        flag: String,
        reason: &'static str,
    },
    #[error("line {line}: {instruction} cannot be used inside ONBUILD")]
    InvalidOnbuild { line: usize, instruction: String },
}

impl ParseError {
    /// Returns the line the error is about, if it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::NoInstructions => None,
            ParseError::DuplicateDirective { line, .. }
            | ParseError::InvalidEscape { line, .. }
            | ParseError::LineTooLong { line, .. }
            | ParseError::InstructionTooLong { line, .. }
            | ParseError::UnterminatedHeredoc { line, .. }
            | ParseError::InvalidHeredoc { line, .. }
            | ParseError::MissingValue { line, .. }
            | ParseError::MissingEquals { line, .. }
            | ParseError::NotStringArray { line, .. }
            | ParseError::UnknownInstruction { line, .. }
            | ParseError::MissingArguments { line, .. }
            | ParseError::BeforeFrom { line, .. }
            | ParseError::Expansion { line, .. }
            | ParseError::InvalidFlag { line, .. }
            | ParseError::InvalidOnbuild { line, .. } => Some(*line),
        }
    }
}
