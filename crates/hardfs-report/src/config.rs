//! The `.hardfs.toml` config file.
//!
//! ```toml
//! [settings]
//! fail_on = "high"              # info, low, medium, high, critical or never
//! only = ["HF001", "setgid-file"]  # rule IDs or slugs to run
//! skip = ["world-writable"]     # rule IDs or slugs not to run
//!
//! [[allow]]
//! rule = "setuid-file"          # rule ID or slug
//! path = "/usr/bin/passwd"      # glob over the path, Dockerfile or config field
//! reason = "passwd must change /etc/shadow"
//! ```
//!
//! Every key is optional except the three of an `[[allow]]` entry, and an
//! empty `only` list means every rule, as if it were absent. Unknown keys
//! are rejected with their line, so a misspelt setting never passes
//! silently.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::PolicyError;
use crate::policy::{
    compile_pattern, lookup_rule, AllowEntry, ConfigSource, FailOn, Origin, CONFIG_FILE_NAME,
};

/// The settings a config file contributes to the policy.
#[derive(Debug, Default)]
pub(crate) struct ConfigFile {
    pub only: Option<BTreeSet<&'static str>>,
    pub skip: Option<BTreeSet<&'static str>>,
    pub allow: Vec<AllowEntry>,
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    settings: Option<RawSettings>,
    #[serde(default)]
    allow: Vec<Spanned<RawAllow>>,
    /// `[[keep]]` entries belong to `hardfs harden`, which checks them.
    #[serde(default)]
    #[allow(dead_code)]
    keep: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    fail_on: Option<Spanned<String>>,
    only: Option<Vec<Spanned<String>>>,
    skip: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    rule: Spanned<String>,
    path: Spanned<String>,
    reason: Option<String>,
}

/// Reads the config file `source` points to. Returns `None` when a
/// discovered file does not exist; a file named with `--config` must exist.
pub(crate) fn load(source: &ConfigSource) -> Result<Option<ConfigFile>, PolicyError> {
    let (path, required) = match source {
        ConfigSource::File(path) => (path.clone(), true),
        ConfigSource::Discover(dir) => (dir.join(CONFIG_FILE_NAME), false),
        ConfigSource::None => return Ok(None),
    };

    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !required => {
            tracing::debug!(path = %path.display(), "no config file");
            return Ok(None);
        }
        Err(source) if source.kind() == io::ErrorKind::NotFound => {
            return Err(PolicyError::ConfigNotFound { path, source });
        }
        Err(source) => return Err(PolicyError::ConfigRead { path, source }),
    };
    tracing::debug!(path = %path.display(), "reading the config file");
    parse(&path, &text).map(Some)
}

/// Parses and validates the text of a config file read from `path`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<ConfigFile, PolicyError> {
    let raw: RawFile = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(text, offset);
        PolicyError::ConfigSyntax {
            path: path.to_path_buf(),
            line,
            column,
            message: error.message().trim_end().to_string(),
        }
    })?;

    let file = SpannedFile { path, text };
    let mut config = ConfigFile::default();
    if let Some(settings) = raw.settings {
        config.fail_on = settings
            .fail_on
            .map(|value| file.fail_on(&value))
            .transpose()?;
        config.only = settings
            .only
            .filter(|names| !names.is_empty())
            .map(|names| file.rules(&names))
            .transpose()?;
        config.skip = settings.skip.map(|names| file.rules(&names)).transpose()?;
    }
    for entry in raw.allow {
        config.allow.push(file.allow_entry(&entry)?);
    }
    Ok(config)
}

/// A config file's path and text, to turn byte spans into `FILE:LINE`.
struct SpannedFile<'a> {
    path: &'a Path,
    text: &'a str,
}

impl SpannedFile<'_> {
    fn line(&self, offset: usize) -> usize {
        line_and_column(self.text, offset).0
    }

    fn origin(&self, offset: usize) -> String {
        format!("{}:{}", self.path.display(), self.line(offset))
    }

    fn fail_on(&self, value: &Spanned<String>) -> Result<FailOn, PolicyError> {
        value
            .get_ref()
            .parse()
            .map_err(|_| PolicyError::InvalidFailOn {
                value: value.get_ref().clone(),
                origin: self.origin(value.span().start),
            })
    }

    fn rules(&self, names: &[Spanned<String>]) -> Result<BTreeSet<&'static str>, PolicyError> {
        names
            .iter()
            .map(|name| {
                let origin = self.origin(name.span().start);
                lookup_rule(name.get_ref(), &origin).map(|rule| rule.id)
            })
            .collect()
    }

    fn allow_entry(&self, entry: &Spanned<RawAllow>) -> Result<AllowEntry, PolicyError> {
        let line = self.line(entry.span().start);
        let raw = entry.get_ref();
        let reason = match raw.reason.as_deref().map(str::trim) {
            Some(reason) if !reason.is_empty() => reason.to_string(),
            _ => {
                return Err(PolicyError::MissingReason {
                    path: self.path.to_path_buf(),
                    line,
                })
            }
        };

        let rule_origin = self.origin(raw.rule.span().start);
        let path_origin = self.origin(raw.path.span().start);
        Ok(AllowEntry {
            rule: lookup_rule(raw.rule.get_ref(), &rule_origin)?,
            pattern: compile_pattern(raw.path.get_ref(), &path_origin)?,
            reason,
            origin: Origin::ConfigFile {
                path: self.path.to_path_buf(),
                line,
            },
        })
    }
}

