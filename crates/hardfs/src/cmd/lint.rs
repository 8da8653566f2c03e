//! `hardfs lint`: lints Dockerfiles and writes the report through the
//! shared output options.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hardfs_report::{escape, Problem, Report, Target};
use hardfs_rules::Finding;
use tracing::debug;

use crate::cli::LintArgs;
use crate::cmd::Hint;
use crate::output::Output;

pub fn run(args: &LintArgs) -> Result<u8> {
    let output = Output::resolve(&args.output)?;
    let files = match args.files.as_slice() {
        [] => vec![default_file()?],
        files => files.to_vec(),
    };
    // A file that cannot be read or parsed does not stop the others; it is
    // recorded as a problem in the report, which makes the exit code 2.
    let mut findings = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        match lint_file(file) {
            Ok(found) => findings.extend(found),
            Err(error) => {
                // Also on stderr, so the error is seen whatever the format.
                crate::report_error(&error);
                let subject = escape(&file.display().to_string()).into_owned();
                problems.push(Problem::from_error(subject, error.as_ref()));
            }
        }
    }
    if problems.len() == files.len() {
        // Every file failed and each error is on stderr already; an empty
        // report on stdout would read as a clean result.
        return Ok(2);
    }
    let names = files
        .iter()
        .map(|file| file.display().to_string())
        .collect();
    let report = Report::new(
        Target::Dockerfiles(names),
        findings,
        problems,
        &output.policy,
    );
    output.write(&report)
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
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .context("cannot read the Dockerfile from standard input")?;
        bytes
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", escape(&name)))?
    };
    let text = String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        anyhow::anyhow!("{} is not valid UTF-8 at byte {offset}", escape(&name))
    })?;
    debug!(file = %name, "linting");
    hardfs_dockerfile::lint(&name, &text).map_err(|error| {
        let place = match error.line() {
            Some(line) => format!("{}:{line}", escape(&name)),
            None => escape(&name).into_owned(),
        };
        anyhow::Error::new(error).context(format!("cannot parse {place}"))
    })
}
