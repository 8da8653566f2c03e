//! The runtime user of the output: resolved to a numeric id (what a
//! `runAsNonRoot` check can verify), and added to /etc/passwd and
//! /etc/group when `--create-user` names a user the image lacks.

use hardfs_audit::{resolve_user, UserError};
use hardfs_fs::Tree;
use hardfs_image::ImageConfig;
use serde::Serialize;

use crate::{HardenError, HardenOptions};

/// First uid and gid tried for a created user, above the ranges that
/// distributions give to system and login users.
const FIRST_CREATED_ID: u64 = 10001;

/// The user the hardened image runs as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeUser {
    pub uid: u64,
    pub gid: u64,
    /// Supplementary groups from /etc/group.
    pub groups: Vec<u64>,
    pub name: Option<String>,
    /// The user added to the account files, if any.
    pub created: Option<CreatedUser>,
}

/// A user added to /etc/passwd and /etc/group, with the new file contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreatedUser {
    pub name: String,
    #[serde(skip)]
    pub passwd: Vec<u8>,
    #[serde(skip)]
    pub group: Vec<u8>,
}

impl RuntimeUser {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// `config.User` for the output: numeric `uid:gid`, or the uid alone
    /// when the user has supplementary groups, because runc adds the groups
    /// of /etc/group only when `config.User` names no group. With podman
    /// 4.3.1 and runc 1.1.5, `100` and `postgres` both ran with groups 102
    /// and 101 (ssl-cert), and `100:102` ran with group 102 alone.
    pub fn spec(&self) -> String {
        if self.groups.is_empty() {
            format!("{}:{}", self.uid, self.gid)
        } else {
            self.uid.to_string()
        }
    }

    /// Describes what [`spec`](Self::spec) leaves out of `config.User`, or
    /// `None` when it names both the uid and the gid.
    pub fn spec_caveat(&self) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let groups: Vec<String> = self.groups.iter().map(u64::to_string).collect();
        Some(format!(
            "config.User names no group, so that the runtime adds the supplementary groups {} \
             from /etc/group. The primary group {} then comes from the /etc/passwd entry of uid {} \
             when the container starts, and a check that reads only config.User cannot see it.",
            groups.join(","),
            self.gid,
            self.uid
        ))
    }

    /// Returns whether the user has permission `bit` (0o4 read, 0o2 write, 0o1
    /// search) on a file with this owner and mode.
    pub fn can(&self, uid: u64, gid: u64, mode: u32, bit: u32) -> bool {
        if self.uid == 0 {
            return true;
        }
        if uid == self.uid {
            mode & (bit << 6) != 0
        } else if gid == self.gid || self.groups.contains(&gid) {
            mode & (bit << 3) != 0
        } else {
            mode & bit != 0
        }
    }
}

/// Chooses and resolves the runtime user: `--user`, else the created user,
/// else `config.User`. Fails on root unless `--allow-root`.
pub fn plan_user(
    tree: &Tree,
    config: &ImageConfig,
    options: &HardenOptions,
) -> Result<RuntimeUser, HardenError> {
    let passwd = tree.content(b"etc/passwd").unwrap_or_default();
    let group = tree.content(b"etc/group").unwrap_or_default();
    let created = match &options.create_user {
        Some(name) if !has_name(passwd, name) => Some(create_user(name, passwd, group)?),
        _ => None,
    };
    let spec = options
        .user
        .clone()
        .or_else(|| options.create_user.clone())
        .or_else(|| config.user.clone())
        .unwrap_or_default();

    let mut user = match &created {
        Some((new, uid, gid)) if spec == new.name => RuntimeUser {
            uid: *uid,
            gid: *gid,
            groups: Vec::new(),
            name: Some(new.name.clone()),
            created: None,
        },
        _ => {
            let resolved = resolve_user(Some(&spec), tree).map_err(|error| HardenError::User {
                spec: spec.clone(),
                reason: match error {
                    UserError::UnknownUser { name, .. } => {
                        format!("no user `{name}` in /etc/passwd (add it with --create-user)")
                    }
                    UserError::UnknownGroup { name, .. } => {
                        format!("no group `{name}` in /etc/group")
                    }
                },
            })?;
            RuntimeUser {
                uid: resolved.uid,
                gid: resolved.gid,
                groups: resolved.groups,
                name: resolved.name,
                created: None,
            }
        }
    };
    user.created = created.map(|(new, _, _)| new);
    if user.is_root() && !options.allow_root {
        return Err(HardenError::RootUser { configured: spec });
    }
    Ok(user)
}

