//! chmod-world-writable (HF014), chmod-setuid (HF015) and
//! setuid-strip-in-layer (HF017), from RUN chmod calls (also behind
//! `find -exec` and `xargs`), `install -m` and `mkdir -m`, and from
//! COPY/ADD `--chmod`.

use hardfs_rules::Severity;

use crate::ast::Node;
use crate::model::StepKind;
use crate::modes::{parse_mode, ModeEffect};
use crate::shell::{program_name, Word};

use super::{invocations, operands, run_commands, Context, RunCommand};

pub(super) fn check(context: &mut Context<'_>) {
    let chain = context.final_chain();
    let commands = run_commands(&chain);
    for run in &commands {
        let directories_only = finds_directories(run);
        for call in invocations(run.command, "chmod") {
            let (_, operands) = operands(call);
            let Some((mode, paths)) = operands.split_first() else {
                continue;
            };
            let Some(mut effect) = parse_mode(&mode.text) else {
                continue;
            };
            // On a directory the setgid bit only makes new entries inherit
            // its group; it grants no privilege.
            if directories_only {
                effect.setgid = false;
            }
            let targets: Vec<&str> = paths.iter().map(|word| word.text.as_str()).collect();
            let what = format!("`chmod {}` on {}", mode.text, list(&targets));
            report_effect(context, run.node, run.position(mode), effect, &what);
        }
        for program in ["install", "mkdir"] {
            for call in invocations(run.command, program) {
                let Some(found) = mode_call(program, call) else {
                    continue;
                };
                let Some(mut effect) = parse_mode(&found.mode.text) else {
                    continue;
                };
                // `mkdir -m` and `install -d -m` make directories, where the
                // setgid bit grants no privilege and setuid is ignored.
                if found.directories {
                    effect.setuid = false;
                    effect.setgid = false;
                }
                let targets: Vec<&str> = found.targets.iter().map(String::as_str).collect();
                let what = format!("`{program} -m {}` on {}", found.mode.text, list(&targets));
                report_effect(context, run.node, run.position(&found.mode), effect, &what);
            }
        }
        strip_pattern(context, run);
    }
    for stage in chain.iter().rev() {
        for step in &stage.steps {
            let (StepKind::Copy(copy) | StepKind::Add(copy)) = &step.kind else {
                continue;
            };
            let Some(mode) = &copy.chmod else { continue };
            let Some(effect) = parse_mode(mode) else {
                continue;
            };
            let at = flag_position(step.node, "--chmod");
            let what = format!("`--chmod={mode}` on `{}`", copy.destination);
            report_effect(context, step.node, at, effect, &what);
        }
    }
}

fn report_effect(
    context: &mut Context<'_>,
    node: &Node,
    at: (usize, usize),
    effect: ModeEffect,
    what: &str,
) {
    if effect.world_writable && effect.sticky {
        let message = format!(
            "{what} makes it world-writable with the sticky bit, which suits a shared scratch \
             directory like /tmp; keep such directories on a tmpfs under a read-only root"
        );
        context.report("HF014", node, at, Some(Severity::Low), message);
    } else if effect.world_writable {
        let message = format!("{what} makes it writable by every user in the container");
        context.report("HF014", node, at, None, message);
    }
    if effect.setuid || effect.setgid {
        let bits = match (effect.setuid, effect.setgid) {
            (true, true) => "setuid and setgid bits",
            (true, false) => "setuid bit",
            _ => "setgid bit",
        };
        let message = format!("{what} sets the {bits}");
        context.report("HF015", node, at, None, message);
    }
}

/// The paths an `install` or `mkdir` call gives a mode, and that mode.
struct ModeCall {
    /// The mode, as a word holding the mode text alone.
    mode: Word,
    /// The paths that get the mode.
    targets: Vec<String>,
    /// Whether the call makes directories (`mkdir`, `install -d`).
    directories: bool,
}

