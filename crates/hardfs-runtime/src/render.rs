//! A profile written for each platform: podman and docker run flags, a
//! compose service, and an OCI runtime-spec fragment. Kubernetes output
//! lives in its own module because of the patch.

use serde::Serialize;

use crate::kubernetes::dns_label;
use crate::size::format_size;
use crate::{EngineKind, MountKind, Owner, Profile, RuntimeError, WritablePath};

pub use crate::kubernetes::{
    claim_names, kubernetes_patch, kubernetes_pod, KubernetesOptions, PatchOutput,
};

/// The sysctl that lets a non-root user bind ports below 1024. Docker
/// sets it to 0 by default since 20.10; podman 4 does not.
pub const UNPRIVILEGED_PORT_SYSCTL: &str = "net.ipv4.ip_unprivileged_port_start";

/// Mount options shared by every tmpfs of a profile.
const TMPFS_FLAGS: &str = "rw,nosuid,nodev,noexec";

/// Builds the tmpfs options of one path for an engine's `--tmpfs`.
///
/// docker passes `uid=` and `gid=` to the kernel. podman 4.3 rejects them
/// ("unknown mount option") and has `U` instead, which chowns the mount
/// to the container's user. That is the same owner, because the runtime
/// user is the only one a profile gives directories to.
pub fn tmpfs_options(path: &WritablePath, profile: &Profile, engine: EngineKind) -> String {
    let mut options = format!(
        "{TMPFS_FLAGS},size={},mode={:04o}",
        format_size(path.size),
        path.mode
    );
    if path.owner == Owner::User {
        if let Some(user) = &profile.user {
            match engine {
                EngineKind::Podman => options.push_str(",U"),
                EngineKind::Docker => {
                    options.push_str(&format!(",uid={},gid={}", user.uid, user.gid))
                }
            }
        }
    }
    options
}

/// Names the persistent volume of an image volume at `path`: a DNS-1123
/// label from the last component of `image` (or any other prefix) and the
/// path, so `postgres:16` and `/var/lib/postgresql/data` give
/// `postgres-16-var-lib-postgresql-data`. The same name serves as engine
/// volume, compose volume and Kubernetes claim.
pub fn volume_source(image: &str, path: &str) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    dns_label(base, path)
}

/// The platform a profile is applied on, for [`hidden_content`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// podman, which copies the image's files into a new tmpfs
    /// (`tmpfs-copyup`) and into a new named volume.
    Podman,
    /// docker and compose, which copy into a new named volume only.
    Docker,
    /// Kubernetes, whose emptyDir and new claims start empty.
    Kubernetes,
    /// An OCI runtime, whose tmpfs starts empty.
    Oci,
}

/// Lists the paths with files in the image that the platform mounts an
/// empty file system over, so that the process does not see those files.
pub fn hidden_content(profile: &Profile, platform: Target) -> Vec<&str> {
    profile
        .paths
        .iter()
        .filter(|path| path.image_content)
        .filter(|path| match platform {
            Target::Podman => false,
            Target::Docker => path.mount == MountKind::Tmpfs,
            Target::Kubernetes | Target::Oci => true,
        })
        .map(|path| path.path.as_str())
        .collect()
}

/// Builds the `run` flags that apply a profile. Image volumes are mounted
/// from named volumes called `volume_source(volume_prefix, PATH)`.
pub fn engine_flags(profile: &Profile, engine: EngineKind, volume_prefix: &str) -> Vec<String> {
    let mut flags = vec!["--read-only".to_string()];
    if engine == EngineKind::Podman {
        // Under --read-only, podman mounts its own tmpfs on /tmp, /var/tmp
        // and /run by default. The profile lists its own mounts instead.
        flags.push("--read-only-tmpfs=false".into());
    }
    for path in &profile.paths {
        match path.mount {
            MountKind::Tmpfs => {
                flags.push("--tmpfs".into());
                flags.push(format!(
                    "{}:{}",
                    path.path,
                    tmpfs_options(path, profile, engine)
                ));
            }
            MountKind::Volume => {
                // NOTE: the volume keeps the image directory's owner, with no
                // `U` or `uid=`, so a non-root user whose image does not give
                // it the directory cannot write there.
                flags.push("--mount".into());
                flags.push(format!(
                    "type=volume,source={},destination={}",
                    volume_source(volume_prefix, &path.path),
                    path.path
                ));
            }
        }
    }
    flags.extend(user_flags(profile));
    flags.extend(["--cap-drop".into(), "ALL".into()]);
    flags.extend(["--security-opt".into(), "no-new-privileges".into()]);
    flags.extend(port_flags(profile));
    flags
}

