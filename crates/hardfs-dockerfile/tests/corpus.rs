//! Every Dockerfile of the shared corpus either lints, or is rejected at the
//! line where BuildKit also rejects it.

mod common;

use std::path::{Path, PathBuf};

use hardfs_dockerfile::lint;

/// Files BuildKit refuses to build, with the line it fails at and why.
const REJECTED: &[(&str, Option<usize>, &str)] = &[
    (
        "containers__buildah/tests__bud__add-checksum__Containerfile.bad",
        Some(2),
        "ADD --checksum with no `=value`",
    ),
    (
        "containers__buildah/tests__bud__add-chmod__Dockerfile.bad",
        Some(3),
        "ADD --chmod with no `=value`",
    ),
    (
        "containers__buildah/tests__bud__copy-chown__Dockerfile.bad",
        Some(3),
        "COPY --chown with no `=value`",
    ),
    (
        "containers__buildah/tests__bud__copy-from__Dockerfile.bad",
        Some(2),
        "COPY --from with no `=value`",
    ),
    (
        "containers__buildah/tests__bud__copy-multistage-paths__Dockerfile.invalid_from",
        Some(3),
        "COPY --from with no `=value`",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__flags__Dockerfile",
        Some(3),
        "COPY --user, a flag COPY does not have",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__health__Dockerfile",
        Some(4),
        "HEALTHCHECK with no arguments",
    ),
    (
        "bridgecrewio__checkov/tests__dockerfile__resources__empty_dockerfile__Dockerfile",
        None,
        "no instructions",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles-negative__empty_dockerfile__Dockerfile",
        None,
        "no instructions",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles-negative__only_comments__Dockerfile",
        None,
        "only comments, so no instructions",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles-negative__env_no_value__Dockerfile",
        Some(3),
        "ENV with a name and no value",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles-negative__shykes-nested-json__Dockerfile",
        Some(1),
        "CMD with a JSON array nested in the array",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__env__Dockerfile",
        Some(12),
        "ENV name='a\\'b': the single quote never closes when the value is expanded",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__escapes__Dockerfile",
        Some(6),
        "ADD \\conf\\\\\": the double quote never closes when the word is expanded",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-json-inside-string-double__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-json-inside-string__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-single-quotes__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-unterminated-bracket__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-unterminated-string__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
    (
        "moby__buildkit/frontend__dockerfile__parser__testfiles__json__Dockerfile",
        Some(1),
        "CMD with no FROM before it",
    ),
];

fn corpus_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in common::subfolders(root) {
        for entry in std::fs::read_dir(&folder).expect("list corpus folder") {
            let path = entry.expect("corpus entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn corpus_parses_or_fails_where_buildkit_does() {
    let root = common::corpus().join("dockerfiles");
    let files = corpus_files(&root);
    assert!(files.len() >= 200, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(path).expect("read corpus file");
        let text = String::from_utf8_lossy(&bytes);
        let expected = REJECTED.iter().find(|(file, _, _)| *file == name);
        match (lint(&name, &text), expected) {
            (Ok(_), None) => {}
            (Err(error), Some((_, line, _))) if error.line() == *line => {}
            (Ok(_), Some((_, _, reason))) => {
                failures.push(format!("{name}: parsed, but BuildKit rejects it: {reason}"))
            }
            (Err(error), _) => failures.push(format!("{name}: {error}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
