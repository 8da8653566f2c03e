//! The policy: which rules run, which findings are allowed, and the severity
//! that fails the run. It is resolved once from the command line and the
//! `.hardfs.toml` config file, then applied by [`crate::Report::new`].

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use glob::{MatchOptions, Pattern};
use hardfs_rules::{Applies, Finding, Rule, Severity, RULES};

use crate::config::{self, ConfigFile};
use crate::error::PolicyError;
use crate::report::{Report, Target};

/// Exit code when no kept finding reaches the `--fail-on` severity.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code when a kept finding is at or above the `--fail-on` severity.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code when part of the target could not be checked.
pub const EXIT_INCOMPLETE: u8 = 2;

/// The lowest severity that fails the run, or `never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Never,
}

impl FailOn {
    /// The threshold when neither `--fail-on` nor the config file sets one:
    /// every finding fails the run except `info` ones, which are advice.
    pub const DEFAULT: FailOn = FailOn::Severity(Severity::Low);

    /// Returns true when a finding of `severity` fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Severity(threshold) => severity >= threshold,
            FailOn::Never => false,
        }
    }
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("never") {
            return Ok(FailOn::Never);
        }
        text.parse().map(FailOn::Severity).map_err(|_| {
            format!(
                "invalid severity `{text}`: expected one of info, low, medium, high, critical, never"
            )
        })
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::Severity(severity) => severity.fmt(f),
            FailOn::Never => f.pad("never"),
        }
    }
}

/// The place an allowlist entry was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    ConfigFile { path: PathBuf, line: usize },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => f.write_str("the command line"),
            Origin::ConfigFile { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// One allowlist entry: findings of `rule` whose path (or Dockerfile name,
/// or config field) matches `pattern` are suppressed.
#[derive(Clone, Debug)]
pub struct AllowEntry {
    pub rule: &'static Rule,
    /// A glob: `*` and `?` stop at `/`, and a `**` component crosses any
    /// number of directories.
    pub pattern: Pattern,
    pub reason: String,
    pub origin: Origin,
}

impl AllowEntry {
    fn matches(&self, finding: &Finding) -> bool {
        let options = MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        std::ptr::eq(self.rule, finding.rule)
            && self.pattern.matches_with(finding.subject(), options)
    }
}

/// The config file to read, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file named with `--config`: it must exist.
    File(PathBuf),
    /// `.hardfs.toml` in this directory, if there is one.
    Discover(PathBuf),
    /// No config file.
    None,
}

/// The name of the config file looked up in the working directory.
pub const CONFIG_FILE_NAME: &str = ".hardfs.toml";

/// Policy settings as given on the command line, before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyOptions {
    /// Rule IDs or slugs to run, replacing the config file's `only`.
    pub only: Vec<String>,
    /// Rule IDs or slugs not to run, replacing the config file's `skip`.
    pub skip: Vec<String>,
    /// `RULE:PATH` allowlist entries, added to the config file's.
    pub allow: Vec<String>,
    /// Replaces the config file's `fail_on`.
    pub fail_on: Option<FailOn>,
    pub config: Option<ConfigSource>,
}

/// The policy's decision about one finding.
#[derive(Debug)]
pub enum Verdict<'a> {
    Keep,
    /// Its rule was left out by `--only` or `--skip`.
    Deselected,
    /// An allowlist entry matched it.
    Allowed(&'a AllowEntry),
}

/// The validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// IDs of the rules that run; `None` means every rule.
    pub only: Option<BTreeSet<&'static str>>,
    /// IDs of the rules that do not run, even when `only` names them.
    pub skip: BTreeSet<&'static str>,
    pub allow: Vec<AllowEntry>,
    pub fail_on: FailOn,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            only: None,
            skip: BTreeSet::new(),
            allow: Vec::new(),
            fail_on: FailOn::DEFAULT,
        }
    }
}

