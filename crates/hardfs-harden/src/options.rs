//! Settings of a harden run (the changes to make) and the output reference.

use std::path::PathBuf;

use hardfs_tar::Compression;

use crate::HardenError;

/// Switches and inputs of the changes to make. Every switch is on by
/// default except those that remove content.
#[derive(Clone, Debug)]
pub struct HardenOptions {
    /// Clear setuid and setgid bits.
    pub clear_special_bits: bool,
    /// Remove `security.capability` xattrs.
    pub drop_capabilities: bool,
    /// Clear world-write bits (sticky world-writable directories stay).
    pub clear_world_writable: bool,
    /// Make what the runtime user can write outside the writable paths
    /// root-owned and not group- or world-writable.
    pub lock_user_writable: bool,
    /// Paths left as they are, each with the reason the user gave.
    pub keep: Vec<(String, String)>,
    /// Runtime user, `NAME`, `UID` or either with `:GROUP`.
    pub user: Option<String>,
    /// User name to add to /etc/passwd and /etc/group when missing.
    pub create_user: Option<String>,
    /// Allow the result to run as root.
    pub allow_root: bool,
    /// Paths the runtime user may keep writing; `None` selects the valid
    /// volumes and the directories the runtime user owns.
    pub writable: Option<Vec<String>>,
    /// Remove every volume, not only invalid ones.
    pub drop_volumes: bool,
    /// Globs of final-view paths to remove with whiteouts (a leading `/`
    /// is optional; `*` does not cross `/`).
    pub remove: Vec<String>,
    /// Globs of the removal presets, removed like `remove` but with no
    /// warning when one matches nothing.
    pub remove_presets: Vec<String>,
    /// Compression of rewritten and added layers; `None` keeps each
    /// layer's input compression.
    pub compression: Option<Compression>,
    /// Threads for compression; 0 means one per available CPU.
    pub threads: usize,
    /// Append one layer instead of rewriting layers, leaving ghost copies.
    pub append: bool,
}

impl Default for HardenOptions {
    fn default() -> Self {
        HardenOptions {
            clear_special_bits: true,
            drop_capabilities: true,
            clear_world_writable: true,
            lock_user_writable: true,
            keep: Vec::new(),
            user: None,
            create_user: None,
            allow_root: false,
            writable: None,
            drop_volumes: false,
            remove: Vec::new(),
            remove_presets: Vec::new(),
            compression: None,
            threads: 0,
            append: false,
        }
    }
}

impl HardenOptions {
    pub(crate) fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            count => count,
        }
    }
}

/// Image format of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Oci,
    OciArchive,
    DockerArchive,
}

/// Destination of the hardened image: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`
/// or `docker-archive:FILE[:NAME:TAG]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputReference {
    pub format: OutputFormat,
    pub path: PathBuf,
    /// OCI ref name, or the docker-archive `NAME:TAG`.
    pub name: Option<String>,
}

