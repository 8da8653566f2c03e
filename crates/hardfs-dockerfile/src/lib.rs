//! Dockerfile support for `hardfs lint`: a parser that follows BuildKit's
//! Dockerfile frontend, BuildKit-style word expansion, a per-stage model with
//! ARG and ENV scoping, and the filesystem-hardening lint rules.
//!
//! [`parse`] gives the syntax tree, [`stages`] the build stages with expanded
//! values, and [`lint`] the sorted findings for one file.

mod accounts;
mod args;
pub mod ast;
mod error;
pub mod lex;
mod model;
mod modes;
mod parser;
mod rules;
pub mod shell;
mod suppress;
mod validate;

use hardfs_rules::{sort_findings, Finding};

pub use ast::{Directives, Dockerfile, Heredoc, Node};
pub use error::ParseError;
pub use model::{stages, CopyStep, Script, Stage, Step, StepKind};
pub use parser::{parse, MAX_INSTRUCTION_BYTES, MAX_LINE_BYTES};

/// Lints one Dockerfile. `file_name` is only used in the findings'
/// locations. Returns the findings in the shared sort order, with inline
/// suppressions applied.
pub fn lint(file_name: &str, text: &str) -> Result<Vec<Finding>, ParseError> {
    let file = parse(text)?;
    let stages = stages(&file)?;
    let mut context = rules::Context {
        file_name,
        stages: &stages,
        findings: Vec::new(),
    };
    rules::run_all(&mut context);
    let kept = suppress::apply(context.findings, &file.comments);
    let mut findings: Vec<Finding> = kept.into_iter().map(|raw| raw.finding).collect();
    sort_findings(&mut findings);
    findings.dedup();
    Ok(findings)
}