/// Reads the mode of an `install` or `mkdir` call (`-m MODE`, `-mMODE`,
/// `--mode=MODE`, `--mode MODE`, or in a group such as `-Dm755`) and the
/// paths it applies to. `None` when the call sets no mode.
fn mode_call(program: &str, call: &[Word]) -> Option<ModeCall> {
    let mut mode: Option<Word> = None;
    let mut operands: Vec<&str> = Vec::new();
    let mut target_directory: Option<String> = None;
    let mut directories = program == "mkdir";
    let mut words = call[1..].iter();
    let mut only_operands = false;
    while let Some(word) = words.next() {
        let text = word.text.as_str();
        if only_operands || !text.starts_with('-') || text == "-" {
            operands.push(text);
            continue;
        }
        if text == "--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let takes_value = matches!(
                name,
                "mode" | "target-directory" | "owner" | "group" | "suffix"
            );
            let value = match (takes_value, inline) {
                (true, None) => words.next().map(|next| next.text.clone()),
                (_, inline) => inline,
            };
            match (name, value) {
                ("mode", Some(value)) => mode = Some(mode_word(word, value)),
                ("target-directory", value) => target_directory = value,
                ("directory", _) => directories = true,
                _ => {}
            }
            continue;
        }
        // A group of short options: the first one that takes a value ends
        // it, with the rest of the word or the next word as the value.
        for (index, option) in text.char_indices().skip(1) {
            if matches!(option, 'm' | 't' | 'o' | 'g' | 'S') {
                let rest = &text[index + 1..];
                let value = if rest.is_empty() {
                    words.next().map(|next| next.text.clone())
                } else {
                    Some(rest.to_string())
                };
                match (option, value) {
                    ('m', Some(value)) => mode = Some(mode_word(word, value)),
                    ('t', value) => target_directory = value,
                    _ => {}
                }
                break;
            }
            if option == 'd' && program == "install" {
                directories = true;
            }
        }
    }
    let mode = mode?;
    let targets = if directories {
        operands.iter().map(|path| path.to_string()).collect()
    } else if let Some(directory) = target_directory {
        let directory = directory.trim_end_matches('/');
        operands
            .iter()
            .map(|path| {
                let name = path.rsplit('/').next().unwrap_or(path);
                format!("{directory}/{name}")
            })
            .collect()
    } else {
        // `install SOURCE… DESTINATION`: only the destination gets the mode.
        operands
            .last()
            .map(|path| path.to_string())
            .into_iter()
            .collect()
    };
    Some(ModeCall {
        mode,
        targets,
        directories,
    })
}

fn mode_word(option: &Word, text: String) -> Word {
    Word {
        text,
        ..option.clone()
    }
}

/// True for `find … -type d … -exec …`, which changes directories only.
fn finds_directories(run: &RunCommand<'_>) -> bool {
    let words = run.command.unwrapped();
    words
        .first()
        .is_some_and(|word| program_name(&word.text) == "find")
        && words
            .windows(2)
            .any(|pair| pair[0].text == "-type" && pair[1].text == "d")
}

/// `find … -perm /6000 … -exec chmod a-s` (or `| xargs chmod a-s`) and
/// plain `chmod u-s FILE` clear setuid bits in a new layer only.
fn strip_pattern(context: &mut Context<'_>, run: &RunCommand<'_>) {
    let words = run.command.unwrapped();
    let clears = invocations(run.command, "chmod").into_iter().any(|call| {
        let (_, operands) = operands(call);
        operands
            .first()
            .and_then(|mode| parse_mode(&mode.text))
            .is_some_and(|effect| effect.clears_setid)
    });
    let find_perm = words
        .first()
        .is_some_and(|word| program_name(&word.text) == "find")
        && words
            .windows(2)
            .any(|pair| pair[0].text == "-perm" && is_setid_perm(&pair[1].text));
    let Some(first) = words.first() else { return };
    if find_perm {
        // The chmod may sit in a later command of the same pipe.
        let later = run_strips_later(run);
        if clears || later {
            let message = "`find -perm … chmod a-s` clears setuid/setgid bits in a new layer \
                           only; every original file stays in the lower layers, which \
                           `hardfs harden` rewrites instead"
                .to_string();
            context.report("HF017", run.node, run.position(first), None, message);
        }
    } else if clears && !mentions_find_in_step(run) {
        let message = format!(
            "`{}` clears setuid/setgid bits in a new layer only; the original file stays in a \
             lower layer, which `hardfs harden` rewrites instead",
            joined(words)
        );
        context.report("HF017", run.node, run.position(first), None, message);
    }
}

/// True when a later command of the same RUN script runs `chmod` with a
/// clearing mode (as in `find … | xargs chmod a-s`).
fn run_strips_later(run: &RunCommand<'_>) -> bool {
    run.script
        .commands
        .iter()
        .skip_while(|command| !std::ptr::eq(*command, run.command))
        .skip(1)
        .flat_map(|command| invocations(command, "chmod"))
        .any(|call| {
            let (_, operands) = operands(call);
            operands
                .first()
                .and_then(|mode| parse_mode(&mode.text))
                .is_some_and(|effect| effect.clears_setid)
        })
}

