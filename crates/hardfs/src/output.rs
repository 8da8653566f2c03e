//! The output options shared by `audit` and `lint`: resolving [`OutputArgs`]
//! into a policy and a renderer, and writing the report to stdout or to a
//! file that appears whole or not at all.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hardfs_report::{
    render, use_color_from_env, ColorChoice, ConfigSource, Format, Policy, PolicyError,
    PolicyOptions, Report, TextOptions,
};

use crate::cli::{ColorWhen, OutputArgs, OutputFormat};
use crate::cmd::Hint;

/// Validated output settings: the policy to build the report with, and how
/// to write it.
#[derive(Debug)]
pub struct Output {
    pub policy: Policy,
    format: Format,
    destination: Option<PathBuf>,
    color: ColorChoice,
    all: bool,
}

impl Output {
    /// Validates the rule names and allowlist entries in `args` and reads
    /// the config file: `--config FILE`, or `.hardfs.toml` in the working
    /// directory when there is one.
    pub fn resolve(args: &OutputArgs) -> Result<Output> {
        let config = match &args.config {
            Some(path) => ConfigSource::File(path.clone()),
            None => ConfigSource::Discover(
                std::env::current_dir().context("failed to read the working directory")?,
            ),
        };
        let options = PolicyOptions {
            only: args.only.clone(),
            skip: args.skip.clone(),
            allow: args.allow.clone(),
            fail_on: args.fail_on,
            config: Some(config),
        };
        let policy = Policy::resolve(&options).map_err(|error| match error {
            PolicyError::UnknownRule { .. } => anyhow::Error::new(error).context(Hint(
                "run `hardfs rules` to list every rule ID and slug".into(),
            )),
            _ => anyhow::Error::new(error),
        })?;

        Ok(Output {
            policy,
            format: match args.format {
                OutputFormat::Text => Format::Text,
                OutputFormat::Json => Format::Json,
                OutputFormat::Sarif => Format::Sarif,
            },
            destination: args.output.clone().filter(|path| path.as_os_str() != "-"),
            color: match args.color {
                ColorWhen::Auto => ColorChoice::Auto,
                ColorWhen::Always => ColorChoice::Always,
                ColorWhen::Never => ColorChoice::Never,
            },
            all: args.all,
        })
    }

    /// Renders `report` to its destination and returns the exit code that
    /// the policy gives it.
    pub fn write(&self, report: &Report) -> Result<u8> {
        for entry in self.policy.unused_allow_entries(report) {
            eprintln!(
                "warning: allowlist entry {}:{} from {} matched no finding; \
                 check the rule and the path, or remove the entry",
                entry.rule.id,
                entry.pattern.as_str(),
                entry.origin
            );
        }
        match &self.destination {
            Some(path) => self.write_file(report, path)?,
            None => {
                let stdout = io::stdout();
                let is_terminal = stdout.is_terminal();
                let mut out = BufWriter::new(stdout.lock());
                self.render_to(report, is_terminal, &mut out)
                    .and_then(|()| out.flush())
                    .context("failed to write the report to stdout")?;
            }
        }
        Ok(self.policy.exit_code(report))
    }

    fn render_to(&self, report: &Report, is_terminal: bool, out: &mut dyn Write) -> io::Result<()> {
        let text = TextOptions {
            color: use_color_from_env(self.color, is_terminal),
            all: self.all,
        };
        render(report, self.format, text, out)
    }

    /// Writes to a temporary file in the destination's directory and renames
    /// it over `path`, so an error leaves no partial file behind.
    fn write_file(&self, report: &Report, path: &Path) -> Result<()> {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let failed = || format!("failed to write the report to {}", path.display());
        let mut temporary = temporary_file(directory).with_context(failed)?;

        let mut out = BufWriter::new(temporary.as_file_mut());
        self.render_to(report, false, &mut out)
            .and_then(|()| out.flush())
            .with_context(failed)?;
        drop(out);
        temporary
            .persist(path)
            .map_err(|error| error.error)
            .with_context(failed)?;
        Ok(())
    }
}

