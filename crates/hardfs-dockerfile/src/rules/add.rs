//! add-remote (HF019): ADD of a URL without a checksum, or of a local tar
//! archive that ADD extracts.

use crate::model::StepKind;

use super::Context;

/// Names of archives that ADD unpacks: tar, plain or compressed with gzip,
/// bzip2, xz or zstd.
const ARCHIVE_SUFFIXES: &[&str] = &[
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst",
];

pub(super) fn check(context: &mut Context<'_>) {
    for stage in context.stages {
        for step in &stage.steps {
            let StepKind::Add(add) = &step.kind else {
                continue;
            };
            let at = (step.node.line, step.node.column);
            for source in &add.sources {
                let message = if is_remote(source) {
                    if add.checksum {
                        continue;
                    }
                    format!(
                        "ADD fetches `{source}` without `--checksum`, so the build trusts \
                         whatever the server sends"
                    )
                } else if add.from.is_none() && is_archive(source) {
                    format!(
                        "ADD extracts the archive `{source}` into `{}`, keeping the modes and \
                         owners stored in it; use COPY for files, or unpack in a RUN step you \
                         can review",
                        add.destination
                    )
                } else {
                    continue;
                };
                context.report("HF019", step.node, at, None, message);
            }
        }
    }
}

fn is_remote(source: &str) -> bool {
    source.contains("://") || source.starts_with("git@")
}

fn is_archive(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ARCHIVE_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use crate::lint;

    fn messages(text: &str) -> Vec<String> {
        lint("Dockerfile", text)
            .unwrap()
            .into_iter()
            .filter(|finding| finding.rule.id == "HF019")
            .map(|finding| finding.message)
            .collect()
    }

    #[test]
    fn url_without_checksum() {
        let found = messages("FROM a\nADD https://example.com/x.bin /x\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("--checksum"), "{}", found[0]);
    }

    #[test]
    fn url_with_checksum_passes() {
        let text = "FROM a\nADD --checksum=sha256:00 https://example.com/x.bin /x\n";
        assert!(messages(text).is_empty());
    }

    #[test]
    fn local_archive_is_extracted() {
        let found = messages("FROM a\nADD rootfs.tar.xz /\nADD file.txt /f\nCOPY b.tgz /b\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("rootfs.tar.xz"), "{}", found[0]);
    }
}
