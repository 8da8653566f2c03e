//! The text format: findings grouped by rule, then by the layer that made
//! them, with long runs in one directory folded, and a summary line.

use std::collections::BTreeMap;
use std::io::{self, Write};

use hardfs_rules::{Finding, Location, Rule, Severity};

use super::{short_digest, shorten_step};
use crate::escape::escape;
use crate::report::{ImageTarget, Report, Target};

/// A directory with more findings of one rule than this is folded.
const FOLD_ABOVE: usize = 10;
/// How many findings of a folded directory are still listed.
const FOLD_SHOWN: usize = 3;
/// Width at which the `fix:` text of a group wraps, in characters.
const FIX_WIDTH: usize = 100;

/// Settings of the text format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Emit ANSI colours (see [`crate::use_color`]).
    pub color: bool,
    /// List every finding, and the suppressed ones, instead of folding.
    pub all: bool,
}

/// Writes `report` for a person reading a terminal.
pub fn render_text(report: &Report, options: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let style = Style {
        color: options.color,
    };
    write_target(&report.target, out)?;

    for group in groups(&report.findings) {
        writeln!(out)?;
        write_group(&group, options, style, out)?;
    }
    if options.all && !report.suppressed.is_empty() {
        writeln!(out)?;
        write_suppressed(report, out)?;
    }
    if let Target::Image(image) = &report.target {
        if options.all && !image.user.writable.is_empty() {
            writeln!(out)?;
            write_writable(image, out)?;
        }
    }
    if !report.problems.is_empty() {
        writeln!(out)?;
        write_problems(report, style, out)?;
    }

    writeln!(out)?;
    writeln!(out, "{}", summary(report, style))
}

fn write_target(target: &Target, out: &mut dyn Write) -> io::Result<()> {
    match target {
        Target::Image(image) => write_image(image, out),
        Target::Dockerfiles(files) => {
            let names: Vec<_> = files.iter().map(|file| escape(file)).collect();
            let noun = if files.len() == 1 {
                "dockerfile"
            } else {
                "dockerfiles"
            };
            writeln!(out, "{noun} {}", names.join(", "))
        }
    }
}

fn write_image(image: &ImageTarget, out: &mut dyn Write) -> io::Result<()> {
    let layers = match image.layers.len() {
        1 => "1 layer".to_string(),
        count => format!("{count} layers"),
    };
    writeln!(
        out,
        "image {} ({}, {layers})",
        escape(&image.reference),
        escape(&image.transport)
    )?;

    let manifest = image
        .manifest_digest
        .as_deref()
        .map_or("none".to_string(), short_digest);
    writeln!(
        out,
        "  manifest {manifest}  config {}",
        short_digest(&image.config_digest)
    )?;

    let user = match (&image.user.configured, image.user.resolved) {
        (None, _) => "not set, so root (0:0)".to_string(),
        (Some(name), Some((uid, gid))) => format!("{} ({uid}:{gid})", escape(name)),
        (Some(name), None) => format!("{} (not found in the image)", escape(name)),
    };
    writeln!(out, "  user {user}")
}

/// The findings of one rule.
struct Group<'a> {
    rule: &'static Rule,
    severity: Severity,
    findings: Vec<&'a Finding>,
}

/// Groups findings by rule, most severe group first, then by rule ID.
fn groups(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut by_rule: BTreeMap<&'static str, Group<'_>> = BTreeMap::new();
    for finding in findings {
        let group = by_rule.entry(finding.rule.id).or_insert_with(|| Group {
            rule: finding.rule,
            severity: finding.severity,
            findings: Vec::new(),
        });
        group.severity = group.severity.max(finding.severity);
        group.findings.push(finding);
    }

    let mut groups: Vec<_> = by_rule.into_values().collect();
    groups.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.id.cmp(b.rule.id)));
    groups
}

