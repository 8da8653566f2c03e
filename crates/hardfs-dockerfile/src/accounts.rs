//! Users and groups: which names a Dockerfile creates (useradd, adduser,
//! groupadd, addgroup, or a line appended to /etc/passwd), which names base
//! images usually have, and how USER and chown specs split.

use crate::shell::{program_name, Command, Word};

/// An account created by a RUN command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    /// The uid or gid given with `-u`/`--uid`/`-g`/`--gid`, if any.
    pub id: Option<String>,
}

/// Options of useradd, adduser (Debian and BusyBox), groupadd and addgroup
/// that take a value, so the value is not mistaken for the account name.
const VALUE_OPTIONS: &[&str] = &[
    "-b",
    "-c",
    "-d",
    "-e",
    "-f",
    "-g",
    "-G",
    "-h",
    "-k",
    "-K",
    "-p",
    "-P",
    "-R",
    "-s",
    "-u",
    "-Z",
    "--base-dir",
    "--comment",
    "--home-dir",
    "--home",
    "--expiredate",
    "--inactive",
    "--gid",
    "--groups",
    "--skel",
    "--key",
    "--password",
    "--root",
    "--prefix",
    "--shell",
    "--uid",
    "--selinux-user",
    "--gecos",
    "--ingroup",
    "--firstuid",
    "--lastuid",
    "--firstgid",
    "--lastgid",
    "--conf",
];

const ID_OPTIONS: &[&str] = &["-u", "--uid"];
const GROUP_ID_OPTIONS: &[&str] = &["-g", "--gid"];

/// Lists the accounts a command creates. Most commands create none.
pub fn created_by(command: &Command) -> Vec<Account> {
    let words = command.unwrapped();
    let Some(program) = words.first().map(|word| program_name(&word.text)) else {
        return Vec::new();
    };
    let creates_group = matches!(program, "groupadd" | "addgroup");
    if !matches!(program, "useradd" | "adduser") && !creates_group {
        return passwd_lines(words);
    }
    let id_options = if creates_group {
        GROUP_ID_OPTIONS
    } else {
        ID_OPTIONS
    };
    let mut accounts = Vec::new();
    let mut id = None;
    let mut iter = words[1..].iter();
    while let Some(word) = iter.next() {
        let text = word.text.as_str();
        if let Some((option, value)) = text.split_once('=').filter(|_| text.starts_with("--")) {
            if id_options.contains(&option) {
                id = Some(value.to_string());
            }
            continue;
        }
        if VALUE_OPTIONS.contains(&text) {
            let value = iter.next().map(|word| word.text.clone());
            if id_options.contains(&text) {
                id = value;
            }
            continue;
        }
        if let Some(value) = attached_value(text, id_options) {
            id = Some(value.to_string());
            continue;
        }
        if text.starts_with('-') {
            continue;
        }
        accounts.push(Account {
            name: text.to_string(),
            id: None,
        });
    }
    // The first name is the one created; with `adduser user group` the
    // second names an existing group, which counts as known as well.
    if let Some(first) = accounts.first_mut() {
        first.id = id;
    }
    accounts
}

/// `-u1000` style short options with the value attached.
fn attached_value<'a>(text: &'a str, options: &[&str]) -> Option<&'a str> {
    options
        .iter()
        .filter(|option| option.len() == 2)
        .find_map(|option| text.strip_prefix(option).filter(|value| !value.is_empty()))
        .filter(|value| value.bytes().all(|b| b.is_ascii_digit()))
}

/// `echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd` creates `app`.
fn passwd_lines(words: &[Word]) -> Vec<Account> {
    words
        .iter()
        .filter_map(|word| {
            let mut fields = word.text.split(':');
            let name = fields.next()?;
            let password = fields.next()?;
            let uid = fields.next()?;
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
                && (password == "x" || password == "!" || password == "*")
                && !uid.is_empty()
                && uid.bytes().all(|b| b.is_ascii_digit());
            valid.then(|| Account {
                name: name.to_string(),
                id: Some(uid.to_string()),
            })
        })
        .collect()
}

/// Accounts present in common base images: Debian and Ubuntu's base
/// passwd and group files, Alpine's, BusyBox's and distroless's.
const COMMON_ACCOUNTS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "nogroup",
    "_apt",
    "adm",
    "wheel",
    "staff",
    "users",
    "operator",
    "shutdown",
    "halt",
    "ftp",
    "sshd",
    "at",
    "squid",
    "xfs",
    "cron",
    "utmp",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "cdrom",
    "floppy",
    "audio",
    "video",
    "plugdev",
    "netdev",
    "shadow",
    "input",
    "kvm",
    "render",
    "crontab",
    "postmaster",
    "ping",
    "abuild",
    "nonroot",
    "guest",
    "www",
    "smmsp",
    "ntp",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "messagebus",
    "ubuntu",
    "ContainerUser",
    "ContainerAdministrator",
];

