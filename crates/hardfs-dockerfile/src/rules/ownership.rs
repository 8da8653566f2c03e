//! code-owned-by-runtime-user (HF016) and writable-dir-undeclared (HF018):
//! what the runtime user of the final image is given ownership of.

use crate::accounts::{is_numeric, is_root, split_owner, Account};
use crate::model::{join_path, Stage, StepKind};

use super::Context;
use super::{created_accounts, invocations, is_recursive, operands, run_commands, runtime_user};

/// Path components that mark a directory as data rather than code.
const DATA_PARTS: &[&str] = &[
    "data", "log", "logs", "cache", ".cache", "tmp", "temp", "uploads", "upload", "storage",
    "state", "spool", "sessions", "media", "home", "backups", "db",
];

/// Directories that hold data by convention, checked as prefixes.
const DATA_PREFIXES: &[&str] = &["/var/", "/run", "/tmp", "/home/"];

/// Exceptions to the prefixes above that hold served code.
const CODE_PREFIXES: &[&str] = &["/var/www"];

/// The final image's runtime user and what the ownership checks compare
/// against.
struct Runtime {
    /// The USER value as written after expansion, for messages.
    spec: String,
    /// The user part of `spec`.
    name: String,
    accounts: Vec<Account>,
    volumes: Vec<String>,
}

impl Runtime {
    fn owns(&self, owner_spec: &str) -> bool {
        same_user(split_owner(owner_spec).0, &self.name, &self.accounts)
    }

    fn is_data(&self, path: &str) -> bool {
        is_data_path(path) || under_volume(path, &self.volumes)
    }
}

pub(super) fn check(context: &mut Context<'_>) {
    let chain = context.final_chain();
    let Some((Some(user), _)) = runtime_user(&chain) else {
        return;
    };
    let name = split_owner(user).0.to_string();
    if is_root(&name) {
        return;
    }
    let volumes = chain
        .iter()
        .flat_map(|stage| &stage.steps)
        .filter_map(|step| match &step.kind {
            StepKind::Volume(paths) => Some(paths.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let runtime = Runtime {
        spec: user.to_string(),
        name,
        accounts: created_accounts(&chain),
        volumes,
    };
    copied_code(context, &chain, &runtime);
    chowned_paths(context, &chain, &runtime);
}

/// COPY/ADD `--chown` to the runtime user of anything but a data path.
fn copied_code(context: &mut Context<'_>, chain: &[&Stage<'_>], runtime: &Runtime) {
    for step in chain.iter().rev().flat_map(|stage| &stage.steps) {
        let (StepKind::Copy(copy) | StepKind::Add(copy)) = &step.kind else {
            continue;
        };
        let Some(owner) = &copy.chown else { continue };
        let destination = join_path(&copy.workdir, &copy.destination);
        if !runtime.owns(owner) || runtime.is_data(&destination) {
            continue;
        }
        let message = format!(
            "`--chown={owner}` gives the runtime user `{}` ownership of the code copied to \
             `{destination}`, so a compromised process can rewrite it; keep code owned by root \
             and chown only a dedicated data directory",
            runtime.spec
        );
        let at = (step.node.line, step.node.column);
        context.report("HF016", step.node, at, None, message);
    }
}

/// RUN chown to the runtime user: `chown -R` of code is HF016, any other
/// path outside a volume is a writable directory (HF018), reported once.
fn chowned_paths(context: &mut Context<'_>, chain: &[&Stage<'_>], runtime: &Runtime) {
    let mut writable: Vec<String> = Vec::new();
    for run in run_commands(chain) {
        for call in invocations(run.command, "chown") {
            let (options, operands) = operands(call);
            let Some((owner, paths)) = operands.split_first() else {
                continue;
            };
            if !runtime.owns(&owner.text) {
                continue;
            }
            let recursive = is_recursive(&options);
            for path in paths {
                let target = path.text.as_str();
                if recursive && !runtime.is_data(target) && !target.contains('$') {
                    let message = format!(
                        "`chown -R {}` gives the runtime user `{}` ownership of `{target}`, \
                         which looks like code, so a compromised process can rewrite it; keep it \
                         owned by root and chown only a dedicated data directory",
                        owner.text, runtime.spec
                    );
                    context.report("HF016", run.node, run.position(path), None, message);
                } else if !under_volume(target, &runtime.volumes)
                    && !writable.iter().any(|seen| seen == target)
                {
                    writable.push(target.to_string());
                    let message = format!(
                        "`{target}` is made writable for the runtime user `{}` but is not a \
                         declared volume; under a read-only root it needs a tmpfs or emptyDir \
                         (`hardfs profile` lists the mounts)",
                        runtime.spec
                    );
                    context.report("HF018", run.node, run.position(path), None, message);
                }
            }
        }
    }
}

/// True when `owner` names the same account as the runtime user, by name,
/// by uid, or through a uid given when the account was created.
fn same_user(owner: &str, runtime: &str, accounts: &[Account]) -> bool {
    if owner.is_empty() {
        return false;
    }
    if owner == runtime {
        return true;
    }
    let uid_of = |name: &str| {
        if is_numeric(name) {
            return Some(name.to_string());
        }
        accounts
            .iter()
            .find(|account| account.name == name)
            .and_then(|account| account.id.clone())
    };
    matches!((uid_of(owner), uid_of(runtime)), (Some(a), Some(b)) if a == b)
}

/// True for paths that conventionally hold data (logs, caches, state).
fn is_data_path(path: &str) -> bool {
    if CODE_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return false;
    }
    if DATA_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return true;
    }
    path.split('/')
        .filter(|part| !part.is_empty())
        .any(|part| DATA_PARTS.contains(&part.to_ascii_lowercase().as_str()))
}

