//! Build stages with the values BuildKit would use: ARG and ENV scoping per
//! stage, expansion in the instructions that expand (FROM with the global
//! ARGs only; ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME,
//! WORKDIR and ADD/COPY flags with the stage's variables), and RUN scripts
//! split into commands.

use crate::ast::{Dockerfile, Node};
use crate::error::ParseError;
use crate::lex::{Environment, LexError, Lexer};
use crate::shell::{split_commands, Command};

/// Instructions BuildKit accepts; anything else is an error.
const INSTRUCTIONS: &[&str] = &[
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// One build stage.
#[derive(Debug)]
pub struct Stage<'a> {
    pub index: usize,
    /// The `AS` name, lowercased as BuildKit compares it.
    pub name: Option<String>,
    /// The base image after expansion with the global ARGs.
    pub base: String,
    /// The earlier stage this one is built on, when `base` names one.
    pub parent: Option<usize>,
    pub from: &'a Node,
    pub steps: Vec<Step<'a>>,
}

/// One instruction inside a stage, with its expanded values.
#[derive(Debug)]
pub struct Step<'a> {
    pub node: &'a Node,
    pub kind: StepKind,
}

/// The effect of an instruction, as far as the rules need it.
#[derive(Debug)]
pub enum StepKind {
    /// USER, expanded; `None` when a variable in it has no known value.
    User(Option<String>),
    Volume(Vec<String>),
    Copy(CopyStep),
    Add(CopyStep),
    Run(Vec<Script>),
    Workdir(String),
    Other,
}

/// The expanded parts of a COPY or ADD.
#[derive(Debug, Default)]
pub struct CopyStep {
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub from: Option<String>,
    pub checksum: bool,
    pub sources: Vec<String>,
    pub destination: String,
    /// The working directory at this step, for relative destinations.
    pub workdir: String,
}

/// A shell script a RUN executes: its command line or a heredoc body.
#[derive(Debug)]
pub struct Script {
    pub commands: Vec<Command>,
    /// Where the script's offsets point: `None` for the instruction's own
    /// text (offsets into `Node::original`), or the first line of the
    /// heredoc body.
    pub heredoc_line: Option<usize>,
    /// The heredoc body, when this script is one; used to map offsets.
    pub heredoc_text: Option<String>,
}

impl Script {
    /// Maps a byte offset in this script to its line and column.
    pub fn position(&self, node: &Node, offset: usize) -> (usize, usize) {
        match (&self.heredoc_text, self.heredoc_line) {
            (Some(text), Some(first)) => {
                let before = &text[..offset.min(text.len())];
                let line = first + before.matches('\n').count();
                let column = before
                    .rsplit('\n')
                    .next()
                    .map_or(0, |tail| tail.chars().count())
                    + 1;
                (line, column)
            }
            _ => node.position(offset),
        }
    }
}

/// Builds the stages of a parsed Dockerfile.
pub fn stages(file: &Dockerfile) -> Result<Vec<Stage<'_>>, ParseError> {
    let escape = file.directives.escape;
    let mut builder = Builder {
        lexer: Lexer::new(escape),
        global: platform_args(),
        stages: Vec::new(),
        env: Environment::new(),
        persistent: Vec::new(),
        workdir: "/".into(),
    };
    for node in &file.nodes {
        builder.add(node)?;
    }
    Ok(builder.stages)
}

/// Defines the platform ARGs BuildKit provides to FROM lines, with the values of a
/// linux/amd64 build on a linux/amd64 host.
fn platform_args() -> Environment {
    let mut env = Environment::new();
    for prefix in ["BUILD", "TARGET"] {
        env.set(&format!("{prefix}PLATFORM"), "linux/amd64");
        env.set(&format!("{prefix}OS"), "linux");
        env.set(&format!("{prefix}ARCH"), "amd64");
        env.set(&format!("{prefix}VARIANT"), "");
    }
    env
}

struct Builder<'a> {
    lexer: Lexer,
    /// ARGs declared before the first FROM.
    global: Environment,
    stages: Vec<Stage<'a>>,
    /// Variables visible in the current stage (its ARGs and ENVs).
    env: Environment,
    /// ENV values of each finished stage, which a stage built on it inherits.
    persistent: Vec<Environment>,
    workdir: String,
}

