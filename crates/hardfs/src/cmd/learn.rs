//! `hardfs learn`: run an image with a writable root and record the
//! directories it writes.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hardfs_runtime::{build_profile, learn, LearnOptions};

use crate::cli::{LearnArgs, ProfileSettings};

use super::profile::{load_image, print_warnings, profile_options};
use super::verify::{engine_for, run_options};

pub fn run(args: &LearnArgs) -> anyhow::Result<u8> {
    let loaded = load_image(&args.image)?;
    let settings = ProfileSettings {
        user: args.user.clone(),
        sizes: Vec::new(),
        bare: false,
    };
    let options = profile_options(&settings, None)?;
    let profile = build_profile(&loaded.image.config, &loaded.tree, &options);
    print_warnings(&profile);

    let (engine, image) = engine_for(&loaded.reference, &args.run)?;
    let learn_options = LearnOptions {
        run: run_options(&image, &loaded.image.config, &loaded.tree, &args.run)?,
        duration: Duration::from_secs(args.duration),
        profile,
        reference: args.image.clone(),
    };
    hardfs_runtime::cleanup_on_signal();
    let outcome = learn(&engine, &loaded.tree, &learn_options)?;

    if !outcome.ready {
        eprintln!("warning: the container was not ready: {}", outcome.reason);
        eprintln!("last log lines:\n{}", outcome.logs.trim_end());
    }
    for change in &outcome.at_root {
        eprintln!("warning: `{change}` is at the top level and is left out, because / is never made writable");
    }
    for path in &outcome.learned.paths {
        if path.denied.is_empty() {
            eprintln!("learned {} ({} changes)", path.path, path.writes.len());
        } else {
            eprintln!(
                "learned {} ({} changes; mounted for a further run after the user was denied writing {})",
                path.path,
                path.writes.len(),
                path.denied.join(", ")
            );
        }
    }
    match &args.output {
        Some(path) => outcome.learned.write(path)?,
        None => {
            let text = serde_json::to_string_pretty(&outcome.learned)?;
            writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")?;
        }
    }
    Ok(if outcome.ready {
        0
    } else {
        crate::EXIT_FINDINGS
    })
}
