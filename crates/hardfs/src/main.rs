//! The `hardfs` command line: argument definitions, logging set-up and the
//! mapping from results to exit codes. The work itself lives in the library
//! crates; each subcommand is one function in `cmd/` returning an exit code.

mod cli;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Exit code for findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code for invalid usage, unreadable input and every other error.
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose, cli.quiet);

    let result = match &cli.command {
        Command::Rules(args) => cmd::rules::run(args),
        Command::Explain(args) => cmd::rules::explain(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Profile(args) => cmd::profile::run(args),
        Command::Learn(args) => cmd::learn::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Harden(args) => cmd::harden::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            report_error(&error);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Prints `error:` with the cause chain, then the `hint:` line, to stderr.
/// A hint travels as the outermost context of the error, a [`cmd::Hint`].
pub(crate) fn report_error(error: &anyhow::Error) {
    if is_broken_pipe(error) {
        return;
    }
    let hint = error.downcast_ref::<cmd::Hint>();
    let skip = usize::from(hint.is_some());
    let mut causes = error.chain().skip(skip);
    if let Some(first) = causes.next() {
        eprintln!("error: {first}");
    }
    for cause in causes {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Sends logs to stderr: warnings by default, `-v` debug, `-vv` trace, `-q`
/// errors only. `HARDFS_LOG` (an env-filter directive) overrides all of them.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;

    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("HARDFS_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