impl OutputReference {
    pub fn parse(text: &str) -> Result<OutputReference, HardenError> {
        let invalid = |reason: &str| HardenError::InvalidOutput {
            reference: text.into(),
            reason: reason.into(),
        };
        let (format, rest) = if let Some(rest) = text.strip_prefix("oci-archive:") {
            (OutputFormat::OciArchive, rest)
        } else if let Some(rest) = text.strip_prefix("oci:") {
            (OutputFormat::Oci, rest)
        } else if let Some(rest) = text.strip_prefix("docker-archive:") {
            (OutputFormat::DockerArchive, rest)
        } else {
            return Err(invalid(
                "name the format: oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG]",
            ));
        };
        let (path, name) = match rest.split_once(':') {
            Some((path, name)) => (path, Some(name.to_string())),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if name.as_deref() == Some("") {
            return Err(invalid("the name after the path is empty"));
        }
        let name = match (format, name) {
            (_, None) => None,
            (OutputFormat::DockerArchive, Some(name)) => {
                Some(docker_name(&name).map_err(|reason| invalid(&reason))?)
            }
            (_, Some(name)) => {
                check_ref_name(&name).map_err(|reason| invalid(&reason))?;
                Some(name)
            }
        };
        Ok(OutputReference {
            format,
            path: PathBuf::from(path),
            name,
        })
    }
}

/// Checks a docker-archive `NAME[:TAG]` (a lowercase repository and a tag,
/// which `podman load` requires) and returns it with the tag `latest` when
/// none is given.
fn docker_name(name: &str) -> Result<String, String> {
    if name.contains('@') {
        return Err(format!("`{name}` has a digest; give NAME:TAG"));
    }
    let last_slash = name.rfind('/').map_or(0, |slash| slash + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(colon) => name.split_at(last_slash + colon),
        None => (name, ":latest"),
    };
    let tag = &tag[1..];
    let tag_ok = tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !tag_ok {
        return Err(format!(
            "the tag `{tag}` must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        ));
    }
    let mut components: Vec<&str> = repository.split('/').collect();
    let has_domain = components.len() > 1
        && (components[0].contains(['.', ':']) || components[0] == "localhost");
    if has_domain {
        let domain = components.remove(0);
        let (host, port) = match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        let port_ok =
            port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
        if !host_ok || !port_ok {
            return Err(format!("the registry `{domain}` is not a host name[:port]"));
        }
    }
    for component in components {
        let chars_ok = component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        let ends_ok = component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !chars_ok || !ends_ok {
            return Err(format!(
                "the repository `{repository}` must be lowercase letters, digits and `.`, `_`, `-` between them, in `/`-separated parts"
            ));
        }
    }
    Ok(format!("{repository}:{tag}"))
}

/// Checks an `org.opencontainers.image.ref.name` against the grammar of
/// the OCI image layout: `/`-separated parts of letters and digits joined
/// by one of `-._:@+` (or `--`).
fn check_ref_name(name: &str) -> Result<(), String> {
    let separator = |c: char| matches!(c, '-' | '.' | '_' | ':' | '@' | '+');
    let component_ok = |component: &str| {
        let bytes = component.as_bytes();
        !component.is_empty()
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric())
            && component
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || separator(c))
            && bytes.windows(2).all(|pair| {
                let both = separator(pair[0] as char) && separator(pair[1] as char);
                !both || pair == b"--"
            })
    };
    if name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "the ref name `{name}` must be letters and digits joined by one of `-._:@+`, in `/`-separated parts"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reference_forms() {
        let output = OutputReference::parse("docker-archive:/tmp/x.tar:app:1").unwrap();
        assert_eq!(output.format, OutputFormat::DockerArchive);
        assert_eq!(output.path, PathBuf::from("/tmp/x.tar"));
        assert_eq!(output.name.as_deref(), Some("app:1"));

        let output = OutputReference::parse("oci:out").unwrap();
        assert_eq!(output.format, OutputFormat::Oci);
        assert_eq!(output.name, None);

        let output = OutputReference::parse("oci-archive:o.tar:v2").unwrap();
        assert_eq!(output.format, OutputFormat::OciArchive);
        assert_eq!(output.name.as_deref(), Some("v2"));
    }

    #[test]
    fn docker_archive_names_are_checked() {
        let name = |text: &str| OutputReference::parse(text).map(|output| output.name.unwrap());
        assert_eq!(name("docker-archive:o.tar:app").unwrap(), "app:latest");
        assert_eq!(
            name("docker-archive:o.tar:localhost:5000/team/app").unwrap(),
            "localhost:5000/team/app:latest"
        );
        assert_eq!(
            name("docker-archive:o.tar:localhost/tester/privapp:h").unwrap(),
            "localhost/tester/privapp:h"
        );
        let error = name("docker-archive:o.tar:UPPER/App:1").unwrap_err();
        assert!(error.to_string().contains("lowercase"), "{error}");
        assert!(name("docker-archive:o.tar:app:bad tag").is_err());
        assert!(name("docker-archive:o.tar:app@sha256:00").is_err());
    }

    #[test]
    fn oci_ref_names_are_checked() {
        let name = |text: &str| OutputReference::parse(text).map(|output| output.name.unwrap());
        assert_eq!(name("oci:out:v1.2-rc").unwrap(), "v1.2-rc");
        assert_eq!(
            name("oci:out:example.com/app:1").unwrap(),
            "example.com/app:1"
        );
        let error = name("oci:out:bad tag!").unwrap_err();
        assert!(error.to_string().contains("ref name"), "{error}");
        assert!(name("oci:out:a..b").is_err());
        assert!(name("oci:out:-a").is_err());
    }

    #[test]
    fn output_reference_rejects_bare_path() {
        assert!(OutputReference::parse("out.tar").is_err());
        assert!(OutputReference::parse("oci:").is_err());
        assert!(OutputReference::parse("oci:dir:").is_err());
    }
}