fn write_group(
    group: &Group<'_>,
    options: TextOptions,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {} [{}] {}",
        style.bold(group.rule.id),
        group.rule.slug,
        style.severity(group.severity, group.severity.as_str()),
        group.rule.title
    )?;

    // Findings without a layer first (config fields, Dockerfile lines), then
    // one block per layer, base layer first.
    let mut unlayered = Vec::new();
    let mut layers: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for finding in &group.findings {
        match &finding.location {
            Location::ImagePath { layer_index, .. } => {
                layers.entry(*layer_index).or_default().push(*finding)
            }
            _ => unlayered.push(*finding),
        }
    }

    write_findings(&unlayered, "  ", options, style, out)?;
    for findings in layers.values() {
        write_layer_header(findings[0], style, out)?;
        write_findings(findings, "    ", options, style, out)?;
    }
    for line in wrap(group.rule.fix, FIX_WIDTH, "  fix: ", "       ") {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Wraps `text` at spaces into lines of at most `width` characters where
/// the words allow, the first line starting with `first` and the others
/// with `rest`. A word longer than a line is kept whole.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !empty && !fits {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

fn write_layer_header(finding: &Finding, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let Location::ImagePath {
        layer_index,
        layer_digest,
        created_by,
        ..
    } = &finding.location
    else {
        return Ok(());
    };
    let step = created_by
        .as_deref()
        .map_or("(no history step)".to_string(), shorten_step);
    let header = format!("layer {layer_index} {}  {step}", short_digest(layer_digest));
    writeln!(out, "  {}", style.dim(&header))
}

/// Writes one line per finding, folding directories with more than
/// [`FOLD_ABOVE`] findings unless `options.all` is set.
fn write_findings(
    findings: &[&Finding],
    indent: &str,
    options: TextOptions,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut per_directory: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for finding in findings {
        *per_directory.entry(directory(finding)).or_default() += 1;
    }

    let mut listed: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for finding in findings {
        let directory = directory(finding);
        let total = per_directory[&directory];
        let position = listed.entry(directory).or_default();
        *position += 1;
        let folded = !options.all && directory.is_some() && total > FOLD_ABOVE;
        if folded && *position > FOLD_SHOWN {
            continue;
        }

        let severity = format!("{:<8}", finding.severity.as_str());
        writeln!(
            out,
            "{indent}{}  {}: {}",
            style.severity(finding.severity, &severity),
            subject(finding),
            escape(&finding.message)
        )?;
        if folded && *position == FOLD_SHOWN {
            let more = total - FOLD_SHOWN;
            let place = escape(directory.unwrap_or_default());
            let note = format!("… {more} more in {place} (--all lists them)");
            writeln!(out, "{indent}{:<8}  {}", "", style.dim(&note))?;
        }
    }
    Ok(())
}

/// Returns the directory of an image path, the unit by which long lists
/// fold.
fn directory(finding: &Finding) -> Option<&str> {
    match &finding.location {
        Location::ImagePath { path, .. } => match path.rsplit_once('/') {
            Some(("", _)) => Some("/"),
            Some((parent, _)) => Some(parent),
            None => None,
        },
        _ => None,
    }
}

/// Formats what a finding is about, as shown at the start of its line.
fn subject(finding: &Finding) -> String {
    match &finding.location {
        Location::ImagePath { path, .. } => escape(path).into_owned(),
        Location::ImageConfig { field } => escape(field).into_owned(),
        Location::Dockerfile { file, line, column } => {
            format!("{}:{line}:{column}", escape(file))
        }
    }
}

fn write_suppressed(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "suppressed by the allowlist:")?;
    for suppressed in &report.suppressed {
        writeln!(
            out,
            "  {} {}: {} ({})",
            suppressed.finding.rule.id,
            subject(&suppressed.finding),
            escape(&suppressed.reason),
            escape(&suppressed.origin)
        )?;
    }
    Ok(())
}

/// Lists every path the runtime user can write, for `--all`. The paths
/// arrive escaped.
fn write_writable(image: &ImageTarget, out: &mut dyn Write) -> io::Result<()> {
    let count = image.user.writable.len();
    let noun = if count == 1 { "path" } else { "paths" };
    writeln!(out, "writable by the runtime user ({count} {noun}):")?;
    for path in &image.user.writable {
        writeln!(out, "  {path}")?;
    }
    Ok(())
}

fn write_problems(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let heading = "problems (these parts were not checked):";
    writeln!(out, "{}", style.severity(Severity::High, heading))?;
    for problem in &report.problems {
        writeln!(
            out,
            "  {}: {}",
            escape(&problem.subject),
            escape(&problem.message)
        )?;
    }
    Ok(())
}

/// Builds the closing line: findings by severity, most severe first, then the
/// suppressed findings and problems.
fn summary(report: &Report, style: Style) -> String {
    let total = report.findings.len();
    let mut line = match total {
        0 => "no findings".to_string(),
        1 => "1 finding".to_string(),
        count => format!("{count} findings"),
    };

    let counts: Vec<String> = report
        .counts()
        .iter()
        .rev()
        .filter(|(_, count)| *count > 0)
        .map(|(severity, count)| style.severity(*severity, &format!("{count} {severity}")))
        .collect();
    if !counts.is_empty() {
        line.push_str(": ");
        line.push_str(&counts.join(", "));
    }

    if !report.suppressed.is_empty() {
        line.push_str(&format!("; {} suppressed", report.suppressed.len()));
    }
    match report.problems.len() {
        0 => {}
        1 => line.push_str("; 1 problem, the check is incomplete"),
        count => line.push_str(&format!("; {count} problems, the check is incomplete")),
    }
    line
}

/// ANSI styling, or none.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn severity(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_within_width() {
        let lines = wrap("aaa bbb ccc ddd", 12, "> ", "  ");
        assert_eq!(lines, ["> aaa bbb", "  ccc ddd"]);
    }

    #[test]
    fn wrap_keeps_long_word_whole() {
        let lines = wrap("abcdefghij x", 6, "> ", "  ");
        assert_eq!(lines, ["> abcdefghij", "  x"]);
    }

    #[test]
    fn wrap_of_short_text_is_one_line() {
        assert_eq!(wrap("fix it", 100, "  fix: ", "       "), ["  fix: fix it"]);
    }
}
