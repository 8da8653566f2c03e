//! The Dockerfile lint rules, one file per family, and what they share:
//! the stage chain of the final image, its runtime user, and finding the
//! chmod/chown invocations inside RUN commands.
//!
//! Rules about the final image's state (runs-as-root, volumes, chmod,
//! ownership, setuid stripping) look at the final stage and the stages it
//! is built on. Rules about the build itself (user-not-created, add-remote)
//! look at every stage.

mod add;
mod chmod;
mod ownership;
mod user;
mod volume;

use hardfs_rules::{Finding, Location, Rule, Severity};

use crate::accounts::{created_by, Account};
use crate::ast::Node;
use crate::model::{Script, Stage, StepKind};
use crate::shell::{program_name, Command, Word};

/// A finding with the first line of its instruction, which inline
/// suppressions refer to.
pub(crate) struct Raw {
    pub finding: Finding,
    pub instruction_line: usize,
}

/// The input every rule reads and the findings it writes.
pub(crate) struct Context<'a> {
    pub file_name: &'a str,
    pub stages: &'a [Stage<'a>],
    pub findings: Vec<Raw>,
}

impl<'a> Context<'a> {
    pub fn report(
        &mut self,
        id: &str,
        node: &Node,
        (line, column): (usize, usize),
        severity: Option<Severity>,
        message: String,
    ) {
        let rule = rule(id);
        let location = Location::Dockerfile {
            file: self.file_name.to_string(),
            line,
            column,
        };
        let mut finding = Finding::new(rule, location, message);
        if let Some(severity) = severity {
            finding = finding.with_severity(severity);
        }
        self.findings.push(Raw {
            finding,
            instruction_line: node.line,
        });
    }

    /// Lists the final stage followed by the stages it is built on, nearest first.
    pub fn final_chain(&self) -> Vec<&'a Stage<'a>> {
        let mut chain = Vec::new();
        let mut next = self.stages.last();
        while let Some(stage) = next {
            chain.push(stage);
            next = stage.parent.and_then(|index| self.stages.get(index));
        }
        chain
    }
}

/// Looks up a rule of the shared table by ID.
pub(crate) fn rule(id: &str) -> &'static Rule {
    hardfs_rules::lookup(id).unwrap_or_else(|| panic!("rule {id} is missing from the rule table"))
}

/// Runs every rule over the stages.
pub(crate) fn run_all(context: &mut Context<'_>) {
    user::runs_as_root(context);
    user::user_not_created(context);
    volume::check(context);
    chmod::check(context);
    ownership::check(context);
    add::check(context);
}

/// True when the Dockerfile builds Windows images: a stage has a Windows
/// base image, a PowerShell or cmd SHELL, or RUN commands that start with a
/// drive path. The uid-based user rules do not apply to Windows accounts.
pub(crate) fn is_windows(stages: &[Stage<'_>]) -> bool {
    if stages
        .iter()
        .any(|stage| crate::accounts::is_windows_base(&stage.base))
    {
        return true;
    }
    stages.iter().flat_map(|stage| &stage.steps).any(|step| {
        let text = step.node.args_text().to_ascii_lowercase();
        match step.node.instruction().as_str() {
            "shell" => ["powershell", "pwsh", "cmd"]
                .iter()
                .any(|shell| text.contains(shell)),
            "run" => {
                let bytes = text.as_bytes();
                bytes.len() > 2
                    && bytes[0].is_ascii_alphabetic()
                    && bytes[1] == b':'
                    && matches!(bytes[2], b'/' | b'\\')
            }
            _ => false,
        }
    })
}

/// Finds the last USER of the final image: its value (`None` when it comes from an
/// unknown build argument) and its instruction.
pub(crate) fn runtime_user<'a>(chain: &[&'a Stage<'a>]) -> Option<(Option<&'a str>, &'a Node)> {
    chain.iter().find_map(|stage| {
        stage.steps.iter().rev().find_map(|step| match &step.kind {
            StepKind::User(user) => Some((user.as_deref(), step.node)),
            _ => None,
        })
    })
}

/// One command of a RUN, with the script and instruction it came from.
pub(crate) struct RunCommand<'a> {
    pub node: &'a Node,
    pub script: &'a Script,
    pub command: &'a Command,
}

impl RunCommand<'_> {
    pub fn position(&self, word: &Word) -> (usize, usize) {
        self.script.position(self.node, word.offset)
    }
}