impl<'a> Builder<'a> {
    fn add(&mut self, node: &'a Node) -> Result<(), ParseError> {
        let instruction = node.instruction();
        if !INSTRUCTIONS.contains(&instruction.as_str()) {
            return Err(ParseError::UnknownInstruction {
                line: node.line,
                keyword: node.keyword.clone(),
            });
        }
        crate::validate::check(node)?;
        if instruction == "from" {
            return self.start_stage(node);
        }
        if self.stages.is_empty() {
            if instruction != "arg" {
                return Err(ParseError::BeforeFrom {
                    line: node.line,
                    instruction: node.keyword.to_ascii_uppercase(),
                });
            }
            return self.global_arg(node);
        }
        let kind = self.step(node, &instruction)?;
        if let Some(stage) = self.stages.last_mut() {
            stage.steps.push(Step { node, kind });
        }
        Ok(())
    }

    fn expand(&self, node: &Node, word: &str, env: &Environment) -> Result<String, ParseError> {
        match self.lexer.process_word(word, env) {
            Ok(value) => Ok(value),
            // `${NAME:?}` fails only because no build argument was passed
            // here; the word stays as written.
            Err(LexError::Required { .. }) => Ok(word.to_string()),
            Err(source) => Err(ParseError::Expansion {
                line: node.line,
                instruction: node.keyword.to_ascii_uppercase(),
                source,
            }),
        }
    }

    fn global_arg(&mut self, node: &'a Node) -> Result<(), ParseError> {
        let global = self.global.clone();
        for word in &node.args {
            if let Some((name, value)) = self.arg_value(node, word, &global)? {
                self.global.set(&name, &value);
            }
        }
        Ok(())
    }

    /// Splits an ARG word into name and expanded default.
    fn arg_value(
        &self,
        node: &Node,
        word: &str,
        env: &Environment,
    ) -> Result<Option<(String, String)>, ParseError> {
        match word.split_once('=') {
            Some((name, value)) => Ok(Some((name.to_string(), self.expand(node, value, env)?))),
            None => Ok(None),
        }
    }

    fn start_stage(&mut self, node: &'a Node) -> Result<(), ParseError> {
        if node.args.is_empty() {
            return Err(ParseError::MissingArguments {
                line: node.line,
                instruction: "FROM".into(),
                expected: "a base image",
            });
        }
        self.finish_stage();
        let base = self.expand(node, &node.args[0], &self.global.clone())?;
        let name = match node.args.get(1) {
            Some(word) if word.eq_ignore_ascii_case("as") => {
                node.args.get(2).map(|n| n.to_lowercase())
            }
            _ => None,
        };
        let parent = self
            .stages
            .iter()
            .position(|stage| stage.name.as_deref() == Some(base.to_lowercase().as_str()));
        self.env = match parent {
            Some(index) => self.persistent[index].clone(),
            None => Environment::new(),
        };
        self.workdir = "/".into();
        self.stages.push(Stage {
            index: self.stages.len(),
            name,
            base,
            parent,
            from: node,
            steps: Vec::new(),
        });
        Ok(())
    }

    fn finish_stage(&mut self) {
        if self.stages.len() > self.persistent.len() {
            self.persistent.push(self.env.clone());
        }
    }

