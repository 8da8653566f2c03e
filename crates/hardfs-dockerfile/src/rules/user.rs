//! runs-as-root (HF007) and user-not-created (HF013).

use crate::accounts::{base_has_account, installed_packages, is_numeric, is_root, split_owner};
use crate::ast::Node;
use crate::model::{Stage, StepKind};

use super::{
    created_accounts, invocations, is_windows, operands, run_commands, runtime_user, Context,
};

/// Name parts of base images that are built to run without root, such as
/// distroless `:nonroot` tags or nginx-unprivileged. Their config sets a
/// non-root USER, which a Dockerfile cannot see.
const NON_ROOT_BASES: &[&str] = &["nonroot", "unprivileged", "rootless", "nanoserver"];

/// The final image runs as root: no USER in the final stage or the stages it
/// is built on, or the last USER is uid 0.
pub(super) fn runs_as_root(context: &mut Context<'_>) {
    let chain = context.final_chain();
    let Some(first) = chain.last() else {
        return;
    };
    let base = first.base.clone();
    let final_from = chain[0].from;
    let accounts = created_accounts(&chain);
    // A name that a passwd line or `useradd -o -u 0` maps to uid 0 is root.
    let is_root_name = |name: &str| {
        is_root(name)
            || accounts
                .iter()
                .any(|account| account.name == name && account.id.as_deref().is_some_and(is_root))
    };
    let earlier_user = chain.iter().flat_map(|stage| &stage.steps).any(|step| {
        matches!(&step.kind, StepKind::User(Some(user)) if !is_root_name(split_owner(user).0))
    });
    match runtime_user(&chain) {
        None => {
            let lower = base.to_lowercase();
            if NON_ROOT_BASES.iter().any(|part| lower.contains(part)) || is_windows(context.stages)
            {
                return;
            }
            let image = if base.is_empty() {
                "the base image".to_string()
            } else {
                format!("`{base}`")
            };
            let message = format!(
                "the final stage sets no USER, so the container runs as the user of {image}, \
                 which is root unless that image sets another"
            );
            context.report("HF007", final_from, position(final_from), None, message);
        }
        Some((Some(user), node)) if is_root_name(split_owner(user).0) => {
            let message = if earlier_user {
                format!("`USER {user}` switches the final image back to root")
            } else {
                format!("`USER {user}` makes the container run as root")
            };
            context.report("HF007", node, position(node), None, message);
        }
        _ => {}
    }
}

fn position(node: &Node) -> (usize, usize) {
    (node.line, node.column)
}

/// USER and chown name users or groups that nothing creates.
pub(super) fn user_not_created(context: &mut Context<'_>) {
    if is_windows(context.stages) {
        return;
    }
    for stage in context.stages {
        let chain = chain_of(context.stages, stage);
        let base = chain.last().map_or(String::new(), |root| root.base.clone());
        let mut known: Vec<String> = created_accounts(&chain)
            .into_iter()
            .map(|account| account.name)
            .collect();
        for run in run_commands(&chain) {
            known.extend(installed_packages(run.command));
        }
        known.sort();
        let mut problems = Vec::new();
        for step in &stage.steps {
            match &step.kind {
                StepKind::User(Some(user)) => {
                    problems.push((step.node, position(step.node), user.clone(), "USER"))
                }
                StepKind::Copy(copy) | StepKind::Add(copy) => {
                    if let Some(owner) = &copy.chown {
                        problems.push((step.node, position(step.node), owner.clone(), "--chown"));
                    }
                }
                _ => {}
            }
        }
        for run in run_commands(&[stage]) {
            for call in invocations(run.command, "chown") {
                let (_, operands) = operands(call);
                if let Some(owner) = operands.first() {
                    problems.push((run.node, run.position(owner), owner.text.clone(), "chown"));
                }
            }
        }
        for (node, at, spec, source) in problems {
            if let Some(missing) = missing_name(&spec, &known, &base) {
                let message = format!(
                    "{source} `{spec}` names `{missing}`, which no useradd, adduser, groupadd or \
                     addgroup in this Dockerfile creates and `{base}` does not usually have; \
                     create it, or use a numeric uid:gid such as `10001:10001`, which Kubernetes' \
                     runAsNonRoot can verify"
                );
                context.report("HF013", node, at, None, message);
            }
        }
    }
}

/// The stage and the in-file stages it is built on.
fn chain_of<'a>(stages: &'a [Stage<'a>], stage: &'a Stage<'a>) -> Vec<&'a Stage<'a>> {
    let mut chain = vec![stage];
    let mut next = stage.parent;
    while let Some(index) = next {
        let Some(parent) = stages.get(index) else {
            break;
        };
        chain.push(parent);
        next = parent.parent;
    }
    chain
}