/// Collects every RUN command of the given stages.
pub(crate) fn run_commands<'a>(stages: &[&'a Stage<'a>]) -> Vec<RunCommand<'a>> {
    let mut commands = Vec::new();
    for stage in stages {
        for step in &stage.steps {
            let StepKind::Run(scripts) = &step.kind else {
                continue;
            };
            for script in scripts {
                for command in &script.commands {
                    commands.push(RunCommand {
                        node: step.node,
                        script,
                        command,
                    });
                }
            }
        }
    }
    commands
}

/// Accounts created by RUN commands in the given stages.
pub(crate) fn created_accounts(stages: &[&Stage<'_>]) -> Vec<Account> {
    run_commands(stages)
        .iter()
        .flat_map(|run| created_by(run.command))
        .collect()
}

/// Finds every call of `program` in a command: the command itself, commands
/// run by `find -exec`/`-execdir`/`-ok`, and commands run by `xargs`.
/// Each result starts with the program word.
pub(crate) fn invocations<'a>(command: &'a Command, program: &str) -> Vec<&'a [Word]> {
    let mut found = Vec::new();
    collect_invocations(command.unwrapped(), program, &mut found);
    found
}

fn collect_invocations<'a>(words: &'a [Word], program: &str, found: &mut Vec<&'a [Word]>) {
    let Some(first) = words.first() else {
        return;
    };
    match program_name(&first.text) {
        name if name == program => found.push(words),
        "find" => {
            let mut index = 1;
            while index < words.len() {
                if matches!(
                    words[index].text.as_str(),
                    "-exec" | "-execdir" | "-ok" | "-okdir"
                ) {
                    let start = index + 1;
                    let end = words[start..]
                        .iter()
                        .position(|word| matches!(word.text.as_str(), ";" | "+"))
                        .map_or(words.len(), |position| start + position);
                    collect_invocations(&words[start..end], program, found);
                    index = end;
                }
                index += 1;
            }
        }
        "xargs" => {
            let mut index = 1;
            while let Some(word) = words.get(index) {
                let text = word.text.as_str();
                if !text.starts_with('-') {
                    break;
                }
                let takes_value =
                    matches!(text, "-I" | "-n" | "-P" | "-d" | "-L" | "-s" | "-a" | "-E");
                index += if takes_value { 2 } else { 1 };
            }
            collect_invocations(words.get(index..).unwrap_or(&[]), program, found);
        }
        _ => {}
    }
}

/// Splits the arguments of a chmod or chown call into options and operands;
/// a `--` ends the options.
pub(crate) fn operands(call: &[Word]) -> (Vec<&Word>, Vec<&Word>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut only_operands = false;
    for word in &call[1..] {
        if only_operands {
            operands.push(word);
        } else if word.text == "--" {
            only_operands = true;
        } else if word.text.starts_with('-') && word.text.len() > 1 && is_option(&word.text) {
            options.push(word);
        } else {
            operands.push(word);
        }
    }
    (options, operands)
}

/// Options of GNU and BusyBox chmod and chown; `-w` or `-s` alone are
/// modes, not options.
fn is_option(text: &str) -> bool {
    if text.starts_with("--") {
        return true;
    }
    text[1..].chars().all(|ch| "RfvchHLP".contains(ch))
}

/// True when the options include `-R` or `--recursive`.
pub(crate) fn is_recursive(options: &[&Word]) -> bool {
    options.iter().any(|word| {
        word.text == "--recursive" || (!word.text.starts_with("--") && word.text.contains('R'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::Environment;
    use crate::shell::split_commands;

    fn chmod_calls(script: &str) -> Vec<Vec<String>> {
        let commands = split_commands(script, &Environment::new());
        commands
            .iter()
            .flat_map(|command| invocations(command, "chmod"))
            .map(|call| call.iter().map(|word| word.text.clone()).collect())
            .collect()
    }

    #[test]
    fn finds_chmod_behind_find_and_xargs() {
        let calls = chmod_calls(
            "find / -perm /6000 -type f -exec chmod a-s {} \\; ; find /x -print0 | xargs -0 -n 1 chmod 777",
        );
        assert_eq!(calls, [vec!["chmod", "a-s", "{}"], vec!["chmod", "777"]]);
    }

    #[test]
    fn separates_options_from_modes() {
        let commands = split_commands("chmod -R -w /x", &Environment::new());
        let calls = invocations(&commands[0], "chmod");
        let (options, operands) = operands(calls[0]);
        assert_eq!(options.len(), 1);
        assert!(is_recursive(&options));
        assert_eq!(operands[0].text, "-w");
    }

    #[test]
    fn every_rule_id_used_exists() {
        for id in [
            "HF007", "HF008", "HF009", "HF013", "HF014", "HF015", "HF016", "HF017", "HF018",
            "HF019",
        ] {
            assert_eq!(rule(id).id, id);
        }
    }
}
