//! Renderers: pure functions from a [`Report`] to a writer. None of them
//! decides the exit code; [`crate::Policy::exit_code`] does.

mod json;
mod sarif;
mod text;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

pub use json::render_json;
pub use sarif::render_sarif;
pub use text::{render_text, TextOptions};

use crate::escape::escape;
use crate::report::Report;

/// The `--format` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            _ => Err(format!(
                "invalid format `{text}`: expected one of text, json, sarif"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
        };
        f.pad(name)
    }
}

/// Writes `report` in `format`. `text` only affects the text format.
pub fn render(
    report: &Report,
    format: Format,
    text: TextOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => render_text(report, text, out),
        Format::Json => render_json(report, out),
        Format::Sarif => render_sarif(report, out),
    }
}

/// Maximum length of a shortened `created_by` step, in characters.
const STEP_WIDTH: usize = 60;

/// Shortens a history step for display: whitespace collapsed, the shell
/// wrapper that Docker and BuildKit record dropped, control characters
/// escaped, and the result cut to 60 characters with an ellipsis.
pub fn shorten_step(created_by: &str) -> String {
    let collapsed = created_by.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut step = collapsed.as_str();
    for prefix in ["/bin/sh -c #(nop) ", "/bin/sh -c "] {
        if let Some(rest) = step.strip_prefix(prefix) {
            step = rest;
            break;
        }
    }
    // BuildKit records `RUN /bin/sh -c apt-get … # buildkit`.
    let step = match step.strip_prefix("RUN /bin/sh -c ") {
        Some(command) => format!("RUN {}", command.trim_end_matches(" # buildkit")),
        None => step.to_string(),
    };

    let escaped = escape(&step);
    if escaped.chars().count() <= STEP_WIDTH {
        return escaped.into_owned();
    }
    let mut cut: String = escaped.chars().take(STEP_WIDTH - 1).collect();
    cut.push('…');
    cut
}

/// Shortens a digest to its first 12 hex digits without the algorithm, the
/// short form `docker images` shows.
pub fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    escape(&hex.chars().take(12).collect::<String>()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_drops_nop_wrapper() {
        assert_eq!(
            shorten_step("/bin/sh -c #(nop)  CMD [\"nginx\" \"-g\"]"),
            "CMD [\"nginx\" \"-g\"]"
        );
    }

    #[test]
    fn step_drops_shell_wrapper_and_collapses_whitespace() {
        assert_eq!(
            shorten_step("/bin/sh -c apt-get update \\\n\t&&   apt-get install -y curl"),
            "apt-get update \\ && apt-get install -y curl"
        );
    }

    #[test]
    fn step_drops_buildkit_wrapper() {
        assert_eq!(
            shorten_step("RUN /bin/sh -c useradd -r app # buildkit"),
            "RUN useradd -r app"
        );
    }

    #[test]
    fn long_step_is_cut_with_ellipsis() {
        let step = shorten_step(&format!("/bin/sh -c {}", "x".repeat(100)));
        assert_eq!(step.chars().count(), 60);
        assert!(step.ends_with("x…"), "{step}");
    }

    #[test]
    fn step_escapes_escape_byte() {
        assert_eq!(shorten_step("echo \x1b[2J"), "echo \\x1b[2J");
    }

    #[test]
    fn short_digest_takes_twelve_hex_digits() {
        assert_eq!(short_digest("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_digest("abc"), "abc");
    }

    #[test]
    fn format_parses_and_prints() {
        for format in [Format::Text, Format::Json, Format::Sarif] {
            assert_eq!(format.to_string().parse(), Ok(format));
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
