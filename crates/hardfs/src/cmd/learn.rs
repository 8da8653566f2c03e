//! `hardfs learn`: run an image with a writable root and record the
//! directories it writes.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hardfs_report::escape;
use hardfs_runtime::{build_profile, learn, LearnOptions, LearnedPath, ProfileWarning};

use crate::cli::{LearnArgs, ProfileSettings};

use super::profile::{load_image, profile_options};
use super::verify::{engine_for, run_options};

pub fn run(args: &LearnArgs) -> anyhow::Result<u8> {
    let loaded = load_image(&args.image)?;
    let settings = ProfileSettings {
        user: args.user.clone(),
        sizes: Vec::new(),
        bare: false,
        volume_as: crate::cli::VolumeAs::Volume,
    };
    let options = profile_options(&settings, None)?;
    let profile = build_profile(&loaded.image.config, &loaded.tree, &options);
    // learn mounts none of the profile's paths, so only the warnings about
    // the user apply to its runs.
    for warning in &profile.warnings {
        if matches!(
            warning,
            ProfileWarning::RunsAsRoot { .. } | ProfileWarning::UnknownUser { .. }
        ) {
            eprintln!("warning: {}", warning.message());
        }
    }

    let target = engine_for(&loaded.reference, &loaded.image.config_digest, &args.run)?;
    let run_uid = profile.user.as_ref().map(|user| user.uid);
    let learn_options = LearnOptions {
        run: run_options(&target.image, &loaded.image.config, &loaded.tree, &args.run)?,
        duration: Duration::from_secs(args.duration),
        profile,
        reference: args.image.clone(),
    };
    let outcome = learn(&target.engine, &loaded.tree, &learn_options);
    hardfs_runtime::wait_if_interrupted();
    let outcome = outcome?;

    if !outcome.ready {
        eprintln!("FAIL: {}", escape(&outcome.reason));
        eprintln!("last log lines:");
        for line in outcome.logs.trim_end().lines() {
            eprintln!("  {}", escape(line));
        }
    }
    for change in &outcome.at_root {
        eprintln!(
            "warning: `{}` is at the top level and is left out, because / is never made writable",
            escape(change)
        );
    }
    for path in &outcome.learned.paths {
        eprintln!("{}", describe_learned(path));
    }
    if !outcome.ready {
        // A file from a failed run would miss paths, and a later `profile
        // --learned` would take it for complete.
        eprintln!("error: learn failed, so no learned-paths file is written");
        if let Some(hint) = uid_hint(run_uid, &outcome.logs) {
            eprintln!("hint: {hint}");
        }
        return Ok(crate::EXIT_FINDINGS);
    }
    match &args.output {
        Some(path) => outcome.learned.write(path)?,
        None => {
            let text = serde_json::to_string_pretty(&outcome.learned)?;
            writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
        }
    }
    Ok(0)
}

/// Explains a failed run by the user's rights, when the user is not root
/// and the log shows a denied permission. Other failures get no such hint.
fn uid_hint(run_uid: Option<u64>, logs: &str) -> Option<String> {
    let uid = run_uid.filter(|&uid| uid != 0)?;
    let denied = logs.lines().any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.contains("permission denied") || lower.contains("eacces")
    });
    denied.then(|| format!(
        "the image ran as uid {uid}, and the log shows a denied permission; the user may not be allowed to create the directories it needs, so run learn on the image before hardening, or with --user 0"
    ))
}

/// Describes one learned path in a line for stderr.
fn describe_learned(path: &LearnedPath) -> String {
    let count = path.writes.len();
    let changes = if count == 1 { "change" } else { "changes" };
    let mut line = format!("learned {} ({count} {changes}", escape(&path.path));
    if !path.denied.is_empty() {
        line.push_str(&format!(
            "; mounted for a further run after the user was denied writing {}",
            escape(&path.denied.join(", "))
        ));
    }
    line.push(')');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_hint_needs_permission_error() {
        let denied = "mkdir: cannot create directory '/app/cache': Permission denied\n";
        let hint = uid_hint(Some(1000), denied).unwrap();
        assert!(hint.starts_with("the image ran as uid 1000"), "{hint}");
        assert_eq!(uid_hint(Some(1000), "bad\n"), None);
        assert_eq!(uid_hint(Some(1000), ""), None);
        assert_eq!(uid_hint(Some(0), denied), None);
        assert_eq!(uid_hint(None, denied), None);
    }

    #[test]
    fn learned_line_counts_changes() {
        let mut path = LearnedPath {
            path: "/run".into(),
            writes: vec!["A /run/nginx.pid".into()],
            denied: Vec::new(),
        };
        assert_eq!(describe_learned(&path), "learned /run (1 change)");
        path.writes.push("A /run/x".into());
        assert_eq!(describe_learned(&path), "learned /run (2 changes)");
        path.denied.push("/run/y".into());
        assert_eq!(
            describe_learned(&path),
            "learned /run (2 changes; mounted for a further run after the user was denied writing /run/y)"
        );
    }
}