/// True when the script also has a `find -perm` for set-id bits, which
/// reports the pattern once.
fn mentions_find_in_step(run: &RunCommand<'_>) -> bool {
    run.script.commands.iter().any(|command| {
        let words = command.unwrapped();
        words
            .first()
            .is_some_and(|word| program_name(&word.text) == "find")
            && words
                .windows(2)
                .any(|pair| pair[0].text == "-perm" && is_setid_perm(&pair[1].text))
    })
}

/// `-perm` values that select setuid or setgid files: `/6000`, `-4000`,
/// `+2000`, `/u+s,g+s`, `-u=s`.
fn is_setid_perm(value: &str) -> bool {
    let bits = value.trim_start_matches(['/', '-', '+']);
    if bits.bytes().all(|b| b.is_ascii_digit()) {
        return u32::from_str_radix(bits, 8).is_ok_and(|mode| mode & 0o6000 != 0);
    }
    bits.split(',')
        .any(|clause| clause.contains('s') && (clause.contains('u') || clause.contains('g')))
}

/// Finds where a flag starts, or returns the instruction's own position.
fn flag_position(node: &Node, flag: &str) -> (usize, usize) {
    match node.original.find(flag) {
        Some(offset) => node.position(offset),
        None => (node.line, node.column),
    }
}