    fn step(&mut self, node: &'a Node, instruction: &str) -> Result<StepKind, ParseError> {
        let env = self.env.clone();
        Ok(match instruction {
            "arg" => {
                for word in &node.args {
                    match self.arg_value(node, word, &env)? {
                        Some((name, value)) => self.env.set(&name, &value),
                        None => {
                            if let Some(value) = self.global.get(word).map(str::to_string) {
                                self.env.set(word, &value);
                            }
                        }
                    }
                }
                StepKind::Other
            }
            "env" => {
                for triple in node.args.chunks(3) {
                    let value = self.expand(node, &triple[1], &env)?;
                    self.env.set(&triple[0], &value);
                }
                StepKind::Other
            }
            "user" => StepKind::User(self.user(node, &env)?),
            "volume" => {
                let mut paths = Vec::new();
                for arg in &node.args {
                    let path = self.expand(node, arg, &env)?;
                    if !path.is_empty() {
                        paths.push(path);
                    }
                }
                StepKind::Volume(paths)
            }
            "workdir" => {
                let path = self.expand(node, node.args_text(), &env)?;
                self.workdir = join_path(&self.workdir, &path);
                StepKind::Workdir(self.workdir.clone())
            }
            "copy" => StepKind::Copy(self.copy(node, &env)?),
            "add" => StepKind::Add(self.copy(node, &env)?),
            "run" => StepKind::Run(scripts(node, &env)),
            "onbuild" => {
                if let Some(child) = &node.child {
                    let keyword = child.instruction();
                    if matches!(keyword.as_str(), "onbuild" | "from" | "maintainer") {
                        return Err(ParseError::InvalidOnbuild {
                            line: node.line,
                            instruction: child.keyword.to_ascii_uppercase(),
                        });
                    }
                }
                StepKind::Other
            }
            _ => StepKind::Other,
        })
    }

    fn user(&self, node: &Node, env: &Environment) -> Result<Option<String>, ParseError> {
        let Some(word) = node.args.first() else {
            return Err(ParseError::MissingArguments {
                line: node.line,
                instruction: "USER".into(),
                expected: "a user name or uid",
            });
        };
        let strict = Lexer {
            skip_unset: true,
            ..self.lexer
        };
        let kept = strict.process_word(word, env).unwrap_or_default();
        // A reference left in place means the value comes from a build
        // argument that is not known here, unless it has a default.
        if has_unknown_reference(&kept) {
            return Ok(None);
        }
        let value = self.expand(node, word, env)?;
        Ok(Some(value).filter(|value| !value.trim().is_empty()))
    }

    fn copy(&self, node: &Node, env: &Environment) -> Result<CopyStep, ParseError> {
        let mut step = CopyStep {
            workdir: self.workdir.clone(),
            ..CopyStep::default()
        };
        for flag in &node.flags {
            let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
            let value = self.expand(node, value, env)?;
            match name {
                "--chown" => step.chown = Some(value),
                "--chmod" => step.chmod = Some(value),
                "--from" => step.from = Some(value),
                "--checksum" => step.checksum = true,
                _ => {}
            }
        }
        let mut words = Vec::new();
        for arg in &node.args {
            words.push(self.expand(node, arg, env)?);
        }
        if node.heredocs.is_empty() && words.len() < 2 {
            return Err(ParseError::MissingArguments {
                line: node.line,
                instruction: node.keyword.to_ascii_uppercase(),
                expected: "a source and a destination",
            });
        }
        step.destination = words.pop().unwrap_or_default();
        step.sources = words;
        Ok(step)
    }
}

/// True when `text`, expanded with unset references kept, still has a
/// reference without a `${NAME:-default}` or `${NAME-default}` fallback.
fn has_unknown_reference(text: &str) -> bool {
    text.match_indices('$').any(|(index, _)| {
        let Some(braced) = text[index + 1..].strip_prefix('{') else {
            return true;
        };
        let name_end = braced
            .find(|ch: char| !ch.is_alphanumeric() && ch != '_')
            .unwrap_or(braced.len());
        let modifier = &braced[name_end..];
        !(modifier.starts_with(":-") || modifier.starts_with('-'))
    })
}

/// Joins a WORKDIR or COPY destination onto the current directory.
pub fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') || base.is_empty() {
        return path.to_string();
    }
    let path = path.strip_prefix("./").unwrap_or(path);
    if path == "." || path.is_empty() {
        return match base.trim_end_matches('/') {
            "" => "/".to_string(),
            trimmed => trimmed.to_string(),
        };
    }
    format!("{}/{}", base.trim_end_matches('/'), path)
}

/// Shells that run a heredoc body fed to them as a script.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh"];

