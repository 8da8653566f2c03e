//! Image references in skopeo's transport syntax, or bare paths.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::store::{Store, TarStore};
use crate::ImageError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `docker save` / `podman save` output, both legacy and Docker 25+.
    DockerArchive,
    /// An OCI image layout directory.
    Oci,
    /// A tar of an OCI image layout.
    OciArchive,
    /// An unpacked root filesystem.
    Dir,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::DockerArchive => "docker-archive",
            Transport::Oci => "oci",
            Transport::OciArchive => "oci-archive",
            Transport::Dir => "dir",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which image of several to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `NAME:TAG` in a docker-archive, a ref name in an OCI index.
    Name(String),
    /// `@N`: the N-th image, counting from 0.
    Index(usize),
}

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub transport: Transport,
    pub path: PathBuf,
    pub selector: Option<Selector>,
    /// The reference as given.
    pub text: String,
}

impl Reference {
    /// Parses `TRANSPORT:PATH[:SELECTOR]`, or detects the format of a bare
    /// path from what it contains.
    pub fn parse(text: &str) -> Result<Reference, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidReference {
            reference: text.into(),
            reason: reason.into(),
        };
        let prefixes = [
            ("docker-archive:", Transport::DockerArchive),
            ("oci-archive:", Transport::OciArchive),
            ("oci:", Transport::Oci),
            ("dir:", Transport::Dir),
        ];
        for (prefix, transport) in prefixes {
            let Some(rest) = text.strip_prefix(prefix) else {
                continue;
            };
            if rest.is_empty() {
                return Err(invalid("the path is empty"));
            }
            let (path, selector) = match transport {
                Transport::Dir => (rest, None),
                _ => match rest.split_once(':') {
                    Some((path, selector)) => (
                        path,
                        Some(
                            parse_selector(selector)
                                .ok_or_else(|| invalid("the image name after the path is empty"))?,
                        ),
                    ),
                    None => (rest, None),
                },
            };
            return Ok(Reference {
                transport,
                path: PathBuf::from(path),
                selector,
                text: text.into(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(invalid(&format!(
                "the `{scheme}://` transport is not supported yet; export the image with `skopeo copy` to docker-archive: or oci:"
            )));
        }
        let path = PathBuf::from(text);
        let transport = detect(&path)?;
        Ok(Reference {
            transport,
            path,
            selector: None,
            text: text.into(),
        })
    }
}

fn parse_selector(text: &str) -> Option<Selector> {
    if text.is_empty() {
        return None;
    }
    match text
        .strip_prefix('@')
        .and_then(|number| number.parse().ok())
    {
        Some(index) => Some(Selector::Index(index)),
        None => Some(Selector::Name(text.into())),
    }
}

/// Detects the format of a bare path: a directory with `oci-layout` is an
/// OCI layout; a tar file with `manifest.json` is a docker-archive, one with
/// only `oci-layout` an OCI archive. Any other directory is an error: a root
/// filesystem must be named with `dir:`, so that a damaged layout is never
/// audited as an empty root.
fn detect(path: &Path) -> Result<Transport, ImageError> {
    let metadata = std::fs::metadata(path).map_err(|source| ImageError::Io {
        path: path.into(),
        source,
    })?;
    if metadata.is_dir() {
        if path.join("oci-layout").is_file() {
            return Ok(Transport::Oci);
        }
        let reason = if path.join("index.json").exists() || path.join("blobs").is_dir() {
            "it looks like an OCI layout but has no `oci-layout` file"
        } else {
            "a directory without `oci-layout`; to audit an unpacked root filesystem, write dir:PATH"
        };
        return Err(ImageError::UnknownFormat {
            path: path.into(),
            reason: reason.into(),
        });
    }
    let store = TarStore::open(path)?;
    if store.contains("manifest.json") {
        Ok(Transport::DockerArchive)
    } else if store.contains("oci-layout") {
        Ok(Transport::OciArchive)
    } else {
        Err(ImageError::UnknownFormat {
            path: path.into(),
            reason: "a tar without `manifest.json` or `oci-layout`; name the format with a transport prefix such as docker-archive:".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_prefixes() {
        let reference = Reference::parse("docker-archive:/tmp/a.tar:nginx:latest").unwrap();
        assert_eq!(reference.transport, Transport::DockerArchive);
        assert_eq!(reference.path, PathBuf::from("/tmp/a.tar"));
        assert_eq!(
            reference.selector,
            Some(Selector::Name("nginx:latest".into()))
        );

        let reference = Reference::parse("oci:layout:@2").unwrap();
        assert_eq!(reference.transport, Transport::Oci);
        assert_eq!(reference.selector, Some(Selector::Index(2)));

        let reference = Reference::parse("oci-archive:x.tar").unwrap();
        assert_eq!(reference.transport, Transport::OciArchive);
        assert_eq!(reference.selector, None);

        let reference = Reference::parse("dir:/rootfs:with:colons").unwrap();
        assert_eq!(reference.path, PathBuf::from("/rootfs:with:colons"));
    }

    #[test]
    fn registry_reference_is_rejected_with_hint() {
        let error = Reference::parse("docker://nginx").unwrap_err();
        assert!(error.to_string().contains("skopeo copy"), "{error}");
    }

    #[test]
    fn bare_directory_needs_dir_prefix() {
        let root = std::env::temp_dir().join(format!("hardfs-detect-{}", std::process::id()));
        std::fs::create_dir_all(root.join("blobs")).unwrap();
        let error = Reference::parse(root.to_str().unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("no `oci-layout` file"),
            "{error}"
        );
        std::fs::remove_dir(root.join("blobs")).unwrap();
        let error = Reference::parse(root.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("write dir:PATH"), "{error}");
        assert_eq!(
            Reference::parse(&format!("dir:{}", root.display()))
                .unwrap()
                .transport,
            Transport::Dir
        );
        std::fs::remove_dir(&root).unwrap();
    }

    #[test]
    fn empty_path_is_rejected() {
        assert!(Reference::parse("oci:").is_err());
    }
}