fn has_name(file: &[u8], name: &str) -> bool {
    file.split(|&b| b == b'\n')
        .any(|line| line.split(|&b| b == b':').next() == Some(name.as_bytes()))
}

/// Ids in the third field (passwd uid, group gid) of an account file.
fn ids(file: &[u8], field: usize) -> Vec<u64> {
    file.split(|&b| b == b'\n')
        .filter_map(|line| line.split(|&b| b == b':').nth(field))
        .filter_map(|id| std::str::from_utf8(id).ok()?.parse().ok())
        .collect()
}

fn create_user(
    name: &str,
    passwd: &[u8],
    group: &[u8],
) -> Result<(CreatedUser, u64, u64), HardenError> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        return Err(HardenError::User {
            spec: name.into(),
            reason: "a user name to create must be 1 to 32 letters, digits, `_`, `-` or `.`".into(),
        });
    }
    let used_uids = ids(passwd, 2);
    let used_gids = ids(group, 2);
    let mut uid = FIRST_CREATED_ID;
    while used_uids.contains(&uid) {
        uid += 1;
    }
    let mut gid = uid;
    while used_gids.contains(&gid) {
        gid += 1;
    }
    let mut new_passwd = with_final_newline(passwd);
    new_passwd.extend_from_slice(
        format!("{name}:x:{uid}:{gid}::/nonexistent:/usr/sbin/nologin\n").as_bytes(),
    );
    let mut new_group = with_final_newline(group);
    new_group.extend_from_slice(format!("{name}:x:{gid}:\n").as_bytes());
    let created = CreatedUser {
        name: name.into(),
        passwd: new_passwd,
        group: new_group,
    };
    Ok((created, uid, gid))
}

fn with_final_newline(file: &[u8]) -> Vec<u8> {
    let mut out = file.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_user_takes_free_ids() {
        let passwd = b"root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/:/bin/sh";
        let group = b"root:x:0:\napp:x:10001:\nother:x:10002:";
        let (created, uid, gid) = create_user("svc", passwd, group).unwrap();
        assert_eq!(uid, 10002);
        assert_eq!(gid, 10003);
        assert!(created
            .passwd
            .ends_with(b"/bin/sh\nsvc:x:10002:10003::/nonexistent:/usr/sbin/nologin\n"));
        assert!(created.group.ends_with(b"other:x:10002:\nsvc:x:10003:\n"));
    }

    #[test]
    fn created_user_name_is_checked() {
        assert!(create_user("-rf", b"", b"").is_err());
        assert!(create_user("a:b", b"", b"").is_err());
    }

    fn postgres_user(groups: Vec<u64>) -> RuntimeUser {
        RuntimeUser {
            uid: 100,
            gid: 102,
            groups,
            name: Some("postgres".into()),
            created: None,
        }
    }

    #[test]
    fn spec_without_groups_names_gid() {
        let user = postgres_user(Vec::new());
        assert_eq!(user.spec(), "100:102");
        assert_eq!(user.spec_caveat(), None);
    }

    #[test]
    fn spec_with_groups_is_uid_alone() {
        let user = postgres_user(vec![101, 104]);
        assert_eq!(user.spec(), "100");
        let caveat = user.spec_caveat().expect("a caveat for a uid alone");
        assert!(caveat.contains("supplementary groups 101,104"), "{caveat}");
        assert!(caveat.contains("primary group 102"), "{caveat}");
    }

    #[test]
    fn permission_classes() {
        let user = RuntimeUser {
            uid: 100,
            gid: 200,
            groups: vec![300],
            name: None,
            created: None,
        };
        assert!(user.can(100, 0, 0o200, 0o2));
        assert!(!user.can(100, 200, 0o020, 0o2));
        assert!(user.can(1, 300, 0o020, 0o2));
        assert!(!user.can(1, 1, 0o775, 0o2));
        assert!(user.can(1, 1, 0o777, 0o2));
    }
}
