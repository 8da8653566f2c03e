//! Resolving `config.User` as runc does (libcontainer's user lookup):
//! `name`, `uid`, `name:group`, `uid:gid`, `uid:group` and `name:gid`,
//! through the image's /etc/passwd and /etc/group.
//!
//! - A numeric user that passwd lacks runs with that uid and gid 0.
//! - A user name that passwd lacks, or a group name that group lacks,
//!   makes the container fail to start.
//! - Without a group, the gid is the passwd entry's; supplementary groups
//!   are the /etc/group entries that list the user name.

use hardfs_fs::Tree;
use hardfs_rules::{lookup, Finding, Location};

use crate::AuditInput;

/// The uid, gid and groups the container's process runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    /// `config.User` as written; `None` when unset.
    pub configured: Option<String>,
    pub uid: u64,
    pub gid: u64,
    /// Supplementary groups, sorted, without `gid`.
    pub groups: Vec<u64>,
    pub name: Option<String>,
    /// Numeric user not listed in passwd (runs with gid 0).
    pub uid_without_entry: bool,
}

impl ResolvedUser {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    pub fn in_group(&self, gid: u64) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Why `config.User` cannot be resolved; the container would not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    UnknownUser { configured: String, name: String },
    UnknownGroup { configured: String, name: String },
}

struct PasswdEntry {
    name: String,
    uid: u64,
    gid: u64,
}

struct GroupEntry {
    name: String,
    gid: u64,
    members: Vec<String>,
}

/// Resolves `config.User` against the image's account files.
pub fn resolve_user(configured: Option<&str>, tree: &Tree) -> Result<ResolvedUser, UserError> {
    let passwd = parse_passwd(tree.content(b"etc/passwd").unwrap_or_default());
    let groups = parse_group(tree.content(b"etc/group").unwrap_or_default());
    let spec = configured.unwrap_or("");
    let (user_part, group_part) = match spec.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (spec, None),
    };

    let mut resolved = ResolvedUser {
        configured: configured.map(str::to_string),
        uid: 0,
        gid: 0,
        groups: Vec::new(),
        name: None,
        uid_without_entry: false,
    };
    let entry = if user_part.is_empty() {
        passwd.iter().find(|entry| entry.uid == 0)
    } else if let Ok(uid) = user_part.parse::<u64>() {
        resolved.uid = uid;
        let entry = passwd.iter().find(|entry| entry.uid == uid);
        resolved.uid_without_entry = entry.is_none();
        entry
    } else {
        let entry = passwd.iter().find(|entry| entry.name == user_part);
        if entry.is_none() {
            return Err(UserError::UnknownUser {
                configured: spec.into(),
                name: user_part.into(),
            });
        }
        entry
    };
    if let Some(entry) = entry {
        resolved.uid = entry.uid;
        resolved.gid = entry.gid;
        resolved.name = Some(entry.name.clone());
    }

    match group_part.filter(|group| !group.is_empty()) {
        Some(group) => {
            resolved.gid = match group.parse::<u64>() {
                Ok(gid) => gid,
                Err(_) => match groups.iter().find(|entry| entry.name == group) {
                    Some(entry) => entry.gid,
                    None => {
                        return Err(UserError::UnknownGroup {
                            configured: spec.into(),
                            name: group.into(),
                        })
                    }
                },
            };
        }
        None => {
            if let Some(name) = &resolved.name {
                let mut supplementary: Vec<u64> = groups
                    .iter()
                    .filter(|entry| entry.members.iter().any(|member| member == name))
                    .map(|entry| entry.gid)
                    .filter(|&gid| gid != resolved.gid)
                    .collect();
                supplementary.sort_unstable();
                supplementary.dedup();
                resolved.groups = supplementary;
            }
        }
    }
    Ok(resolved)
}

/// Parses passwd lines as runc does: fields split on `:`, a missing field
/// left empty, and a number that does not parse (` 1000`, `abc`) read as 0.
fn parse_passwd(content: &[u8]) -> Vec<PasswdEntry> {
    account_lines(content)
        .map(|fields| PasswdEntry {
            name: field(&fields, 0).to_string(),
            uid: number(field(&fields, 2)),
            gid: number(field(&fields, 3)),
        })
        .collect()
}

fn parse_group(content: &[u8]) -> Vec<GroupEntry> {
    account_lines(content)
        .map(|fields| GroupEntry {
            name: field(&fields, 0).to_string(),
            gid: number(field(&fields, 2)),
            members: field(&fields, 3)
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
        .collect()
}

/// Non-empty lines, trimmed, split into fields.
fn account_lines(content: &[u8]) -> impl Iterator<Item = Vec<String>> + '_ {
    String::from_utf8_lossy(content)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| line.split(':').map(str::to_string).collect())
        .collect::<Vec<_>>()
        .into_iter()
}

fn field(fields: &[String], index: usize) -> &str {
    fields.get(index).map_or("", String::as_str)
}

/// Go's `strconv.Atoi` with its error ignored, as runc reads ids.
fn number(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

/// `runs-as-root` and `unknown-user`.
pub(crate) fn check(input: &AuditInput<'_>, findings: &mut Vec<Finding>) {
    let location = Location::ImageConfig {
        field: "config.User".into(),
    };
    match &input.user {
        Err(error) => {
            let message = match error {
                UserError::UnknownUser { configured, name } => format!(
                    "USER `{configured}`: no user `{name}` in the image's /etc/passwd, so the container will fail to start"
                ),
                UserError::UnknownGroup { configured, name } => format!(
                    "USER `{configured}`: no group `{name}` in the image's /etc/group, so the container will fail to start"
                ),
            };
            findings.push(Finding::new(rule("unknown-user"), location, message));
        }
        Ok(user) if user.is_root() => {
            let message = match user.configured.as_deref() {
                None => "no USER is set, so the container runs as root (uid 0)".to_string(),
                Some(configured) => format!("USER `{configured}` resolves to uid 0 (root)"),
            };
            findings.push(Finding::new(rule("runs-as-root"), location, message));
        }
        Ok(_) => {}
    }
}

pub(crate) fn rule(slug: &str) -> &'static hardfs_rules::Rule {
    lookup(slug).unwrap_or_else(|| panic!("rule `{slug}` is missing from the rule table"))
}
