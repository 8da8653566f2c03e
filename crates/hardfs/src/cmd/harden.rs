//! `hardfs harden`: resolve the arguments, plan, write the image and print
//! the summary.

mod render;

use std::path::Path;

use anyhow::{Context, Result};
use hardfs_harden::{HardenError, HardenOptions, OutputReference};
use hardfs_image::{Image, Platform, Reference};
use hardfs_tar::Compression;

use crate::cli::{HardenArgs, HardenChange, HardenMode, LayerCompression, RemovalPreset};
use crate::cmd::Hint;

pub fn run(args: &HardenArgs) -> Result<u8> {
    check_args(args)?;
    let mut options = options(args);
    options.keep.extend(settings_keeps(args.config.as_deref())?);
    let output = match &args.output {
        Some(text) => Some(OutputReference::parse(text)?),
        None => None,
    };
    if let Some(root) = &args.rootfs {
        let outcome = match hardfs_harden::harden_rootfs(root, &options, args.dry_run) {
            Ok(outcome) => outcome,
            Err(error @ HardenError::RootfsDirectory { .. }) => return Err(error.into()),
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context(format!("cannot harden `{}`", root.display())))
            }
        };
        let mut out = std::io::stdout().lock();
        render::print_rootfs(
            &mut out,
            args.format,
            &root.display().to_string(),
            &outcome,
            args.dry_run,
        )?;
        return Ok(0);
    }
    let input = args
        .image
        .as_deref()
        .expect("clap requires IMAGE without --rootfs");
    let reference = Reference::parse(input)?;
    let image = Image::open(&reference, &Platform::host())
        .with_context(|| format!("cannot open image `{input}`"))?;
    tracing::debug!(transport = %image.transport, layers = image.layers.len(), "opened input");

    let (scan, mut plan) = match hardfs_harden::prepare(&image, &options) {
        Ok(prepared) => prepared,
        Err(error @ HardenError::RootUser { .. }) => {
            return Err(anyhow::Error::new(error).context(Hint(
                "choose a non-root user with --user NAME|UID[:GID] or --create-user NAME, or pass --allow-root"
                    .into(),
            )))
        }
        Err(error) => return Err(error.into()),
    };
    let hidden = plan.changes.iter().filter(|change| change.hidden).count();
    if options.append {
        // Append mode changes only what the final view shows.
        plan.changes.retain(|change| !change.hidden);
    }
    let mut summary = render::Summary::new(&image, &scan, &plan);
    if options.append {
        summary.rewritten_layers.clear();
    }
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        render::print(&mut out, args.format, &summary, None)?;
        return Ok(0);
    }
    let output = output.expect("clap requires --output without --dry-run");
    check_output_outside_input(&reference, &output)?;
    install_signal_cleanup();
    let outcome = hardfs_harden::write(&image, &scan, &plan, &options, &output)
        .with_context(|| format!("cannot write `{}`", output.path.display()))?;
    render::print(&mut out, args.format, &summary, Some(&outcome))?;
    if options.append {
        eprintln!(
            "warning: append mode: the lower layers still contain every changed entry \
             ({hidden} hidden lower copies among them), privileged copies included; use \
             --mode rewrite to remove them"
        );
    }
    Ok(0)
}

/// Rejects options that do not apply or cannot work, before any reading.
fn check_args(args: &HardenArgs) -> Result<()> {
    if args.rootfs.is_some() {
        let image_only = [
            ("--user", args.user.is_some()),
            ("--create-user", args.create_user.is_some()),
            ("--allow-root", args.allow_root),
            ("--writable", !args.writable.is_empty()),
            ("--drop-volumes", args.drop_volumes),
            ("--remove", !args.remove.is_empty()),
            ("--preset", !args.preset.is_empty()),
            ("--compression", args.compression.is_some()),
            ("--mode append", args.mode == HardenMode::Append),
        ];
        let given: Vec<&str> = image_only
            .iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| *name)
            .collect();
        if !given.is_empty() {
            return Err(anyhow::anyhow!(
                "{} cannot be used with --rootfs",
                given.join(", ")
            )
            .context(Hint(
                "--rootfs only clears setuid, setgid, capabilities and world-write in place; the runtime user, ownership, removals and layers belong to image outputs".into(),
            )));
        }
    }
    if args
        .writable
        .iter()
        .any(|path| path.trim_end_matches('/').is_empty())
    {
        anyhow::bail!(
            "--writable / would leave the whole filesystem writable and turn off the ownership \
             change; name the directories the application writes"
        );
    }
    if let Some(relative) = args.writable.iter().find(|path| !path.starts_with('/')) {
        anyhow::bail!("--writable `{relative}` is not an absolute path; give the path in the image, starting with `/`");
    }
    if let Some(name) = &args.create_user {
        if name == "root" {
            anyhow::bail!("--create-user root: root is the user hardening moves away from; name a new non-root user");
        }
        let user_name = args
            .user
            .as_deref()
            .map(|user| user.split(':').next().unwrap_or(user));
        if let Some(user) = user_name.filter(|user| *user != name.as_str()) {
            eprintln!(
                "warning: --create-user {} adds a user the image will not run as, because \
                 --user {} names another; drop one of the two options",
                hardfs_fs::display_path(name.as_bytes()),
                hardfs_fs::display_path(user.as_bytes())
            );
        }
    }
    Ok(())
}