/// Creates a temporary file in `directory` with mode 0666 less the umask,
/// as for any new file, where tempfile's default is 0600.
fn temporary_file(directory: &Path) -> io::Result<tempfile::NamedTempFile<File>> {
    use std::os::unix::fs::PermissionsExt;

    tempfile::Builder::new()
        .prefix(".hardfs-report-")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(directory)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use clap::Parser;
    use hardfs_report::{FailOn, Problem, Target, EXIT_FINDINGS, EXIT_INCOMPLETE};
    use hardfs_rules::{Finding, Location, Severity};

    use super::*;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        output: OutputArgs,
    }

    fn parse(args: &[&str]) -> OutputArgs {
        let mut argv = vec!["hardfs"];
        argv.extend_from_slice(args);
        TestCli::try_parse_from(argv).unwrap().output
    }

    fn sample_report(policy: &Policy, problems: Vec<Problem>) -> Report {
        let rule = hardfs_rules::lookup("setuid-file").unwrap();
        let location = Location::ImagePath {
            path: "/usr/bin/su".into(),
            layer_index: 1,
            layer_digest: "sha256:0123456789abcdef".into(),
            created_by: None,
        };
        let finding =
            Finding::new(rule, location, "setuid-root file").with_severity(Severity::High);
        Report::new(Target::Dockerfiles(vec![]), vec![finding], problems, policy)
    }

    #[test]
    fn exit_codes_match_the_binary() {
        assert_eq!(hardfs_report::EXIT_FINDINGS, crate::EXIT_FINDINGS);
        assert_eq!(hardfs_report::EXIT_INCOMPLETE, crate::EXIT_ERROR);
    }

    #[test]
    fn flags_parse_into_args() {
        let args = parse(&[
            "--format",
            "sarif",
            "--fail-on",
            "critical",
            "--only",
            "HF001,HF002",
            "--skip",
            "world-writable",
            "--allow",
            "setuid-file:/usr/bin/su",
            "--allow",
            "HF002:/usr/bin/*",
            "--color",
            "never",
            "--all",
        ]);
        assert_eq!(args.format, OutputFormat::Sarif);
        assert_eq!(args.fail_on, Some(FailOn::Severity(Severity::Critical)));
        assert_eq!(args.only, ["HF001", "HF002"]);
        assert_eq!(args.skip, ["world-writable"]);
        assert_eq!(args.allow.len(), 2);
        assert_eq!(args.color, ColorWhen::Never);
        assert!(args.all);
    }

    #[test]
    fn invalid_fail_on_is_a_usage_error() {
        let error = TestCli::try_parse_from(["hardfs", "--fail-on", "loud"]).unwrap_err();
        assert!(error.to_string().contains("`loud`"), "{error}");
    }

    #[test]
    fn unknown_rule_fails_with_hint() {
        let args = parse(&["--only", "nope", "--config", "/dev/null"]);
        let error = Output::resolve(&args).unwrap_err();
        assert!(error.downcast_ref::<Hint>().is_some());
        let cause = error.chain().nth(1).unwrap().to_string();
        assert!(
            cause.starts_with("unknown rule `nope` in --only"),
            "{cause}"
        );
    }

    #[test]
    fn dash_output_means_stdout() {
        let args = parse(&["--output", "-", "--config", "/dev/null"]);
        let output = Output::resolve(&args).unwrap();
        assert_eq!(output.destination, None);
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("hardfs.toml");
        let args = parse(&["--config", missing.to_str().unwrap()]);
        let error = Output::resolve(&args).unwrap_err();
        let causes: Vec<String> = error.chain().map(ToString::to_string).collect();
        assert!(
            causes.iter().any(|cause| cause.contains("not found")),
            "{causes:?}"
        );
    }

    #[test]
    fn config_file_sets_fail_on() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("policy.toml");
        fs::write(&config, "[settings]\nfail_on = \"critical\"\n").unwrap();
        let args = parse(&["--config", config.to_str().unwrap()]);
        let output = Output::resolve(&args).unwrap();
        assert_eq!(output.policy.fail_on, FailOn::Severity(Severity::Critical));

        let args = parse(&["--config", config.to_str().unwrap(), "--fail-on", "high"]);
        let output = Output::resolve(&args).unwrap();
        assert_eq!(output.policy.fail_on, FailOn::Severity(Severity::High));
    }

    #[test]
    fn file_output_is_complete_and_returns_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let args = parse(&[
            "--format",
            "json",
            "--output",
            path.to_str().unwrap(),
            "--config",
            "/dev/null",
        ]);
        let output = Output::resolve(&args).unwrap();
        let report = sample_report(&output.policy, vec![]);

        assert_eq!(output.write(&report).unwrap(), EXIT_FINDINGS);
        let written: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written["findings"][0]["path"], "/usr/bin/su");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");

        let problem = Problem {
            subject: "layer 2".into(),
            message: "unreadable".into(),
        };
        let report = sample_report(&output.policy, vec![problem]);
        assert_eq!(output.write(&report).unwrap(), EXIT_INCOMPLETE);
    }

    #[test]
    fn failed_file_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty directory fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        let args = parse(&["--output", path.to_str().unwrap(), "--config", "/dev/null"]);
        let output = Output::resolve(&args).unwrap();
        let report = sample_report(&output.policy, vec![]);

        let error = output.write(&report).unwrap_err();
        assert!(
            error.to_string().contains("failed to write the report to"),
            "{error}"
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }

    #[test]
    fn file_output_has_no_color() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.txt");
        let args = parse(&["--output", path.to_str().unwrap(), "--config", "/dev/null"]);
        let output = Output::resolve(&args).unwrap();
        output
            .write(&sample_report(&output.policy, vec![]))
            .unwrap();
        let written = fs::read_to_string(&path).unwrap();
        assert!(
            written.contains("/usr/bin/su: setuid-root file"),
            "{written}"
        );
        assert!(!written.contains('\x1b'), "{written}");
    }
}
