//! `hardfs audit IMAGE`: read an image, compute its final filesystem and
//! report what the image rules find.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, Result};
use hardfs_audit::{audit, user_writable_paths, AuditInput, LayerRef};
use hardfs_fs::display_path;
use hardfs_image::{BuildOptions, Image, Platform, Progress, Reference};
use hardfs_report::{ImageTarget, ImageUser, LayerInfo, Report, Target};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::AuditArgs;
use crate::cmd::Hint;
use crate::output::Output;

pub fn run(args: &AuditArgs) -> Result<u8> {
    let output = Output::resolve(&args.output)?;
    let platform = match &args.platform {
        Some(text) => Platform::parse(text)
            .with_context(|| format!("invalid platform `{text}`"))
            .context(Hint(
                "give the platform as OS/ARCH or OS/ARCH/VARIANT, such as linux/arm64".into(),
            ))?,
        None => Platform::host(),
    };
    let reference = Reference::parse(&args.image).context(Hint(REFERENCE_HINT.into()))?;
    let image = Image::open(&reference, &platform)
        .with_context(|| format!("failed to open image `{}`", args.image))?;
    tracing::debug!(transport = %image.transport, layers = image.layers.len(), "opened image");
    if args.platform.is_some() {
        check_platform(&image.config.platform, &platform, &args.image)?;
    }

    let bar = layer_progress_bar(image.layers.len());
    let options = BuildOptions {
        max_layer_size: args.max_layer_size,
        progress: bar
            .clone()
            .map(|bar| Progress(Arc::new(move |done| bar.set_position(done as u64)))),
        ..BuildOptions::default()
    };
    let built = image.build_tree(&options);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let built = built.with_context(|| format!("failed to read image `{}`", args.image))?;
    tracing::debug!(entries = built.entries, "built the final filesystem");

    let layer_refs: Vec<LayerRef> = built
        .layers
        .iter()
        .map(|layer| LayerRef {
            digest: layer.digest.clone(),
            created_by: layer.created_by.clone(),
        })
        .collect();
    let input = AuditInput::new(&built.tree, &image.config, layer_refs, &built.warnings);
    let findings = audit(&input);

    let user = ImageUser {
        configured: image.config.user.clone(),
        resolved: input
            .user
            .as_ref()
            .ok()
            .map(|user| (user.uid as u32, user.gid as u32)),
        writable: user_writable_paths(&input)
            .iter()
            .map(|path| format!("/{}", display_path(path)))
            .collect(),
    };
    let target = Target::Image(ImageTarget {
        reference: image.reference.clone(),
        transport: image.transport.to_string(),
        manifest_digest: image.manifest_digest.clone(),
        config_digest: image.config_digest.clone(),
        user,
        layers: built
            .layers
            .iter()
            .map(|layer| LayerInfo {
                index: layer.index,
                digest: layer.digest.clone(),
                size: layer.size.unwrap_or_default(),
                created_by: layer.created_by.clone(),
            })
            .collect(),
    });
    let report = Report::new(target, findings, Vec::new(), &output.policy);
    output.write(&report)
}

/// A bar counting applied layers, on stderr when it is a terminal; none for
/// a small image or when logs are quiet.
fn layer_progress_bar(layers: usize) -> Option<ProgressBar> {
    if layers < 2 || !std::io::stderr().is_terminal() || tracing::enabled!(tracing::Level::DEBUG) {
        return None;
    }
    let bar = ProgressBar::new(layers as u64);
    let style =
        ProgressStyle::with_template("{spinner} reading layers {pos}/{len} {wide_bar} {elapsed}")
            .expect("valid progress template");
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

const REFERENCE_HINT: &str =
    "name the image as docker-archive:FILE, oci:DIR, oci-archive:FILE or dir:ROOTFS, \
     or export it first, for example `skopeo copy containers-storage:IMAGE oci-archive:image.tar`";

/// Fails when the image's config has another platform than the one
/// requested with `--platform`. Only a single-platform image can get here,
/// because an index is already searched by platform. A config without `os`
/// and `architecture` passes.
fn check_platform(config_platform: &str, requested: &Platform, image: &str) -> Result<()> {
    let Some(found) = Platform::parse(config_platform) else {
        return Ok(());
    };
    let matches = found.os == requested.os
        && found.architecture == requested.architecture
        && (requested.variant.is_none() || found.variant == requested.variant);
    if matches {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "image `{image}` is {found}, not the {requested} that --platform asks for"
    ))
    .context(Hint(format!(
        "the image has no other platform: drop --platform, or pass an image or index that has {requested}"
    )))
}