/// Rejects an output path inside the input image's directory or archive:
/// writing there would change the input while it is read.
fn check_output_outside_input(input: &Reference, output: &OutputReference) -> Result<()> {
    let absolute = |path: &Path| -> Option<std::path::PathBuf> {
        let parent = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty());
        let parent = parent.unwrap_or(Path::new(".")).canonicalize().ok()?;
        Some(parent.join(path.file_name()?))
    };
    let (Some(input_path), Some(output_path)) =
        (input.path.canonicalize().ok(), absolute(&output.path))
    else {
        return Ok(());
    };
    if output_path.starts_with(&input_path) {
        anyhow::bail!(
            "the output `{}` is inside the input `{}`; write it elsewhere",
            output.path.display(),
            input.path.display()
        );
    }
    Ok(())
}

/// Removes the staging files of the write in progress on SIGINT or
/// SIGTERM, then exits with status 130 as verify does.
fn install_signal_cleanup() {
    let installed = ctrlc::set_handler(|| {
        hardfs_harden::remove_staging_files();
        std::process::exit(130);
    });
    if let Err(error) = installed {
        tracing::warn!(%error, "cannot install the signal handler; an interrupted run may leave its staging files behind");
    }
}

fn options(args: &HardenArgs) -> HardenOptions {
    let skips = |change| args.skip.contains(&change);
    HardenOptions {
        clear_special_bits: !skips(HardenChange::SpecialBits),
        drop_capabilities: !skips(HardenChange::Capabilities),
        clear_world_writable: !skips(HardenChange::WorldWritable),
        lock_user_writable: !skips(HardenChange::Ownership),
        keep: args
            .keep
            .iter()
            .map(|keep| match keep.split_once('=') {
                Some((path, reason)) => (path.to_string(), reason.to_string()),
                None => (keep.clone(), "kept with --keep".to_string()),
            })
            .collect(),
        user: args.user.clone(),
        create_user: args.create_user.clone(),
        allow_root: args.allow_root,
        writable: (!args.writable.is_empty()).then(|| args.writable.clone()),
        drop_volumes: args.drop_volumes,
        remove: args.remove.clone(),
        remove_presets: preset_globs(args),
        compression: args.compression.map(|compression| match compression {
            LayerCompression::Gzip => Compression::Gzip,
            LayerCompression::Zstd => Compression::Zstd,
            LayerCompression::None => Compression::None,
        }),
        threads: args.threads,
        append: args.mode == HardenMode::Append,
    }
}

fn preset_globs(args: &HardenArgs) -> Vec<String> {
    let mut globs = Vec::new();
    for preset in &args.preset {
        let name = match preset {
            RemovalPreset::Shells => "shells",
            RemovalPreset::PackageManagers => "package-managers",
        };
        let preset_globs = hardfs_harden::preset(name).expect("every CLI preset exists");
        globs.extend(preset_globs.iter().map(|glob| glob.to_string()));
    }
    globs
}

/// Default settings file, read from the current directory when present.
const SETTINGS_FILE: &str = ".hardfs.toml";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    keep: Vec<KeepEntry>,
    /// `[settings]` and `[[allow]]` belong to audit and lint, which check them.
    #[serde(default, rename = "settings")]
    _settings: Option<toml::Value>,
    #[serde(default, rename = "allow")]
    _allow: Option<toml::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepEntry {
    path: String,
    reason: String,
}

/// Reads the `[[keep]]` entries of the settings file: the one given with
/// `--config`, else `.hardfs.toml` when it exists.
fn settings_keeps(given: Option<&Path>) -> Result<Vec<(String, String)>> {
    let path = match given {
        Some(path) => path,
        None if Path::new(SETTINGS_FILE).is_file() => Path::new(SETTINGS_FILE),
        None => return Ok(Vec::new()),
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read settings file `{}`", path.display()))?;
    let settings: Settings = toml::from_str(&text)
        .with_context(|| format!("invalid settings file `{}`", path.display()))?;
    tracing::debug!(file = %path.display(), keeps = settings.keep.len(), "read settings");
    Ok(settings
        .keep
        .into_iter()
        .map(|keep| (keep.path, keep.reason))
        .collect())
}
