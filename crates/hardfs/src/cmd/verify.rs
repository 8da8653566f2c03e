//! `hardfs verify`: run an image under its profile and report PASS or
//! FAIL, with the paths it failed to write.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hardfs_fs::Tree;
use hardfs_image::{ImageConfig, Reference};
use hardfs_runtime::{
    build_profile, detect_engine, output_directory, verify, CliEngine, Engine, EngineKind, Probe,
    RunOptions, Verdict, VerifyOutcome,
};

use crate::cli::{EngineChoice, ListFormat, RunSettings, VerifyArgs};

use super::profile::{load_image, print_warnings, profile_options};
use super::Hint;

/// Finds the engine and makes the image runnable in it.
pub fn engine_for(reference: &Reference, run: &RunSettings) -> anyhow::Result<(CliEngine, String)> {
    let preferred = run.engine.map(|choice| match choice {
        EngineChoice::Podman => EngineKind::Podman,
        EngineChoice::Docker => EngineKind::Docker,
    });
    let engine = detect_engine(preferred).context(Hint(
        "install podman, or start a docker engine; podman reads CONTAINERS_CONF from the environment".into(),
    ))?;
    let image = match &run.engine_image {
        Some(name) => name.clone(),
        None => engine.load_image(reference)?,
    };
    Ok((engine, image))
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
    print_warnings(&profile);

    let (engine, image) = engine_for(&loaded.reference, &args.run)?;
    let run_options = run_options(&image, &loaded.image.config, &loaded.tree, &args.run)?;
    hardfs_runtime::cleanup_on_signal();
    let outcome = verify(&engine, &profile, &loaded.tree, &run_options)?;

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
        outcome.reason,
        outcome.elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        "ran: {} {}",
        engine.program(),
        outcome.arguments.join(" ")
    )?;
    if outcome.verdict == Verdict::Pass {
        return Ok(());
    }
    if !outcome.logs.trim().is_empty() {
        writeln!(out, "last log lines:")?;
        for line in outcome.logs.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    for path in &outcome.failed_writes {
        writeln!(out, "failed to write: {path}")?;
    }
    for path in &outcome.suggestions {
        writeln!(
            out,
            "suggestion: make {path} writable: add it to a learned-paths file, or run `hardfs learn` and pass its output with --profile"
        )?;
    }
    Ok(())
}