/// Collects the scripts of a RUN: its shell-form text (or exec-form words as one
/// command), plus heredoc bodies that a shell runs.
fn scripts(node: &Node, env: &Environment) -> Vec<Script> {
    if node.json {
        let words = node
            .args
            .iter()
            .map(|arg| crate::shell::Word {
                text: arg.clone(),
                raw: arg.clone(),
                offset: node.args_offset,
            })
            .collect();
        return vec![Script {
            commands: vec![Command { words }],
            heredoc_line: None,
            heredoc_text: None,
        }];
    }
    let text = node.original.get(node.args_offset..).unwrap_or("");
    let mut commands = split_commands(text, env);
    for command in &mut commands {
        for word in &mut command.words {
            word.offset += node.args_offset;
        }
    }
    // `RUN <<EOF` runs the body as the script, and so does a shell fed the
    // heredoc (`RUN bash <<EOF`); `RUN cat <<EOF > file` only writes it.
    let bare_heredoc = text.trim_start().starts_with("<<");
    let shell_first = commands
        .first()
        .and_then(|command| command.words.first())
        .is_some_and(|word| SHELLS.contains(&crate::shell::program_name(&word.text)));
    let runs_body = bare_heredoc || shell_first;
    let mut scripts = vec![Script {
        commands,
        heredoc_line: None,
        heredoc_text: None,
    }];
    if runs_body {
        for heredoc in &node.heredocs {
            let body_env = if heredoc.expand {
                env.clone()
            } else {
                Environment::new()
            };
            scripts.push(Script {
                commands: split_commands(&heredoc.content, &body_env),
                heredoc_line: Some(heredoc.content_line),
                heredoc_text: Some(heredoc.content.clone()),
            });
        }
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn user_of(text: &str) -> Option<String> {
        let file = parse(text).unwrap();
        let stages = stages(&file).unwrap();
        let last = stages.last().unwrap();
        last.steps.iter().rev().find_map(|step| match &step.kind {
            StepKind::User(user) => Some(user.clone().unwrap_or_default()),
            _ => None,
        })
    }

    #[test]
    fn global_arg_reaches_from_but_not_stage() {
        let file = parse("ARG BASE=debian\nARG U=root\nFROM $BASE\nUSER $U\n").unwrap();
        let stages = stages(&file).unwrap();
        assert_eq!(stages[0].base, "debian");
        assert_eq!(
            user_of("ARG U=root\nFROM x\nUSER $U\n"),
            Some(String::new())
        );
    }

    #[test]
    fn platform_args_expand_in_from() {
        let file = parse("FROM scratch AS out-linux\nFROM out-$TARGETOS\n").unwrap();
        let stages = stages(&file).unwrap();
        assert_eq!(stages[1].base, "out-linux");
        assert_eq!(stages[1].parent, Some(0));
    }

    #[test]
    fn redeclared_global_arg_takes_its_default() {
        assert_eq!(
            user_of("ARG U=root\nFROM x\nARG U\nUSER $U\n").as_deref(),
            Some("root")
        );
    }

    #[test]
    fn env_is_inherited_from_parent_stage_only() {
        let text = "FROM a AS one\nENV U=app\nFROM one\nUSER ${U}\nFROM b\nUSER ${U:-none}\n";
        let file = parse(text).unwrap();
        let stages = stages(&file).unwrap();
        assert_eq!(stages[1].parent, Some(0));
        let user = |stage: &Stage| match &stage.steps[0].kind {
            StepKind::User(user) => user.clone(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(user(&stages[1]).as_deref(), Some("app"));
        assert_eq!(user(&stages[2]).as_deref(), Some("none"));
    }

    #[test]
    fn unknown_instruction_is_an_error() {
        let file = parse("FROM a\nFROB x\n").unwrap();
        let error = stages(&file).unwrap_err();
        assert_eq!(
            error,
            ParseError::UnknownInstruction {
                line: 2,
                keyword: "FROB".into()
            }
        );
    }

    #[test]
    fn workdir_resolves_relative_paths() {
        assert_eq!(join_path("/app", "src"), "/app/src");
        assert_eq!(join_path("/app/", "./"), "/app");
        assert_eq!(join_path("/app", "/etc"), "/etc");
    }
}
