//! `hardfs lint`: lints Dockerfiles and prints one line per finding.
//!
//! NOTE: the output is a plain text format of its own until the shared
//! text/JSON/SARIF renderers, `--only`/`--skip` and `.hardfs.toml`
//! allowlists are available to this command.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hardfs_rules::{Finding, Location};
use tracing::debug;

use crate::cli::LintArgs;
use crate::cmd::Hint;
use crate::EXIT_FINDINGS;

pub fn run(args: &LintArgs) -> Result<u8> {
    let files = match args.files.as_slice() {
        [] => vec![default_file()?],
        files => files.to_vec(),
    };
    // A file that cannot be read or parsed does not stop the others; it is
    // reported on stderr after the findings and makes the exit status 2.
    let mut findings = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match lint_file(file) {
            Ok(found) => findings.extend(found),
            Err(error) => errors.push(error),
        }
    }
    let mut out = std::io::stdout().lock();
    for finding in &findings {
        writeln!(out, "{}", render(finding))?;
    }
    out.flush()?;
    if let Some(last) = errors.pop() {
        for error in &errors {
            crate::report_error(error);
        }
        return Err(last);
    }
    let failed = args
        .fail_on
        .is_some_and(|threshold| findings.iter().any(|finding| finding.severity >= threshold));
    Ok(if failed { EXIT_FINDINGS } else { 0 })
}

/// `./Dockerfile`, else `./Containerfile`.
fn default_file() -> Result<PathBuf> {
    for name in ["Dockerfile", "Containerfile"] {
        let path = PathBuf::from(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!(Hint(
        "no Dockerfile or Containerfile in the current directory; name the files to lint".into()
    ))
}

fn lint_file(path: &Path) -> Result<Vec<Finding>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", escape(&name)))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        anyhow::anyhow!("{} is not valid UTF-8 at byte {offset}", escape(&name))
    })?;
    debug!(file = %name, "linting");
    hardfs_dockerfile::lint(&name, &text).map_err(|error| {
        let place = match error.line() {
            Some(line) => format!("{}:{line}", escape(&name)),
            None => escape(&name),
        };
        anyhow::Error::new(error).context(format!("cannot parse {place}"))
    })
}

/// `file:line:col severity slug message`, with control characters in the
/// file name and message escaped so they cannot reach the terminal.
fn render(finding: &Finding) -> String {
    let location = match &finding.location {
        Location::Dockerfile { file, line, column } => format!("{}:{line}:{column}", escape(file)),
        other => format!("{other:?}"),
    };
    format!(
        "{location} {} {} {}",
        finding.severity,
        finding.rule.slug,
        escape(&finding.message)
    )
}

fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|ch| {
            if ch.is_control() {
                ch.escape_default().collect::<Vec<_>>()
            } else {
                vec![ch]
            }
        })
        .collect()
}