impl Policy {
    /// Validates command-line settings and merges them with the config file.
    /// A command-line `--only`, `--skip` or `--fail-on` replaces the file's
    /// setting, and `--allow` entries are added to the file's.
    pub fn resolve(options: &PolicyOptions) -> Result<Policy, PolicyError> {
        let file = match &options.config {
            Some(source) => config::load(source)?,
            None => None,
        };
        let mut policy = match file {
            Some(file) => Policy::from_config(file),
            None => Policy::default(),
        };

        if !options.only.is_empty() {
            policy.only = Some(lookup_rules(&options.only, "--only")?);
        }
        if !options.skip.is_empty() {
            policy.skip = lookup_rules(&options.skip, "--skip")?;
        }
        for value in &options.allow {
            policy.allow.push(parse_allow_flag(value)?);
        }
        if let Some(fail_on) = options.fail_on {
            policy.fail_on = fail_on;
        }
        tracing::debug!(
            only = ?policy.only,
            skip = ?policy.skip,
            allow = policy.allow.len(),
            fail_on = %policy.fail_on,
            "resolved the report policy"
        );
        Ok(policy)
    }

    fn from_config(file: ConfigFile) -> Policy {
        Policy {
            only: file.only,
            skip: file.skip.unwrap_or_default(),
            allow: file.allow,
            fail_on: file.fail_on.unwrap_or(FailOn::DEFAULT),
        }
    }

    /// Returns true when `rule` runs, so that callers can skip the work of rules
    /// left out.
    pub fn selects(&self, rule: &Rule) -> bool {
        let listed = self.only.as_ref().is_none_or(|only| only.contains(rule.id));
        listed && !self.skip.contains(rule.id)
    }

    /// Decides what happens to `finding`: the first allowlist entry that
    /// matches it wins.
    pub fn judge(&self, finding: &Finding) -> Verdict<'_> {
        if !self.selects(finding.rule) {
            return Verdict::Deselected;
        }
        match self.allow.iter().find(|entry| entry.matches(finding)) {
            Some(entry) => Verdict::Allowed(entry),
            None => Verdict::Keep,
        }
    }

    /// Lists the allowlist entries that suppressed nothing in `report`,
    /// leaving out entries for rules that do not run or that check the
    /// other kind of target, as a config file shared by `audit` and `lint`
    /// has them.
    pub fn unused_allow_entries(&self, report: &Report) -> Vec<&AllowEntry> {
        let kind = match report.target {
            Target::Image(_) => Applies::Image,
            Target::Dockerfiles(_) => Applies::Dockerfile,
        };
        self.allow
            .iter()
            .filter(|entry| {
                let applies = entry.rule.applies == Applies::Both || entry.rule.applies == kind;
                applies && self.selects(entry.rule)
            })
            .filter(|entry| {
                !report.suppressed.iter().any(|suppressed| {
                    matches!(self.judge(&suppressed.finding),
                        Verdict::Allowed(first) if std::ptr::eq(first, *entry))
                })
            })
            .collect()
    }

    /// Computes the exit code for `report`: 2 when a problem left part of the target
    /// unchecked, else 1 when a kept finding reaches `fail_on`, else 0.
    /// Suppressed findings never count.
    pub fn exit_code(&self, report: &Report) -> u8 {
        if !report.problems.is_empty() {
            EXIT_INCOMPLETE
        } else if report
            .findings
            .iter()
            .any(|finding| self.fail_on.fails(finding.severity))
        {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }
}

/// Finds a rule by ID or slug; `origin` names where the name was written.
pub(crate) fn lookup_rule(name: &str, origin: &str) -> Result<&'static Rule, PolicyError> {
    hardfs_rules::lookup(name.trim()).ok_or_else(|| PolicyError::UnknownRule {
        name: name.to_string(),
        origin: origin.to_string(),
        valid: valid_rule_names(),
    })
}

fn lookup_rules(names: &[String], origin: &str) -> Result<BTreeSet<&'static str>, PolicyError> {
    names
        .iter()
        .flat_map(|name| name.split(','))
        .map(|name| lookup_rule(name, origin).map(|rule| rule.id))
        .collect()
}