fn list(paths: &[&str]) -> String {
    if paths.is_empty() {
        return "its operands".into();
    }
    paths
        .iter()
        .map(|path| format!("`{path}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn joined(words: &[Word]) -> String {
    words
        .iter()
        .map(|word| word.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use hardfs_rules::{Location, Severity};

    use crate::lint;

    fn found(text: &str, id: &str) -> Vec<(usize, usize, Severity, String)> {
        lint("Dockerfile", text)
            .unwrap()
            .into_iter()
            .filter(|finding| finding.rule.id == id)
            .map(|finding| {
                let Location::Dockerfile { line, column, .. } = finding.location else {
                    unreachable!()
                };
                (line, column, finding.severity, finding.message)
            })
            .collect()
    }

    #[test]
    fn world_writable_chmod_in_run() {
        let text = "FROM a\nRUN mkdir /x && chmod -R 777 /x\n";
        let hits = found(text, "HF014");
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0, hits[0].1), (2, 26));
        assert_eq!(hits[0].2, Severity::Medium);
    }

    #[test]
    fn safe_modes_pass() {
        let text = "FROM a\nRUN chmod 755 /x && chmod g+w /y && chmod +x /z\n";
        assert!(found(text, "HF014").is_empty());
        assert!(found(text, "HF015").is_empty());
    }

    #[test]
    fn sticky_tmp_is_low() {
        let hits = found("FROM a\nRUN chmod 1777 /tmp\n", "HF014");
        assert_eq!(hits[0].2, Severity::Low);
    }

    #[test]
    fn symbolic_and_find_exec() {
        let text = "FROM a\nRUN find /srv -type d -exec chmod o+w {} +\nRUN chmod a+w,u+s /b\n";
        assert_eq!(found(text, "HF014").len(), 2);
        assert_eq!(found(text, "HF015").len(), 1);
    }

    #[test]
    fn setuid_modes() {
        let text = "FROM a\nRUN chmod 4755 /usr/bin/x; chmod g+s /d\n";
        let hits = found(text, "HF015");
        assert_eq!(hits.len(), 2);
        assert!(hits[0].3.contains("setuid bit"), "{}", hits[0].3);
        assert!(hits[1].3.contains("setgid bit"), "{}", hits[1].3);
    }

    #[test]
    fn install_mode_forms() {
        let text = "FROM a\nRUN install -m 4755 su /usr/bin/su && install -m0777 a /a\n\
                    RUN install -g staff --mode=2755 b /b && install -o root --mode 755 c /c\n";
        let setid = found(text, "HF015");
        assert_eq!(setid.len(), 2);
        assert_eq!((setid[0].0, setid[0].1), (2, 13));
        assert_eq!(
            setid[0].3,
            "`install -m 4755` on `/usr/bin/su` sets the setuid bit"
        );
        assert_eq!(setid[1].3, "`install -m 2755` on `/b` sets the setgid bit");
        let writable = found(text, "HF014");
        assert_eq!(writable.len(), 1);
        assert!(
            writable[0].3.starts_with("`install -m 0777`"),
            "{}",
            writable[0].3
        );
    }

    #[test]
    fn install_option_groups_and_target_directory() {
        let text = "FROM a\nRUN install -Dm4755 tool /usr/local/bin/tool\n\
                    RUN install -vm 2755 -t /usr/bin a ./b/e\n\
                    RUN install -Dm0777 conf /etc/app.conf && install -Dm755 ok /ok\n";
        let setid = found(text, "HF015");
        assert_eq!(setid.len(), 2);
        assert_eq!(
            setid[0].3,
            "`install -m 4755` on `/usr/local/bin/tool` sets the setuid bit"
        );
        assert_eq!(
            setid[1].3,
            "`install -m 2755` on `/usr/bin/a`, `/usr/bin/e` sets the setgid bit"
        );
        let writable = found(text, "HF014");
        assert_eq!(writable.len(), 1);
        assert!(
            writable[0]
                .3
                .starts_with("`install -m 0777` on `/etc/app.conf` "),
            "{}",
            writable[0].3
        );
    }

    #[test]
    fn directory_modes_grant_no_setid() {
        let text = "FROM a\nRUN install -d -o app -g app -m 2775 /srv && mkdir -p -m 4755 /d\n\
                    RUN mkdir -m 1777 /scratch && mkdir -m 777 /open\n";
        assert!(found(text, "HF015").is_empty());
        let writable = found(text, "HF014");
        assert_eq!(writable.len(), 2);
        assert!(
            writable[0].3.starts_with("`mkdir -m 1777` on `/scratch` "),
            "{}",
            writable[0].3
        );
        assert_eq!(writable[0].2, Severity::Low);
        assert_eq!(writable[1].2, Severity::Medium);
    }

    #[test]
    fn setgid_on_found_directories_passes() {
        let text = "FROM a\nRUN find /d -type d -exec chmod g+s {} +\n";
        assert!(found(text, "HF015").is_empty());
    }

    #[test]
    fn copy_chmod_flag() {
        let text = "FROM a\nCOPY --chmod=0777 run.sh /run.sh\nADD --chmod=755 b /b\n";
        let hits = found(text, "HF014");
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0, hits[0].1), (2, 6));
    }

    #[test]
    fn exec_form_chmod() {
        let text = "FROM a\nRUN [\"chmod\", \"0777\", \"/x\"]\n";
        assert_eq!(found(text, "HF014").len(), 1);
    }

    #[test]
    fn heredoc_script_chmod_points_at_body_line() {
        let text = "FROM a\nRUN <<EOF\nset -e\n  chmod u+s /bin/tool\nEOF\n";
        let hits = found(text, "HF015");
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].0, hits[0].1), (4, 9));
    }

    #[test]
    fn heredoc_fed_to_cat_is_not_a_script() {
        let text = "FROM a\nRUN cat <<EOF > /notes\nchmod 777 /x\nEOF\n";
        assert!(found(text, "HF014").is_empty());
    }

    #[test]
    fn xargs_chmod() {
        let text = "FROM a\nRUN ls /x | xargs -r chmod 666\n";
        assert_eq!(found(text, "HF014").len(), 1);
    }

    #[test]
    fn setuid_strip_pattern() {
        let text = "FROM a\nRUN find / -xdev -perm /6000 -type f -exec chmod a-s {} \\; || true\n";
        let hits = found(text, "HF017");
        assert_eq!(hits.len(), 1);
        assert!(hits[0].3.contains("lower layers"), "{}", hits[0].3);
    }

    #[test]
    fn setuid_strip_through_xargs() {
        let text = "FROM a\nRUN find / -perm -4000 -print0 | xargs -0 chmod u-s\n";
        assert_eq!(found(text, "HF017").len(), 1);
    }

    #[test]
    fn find_without_strip_passes() {
        let text = "FROM a\nRUN find / -perm /6000 -type f -print\n";
        assert!(found(text, "HF017").is_empty());
    }

    #[test]
    fn chmod_in_build_stage_only_does_not_count() {
        let text = "FROM a AS b\nRUN chmod 777 /x\nFROM c\nRUN true\n";
        assert!(found(text, "HF014").is_empty());
    }
}
