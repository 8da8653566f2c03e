//! `hardfs rules` and `hardfs explain`, generated from the rule table.

use std::io::Write;

use anyhow::{Context, Result};
use hardfs_rules::{Applies, RULES};

use crate::cli::{ExplainArgs, ListFormat, RulesArgs};
use crate::cmd::Hint;

pub fn run(args: &RulesArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Text => {
            for rule in RULES {
                writeln!(
                    out,
                    "{}  {:<27} {:<8} {:<10} {}",
                    rule.id,
                    rule.slug,
                    rule.severity,
                    applies_label(rule.applies),
                    rule.title
                )?;
            }
        }
        ListFormat::Json => {
            let rules: Vec<_> = RULES
                .iter()
                .map(|rule| {
                    serde_json::json!({
                        "id": rule.id,
                        "slug": rule.slug,
                        "title": rule.title,
                        "severity": rule.severity,
                        "applies_to": applies_label(rule.applies),
                        "why": rule.why,
                        "fix": rule.fix,
                        "reference": rule.reference,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rules)?;
            writeln!(out)?;
        }
    }
    Ok(0)
}

pub fn explain(args: &ExplainArgs) -> Result<u8> {
    let rule = hardfs_rules::lookup(&args.rule)
        .with_context(|| format!("unknown rule `{}`", args.rule))
        .context(Hint(
            "run `hardfs rules` to list every rule ID and slug".into(),
        ))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}: {}", rule.id, rule.slug, rule.title)?;
    writeln!(out, "severity: {} (default)", rule.severity)?;
    writeln!(out, "applies to: {}", applies_label(rule.applies))?;
    writeln!(out, "\nWhy it matters:\n  {}", rule.why)?;
    writeln!(out, "\nHow to fix:\n  {}", rule.fix)?;
    writeln!(out, "\nReference:\n  {}", rule.reference)?;
    Ok(0)
}

fn applies_label(applies: Applies) -> &'static str {
    match applies {
        Applies::Image => "image",
        Applies::Dockerfile => "dockerfile",
        Applies::Both => "both",
    }
}
