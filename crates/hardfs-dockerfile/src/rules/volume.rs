//! volume-declared (HF008) and volume-with-options (HF009).

use crate::model::StepKind;

use super::Context;

/// Reports every volume of the final image, and each volume path with a
/// colon, which VOLUME takes literally.
pub(super) fn check(context: &mut Context<'_>) {
    let chain = context.final_chain();
    let mut volumes = Vec::new();
    for stage in chain.iter().rev() {
        for step in &stage.steps {
            if let StepKind::Volume(paths) = &step.kind {
                volumes.push((step.node, paths.clone()));
            }
        }
    }
    for (node, paths) in volumes {
        let at = (node.line, node.column);
        let malformed = !node.json && node.args_text().starts_with('[');
        let note = if malformed {
            " (the JSON array is malformed, so each word, brackets and quotes included, is a path)"
        } else {
            ""
        };
        for path in &paths {
            if has_option_colon(path) {
                let (target, options) = path.split_once(':').unwrap_or((path, ""));
                let message = format!(
                    "VOLUME `{path}` declares a read-write volume at a directory literally named \
                     `{path}`; VOLUME takes no `:{options}` part, so declare `{target}` and make \
                     it read-only when running (`-v name:{target}:ro`, or `readOnly: true` on a \
                     Kubernetes volumeMount){note}"
                );
                context.report("HF009", node, at, None, message);
            }
            let message = format!(
                "VOLUME `{path}` stays writable even with a read-only root filesystem; mount it \
                 explicitly with the access it needs{note}"
            );
            context.report("HF008", node, at, None, message);
        }
    }
}

/// True when a colon in the path is not just a Windows drive letter
/// (`C:\data`, `c:/data`).
fn has_option_colon(path: &str) -> bool {
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || bytes[2] == b'\\' || bytes[2] == b'/');
    let rest = if drive { &path[2..] } else { path };
    rest.contains(':')
}

#[cfg(test)]
mod tests {
    use crate::lint;

    fn volume_findings(text: &str) -> Vec<(String, String)> {
        lint("Dockerfile", text)
            .unwrap()
            .into_iter()
            .filter(|finding| matches!(finding.rule.id, "HF008" | "HF009"))
            .map(|finding| (finding.rule.id.to_string(), finding.message))
            .collect()
    }

    fn count(findings: &[(String, String)], id: &str) -> usize {
        findings.iter().filter(|(rule, _)| rule == id).count()
    }

    #[test]
    fn read_only_suffix_is_an_error() {
        let found = volume_findings("FROM a\nUSER 1\nVOLUME /var/log:ro\n");
        assert_eq!(count(&found, "HF009"), 1);
        let error = found.iter().find(|(id, _)| id == "HF009").unwrap();
        assert!(error.1.contains("declare `/var/log`"), "{}", error.1);
        assert_eq!(count(&found, "HF008"), 1);
    }

    #[test]
    fn plain_volume_is_only_declared() {
        let found = volume_findings("FROM a\nVOLUME /data\n");
        assert_eq!(count(&found, "HF009"), 0);
        assert_eq!(count(&found, "HF008"), 1);
    }

    #[test]
    fn json_and_space_separated_forms() {
        let found =
            volume_findings("FROM a\nVOLUME [\"/a\", \"/b:rw\"]\nVOLUME /v/a /v/b   /v/c\n");
        assert_eq!(count(&found, "HF008"), 5);
        assert_eq!(count(&found, "HF009"), 1);
    }

    #[test]
    fn malformed_json_is_words() {
        let found = volume_findings("FROM a\nVOLUME [\"/data:ro\"\n");
        assert_eq!(count(&found, "HF009"), 1);
        assert!(found
            .iter()
            .all(|(_, message)| message.contains("malformed")));
    }

    #[test]
    fn windows_drive_is_not_an_option() {
        let found = volume_findings("# escape=`\nFROM a\nVOLUME C:\\data c:/logs\n");
        assert_eq!(count(&found, "HF009"), 0);
        assert_eq!(count(&found, "HF008"), 2);
    }

    #[test]
    fn volume_through_variable() {
        let found = volume_findings("FROM a\nENV D=/srv\nVOLUME ${D}:ro\n");
        assert_eq!(count(&found, "HF009"), 1);
    }

    #[test]
    fn volumes_of_other_stages_do_not_count() {
        let found = volume_findings("FROM a AS b\nVOLUME /x:ro\nFROM c\nRUN true\n");
        assert!(found.is_empty(), "{found:?}");
    }
}
