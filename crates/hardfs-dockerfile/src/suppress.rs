//! Inline suppressions: a comment `# hardfs:ignore=ID-or-slug[,…] reason`
//! on the line before an instruction silences those rules for it.

use tracing::warn;

use crate::rules::Raw;

/// One parsed suppression comment.
#[derive(Debug, PartialEq, Eq)]
struct Suppression {
    line: usize,
    rules: Vec<String>,
}

fn suppressions(comments: &[(usize, String)]) -> Vec<Suppression> {
    let mut found = Vec::new();
    for (line, text) in comments {
        let Some(rest) = text.trim_start().strip_prefix("hardfs:ignore=") else {
            continue;
        };
        let (list, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if reason.trim().is_empty() {
            warn!(line, "suppression comment gives no reason");
        }
        let mut rules = Vec::new();
        for name in list.split(',').filter(|name| !name.is_empty()) {
            match hardfs_rules::lookup(name) {
                Some(rule) => rules.push(rule.id.to_string()),
                None => warn!(line, rule = name, "suppression names an unknown rule"),
            }
        }
        found.push(Suppression { line: *line, rules });
    }
    found
}

/// Drops findings whose instruction, or whose own line, comes right after a
/// suppression comment naming their rule.
pub(crate) fn apply(findings: Vec<Raw>, comments: &[(usize, String)]) -> Vec<Raw> {
    let suppressions = suppressions(comments);
    findings
        .into_iter()
        .filter(|raw| {
            let line = match &raw.finding.location {
                hardfs_rules::Location::Dockerfile { line, .. } => *line,
                _ => raw.instruction_line,
            };
            !suppressions.iter().any(|suppression| {
                (suppression.line + 1 == raw.instruction_line || suppression.line + 1 == line)
                    && suppression.rules.iter().any(|id| id == raw.finding.rule.id)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint;

    #[test]
    fn suppression_by_slug_and_id() {
        let text = "FROM a\n# hardfs:ignore=volume-declared,HF009 logs are shipped elsewhere\n\
                    VOLUME /var/log:ro\nVOLUME /data\n";
        let found = lint("Dockerfile", text).unwrap();
        let ids: Vec<_> = found.iter().map(|finding| finding.rule.id).collect();
        assert_eq!(ids, ["HF007", "HF008"]);
    }

    #[test]
    fn suppression_applies_only_to_next_line() {
        let text = "# hardfs:ignore=runs-as-root base image sets USER\n\nFROM a\n";
        let found = lint("Dockerfile", text).unwrap();
        assert_eq!(found.len(), 1);
        let text = "# hardfs:ignore=runs-as-root base image sets USER\nFROM a\n";
        assert!(lint("Dockerfile", text).unwrap().is_empty());
    }
}
