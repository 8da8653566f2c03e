//! Conformance with BuildKit's own parser and word-expansion test vectors.

mod common;

use hardfs_dockerfile::lex::{Environment, Lexer};
use hardfs_dockerfile::parse;

#[test]
fn parser_testfiles_match_buildkit_results() {
    let root = common::corpus().join("buildkit/parser/testfiles");
    let cases = common::subfolders(&root);
    assert!(cases.len() >= 30, "only {} parser cases found", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = common::read(&case.join("Dockerfile"));
        let expected = common::read(&case.join("result"));
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        match parse(&text) {
            Ok(file) if file.dump() == expected => {}
            Ok(file) => failures.push(format!(
                "{name}: dump differs\n--- expected\n{expected}--- got\n{}",
                file.dump()
            )),
            Err(error) => failures.push(format!("{name}: rejected: {error}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parser_negative_testfiles_are_rejected() {
    let root = common::corpus().join("buildkit/parser/testfiles-negative");
    let cases = common::subfolders(&root);
    assert_eq!(cases.len(), 4);
    for case in &cases {
        let text = common::read(&case.join("Dockerfile"));
        let result = parse(&text);
        assert!(result.is_err(), "{} parsed: {result:?}", case.display());
    }
}

fn test_environment() -> Environment {
    let mut env = Environment::new();
    env.set("PWD", "/home");
    env.set("SHELL", "bash");
    env.set("KOREAN", "한국어");
    env.set("NULL", "");
    env
}

#[test]
fn env_var_test_table() {
    let text = common::read(&common::corpus().join("buildkit/shell/envVarTest"));
    let env = test_environment();
    let lexer = Lexer::default();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 3, "malformed line {line:?}");
        let (platform, input, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        if platform == "W" {
            continue;
        }
        checked += 1;
        let got = lexer.process_word(input, &env);
        let ok = match &got {
            Ok(word) => expected != "error" && word == expected,
            Err(_) => expected == "error",
        };
        if !ok {
            failures.push(format!("{input:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(checked > 200, "only {checked} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn words_test_table() {
    let text = common::read(&common::corpus().join("buildkit/shell/wordsTest"));
    let lexer = Lexer::default();
    let mut env = Environment::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(assignment) = line.strip_prefix("ENV ") {
            let (name, value) = assignment.trim_start().split_once('=').expect("name=value");
            env.set(name, value);
            continue;
        }
        let (input, expected) = line.split_once('|').expect("input | expected");
        let input = input.trim();
        let expected = expected.trim_start();
        checked += 1;
        let got = lexer.process_words(input, &env);
        let ok = match &got {
            Ok(words) => expected != "error" && words.join(",") == expected,
            Err(_) => expected == "error",
        };
        if !ok {
            failures.push(format!("{input:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(checked >= 20, "only {checked} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
