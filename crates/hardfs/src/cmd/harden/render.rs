//! The harden summary as text or versioned JSON. Paths arrive escaped by
//! the filesystem model, which leaves bidi controls as they are. So the text
//! form passes every name, volume, user and message through [`escape`].

use std::io::Write;

use hardfs_harden::{Change, LayerAction, Outcome, Plan, RootfsOutcome, Scan};
use hardfs_image::Image;
use hardfs_report::escape;
use serde::Serialize;

use crate::cli::ListFormat;

/// Version of the JSON summary's layout.
const JSON_VERSION: u32 = 1;

/// Input and plan details shown in the summary.
#[derive(Serialize)]
pub struct Summary<'a> {
    pub input: &'a str,
    pub input_manifest_digest: Option<&'a str>,
    pub input_config_digest: &'a str,
    pub user: Option<String>,
    /// Caveat about what `user` leaves out of config.User, if any.
    pub user_caveat: Option<String>,
    pub previous_user: Option<&'a str>,
    pub created_user: Option<&'a str>,
    pub changes: &'a [Change],
    pub ghosts_removed: usize,
    pub volumes: &'a [String],
    pub dropped_volumes: &'a [hardfs_harden::DroppedVolume],
    pub writable: &'a [String],
    pub tmpfs: &'a [String],
    pub kept: &'a [hardfs_harden::KeptPath],
    pub removed: &'a [String],
    pub warnings: &'a [String],
    pub rewritten_layers: Vec<usize>,
    pub layer_count: usize,
}

impl<'a> Summary<'a> {
    pub fn new(image: &'a Image, scan: &Scan, plan: &'a Plan) -> Self {
        Summary {
            input: &image.reference,
            input_manifest_digest: image.manifest_digest.as_deref(),
            input_config_digest: &image.config_digest,
            user: plan.user.as_ref().map(|user| user.spec()),
            user_caveat: plan.user.as_ref().and_then(|user| user.spec_caveat()),
            previous_user: plan.previous_user.as_deref(),
            created_user: plan
                .user
                .as_ref()
                .and_then(|user| user.created.as_ref())
                .map(|created| created.name.as_str()),
            changes: &plan.changes,
            ghosts_removed: plan.changes.iter().filter(|change| change.hidden).count(),
            volumes: &plan.volumes,
            dropped_volumes: &plan.dropped_volumes,
            writable: &plan.writable,
            tmpfs: &plan.tmpfs,
            kept: &plan.kept,
            removed: &plan.removed,
            warnings: &plan.warnings,
            rewritten_layers: plan.rewritten_layers(),
            layer_count: scan.layers.len(),
        }
    }
}

pub fn print(
    out: &mut impl Write,
    format: ListFormat,
    summary: &Summary<'_>,
    outcome: Option<&Outcome>,
) -> std::io::Result<()> {
    match format {
        ListFormat::Json => {
            let value = serde_json::json!({
                "version": JSON_VERSION,
                "dry_run": outcome.is_none(),
                "plan": summary,
                "output": outcome,
            });
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)
        }
        ListFormat::Text => print_text(out, summary, outcome),
    }
}

/// Prints the changes made to (or planned for) a root directory.
pub fn print_rootfs(
    out: &mut impl Write,
    format: ListFormat,
    root: &str,
    outcome: &RootfsOutcome,
    dry_run: bool,
) -> std::io::Result<()> {
    let changes = &outcome.changes;
    if format == ListFormat::Json {
        let value = serde_json::json!({
            "version": JSON_VERSION,
            "dry_run": dry_run,
            "rootfs": root,
            "changes": changes,
            "outside_links": outcome.outside_links,
        });
        serde_json::to_writer_pretty(&mut *out, &value)?;
        return writeln!(out);
    }
    let verb = if dry_run { "would change" } else { "changed" };
    if changes.is_empty() {
        writeln!(out, "rootfs: {}\n{verb} nothing", escape(root))?;
    } else {
        writeln!(
            out,
            "rootfs: {}\n{verb} {}:",
            escape(root),
            count(changes.len(), "entry", "entries")
        )?;
    }
    for change in changes {
        print_change(out, change, false)?;
    }
    if !outcome.outside_links.is_empty() {
        writeln!(
            out,
            "left unchanged, because another hardlinked name lies outside {}:",
            escape(root)
        )?;
        for path in &outcome.outside_links {
            writeln!(out, "  {}", escape(path))?;
        }
    }
    Ok(())
}

