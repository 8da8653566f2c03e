//! `hardfs verify`: run an image under its profile and report PASS or
//! FAIL, with the paths it failed to write.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hardfs_fs::Tree;
use hardfs_image::{ImageConfig, Reference};
use hardfs_report::escape;
use hardfs_runtime::render::{shell_join, Target};
use hardfs_runtime::{
    build_profile, detect_engine, is_system_directory, load_engine_image, output_directory, verify,
    CliEngine, Engine, EngineImage, EngineKind, Probe, RunOptions, Verdict, VerifyOutcome,
};

use crate::cli::{EngineChoice, ListFormat, RunSettings, VerifyArgs};

use super::profile::{load_image, print_warnings, profile_options};
use super::Hint;

/// The engine and the name of the image in it.
pub struct EngineTarget {
    pub engine: CliEngine,
    /// The name to run: `--engine-image`, or the loaded image's.
    pub image: String,
    /// The image loaded for this run, kept only so that dropping the
    /// target removes it.
    _loaded: Option<EngineImage>,
}

/// Finds the engine and makes the image runnable in it under a name of
/// its own, unless `--engine-image` names one.
pub fn engine_for(
    reference: &Reference,
    config_digest: &str,
    run: &RunSettings,
) -> anyhow::Result<EngineTarget> {
    let preferred = run.engine.map(|choice| match choice {
        EngineChoice::Podman => EngineKind::Podman,
        EngineChoice::Docker => EngineKind::Docker,
    });
    let engine = detect_engine(preferred).context(Hint(
        "install podman, or start a docker engine; podman reads CONTAINERS_CONF from the environment".into(),
    ))?;
    // Installed before the image is loaded, so that Ctrl-C removes it.
    hardfs_runtime::cleanup_on_signal();
    if let Some(name) = &run.engine_image {
        // `run --pull never` would fail too, but with the engine's words
        // and only after the volumes are made.
        if !engine.has_image(name)? {
            return Err(anyhow::anyhow!(
                "--engine-image {name}: {} has no image of that name",
                engine.kind().program()
            ))
            .context(Hint(format!(
                "load it first (`{} image ls` lists the names), or leave out --engine-image so that hardfs loads the image itself",
                engine.kind().program()
            )));
        }
        return Ok(EngineTarget {
            engine,
            image: name.clone(),
            _loaded: None,
        });
    }
    let loaded = load_engine_image(&engine, reference, config_digest).context(Hint(
        "hardfs copies the image into the engine with skopeo, so install skopeo, or load the image yourself and pass its name with --engine-image".into(),
    ))?;
    Ok(EngineTarget {
        engine,
        image: loaded.name.clone(),
        _loaded: Some(loaded),
    })
}

