//! Dockerfile cases from bug reports against other tools: parsing (G),
//! USER resolution (H) and VOLUME parsing (I). Each test is named for its
//! case and checks the result the Dockerfile reference calls for.

use hardfs_dockerfile::{lint, parse, stages, StepKind};
use hardfs_rules::Finding;

fn slugs(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|finding| finding.rule.slug).collect()
}

fn dumps(text: &str) -> Vec<String> {
    parse(text)
        .unwrap()
        .nodes
        .iter()
        .map(|node| node.dump())
        .collect()
}

#[test]
fn bl29_line_right_after_heredoc_terminator() {
    let text = "FROM alpine\nRUN <<EOT\necho hi\nEOT\n# note\nCOPY a /a\n";
    let file = parse(text).unwrap();
    assert_eq!(file.nodes.len(), 3);
    assert_eq!(file.nodes[1].heredocs[0].content, "echo hi\n");
    assert_eq!(file.nodes[2].dump(), "copy \"a\" \"/a\"");
}

#[test]
fn bl29_heredoc_ends_file_without_newline() {
    let file = parse("FROM alpine\nRUN <<EOT\necho hi\nEOT").unwrap();
    assert_eq!(file.nodes.len(), 2);
    assert_eq!(file.nodes[1].heredocs[0].content, "echo hi\n");
}

#[test]
fn bl31_copy_heredoc_body_keeps_quotes() {
    let file = parse("FROM alpine\nCOPY <<EOF /f.xml\n<a b=\"1\"/>\nEOF\n").unwrap();
    let heredoc = &file.nodes[1].heredocs[0];
    assert_eq!(heredoc.content, "<a b=\"1\"/>\n");
    assert!(heredoc.expand);
}

#[test]
fn bl32_quoted_delimiters_disable_expansion() {
    for delimiter in ["<<\\EOF", "<<'EOF'", "<<\"EOF\"", "<<-\"EOF\"", "<<E'O'F"] {
        let text = format!("FROM alpine\nENV V=secret\nRUN cat {delimiter}\n$V\nEOF\n");
        let file = parse(&text).unwrap();
        let heredoc = &file.nodes[2].heredocs[0];
        assert_eq!(heredoc.name, "EOF", "{delimiter}");
        assert!(!heredoc.expand, "{delimiter} should not expand");
        assert_eq!(heredoc.content, "$V\n");
    }
}

#[test]
fn bl33_comments_inside_continuations() {
    assert_eq!(
        dumps("FROM x\nENV A=1 \\\n# c1\n#\n    B=2\n")[1],
        "env \"A\" \"1\" \"=\" \"B\" \"2\" \"=\""
    );
    assert_eq!(
        dumps("FROM x\nRUN \\\n  # c2\n  echo ok\n")[1],
        "run \"echo ok\""
    );
    assert_eq!(dumps("FR\\\n#\nOM alpine\n")[0], "from \"alpine\"");
}

#[test]
fn bl35_directive_after_blank_line_is_a_comment() {
    let file = parse("\n#escape=a\nFROM x\n").unwrap();
    assert_eq!(file.directives.escape, '\\');
    assert_eq!(file.nodes.len(), 1);
}

#[test]
fn bl35_backtick_escape_continues_lines() {
    let file = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n").unwrap();
    assert_eq!(file.directives.escape, '`');
    assert_eq!(file.nodes[1].args, ["dir c:\\   && echo hi"]);
}

#[test]
fn bl36_root_by_uid_or_group() {
    for user in ["root:root", "0", "0:0", "0:wheel"] {
        let text = format!("FROM debian\nUSER {user}\n");
        let findings = lint("Dockerfile", &text).unwrap();
        assert_eq!(slugs(&findings), ["runs-as-root"], "USER {user}");
    }
}

#[test]
fn bl36_name_mapped_to_uid_zero() {
    let text = "FROM debian\nRUN echo 'toor:x:0:0::/root:/bin/sh' >> /etc/passwd\nUSER toor\n";
    let findings = lint("Dockerfile", text).unwrap();
    assert_eq!(slugs(&findings), ["runs-as-root"]);
}

#[test]
fn bl38_final_stage_user_wins() {
    let text = "FROM debian AS build\nUSER root\nRUN make\nFROM debian\n\
                RUN useradd -u 1001 app\nUSER app\nCOPY --from=build /out /app\n";
    let findings = lint("Dockerfile", text).unwrap();
    assert!(!slugs(&findings).contains(&"runs-as-root"), "{findings:?}");
    let file = parse(text).unwrap();
    let stages = stages(&file).unwrap();
    let last_user = stages[1]
        .steps
        .iter()
        .rev()
        .find_map(|step| match &step.kind {
            StepKind::User(user) => user.clone(),
            _ => None,
        });
    assert_eq!(last_user.as_deref(), Some("app"));
}

#[test]
fn bl38_base_image_user_is_unknown_to_lint() {
    let findings = lint("Dockerfile", "FROM example/sets-user-nobody\nRUN true\n").unwrap();
    assert_eq!(slugs(&findings), ["runs-as-root"]);
    assert!(findings[0]
        .message
        .contains("unless that image sets another"));
}

#[test]
fn bl39_numeric_uid_needs_no_account() {
    let findings = lint("Dockerfile", "FROM debian\nUSER 123456\n").unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn bl39_unknown_name_is_reported_not_assumed_root() {
    let findings = lint("Dockerfile", "FROM debian\nUSER ghost\n").unwrap();
    assert_eq!(slugs(&findings), ["user-not-created"]);
    assert!(findings[0].message.contains("numeric uid:gid"));
}

#[test]
fn bl40_volume_with_several_paths() {
    let file = parse("FROM x\nVOLUME /v/a /v/b   /v/c\n").unwrap();
    let stages = stages(&file).unwrap();
    let StepKind::Volume(paths) = &stages[0].steps[0].kind else {
        panic!("not a volume step");
    };
    assert_eq!(paths, &["/v/a", "/v/b", "/v/c"]);
}
