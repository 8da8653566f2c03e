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
        Ok(OutputReference {
            format,
            path: PathBuf::from(path),
            name,
        })
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
    fn output_reference_rejects_bare_path() {
        assert!(OutputReference::parse("out.tar").is_err());
        assert!(OutputReference::parse("oci:").is_err());
        assert!(OutputReference::parse("oci:dir:").is_err());
    }
}