/// Resolves the run settings.
pub fn run_options(
    image: &str,
    config: &ImageConfig,
    tree: &Tree,
    run: &RunSettings,
) -> anyhow::Result<RunOptions> {
    let mut options = RunOptions::new(image);
    options.probes = run
        .probes
        .iter()
        .map(|probe| Probe::parse(probe))
        .collect::<Result<_, _>>()?;
    options.has_healthcheck = config
        .healthcheck
        .first()
        .is_some_and(|kind| kind != "NONE");
    options.timeout = Duration::from_secs(run.timeout);
    options.memory = run.memory.clone();
    options.pids_limit = run.pids_limit;
    options.command = run.command.clone();
    let command = if run.command.is_empty() {
        &config.cmd
    } else {
        &run.command
    };
    let process: Vec<String> = config.entrypoint.iter().chain(command).cloned().collect();
    options.relative_to = output_directory(&process, config.working_dir.as_deref(), tree);
    Ok(options)
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<u8> {
    let loaded = load_image(&args.image)?;
    let options = profile_options(&args.settings, args.profile.as_deref())?;
    let profile = build_profile(&loaded.image.config, &loaded.tree, &options);
    let target = engine_for(&loaded.reference, &loaded.image.config_digest, &args.run)?;
    let target_kind = match target.engine.kind() {
        EngineKind::Podman => Target::Podman,
        EngineKind::Docker => Target::Docker,
    };
    print_warnings(&profile, Some(target_kind));

    let engine = &target.engine;
    let run_options = run_options(&target.image, &loaded.image.config, &loaded.tree, &args.run)?;
    let outcome = verify(engine, &profile, &loaded.tree, &run_options);
    hardfs_runtime::wait_if_interrupted();
    let outcome = outcome?;

    let mut stdout = std::io::stdout().lock();
    match args.format {
        ListFormat::Text => write_text(&mut stdout, &outcome, engine.kind())?,
        ListFormat::Json => {
            let value = serde_json::json!({
                "version": 1,
                "image": args.image,
                "verdict": if outcome.verdict == Verdict::Pass { "PASS" } else { "FAIL" },
                "reason": outcome.reason,
                "arguments": outcome.arguments,
                "logs": outcome.logs,
                "failed_writes": outcome.failed_writes,
                "suggestions": outcome.suggestions,
                "hints": outcome.hints,
                "write_errors": outcome.write_errors,
                "elapsed_seconds": outcome.elapsed.as_secs_f64(),
                "profile": profile,
            });
            writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(match outcome.verdict {
        Verdict::Pass => 0,
        Verdict::Fail => crate::EXIT_FINDINGS,
    })
}

fn write_text(
    out: &mut impl Write,
    outcome: &VerifyOutcome,
    engine: EngineKind,
) -> anyhow::Result<()> {
    let verdict = match outcome.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    writeln!(
        out,
        "{verdict}: {} ({:.1} s)",
        escape(&outcome.reason),
        outcome.elapsed.as_secs_f64()
    )?;
    let mut command = vec![engine.program().to_string()];
    command.extend(outcome.arguments.iter().cloned());
    writeln!(out, "ran: {}", escape(&shell_join(&command)))?;
    if outcome.verdict == Verdict::Pass {
        for line in &outcome.write_errors {
            writeln!(
                out,
                "warning: the log reports a failed write, which the verdict does not count: {}",
                escape(line)
            )?;
        }
        return Ok(());
    }
    if !outcome.logs.trim().is_empty() {
        writeln!(out, "last log lines:")?;
        for line in outcome.logs.lines() {
            writeln!(out, "  {}", escape(line))?;
        }
    }
    for path in &outcome.failed_writes {
        writeln!(out, "failed to write: {}", escape(path))?;
    }
    for path in &outcome.suggestions {
        let path = escape(path);
        writeln!(
            out,
            "suggestion: make {path} writable: add it to a learned-paths file, or run `hardfs learn` and pass its output with --profile"
        )?;
        if is_system_directory(&path) {
            writeln!(
                out,
                "warning: {path} is a system directory, and a writable {path} lets the process replace system files; prefer configuring the program to write below /tmp, /run or a volume"
            )?;
        }
    }
    for hint in &outcome.hints {
        writeln!(out, "hint: {}", escape(hint))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_outcome() -> VerifyOutcome {
        VerifyOutcome {
            verdict: Verdict::Fail,
            reason: "the container exited with code 1".into(),
            arguments: vec![
                "run".into(),
                "image".into(),
                "sh".into(),
                "-c".into(),
                "printf x; exit 1".into(),
            ],
            logs: "\u{1b}]0;PWNED\u{7}\u{1b}[31mred /etc/x: Read-only file system\n".into(),
            failed_writes: vec!["/etc/x".into()],
            suggestions: vec!["/etc".into()],
            hints: Vec::new(),
            write_errors: vec!["/etc/x: Read-only file system".into()],
            elapsed: Duration::from_millis(100),
        }
    }

    #[test]
    fn text_escapes_logs_and_quotes_command() {
        let mut out = Vec::new();
        write_text(&mut out, &failed_outcome(), EngineKind::Podman).unwrap();
        let text = String::from_utf8(out).unwrap();

        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains('\u{7}'), "{text:?}");
        assert!(
            text.contains("  \\x1b]0;PWNED\\x07\\x1b[31mred /etc/x"),
            "{text}"
        );
        assert!(
            text.contains("ran: podman run image sh -c 'printf x; exit 1'\n"),
            "{text}"
        );
    }

    #[test]
    fn pass_warns_about_write_errors() {
        let mut outcome = failed_outcome();
        outcome.verdict = Verdict::Pass;
        let mut out = Vec::new();
        write_text(&mut out, &outcome, EngineKind::Podman).unwrap();
        let text = String::from_utf8(out).unwrap();

        assert!(
            text.contains("warning: the log reports a failed write, which the verdict does not count: /etc/x: Read-only file system\n"),
            "{text}"
        );
        assert!(!text.contains("suggestion:"), "{text}");
    }

    #[test]
    fn system_directory_suggestion_warned() {
        let mut out = Vec::new();
        write_text(&mut out, &failed_outcome(), EngineKind::Podman).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("suggestion: make /etc writable"), "{text}");
        assert!(
            text.contains("warning: /etc is a system directory"),
            "{text}"
        );
    }
}