/// Builds the `--user` and `--group-add` flags of the profile's user, or
/// none when the user is unresolved.
pub fn user_flags(profile: &Profile) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(user) = &profile.user {
        flags.push("--user".into());
        flags.push(format!("{}:{}", user.uid, user.gid));
        for group in &user.groups {
            flags.push("--group-add".into());
            flags.push(group.to_string());
        }
    }
    flags
}

/// Builds the `--sysctl` flag that lets a non-root user bind the image's
/// ports below 1024, or none when the profile does not need it.
pub fn port_flags(profile: &Profile) -> Vec<String> {
    if !profile.needs_unprivileged_ports() {
        return Vec::new();
    }
    vec!["--sysctl".into(), format!("{UNPRIVILEGED_PORT_SYSCTL}=0")]
}

/// Formats the flags as one shell-quoted command line.
pub fn engine_command(profile: &Profile, engine: EngineKind, image: &str) -> String {
    let mut words = vec![engine.program().to_string(), "run".into()];
    words.extend(engine_flags(profile, engine, image));
    words.push(image.into());
    shell_join(&words)
}

/// Joins words into one command line that a POSIX shell splits back into
/// the same words. A word containing NUL, which no shell can pass, is kept
/// as it is.
pub fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            shlex::try_quote(word).map_or_else(|_| word.clone(), |quoted| quoted.into_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A compose file with one service, and the named volumes it mounts.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ComposeFile {
    pub services: std::collections::BTreeMap<String, ComposeService>,
    /// Named volumes with default settings; compose creates each one, and
    /// the engine copies the image's files into it on first use.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub volumes: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// The compose fields that mirror the docker flags.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ComposeService {
    pub image: String,
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    /// `NAME:PATH` mounts of named volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sysctls: std::collections::BTreeMap<String, String>,
}

/// Builds a compose file with one service named `service`. Compose runs on
/// a docker engine, so the tmpfs options are docker's. Write it with
/// [`compose_yaml`].
pub fn compose(profile: &Profile, image: &str, service: &str) -> ComposeFile {
    let volumes: Vec<(String, &str)> = profile
        .paths
        .iter()
        .filter(|path| path.mount == MountKind::Volume)
        .map(|path| (volume_source(image, &path.path), path.path.as_str()))
        .collect();
    let mut sysctls = std::collections::BTreeMap::new();
    if profile.needs_unprivileged_ports() {
        sysctls.insert(UNPRIVILEGED_PORT_SYSCTL.to_string(), "0".to_string());
    }
    let compose_service = ComposeService {
        image: image.into(),
        read_only: true,
        user: profile
            .user
            .as_ref()
            .map(|user| format!("{}:{}", user.uid, user.gid)),
        group_add: profile
            .user
            .iter()
            .flat_map(|user| user.groups.iter().map(u64::to_string))
            .collect(),
        cap_drop: vec!["ALL".into()],
        security_opt: vec!["no-new-privileges:true".into()],
        tmpfs: profile
            .paths
            .iter()
            .filter(|path| path.mount == MountKind::Tmpfs)
            .map(|path| {
                format!(
                    "{}:{}",
                    path.path,
                    tmpfs_options(path, profile, EngineKind::Docker)
                )
            })
            .collect(),
        volumes: volumes
            .iter()
            .map(|(name, path)| format!("{name}:{path}"))
            .collect(),
        sysctls,
    };
    ComposeFile {
        services: [(service.to_string(), compose_service)].into(),
        volumes: volumes
            .into_iter()
            .map(|(name, _)| (name, std::collections::BTreeMap::new()))
            .collect(),
    }
}

/// Writes a compose file as YAML, with every `UID:GID` value in double
/// quotes.
///
/// serde-saphyr 0.0.16 writes `user: 33:33` unquoted. A YAML 1.2 reader
/// such as docker compose v2 reads a string, but a YAML 1.1 reader (PyYAML,
/// so docker-compose v1) reads the base-60 integer 2013.
pub fn compose_yaml(file: &ComposeFile) -> Result<String, RuntimeError> {
    let yaml = to_yaml(file)?;
    let mut quoted = String::with_capacity(yaml.len() + 8);
    for line in yaml.lines() {
        quoted.push_str(&quote_base_60(line));
        quoted.push('\n');
    }
    Ok(quoted)
}

/// Puts a plain `KEY: VALUE` or `- VALUE` scalar of digits separated by
/// colons in double quotes.
fn quote_base_60(line: &str) -> String {
    let (prefix, value) = match line.rsplit_once(": ") {
        Some((key, value)) => (format!("{key}: "), value),
        None => match line.trim_start().strip_prefix("- ") {
            Some(value) => (line[..line.len() - value.len()].to_string(), value),
            None => return line.to_string(),
        },
    };
    let base_60 = value.contains(':')
        && value
            .split(':')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
    if base_60 {
        format!("{prefix}\"{value}\"")
    } else {
        line.to_string()
    }
}

/// Writes a value as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, RuntimeError> {
    serde_saphyr::to_string(value).map_err(|source| RuntimeError::YamlWrite { source })
}

