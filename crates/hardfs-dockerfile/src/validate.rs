//! The argument and flag checks BuildKit's instruction parser makes before a
//! build starts: which flags each instruction takes, which need a value, and
//! how many arguments each instruction needs.

use crate::ast::Node;
use crate::error::ParseError;

/// Whether a flag takes a value (`--from=x`) or is a switch (`--link`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Value,
    Switch,
}

/// Lists the flags each instruction accepts, after BuildKit's Dockerfile frontend
/// (moby/buildkit `frontend/dockerfile/instructions/parse.go`).
fn allowed_flags(instruction: &str) -> &'static [(&'static str, Kind)] {
    use Kind::{Switch, Value};
    match instruction {
        "add" => &[
            ("chown", Value),
            ("chmod", Value),
            ("link", Switch),
            ("keep-git-dir", Switch),
            ("checksum", Value),
            ("exclude", Value),
            ("unpack", Switch),
        ],
        "copy" => &[
            ("from", Value),
            ("chown", Value),
            ("chmod", Value),
            ("link", Switch),
            ("parents", Switch),
            ("exclude", Value),
        ],
        "from" => &[("platform", Value)],
        "run" => &[
            ("mount", Value),
            ("network", Value),
            ("security", Value),
            ("device", Value),
        ],
        "healthcheck" => &[
            ("interval", Value),
            ("timeout", Value),
            ("start-period", Value),
            ("start-interval", Value),
            ("retries", Value),
        ],
        _ => &[],
    }
}

/// Checks the flags and argument count of one instruction.
pub(crate) fn check(node: &Node) -> Result<(), ParseError> {
    let instruction = node.instruction();
    for flag in &node.flags {
        check_flag(node, &instruction, flag)?;
    }
    let count = node.args.len();
    let needs = match instruction.as_str() {
        "env" | "label" | "maintainer" | "volume" | "expose" | "arg" | "from" | "run"
        | "onbuild" | "stopsignal"
            if count == 0 && node.child.is_none() =>
        {
            Some("at least one argument")
        }
        "user" | "workdir" if count != 1 => Some("exactly one argument"),
        "from" if !(count == 1 || (count == 3 && node.args[1].eq_ignore_ascii_case("as"))) => {
            Some("an image, optionally followed by `AS name`")
        }
        "healthcheck" => return check_healthcheck(node),
        "shell" if !node.json => Some("its arguments as a JSON array"),
        _ => None,
    };
    match needs {
        Some(expected) => Err(ParseError::MissingArguments {
            line: node.line,
            instruction: node.keyword.to_ascii_uppercase(),
            expected,
        }),
        None => Ok(()),
    }
}

fn check_flag(node: &Node, instruction: &str, flag: &str) -> Result<(), ParseError> {
    let body = flag.strip_prefix("--").unwrap_or(flag);
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    };
    let invalid = |reason: &'static str| ParseError::InvalidFlag {
        line: node.line,
        instruction: node.keyword.to_ascii_uppercase(),
        flag: flag.to_string(),
        reason,
    };
    let Some((_, kind)) = allowed_flags(instruction)
        .iter()
        .find(|(known, _)| *known == name)
    else {
        return Err(invalid("unknown flag"));
    };
    match (kind, value) {
        (Kind::Value, None) => Err(invalid("the flag needs a value")),
        (Kind::Switch, Some(value)) if !matches!(value, "true" | "false") => {
            Err(invalid("the flag takes true or false"))
        }
        _ => Ok(()),
    }
}

/// HEALTHCHECK NONE takes nothing more; HEALTHCHECK CMD needs a command.
fn check_healthcheck(node: &Node) -> Result<(), ParseError> {
    let missing = |expected| ParseError::MissingArguments {
        line: node.line,
        instruction: "HEALTHCHECK".into(),
        expected,
    };
    let Some(kind) = node.args.first() else {
        return Err(missing("NONE or CMD and a command"));
    };
    match kind.to_ascii_uppercase().as_str() {
        "NONE" if node.args.len() == 1 => Ok(()),
        "NONE" => Err(missing("no arguments after NONE")),
        "CMD" if node.args.len() > 1 => Ok(()),
        "CMD" => Err(missing("a command after CMD")),
        _ => Err(missing("NONE or CMD as its first word")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn first_error(text: &str) -> Option<ParseError> {
        parse(text)
            .unwrap()
            .nodes
            .iter()
            .find_map(|node| check(node).err())
    }

    #[test]
    fn known_flags_pass() {
        let text = "FROM --platform=linux/amd64 a\nCOPY --from=b --chown=1:1 --link x y\n\
                    ADD --checksum=sha256:00 --keep-git-dir=true u /d\nRUN --mount=type=cache,target=/c true\n\
                    HEALTHCHECK --interval=5s CMD true\nHEALTHCHECK NONE\n";
        assert_eq!(first_error(text), None);
    }

    #[test]
    fn unknown_flag_is_rejected() {
        let error = first_error("FROM a\nCOPY --user=me a b\n").unwrap();
        assert!(
            matches!(
                error,
                ParseError::InvalidFlag {
                    line: 2,
                    reason: "unknown flag",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn value_flag_without_value_is_rejected() {
        let error = first_error("FROM a\nADD --chmod 777 a /b\n").unwrap();
        assert!(
            matches!(error, ParseError::InvalidFlag { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn healthcheck_forms() {
        assert!(first_error("FROM a\nHEALTHCHECK\n").is_some());
        assert!(first_error("FROM a\nHEALTHCHECK CONNECT TCP 7000\n").is_some());
        assert!(first_error("FROM a\nHEALTHCHECK NONE x\n").is_some());
    }

    #[test]
    fn from_forms() {
        assert_eq!(first_error("FROM a AS b\nFROM c as d\n"), None);
        assert!(first_error("FROM a b\n").is_some());
        assert!(first_error("FROM a AS\n").is_some());
        assert!(first_error("FROM a IS b\n").is_some());
    }

    #[test]
    fn shell_needs_json() {
        assert!(first_error("FROM a\nSHELL /bin/bash -c\n").is_some());
        assert_eq!(first_error("FROM a\nSHELL [\"/bin/bash\", \"-c\"]\n"), None);
    }
}
