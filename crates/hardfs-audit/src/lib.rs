//! `hardfs audit`: the image rules evaluated on an image's final filesystem
//! and configuration.

mod capability;
mod context;
mod files;
mod layers;
mod user;
mod volumes;
mod writable;

pub use capability::{decode_capability, Capability};
pub use context::{AuditInput, LayerRef};
pub use user::{resolve_user, ResolvedUser, UserError};
pub use writable::user_writable_paths;

use hardfs_rules::{sort_findings, Finding};

/// Runs every image rule and returns the findings in output order.
pub fn audit(input: &AuditInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    files::check(input, &mut findings);
    writable::check(input, &mut findings);
    user::check(input, &mut findings);
    volumes::check(input, &mut findings);
    layers::check(input, &mut findings);
    sort_findings(&mut findings);
    findings
}