fn under_volume(path: &str, volumes: &[String]) -> bool {
    let path = path.trim_end_matches('/');
    volumes.iter().any(|volume| {
        let volume = volume.trim_end_matches('/');
        path == volume
            || path
                .strip_prefix(volume)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use crate::lint;

    fn ids(text: &str) -> Vec<&'static str> {
        lint("Dockerfile", text)
            .unwrap()
            .iter()
            .map(|finding| finding.rule.id)
            .filter(|id| matches!(*id, "HF016" | "HF018"))
            .collect()
    }

    #[test]
    fn copy_chown_of_code_to_runtime_user() {
        let text = "FROM a\nRUN useradd app\nWORKDIR /app\nCOPY --chown=app:app . .\nUSER app\n";
        assert_eq!(ids(text), ["HF016"]);
    }

    #[test]
    fn copy_chown_to_another_user_passes() {
        let text = "FROM a\nRUN useradd app\nCOPY --chown=root:root . /app\nUSER app\n";
        assert_eq!(ids(text), Vec::<&str>::new());
    }

    #[test]
    fn recursive_chown_of_code_by_uid() {
        let text = "FROM a\nRUN useradd -u 1000 app && chown -R 1000:1000 /opt/app\nUSER app\n";
        assert_eq!(ids(text), ["HF016"]);
    }

    #[test]
    fn data_directory_is_writable_dir() {
        let text = "FROM a\nRUN useradd app && mkdir -p /var/lib/app && chown -R app /var/lib/app\nUSER app\n";
        assert_eq!(ids(text), ["HF018"]);
    }

    #[test]
    fn declared_volume_is_not_reported() {
        let text =
            "FROM a\nRUN useradd app && mkdir /data && chown app /data\nVOLUME /data\nUSER app\n";
        assert_eq!(ids(text), Vec::<&str>::new());
    }

    #[test]
    fn root_runtime_user_skips_ownership_rules() {
        let text = "FROM a\nRUN chown -R app /app\n";
        assert_eq!(ids(text), Vec::<&str>::new());
    }
}
