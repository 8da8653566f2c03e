//! Reporting shared by `hardfs audit` and `hardfs lint`: the [`Report`]
//! value, the [`Policy`] that filters findings and decides the exit code,
//! and the text, JSON and SARIF renderers.
//!
//! A caller resolves a policy once ([`Policy::resolve`]), checks which rules
//! to run with [`Policy::selects`], builds a [`Report`] from its findings
//! with [`Report::new`], renders it with [`render`], and exits with
//! [`Policy::exit_code`]. Renderers never decide the exit code.
//!
//! Every string that comes from an image or a Dockerfile is escaped with
//! [`escape`] before any renderer writes it.

mod color;
mod config;
mod error;
mod escape;
mod policy;
mod render;
mod report;

pub use color::{use_color, use_color_from_env, ColorChoice};
pub use error::PolicyError;
pub use escape::escape;
pub use policy::{
    AllowEntry, ConfigSource, FailOn, Origin, Policy, PolicyOptions, Verdict, CONFIG_FILE_NAME,
    EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE,
};
pub use render::{
    render, render_json, render_sarif, render_text, short_digest, shorten_step, Format, TextOptions,
};
pub use report::{ImageTarget, ImageUser, LayerInfo, Problem, Report, Suppressed, Target, Tool};