/// Converts a byte offset into a 1-based line and column (in characters).
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardfs_rules::Severity;

    fn parse_text(text: &str) -> Result<ConfigFile, PolicyError> {
        parse(Path::new("cfg/.hardfs.toml"), text)
    }

    #[test]
    fn full_file_is_parsed() {
        let text = r#"
[settings]
fail_on = "high"
only = ["HF001", "setgid-file"]
skip = ["world-writable"]

[[allow]]
rule = "setuid-file"
path = "/usr/bin/passwd"
reason = "passwd must write /etc/shadow"
"#;
        let config = parse_text(text).unwrap();
        assert_eq!(config.fail_on, Some(FailOn::Severity(Severity::High)));
        let only: Vec<_> = config.only.unwrap().into_iter().collect();
        assert_eq!(only, ["HF001", "HF002"]);
        let skip: Vec<_> = config.skip.unwrap().into_iter().collect();
        assert_eq!(skip, ["HF004"]);

        let entry = &config.allow[0];
        assert_eq!(entry.rule.id, "HF001");
        assert_eq!(entry.pattern.as_str(), "/usr/bin/passwd");
        assert_eq!(entry.reason, "passwd must write /etc/shadow");
        assert_eq!(entry.origin.to_string(), "cfg/.hardfs.toml:7");
    }

    #[test]
    fn empty_only_list_selects_every_rule() {
        let config = parse_text("[settings]\nonly = []\n").unwrap();
        assert!(config.only.is_none());
    }

    #[test]
    fn empty_file_sets_nothing() {
        let config = parse_text("").unwrap();
        assert!(config.fail_on.is_none());
        assert!(config.only.is_none());
        assert!(config.allow.is_empty());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = "[settings]\nfail_on = \"high\"\nfailon = \"low\"\n";
        let error = parse_text(text).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("invalid config file cfg/.hardfs.toml:3:"),
            "{message}"
        );
        assert!(message.contains("unknown field `failon`"), "{message}");
    }

    #[test]
    fn unknown_table_is_rejected() {
        let error = parse_text("[allowlist]\nx = 1\n").unwrap_err();
        let message = error.to_string();
        assert!(message.contains(":1:"), "{message}");
        assert!(message.contains("`allowlist`"), "{message}");
    }

    #[test]
    fn unknown_key_in_allow_entry_is_rejected() {
        let text = "[[allow]]\nrule = \"HF001\"\npath = \"/x\"\nreason = \"r\"\nexpires = 1\n";
        let message = parse_text(text).unwrap_err().to_string();
        assert!(message.contains(":5:"), "{message}");
        assert!(message.contains("unknown field `expires`"), "{message}");
    }

    #[test]
    fn syntax_error_has_line() {
        let message = parse_text("[settings]\nfail_on = high\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("invalid config file cfg/.hardfs.toml:2:"),
            "{message}"
        );
    }

    #[test]
    fn allow_entry_without_reason_is_rejected() {
        for reason in ["", "reason = \"  \"\n"] {
            let text = format!("\n[[allow]]\nrule = \"HF001\"\npath = \"/x\"\n{reason}");
            let error = parse_text(&text).unwrap_err();
            assert!(
                matches!(error, PolicyError::MissingReason { line: 2, .. }),
                "{error:?}"
            );
        }
    }

    #[test]
    fn unknown_rule_in_file_has_line() {
        let text = "[settings]\nskip = [\n  \"HF001\",\n  \"nope\",\n]\n";
        let message = parse_text(text).unwrap_err().to_string();
        assert!(
            message.starts_with("unknown rule `nope` in cfg/.hardfs.toml:4"),
            "{message}"
        );
    }

    #[test]
    fn invalid_fail_on_has_line() {
        let message = parse_text("\n[settings]\nfail_on = \"loud\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("invalid fail_on `loud` in cfg/.hardfs.toml:3"),
            "{message}"
        );
    }

    #[test]
    fn invalid_glob_has_line() {
        let text = "[[allow]]\nrule = \"HF001\"\npath = \"/usr/[bin\"\nreason = \"r\"\n";
        let error = parse_text(text).unwrap_err();
        assert!(
            matches!(&error, PolicyError::InvalidPattern { origin, .. } if origin == "cfg/.hardfs.toml:3"),
            "{error:?}"
        );
    }

    #[test]
    fn discovered_file_may_be_missing() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(&ConfigSource::Discover(dir.path().to_path_buf())).unwrap();
        assert!(loaded.is_none());
    }

    #[test]
    fn explicit_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        let error = load(&ConfigSource::File(path.clone())).unwrap_err();
        assert!(
            matches!(&error, PolicyError::ConfigNotFound { path: missing, .. } if *missing == path),
            "{error:?}"
        );
    }

    #[test]
    fn discovered_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(CONFIG_FILE_NAME),
            "[settings]\nfail_on = \"never\"\n",
        )
        .unwrap();
        let loaded = load(&ConfigSource::Discover(dir.path().to_path_buf()))
            .unwrap()
            .unwrap();
        assert_eq!(loaded.fail_on, Some(FailOn::Never));
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_and_column("ab\ncdé\nf", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncdé\nf", 3), (2, 1));
        assert_eq!(line_and_column("ab\ncdé\nf", 8), (3, 1));
        assert_eq!(line_and_column("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_and_column("ab", 99), (1, 3));
    }
}