/// The first user or group name in `spec` that is neither numeric, nor a
/// variable, nor created, nor usual in the base image.
fn missing_name(spec: &str, known: &[String], base: &str) -> Option<String> {
    let (user, group) = split_owner(spec);
    let user = user.split('.').next().unwrap_or(user);
    [Some(user), group].into_iter().flatten().find_map(|name| {
        let unknown = !name.is_empty()
            && !is_numeric(name)
            && !name.contains(['$', '`', '\\', ' ', '{', '('])
            && known
                .binary_search_by(|known| known.as_str().cmp(name))
                .is_err()
            && !base_has_account(base, name);
        unknown.then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use crate::lint;

    fn ids(text: &str) -> Vec<(String, usize)> {
        lint("Dockerfile", text)
            .unwrap()
            .iter()
            .filter(|finding| matches!(finding.rule.id, "HF007" | "HF013"))
            .map(|finding| {
                let hardfs_rules::Location::Dockerfile { line, .. } = finding.location else {
                    unreachable!()
                };
                (finding.rule.slug.to_string(), line)
            })
            .collect()
    }

    #[test]
    fn no_user_runs_as_root() {
        assert_eq!(ids("FROM debian\nRUN true\n"), [("runs-as-root".into(), 1)]);
    }

    #[test]
    fn numeric_user_passes() {
        assert_eq!(ids("FROM debian\nUSER 10001:10001\n"), []);
    }

    #[test]
    fn root_spellings_fail() {
        for user in ["root", "0", "0:0", "root:root", "0:wheel"] {
            let text = format!("FROM debian\nUSER {user}\n");
            assert_eq!(ids(&text), [("runs-as-root".into(), 2)], "USER {user}");
        }
    }

    #[test]
    fn root_through_arg_and_env() {
        assert_eq!(
            ids("FROM a\nARG U=root\nUSER $U\n"),
            [("runs-as-root".into(), 3)]
        );
        assert_eq!(
            ids("FROM a\nENV U=0\nUSER ${U}:0\n"),
            [("runs-as-root".into(), 3)]
        );
    }

    #[test]
    fn switching_back_to_root_at_the_end() {
        let text = "FROM a\nRUN useradd app\nUSER app\nRUN x\nUSER root\n";
        let findings = lint("Dockerfile", text).unwrap();
        let root: Vec<_> = findings.iter().filter(|f| f.rule.id == "HF007").collect();
        assert_eq!(root.len(), 1);
        assert!(
            root[0].message.contains("back to root"),
            "{}",
            root[0].message
        );
    }

    #[test]
    fn user_in_earlier_stage_alone_does_not_count() {
        let text = "FROM a AS build\nUSER nobody\nFROM b\nCOPY --from=build /x /x\n";
        assert_eq!(ids(text), [("runs-as-root".into(), 3)]);
    }

    #[test]
    fn user_from_parent_stage_counts() {
        let text = "FROM a AS base\nUSER nobody\nFROM base\nRUN x\n";
        assert_eq!(ids(text), []);
    }

    #[test]
    fn non_root_base_image_is_trusted() {
        assert_eq!(ids("FROM gcr.io/distroless/static:nonroot\n"), []);
    }

    #[test]
    fn build_stage_root_then_final_user() {
        let text = "FROM debian AS build\nUSER root\nRUN make\nFROM debian\n\
                    RUN useradd -u 1001 app\nUSER app\nCOPY --from=build /out /app\n";
        assert_eq!(ids(text), []);
    }

    #[test]
    fn package_user_is_known() {
        let text = "FROM alpine\nRUN apk add --no-cache tor && chown -R tor /etc/tor\nUSER tor\n";
        assert_eq!(ids(text), []);
    }

    #[test]
    fn windows_base_is_not_judged() {
        assert_eq!(
            ids("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nUSER jenkins\n"),
            []
        );
        assert_eq!(ids("FROM local-image\nRUN C:/tools/setup.ps1\n"), []);
        assert_eq!(
            ids("FROM local-image\nSHELL [\"powershell\", \"-Command\"]\n"),
            []
        );
    }

    #[test]
    fn uncreated_user_is_reported() {
        let text = "FROM debian\nUSER app\n";
        assert_eq!(ids(text), [("user-not-created".into(), 2)]);
    }

    #[test]
    fn created_and_base_users_pass() {
        let text = "FROM node:20\nRUN groupadd -r web && useradd -r -g web web\n\
                    COPY --chown=node:node . /app\nUSER web:web\n";
        assert_eq!(ids(text), []);
    }

    #[test]
    fn chown_to_uncreated_group_is_reported() {
        let text = "FROM alpine\nRUN adduser -D app && chown app:apps /srv\nUSER 1000\n";
        let found = lint("Dockerfile", text).unwrap();
        let finding = found.iter().find(|f| f.rule.id == "HF013").expect("HF013");
        assert!(finding.message.contains("`apps`"), "{}", finding.message);
        assert_eq!(
            finding.location,
            hardfs_rules::Location::Dockerfile {
                file: "Dockerfile".into(),
                line: 2,
                column: 29
            }
        );
    }
}