/// Extra accounts that official images of a few well-known applications
/// ship, matched on the image name.
const IMAGE_ACCOUNTS: &[(&str, &[&str])] = &[
    ("node", &["node"]),
    ("nginx", &["nginx"]),
    ("httpd", &["www-data"]),
    ("php", &["www-data"]),
    ("wordpress", &["www-data"]),
    ("postgres", &["postgres"]),
    ("redis", &["redis"]),
    ("mysql", &["mysql"]),
    ("mariadb", &["mysql"]),
    ("mongo", &["mongodb"]),
    ("rabbitmq", &["rabbitmq"]),
    ("memcached", &["memcache"]),
    ("jenkins", &["jenkins"]),
    ("grafana", &["grafana"]),
    ("elasticsearch", &["elasticsearch"]),
    ("kibana", &["kibana"]),
    ("sonarqube", &["sonarqube"]),
    ("tomcat", &["tomcat"]),
    ("haproxy", &["haproxy"]),
    ("gradle", &["gradle"]),
    ("golang", &[]),
];

/// True when base images, or the named base image, usually have `name`.
pub fn base_has_account(base: &str, name: &str) -> bool {
    if COMMON_ACCOUNTS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(name))
    {
        return true;
    }
    let image = base.rsplit('/').next().unwrap_or(base);
    let image = image.split([':', '@']).next().unwrap_or(image);
    IMAGE_ACCOUNTS
        .iter()
        .any(|(prefix, names)| image.starts_with(prefix) && names.contains(&name))
}

/// True for Windows base images, whose accounts (ContainerUser,
/// ContainerAdministrator, `net user`) the uid-based rules do not model.
pub fn is_windows_base(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    ["windows", "servercore", "nanoserver"]
        .iter()
        .any(|part| lower.contains(part))
}

/// Package names given to `apt-get install`, `apk add`, `yum`/`dnf`/
/// `microdnf`/`zypper install`: packages such as `tor` or `mpd` create an
/// account of the same name when installed.
pub fn installed_packages(command: &Command) -> Vec<String> {
    let words = command.unwrapped();
    let Some(program) = words.first().map(|word| program_name(&word.text)) else {
        return Vec::new();
    };
    let subcommand = match program {
        "apk" => "add",
        "apt-get" | "apt" | "yum" | "dnf" | "microdnf" | "zypper" => "install",
        _ => return Vec::new(),
    };
    let Some(start) = words.iter().position(|word| word.text == subcommand) else {
        return Vec::new();
    };
    words[start + 1..]
        .iter()
        .filter(|word| !word.text.starts_with('-'))
        .map(|word| word.text.split(['=', ':']).next().unwrap_or("").to_string())
        .collect()
}

/// Splits a `user[:group]` spec (chown also accepts `user.group`).
pub fn split_owner(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (spec, None),
    }
}

/// True for a uid or gid, which needs no account to exist.
pub fn is_numeric(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// True for uid 0 given as `root` or `0`.
pub fn is_root(name: &str) -> bool {
    name == "root" || (is_numeric(name) && name.trim_start_matches('0').is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::Environment;
    use crate::shell::split_commands;

    fn accounts(script: &str) -> Vec<Account> {
        split_commands(script, &Environment::new())
            .iter()
            .flat_map(created_by)
            .collect()
    }

    #[test]
    fn useradd_with_options() {
        let found = accounts("useradd -r -u 1001 -g app -d /home/app -s /bin/false app");
        assert_eq!(
            found,
            [Account {
                name: "app".into(),
                id: Some("1001".into())
            }]
        );
    }

    #[test]
    fn busybox_and_debian_forms() {
        let names: Vec<String> = accounts(
            "addgroup -g 101 -S web && adduser -S -D -H -u 101 -G web web; adduser --system --uid=999 svc",
        )
        .into_iter()
        .map(|account| account.name)
        .collect();
        assert_eq!(names, ["web", "web", "svc"]);
    }

    #[test]
    fn passwd_line_creates_account() {
        let found = accounts("echo 'svc:x:2000:2000::/srv:/bin/sh' >> /etc/passwd");
        assert_eq!(found[0].name, "svc");
        assert_eq!(found[0].id.as_deref(), Some("2000"));
    }

    #[test]
    fn root_spellings() {
        assert!(is_root("root"));
        assert!(is_root("0"));
        assert!(is_root("000"));
        assert!(!is_root("1000"));
        assert!(!is_root("toor"));
    }
}