/// Builds a runtime-spec `config.json` fragment with `root.readonly`, one
/// tmpfs mount per path, the user, no capabilities and `noNewPrivileges`.
///
/// A runtime spec has no named volumes, and a bind mount needs a host
/// directory that hardfs cannot choose, so image volumes get a tmpfs here
/// too. The caller warns that their data does not survive the container.
pub fn oci_fragment(profile: &Profile) -> serde_json::Value {
    let mounts: Vec<serde_json::Value> = profile
        .paths
        .iter()
        .map(|path| {
            let mut options = vec![
                "nosuid".to_string(),
                "nodev".into(),
                "noexec".into(),
                format!("size={}", format_size(path.size)),
                format!("mode={:04o}", path.mode),
            ];
            if let (Owner::User, Some(user)) = (path.owner, &profile.user) {
                options.push(format!("uid={}", user.uid));
                options.push(format!("gid={}", user.gid));
            }
            serde_json::json!({
                "destination": path.path,
                "type": "tmpfs",
                "source": "tmpfs",
                "options": options,
            })
        })
        .collect();
    let mut process = serde_json::json!({
        "noNewPrivileges": true,
        "capabilities": {
            "bounding": [],
            "effective": [],
            "inheritable": [],
            "permitted": [],
            "ambient": [],
        },
    });
    if let Some(user) = &profile.user {
        process["user"] = serde_json::json!({
            "uid": user.uid,
            "gid": user.gid,
            "additionalGids": user.groups,
        });
    }
    let mut fragment = serde_json::json!({
        "root": { "readonly": true },
        "process": process,
        "mounts": mounts,
    });
    if profile.needs_unprivileged_ports() {
        fragment["linux"] = serde_json::json!({
            "sysctl": { UNPRIVILEGED_PORT_SYSCTL: "0" }
        });
    }
    fragment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reason, RunUser};

    fn www_data_profile() -> Profile {
        Profile {
            user: Some(RunUser {
                uid: 33,
                gid: 33,
                groups: vec![4],
                name: Some("www-data".into()),
                configured: Some("www-data".into()),
            }),
            paths: vec![WritablePath {
                path: "/var/lib/nginx".into(),
                reasons: vec![Reason::Learned],
                mount: crate::MountKind::Tmpfs,
                size: 8 << 20,
                mode: 0o755,
                owner: Owner::User,
                image_content: true,
            }],
            privileged_ports: vec![80],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn compose_user_quoted_as_string() {
        let yaml = compose_yaml(&compose(&www_data_profile(), "nginx:1", "web")).unwrap();
        assert!(yaml.contains("    user: \"33:33\"\n"), "{yaml}");
        let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let service = &parsed["services"]["web"];
        assert_eq!(service["user"], serde_json::json!("33:33"));
        assert_eq!(
            service["tmpfs"][0],
            "/var/lib/nginx:rw,nosuid,nodev,noexec,size=8m,mode=0755,uid=33,gid=33"
        );
        assert_eq!(service["sysctls"][UNPRIVILEGED_PORT_SYSCTL], "0");
    }

    #[test]
    fn shell_join_round_trips() {
        let words: Vec<String> = ["podman", "run", "sh", "-c", "printf \"a b\"; exit 1"]
            .iter()
            .map(|word| word.to_string())
            .collect();
        let line = shell_join(&words);
        assert_eq!(line, "podman run sh -c 'printf \"a b\"; exit 1'");
        assert_eq!(shlex::split(&line).unwrap(), words);
    }

    #[test]
    fn base_60_values_quoted_only() {
        assert_eq!(quote_base_60("  user: 33:33"), "  user: \"33:33\"");
        assert_eq!(quote_base_60("  - 1:2:3"), "  - \"1:2:3\"");
        assert_eq!(quote_base_60("  user: \"33:33\""), "  user: \"33:33\"");
        assert_eq!(
            quote_base_60("  - /tmp:rw,size=64m"),
            "  - /tmp:rw,size=64m"
        );
        assert_eq!(quote_base_60("  image: nginx:1"), "  image: nginx:1");
        assert_eq!(quote_base_60("  user: 1000"), "  user: 1000");
        assert_eq!(quote_base_60("  read_only: true"), "  read_only: true");
    }

    /// Builds a profile with a database volume, which has files in the
    /// image, and a `/run` tmpfs with files too.
    fn volume_profile() -> Profile {
        let mut profile = www_data_profile();
        profile.paths = vec![
            WritablePath {
                path: "/run".into(),
                reasons: vec![Reason::Runtime],
                mount: MountKind::Tmpfs,
                size: 16 << 20,
                mode: 0o755,
                owner: Owner::User,
                image_content: true,
            },
            WritablePath {
                path: "/var/lib/postgresql/data".into(),
                reasons: vec![Reason::Volume],
                mount: MountKind::Volume,
                size: 64 << 20,
                mode: 0o700,
                owner: Owner::User,
                image_content: true,
            },
        ];
        profile
    }

    #[test]
    fn volume_becomes_named_mount() {
        let flags = engine_flags(&volume_profile(), EngineKind::Docker, "postgres:16");
        let at = flags.iter().position(|flag| flag == "--mount").unwrap();
        assert_eq!(
            flags[at + 1],
            "type=volume,source=postgres-16-var-lib-postgresql-data,destination=/var/lib/postgresql/data"
        );
        let tmpfs: Vec<&String> = flags
            .windows(2)
            .filter(|pair| pair[0] == "--tmpfs")
            .map(|pair| &pair[1])
            .collect();
        assert_eq!(
            tmpfs,
            ["/run:rw,nosuid,nodev,noexec,size=16m,mode=0755,uid=33,gid=33"]
        );
    }

    #[test]
    fn compose_declares_named_volume() {
        let file = compose(&volume_profile(), "library/postgres:16", "db");
        let yaml = compose_yaml(&file).unwrap();
        let parsed: ComposeFile = serde_saphyr::from_str(&yaml).unwrap();
        let name = "postgres-16-var-lib-postgresql-data";
        assert_eq!(parsed.volumes.keys().collect::<Vec<_>>(), [name], "{yaml}");
        let service = &parsed.services["db"];
        assert_eq!(
            service.volumes,
            [format!("{name}:/var/lib/postgresql/data")],
            "{yaml}"
        );
        assert_eq!(service.tmpfs.len(), 1, "{yaml}");
        assert!(service.tmpfs[0].starts_with("/run:"), "{yaml}");
    }

    #[test]
    fn hidden_content_per_target() {
        let profile = volume_profile();
        assert!(hidden_content(&profile, Target::Podman).is_empty());
        assert_eq!(hidden_content(&profile, Target::Docker), ["/run"]);
        assert_eq!(
            hidden_content(&profile, Target::Kubernetes),
            ["/run", "/var/lib/postgresql/data"]
        );
        assert_eq!(
            hidden_content(&profile, Target::Oci),
            ["/run", "/var/lib/postgresql/data"]
        );
    }

    #[test]
    fn kubernetes_volume_is_claim_with_comment() {
        let options = KubernetesOptions {
            pod: "db".into(),
            container: None,
            image: "postgres:16".into(),
        };
        let yaml = kubernetes_pod(&volume_profile(), &options).unwrap();
        assert!(
            yaml.starts_with("# hardfs: the PersistentVolumeClaim `postgres-16-var-lib-postgresql-data` must exist before this Pod starts\n"),
            "{yaml}"
        );
        for path in ["/run", "/var/lib/postgresql/data"] {
            assert!(
                yaml.contains(&format!("# hardfs: {path} has files in the image")),
                "{yaml}"
            );
        }
        let pod: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let volumes = &pod["spec"]["volumes"];
        assert_eq!(volumes[0]["emptyDir"]["sizeLimit"], "16Mi");
        assert_eq!(
            volumes[1]["persistentVolumeClaim"]["claimName"],
            "postgres-16-var-lib-postgresql-data"
        );
        assert!(volumes[1].get("emptyDir").is_none(), "{yaml}");
        assert_eq!(
            claim_names(&volume_profile(), "postgres:16"),
            ["postgres-16-var-lib-postgresql-data"]
        );
    }
}
