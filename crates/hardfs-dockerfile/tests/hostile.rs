//! Hostile and random input: the parser and the rules return findings or
//! an error, never panic, and finish quickly.

use std::time::{Duration, Instant};

use hardfs_dockerfile::{lint, parse, ParseError, MAX_LINE_BYTES};
use proptest::prelude::*;

/// Bound for inputs that must be rejected or parsed at once. It is loose
/// because debug builds on a loaded machine are slow, but work quadratic in
/// these input sizes would still take far longer.
const QUICK: Duration = Duration::from_secs(30);

#[test]
fn hundred_megabyte_line_is_rejected() {
    let text = format!("FROM a\nRUN {}\n", "x".repeat(100 << 20));
    let started = Instant::now();
    let error = parse(&text).unwrap_err();
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    assert!(
        matches!(error, ParseError::LineTooLong { line: 2, limit, .. } if limit == MAX_LINE_BYTES),
        "{error}"
    );
}

#[test]
fn deep_continuations_parse_quickly() {
    let text = format!("FROM a\nRUN true {}\n", "\\\n && true ".repeat(200_000));
    let started = Instant::now();
    let findings = lint("Dockerfile", &text);
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    assert!(findings.is_ok(), "{findings:?}");
}

#[test]
fn continuation_past_size_limit_is_rejected() {
    let line = format!(" {} \\\n", "y".repeat(60_000));
    let text = format!("FROM a\nRUN \\\n{}", line.repeat(200));
    let error = parse(&text).unwrap_err();
    assert!(
        matches!(error, ParseError::InstructionTooLong { line: 2, .. }),
        "{error}"
    );
}

#[test]
fn unterminated_heredoc_is_an_error() {
    let error = parse("FROM a\nRUN <<EOF\nnever closed\n").unwrap_err();
    assert_eq!(
        error,
        ParseError::UnterminatedHeredoc {
            line: 2,
            name: "EOF".into()
        }
    );
}

#[test]
fn deeply_nested_expansion_is_an_error() {
    let word = "${A:-".repeat(10_000) + &"}".repeat(10_000);
    let text = format!("FROM a\nENV B={word}\n");
    let error = lint("Dockerfile", &text).unwrap_err();
    assert!(
        matches!(error, ParseError::Expansion { line: 2, .. }),
        "{error}"
    );
}

#[test]
fn deeply_nested_json_is_shell_form() {
    let text = format!(
        "FROM a\nCMD {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let started = Instant::now();
    let file = parse(&text).expect("falls back to shell form as BuildKit does");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    assert!(!file.nodes[1].json);
    assert!(lint("Dockerfile", &text).is_ok());
}

/// Fragments that exercise the parser's special cases.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM a AS b\n".to_string()),
        Just("RUN <<EOF\n".to_string()),
        Just("EOF\n".to_string()),
        Just("\\\n".to_string()),
        Just("`\n".to_string()),
        Just("# escape=`\n".to_string()),
        Just("# hardfs:ignore=HF007 x\n".to_string()),
        Just("ENV A=\"${B:-${C}}\" \\\n".to_string()),
        Just("USER $A:0\n".to_string()),
        Just("VOLUME [\"/x:ro\"\n".to_string()),
        Just("COPY --chown=a:b --chmod=4777 <<-'X' /y\n".to_string()),
        Just("RUN find / -perm /6000 -exec chmod a-s {} \\; | xargs chmod 777\n".to_string()),
        Just("ONBUILD RUN chown -R a /app\n".to_string()),
        "[ -~\\t\\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = lint("Dockerfile", &text);
    }

    #[test]
    fn dockerfile_like_text_never_panics(parts in proptest::collection::vec(fragment(), 0..40)) {
        let text = parts.concat();
        if let Ok(file) = parse(&text) {
            prop_assert!(!file.nodes.is_empty());
            for node in &file.nodes {
                prop_assert!(node.line >= 1 && node.line <= node.end_line);
            }
        }
        let _ = lint("Dockerfile", &text);
    }
}