/// Lists every rule as `ID slug`, for unknown-rule errors.
fn valid_rule_names() -> String {
    let names: Vec<String> = RULES
        .iter()
        .map(|rule| format!("{} {}", rule.id, rule.slug))
        .collect();
    names.join(", ")
}

/// Compiles an allowlist path glob; `origin` names where it was written.
pub(crate) fn compile_pattern(pattern: &str, origin: &str) -> Result<Pattern, PolicyError> {
    Pattern::new(pattern).map_err(|source| PolicyError::InvalidPattern {
        pattern: pattern.to_string(),
        origin: origin.to_string(),
        source,
    })
}

/// Parses `--allow RULE:PATH`. The rule part never contains a colon, so the
/// path keeps any colons of its own.
fn parse_allow_flag(value: &str) -> Result<AllowEntry, PolicyError> {
    let invalid = || PolicyError::InvalidAllow {
        value: value.to_string(),
    };
    let (rule, path) = value.split_once(':').ok_or_else(invalid)?;
    if rule.trim().is_empty() || path.is_empty() {
        return Err(invalid());
    }

    Ok(AllowEntry {
        rule: lookup_rule(rule, "--allow")?,
        pattern: compile_pattern(path, "--allow")?,
        reason: "allowed on the command line".to_string(),
        origin: Origin::CommandLine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hardfs_rules::Location;

    fn image_finding(slug: &str, path: &str, severity: Severity) -> Finding {
        let rule = hardfs_rules::lookup(slug).unwrap();
        let location = Location::ImagePath {
            path: path.to_string(),
            layer_index: 0,
            layer_digest: "sha256:00".to_string(),
            created_by: None,
        };
        Finding::new(rule, location, "test").with_severity(severity)
    }

    fn options() -> PolicyOptions {
        PolicyOptions {
            config: Some(ConfigSource::None),
            ..PolicyOptions::default()
        }
    }

    #[test]
    fn fail_on_parses_severities_and_never() {
        assert_eq!("HIGH".parse(), Ok(FailOn::Severity(Severity::High)));
        assert_eq!("never".parse(), Ok(FailOn::Never));
        let error = "loud".parse::<FailOn>().unwrap_err();
        assert!(error.contains("`loud`"), "{error}");
    }

    #[test]
    fn fail_on_compares_at_or_above() {
        let high = FailOn::Severity(Severity::High);
        assert!(high.fails(Severity::Critical));
        assert!(high.fails(Severity::High));
        assert!(!high.fails(Severity::Medium));
        assert!(!FailOn::Never.fails(Severity::Critical));
    }

    #[test]
    fn only_and_skip_accept_ids_and_slugs() {
        let policy = Policy::resolve(&PolicyOptions {
            only: vec!["HF001,setgid-file".into(), "hf004".into()],
            skip: vec!["world-writable".into()],
            ..options()
        })
        .unwrap();
        let only: Vec<_> = policy.only.clone().unwrap().into_iter().collect();
        assert_eq!(only, ["HF001", "HF002", "HF004"]);
        assert!(policy.selects(hardfs_rules::lookup("HF001").unwrap()));
        assert!(!policy.selects(hardfs_rules::lookup("HF004").unwrap()));
        assert!(!policy.selects(hardfs_rules::lookup("HF005").unwrap()));
    }

    #[test]
    fn empty_rule_name_is_rejected() {
        let error = Policy::resolve(&PolicyOptions {
            only: vec!["HF001,".into()],
            ..options()
        })
        .unwrap_err();
        assert!(
            matches!(&error, PolicyError::UnknownRule { name, .. } if name.is_empty()),
            "{error:?}"
        );
    }

    #[test]
    fn unknown_rule_lists_valid_ones() {
        let error = Policy::resolve(&PolicyOptions {
            skip: vec!["setuid".into()],
            ..options()
        })
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("unknown rule `setuid` in --skip"),
            "{text}"
        );
        assert!(text.contains("HF001 setuid-file"), "{text}");
        assert!(text.contains("HF021 layer-format"), "{text}");
    }

    #[test]
    fn allow_flag_needs_rule_and_path() {
        for value in ["setuid-file", ":/usr/bin/su", "setuid-file:"] {
            let error = Policy::resolve(&PolicyOptions {
                allow: vec![value.into()],
                ..options()
            })
            .unwrap_err();
            assert!(
                matches!(error, PolicyError::InvalidAllow { .. }),
                "{value}: {error}"
            );
        }
    }

    #[test]
    fn allow_flag_keeps_colons_in_path() {
        let policy = Policy::resolve(&PolicyOptions {
            allow: vec!["HF001:/opt/a:b".into()],
            ..options()
        })
        .unwrap();
        let entry = &policy.allow[0];
        assert_eq!(entry.rule.id, "HF001");
        assert_eq!(entry.pattern.as_str(), "/opt/a:b");
        assert_eq!(entry.reason, "allowed on the command line");
        assert_eq!(entry.origin.to_string(), "the command line");
    }

    #[test]
    fn allow_glob_stops_at_slash_except_double_star() {
        let policy = Policy::resolve(&PolicyOptions {
            allow: vec![
                "setuid-file:/usr/bin/*".into(),
                "setgid-file:/opt/**/helper".into(),
            ],
            ..options()
        })
        .unwrap();
        let allowed = |finding: &Finding| matches!(policy.judge(finding), Verdict::Allowed(_));
        assert!(allowed(&image_finding(
            "HF001",
            "/usr/bin/su",
            Severity::High
        )));
        assert!(!allowed(&image_finding(
            "HF001",
            "/usr/bin/x/su",
            Severity::High
        )));
        assert!(!allowed(&image_finding(
            "HF002",
            "/usr/bin/su",
            Severity::High
        )));
        assert!(allowed(&image_finding(
            "HF002",
            "/opt/a/b/helper",
            Severity::High
        )));
        assert!(allowed(&image_finding(
            "HF002",
            "/opt/helper",
            Severity::High
        )));
    }

    #[test]
    fn exit_code_follows_kept_findings_and_problems() {
        let policy = Policy::resolve(&PolicyOptions {
            fail_on: Some(FailOn::Severity(Severity::High)),
            allow: vec!["HF001:/usr/bin/su".into()],
            ..options()
        })
        .unwrap();
        let target = crate::Target::Dockerfiles(vec![]);
        let medium = image_finding("HF004", "/tmp", Severity::Medium);
        let allowed_high = image_finding("HF001", "/usr/bin/su", Severity::High);
        let high = image_finding("HF001", "/usr/bin/mount", Severity::High);

        let report = Report::new(target.clone(), vec![medium.clone()], vec![], &policy);
        assert_eq!(policy.exit_code(&report), EXIT_CLEAN);

        let findings = vec![medium.clone(), allowed_high];
        let report = Report::new(target.clone(), findings, vec![], &policy);
        assert_eq!(report.suppressed.len(), 1);
        assert_eq!(policy.exit_code(&report), EXIT_CLEAN);

        let report = Report::new(target.clone(), vec![high], vec![], &policy);
        assert_eq!(policy.exit_code(&report), EXIT_FINDINGS);

        let problem = crate::Problem {
            subject: "Dockerfile".into(),
            message: "unreadable".into(),
        };
        let report = Report::new(target, vec![], vec![problem], &policy);
        assert_eq!(policy.exit_code(&report), EXIT_INCOMPLETE);
    }

    #[test]
    fn deselected_findings_are_dropped() {
        let policy = Policy::resolve(&PolicyOptions {
            skip: vec!["HF004".into()],
            ..options()
        })
        .unwrap();
        let findings = vec![
            image_finding("HF004", "/tmp", Severity::Medium),
            image_finding("HF001", "/usr/bin/su", Severity::High),
        ];
        let report = Report::new(
            crate::Target::Dockerfiles(vec![]),
            findings,
            vec![],
            &policy,
        );
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].rule.id, "HF001");
        assert!(report.suppressed.is_empty());
    }
}
