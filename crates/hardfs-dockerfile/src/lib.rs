//! Dockerfile support for `hardfs lint`: a parser that follows BuildKit's
//! Dockerfile frontend, BuildKit-style word expansion, a per-stage model with
//! ARG and ENV scoping, and the filesystem-hardening lint rules.
//!
//! [`parse`] gives the syntax tree, [`lint`] the sorted findings for one file.

mod args;
pub mod ast;
mod error;
pub mod lex;
mod parser;

pub use ast::{Directives, Dockerfile, Heredoc, Node};
pub use error::ParseError;
pub use parser::{parse, MAX_INSTRUCTION_BYTES, MAX_LINE_BYTES};