/// Prints one change. `with_layer` adds the layer, for image changes only,
/// because a root filesystem has no layers.
fn print_change(out: &mut impl Write, change: &Change, with_layer: bool) -> std::io::Result<()> {
    let actions: Vec<&str> = change
        .actions
        .iter()
        .map(|action| action.as_str())
        .collect();
    let layer = if with_layer {
        format!("  layer {}", change.layer)
    } else {
        String::new()
    };
    writeln!(
        out,
        "  {}{layer}  {:04o} {}:{} -> {:04o} {}:{}  {}{}",
        escape(&change.path),
        change.before.mode,
        change.before.uid,
        change.before.gid,
        change.after.mode,
        change.after.uid,
        change.after.gid,
        actions.join(","),
        if change.hidden { " (hidden copy)" } else { "" }
    )?;
    writeln!(out, "      {}", escape(&change.reason))
}

fn print_text(
    out: &mut impl Write,
    summary: &Summary<'_>,
    outcome: Option<&Outcome>,
) -> std::io::Result<()> {
    let verb = if outcome.is_some() {
        "changed"
    } else {
        "would change"
    };
    writeln!(out, "input: {}", escape(summary.input))?;
    match summary.input_manifest_digest {
        Some(digest) => writeln!(out, "input manifest: {digest}")?,
        None => writeln!(out, "input config: {}", summary.input_config_digest)?,
    }
    if let Some(outcome) = outcome {
        writeln!(out, "output: {}", escape(&outcome.output))?;
        writeln!(out, "output manifest: {}", outcome.manifest_digest)?;
    }
    if let Some(user) = &summary.user {
        let before = summary.previous_user.unwrap_or("unset (root)");
        writeln!(
            out,
            "runtime user: {} (config.User was {})",
            escape(user),
            escape(before)
        )?;
    }
    if let Some(caveat) = &summary.user_caveat {
        writeln!(out, "note: {}", escape(caveat))?;
    }
    if let Some(name) = summary.created_user {
        writeln!(
            out,
            "created user: {} in /etc/passwd and /etc/group",
            escape(name)
        )?;
    }

    writeln!(
        out,
        "\n{} {} ({}) in {} of {}:",
        verb,
        count(summary.changes.len(), "entry", "entries"),
        count(
            summary.ghosts_removed,
            "hidden lower copy",
            "hidden lower copies"
        ),
        summary.rewritten_layers.len(),
        count(summary.layer_count, "layer", "layers")
    )?;
    for change in summary.changes {
        print_change(out, change, true)?;
    }
    for kept in summary.kept {
        writeln!(
            out,
            "kept: {} ({})",
            escape(&kept.path),
            escape(&kept.reason)
        )?;
    }
    for removed in summary.removed {
        writeln!(out, "removed: {}", escape(removed))?;
    }
    for warning in summary.warnings {
        writeln!(out, "warning: {}", escape(warning))?;
    }
    for dropped in summary.dropped_volumes {
        writeln!(
            out,
            "dropped volume: {} ({})",
            escape(&dropped.path),
            escape(&dropped.reason)
        )?;
    }
    if !summary.writable.is_empty() {
        writeln!(
            out,
            "writable by the runtime user: {}",
            escape(&summary.writable.join(", "))
        )?;
    }
    if !summary.tmpfs.is_empty() {
        writeln!(
            out,
            "needs a tmpfs under a read-only root: {}",
            escape(&summary.tmpfs.join(", "))
        )?;
    }
    if let Some(outcome) = outcome {
        writeln!(out, "\nlayers:")?;
        for layer in &outcome.layers {
            match layer.action {
                LayerAction::Copied => {
                    writeln!(out, "  {}  copied     {}", layer.index, layer.digest)?
                }
                LayerAction::Rewritten => writeln!(
                    out,
                    "  {}  rewritten  {} -> {} ({}, {})",
                    layer.index,
                    layer.input_digest,
                    layer.digest,
                    count(
                        layer.patched_entries as usize,
                        "header patched",
                        "headers patched"
                    ),
                    match layer.compression {
                        "none" => "uncompressed".to_string(),
                        other => format!("{other}-compressed"),
                    }
                )?,
                LayerAction::Added => writeln!(
                    out,
                    "  {}  added      {} (hardfs layer)",
                    layer.index, layer.digest
                )?,
            }
        }
    }
    Ok(())
}

/// Formats `number` with the singular or plural noun.
fn count(number: usize, singular: &str, plural: &str) -> String {
    let noun = if number == 1 { singular } else { plural };
    format!("{number} {noun}")
}
