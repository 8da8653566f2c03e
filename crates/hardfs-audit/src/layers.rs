//! Rules on the layers themselves: `ghost-privileged-copy`,
//! `duplicate-entry` and `layer-format`.

use hardfs_fs::{display_path, DiagnosticKind, GhostReason};
use hardfs_rules::{Finding, Location};

use crate::capability::decode_capability;
use crate::user::rule;
use crate::AuditInput;

pub(crate) fn check(input: &AuditInput<'_>, findings: &mut Vec<Finding>) {
    for ghost in input.tree.ghosts() {
        let mut privileges = Vec::new();
        if ghost.mode & 0o4000 != 0 && ghost.uid == 0 {
            privileges.push("setuid root".to_string());
        } else if ghost.mode & 0o4000 != 0 {
            privileges.push(format!("setuid uid {}", ghost.uid));
        }
        if ghost.mode & 0o2000 != 0 {
            privileges.push(format!("setgid gid {}", ghost.gid));
        }
        if let Some(value) = &ghost.capability {
            privileges.push(
                decode_capability(value)
                    .map_or_else(|| "file capabilities".into(), |c| c.describe()),
            );
        }
        let how = match ghost.reason {
            GhostReason::Removed => "removed",
            GhostReason::Replaced => "replaced",
        };
        let step = input
            .layers
            .get(ghost.hidden_by)
            .and_then(|layer| layer.created_by.as_deref())
            .map(|step| format!(" (`{}`)", one_line(step)))
            .unwrap_or_default();
        let message = format!(
            "{} (mode {:04o}) stays in layer {}; layer {}{step} {how} it only in the final view",
            privileges.join(", "),
            ghost.mode,
            ghost.layer,
            ghost.hidden_by
        );
        let location = input.path_location(format!("/{}", display_path(&ghost.path)), ghost.layer);
        findings.push(Finding::new(
            rule("ghost-privileged-copy"),
            location,
            message,
        ));
    }
    for duplicate in input.tree.duplicates() {
        let message = format!(
            "layer {} gives this path more than once; the last entry is used",
            duplicate.layer
        );
        let location = input.path_location(
            format!("/{}", display_path(&duplicate.path)),
            duplicate.layer,
        );
        findings.push(Finding::new(rule("duplicate-entry"), location, message));
    }
    for diagnostic in input.tree.diagnostics() {
        if diagnostic.kind != DiagnosticKind::HardlinkToLowerLayer {
            continue;
        }
        let message = format!(
            "layer {} makes this path a hardlink to a file that only a lower layer has; podman \
             fails to unpack such a layer, and containerd links to the lower file",
            diagnostic.layer
        );
        let location = input.path_location(
            format!("/{}", display_path(&diagnostic.path)),
            diagnostic.layer,
        );
        findings.push(Finding::new(
            rule("cross-layer-hardlink"),
            location,
            message,
        ));
    }
    for (index, warning) in input.warnings.iter().enumerate() {
        let location = Location::ImageConfig {
            field: format!("manifest.layers (warning {index})"),
        };
        findings.push(Finding::new(
            rule("layer-format"),
            location,
            warning.clone(),
        ));
    }
}

fn one_line(text: &str) -> String {
    let text = text.strip_prefix("/bin/sh -c ").unwrap_or(text);
    let text = text.strip_prefix("#(nop) ").unwrap_or(text);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 60 {
        format!("{}…", collapsed.chars().take(59).collect::<String>())
    } else {
        collapsed
    }
}
