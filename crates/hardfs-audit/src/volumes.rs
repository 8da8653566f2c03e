//! `volume-declared` and `volume-with-options`.

use hardfs_rules::{Finding, Location};

use crate::user::rule;
use crate::AuditInput;

pub(crate) fn check(input: &AuditInput<'_>, findings: &mut Vec<Finding>) {
    for volume in &input.config.volumes {
        let location = || Location::ImageConfig {
            field: format!("config.Volumes[{volume}]"),
        };
        if let Some((path, options)) = volume.rsplit_once(':') {
            let message = format!(
                "VOLUME `{volume}` declares a read-write volume at a directory literally named `{volume}`, not a {options} mount of `{path}`"
            );
            findings.push(Finding::new(
                rule("volume-with-options"),
                location(),
                message,
            ));
        }
        let message =
            format!("volume `{volume}` stays writable under --read-only; mount it explicitly with the access it needs");
        findings.push(Finding::new(rule("volume-declared"), location(), message));
    }
}
