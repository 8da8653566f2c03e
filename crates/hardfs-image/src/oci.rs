//! OCI image layouts, as a directory or as a tar (`oci-archive:`): the
//! index, nested indexes chosen by platform, the manifest and the config,
//! each verified against its descriptor's digest and size.

use std::fmt;

use serde::Deserialize;

use crate::config::{ImageConfig, LayerInfo};
use crate::digest::{hex_part, sha256};
use crate::store::{DirStore, Store, TarStore};
use crate::{Image, ImageError, Reference, Selector, Source, Transport};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Deepest chain of nested indexes followed.
const MAX_INDEX_DEPTH: usize = 8;

/// An `os/architecture[/variant]` platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// Returns the platform of this machine, in OCI spelling (`linux/amd64`).
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Parses `os/architecture[/variant]`.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|part| !part.is_empty())?;
        let architecture = parts.next().filter(|part| !part.is_empty())?;
        let variant = parts.next().map(str::to_string);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant,
        })
    }

    fn matches(&self, descriptor: &DescriptorPlatform) -> bool {
        descriptor.os == self.os
            && descriptor.architecture == self.architecture
            && (self.variant.is_none() || descriptor.variant == self.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
struct DescriptorPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<DescriptorPlatform>,
}

impl Descriptor {
    fn ref_name(&self) -> Option<&str> {
        self.annotations.as_ref()?.get(REF_NAME).map(String::as_str)
    }

    fn is_index(&self) -> bool {
        self.media_type == "application/vnd.oci.image.index.v1+json"
            || self.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    }
}

#[derive(Deserialize)]
struct Index {
    manifests: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    config: Descriptor,
    layers: Option<Vec<Descriptor>>,
}

pub(crate) fn open(reference: &Reference, platform: &Platform) -> Result<Image, ImageError> {
    let label = format!("{} `{}`", reference.transport, reference.path.display());
    let store: Box<dyn Store> = match reference.transport {
        Transport::Oci => Box::new(DirStore::new(&reference.path, label.clone())),
        _ => Box::new(TarStore::open_labeled(&reference.path, label.clone())?),
    };
    if !store.contains("oci-layout") {
        return Err(ImageError::MissingFile {
            container: label,
            name: "oci-layout".into(),
        });
    }
    let index_bytes = store.read("index.json")?;
    let manifest_descriptor = choose_manifest(
        &*store,
        &index_bytes,
        reference.selector.as_ref(),
        platform,
        &label,
    )?;
    let names: Vec<String> = manifest_descriptor
        .ref_name()
        .map(String::from)
        .into_iter()
        .collect();
    let manifest_bytes = read_blob(&*store, &manifest_descriptor, "manifest")?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|source| ImageError::Json {
            what: format!("manifest {} in {label}", manifest_descriptor.digest),
            source,
        })?;
    let config_bytes = read_blob(&*store, &manifest.config, "config")?;
    let config = ImageConfig::parse(
        &config_bytes,
        &format!("config {} in {label}", manifest.config.digest),
    )?;

    let descriptors = manifest.layers.unwrap_or_default();
    if descriptors.len() != config.diff_ids.len() {
        return Err(ImageError::Invalid {
            what: format!("manifest {} in {label}", manifest_descriptor.digest),
            reason: format!(
                "it lists {} layers but the config's `rootfs.diff_ids` has {}; refusing to audit a different filesystem than the image has",
                descriptors.len(),
                config.diff_ids.len()
            ),
        });
    }
    let mut warnings = Vec::new();
    let mut layers = Vec::with_capacity(descriptors.len());
    for (index, descriptor) in descriptors.into_iter().enumerate() {
        let blob = blob_path(&descriptor.digest).ok_or_else(|| {
            invalid_digest(&descriptor.digest, &format!("layer {index} in {label}"))
        })?;
        if !is_layer_media_type(&descriptor.media_type) {
            warnings.push(format!(
                "layer {index} ({}) has media type `{}`, which is not an OCI or Docker layer type; it is read as a tar by its magic bytes",
                descriptor.digest, descriptor.media_type
            ));
        }
        layers.push(LayerInfo {
            index,
            digest: descriptor.digest.clone(),
            diff_id: config.diff_ids[index].clone(),
            media_type: Some(descriptor.media_type),
            size: Some(descriptor.size),
            created_by: config.layer_history.get(index).cloned().flatten(),
            blob,
            digest_known: true,
        });
    }
    Ok(Image {
        reference: reference.text.clone(),
        transport: reference.transport,
        manifest_digest: Some(manifest_descriptor.digest),
        config_digest: manifest.config.digest,
        config,
        config_bytes,
        manifest_bytes: Some(manifest_bytes),
        layers,
        names,
        warnings,
        source: Source::Layers(store),
    })
}

/// Chooses the manifest: by ref name or `@N` at the top level, then by
/// platform through nested indexes.
fn choose_manifest(
    store: &dyn Store,
    index_bytes: &[u8],
    selector: Option<&Selector>,
    platform: &Platform,
    label: &str,
) -> Result<Descriptor, ImageError> {
    let manifests = parse_index(index_bytes, &format!("`index.json` in {label}"))?;
    let describe = |list: &[Descriptor]| {
        list.iter()
            .enumerate()
            .map(|(position, descriptor)| match descriptor.ref_name() {
                Some(name) => format!("@{position} ({name})"),
                None => format!("@{position}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match selector {
        Some(Selector::Index(position)) => manifests.get(*position).cloned(),
        Some(Selector::Name(name)) => manifests
            .iter()
            .find(|descriptor| descriptor.ref_name() == Some(name))
            .cloned(),
        None if manifests.len() == 1 => manifests.first().cloned(),
        None if manifests
            .iter()
            .all(|descriptor| descriptor.platform.is_some())
            && !manifests.is_empty() =>
        {
            return by_platform(store, manifests, platform, label, 0)
        }
        None if manifests.is_empty() => {
            return Err(ImageError::Invalid {
                what: format!("`index.json` in {label}"),
                reason: "it lists no manifests".into(),
            })
        }
        None => {
            return Err(ImageError::Ambiguous {
                container: label.into(),
                how: "`oci:DIR:NAME` or `oci:DIR:@N`".into(),
                choices: describe(&manifests),
            })
        }
    };
    let Some(chosen) = chosen else {
        let wanted = match selector {
            Some(Selector::Index(position)) => format!("@{position}"),
            Some(Selector::Name(name)) => name.clone(),
            None => String::new(),
        };
        return Err(ImageError::NoMatch {
            container: label.into(),
            wanted,
            choices: describe(&manifests),
        });
    };
    resolve_nested(store, chosen, platform, label, 0)
}

fn resolve_nested(
    store: &dyn Store,
    descriptor: Descriptor,
    platform: &Platform,
    label: &str,
    depth: usize,
) -> Result<Descriptor, ImageError> {
    if !descriptor.is_index() {
        return Ok(descriptor);
    }
    if depth >= MAX_INDEX_DEPTH {
        return Err(ImageError::Invalid {
            what: label.into(),
            reason: format!("indexes nest more than {MAX_INDEX_DEPTH} deep"),
        });
    }
    let bytes = read_blob(store, &descriptor, "index")?;
    let manifests = parse_index(&bytes, &format!("index {} in {label}", descriptor.digest))?;
    by_platform(store, manifests, platform, label, depth + 1)
}

fn by_platform(
    store: &dyn Store,
    manifests: Vec<Descriptor>,
    platform: &Platform,
    label: &str,
    depth: usize,
) -> Result<Descriptor, ImageError> {
    let available: Vec<String> = manifests
        .iter()
        .filter_map(|descriptor| descriptor.platform.as_ref())
        .map(|p| match &p.variant {
            Some(variant) => format!("{}/{}/{variant}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    let chosen = manifests.into_iter().find(|descriptor| {
        descriptor
            .platform
            .as_ref()
            .is_some_and(|p| platform.matches(p))
    });
    match chosen {
        Some(descriptor) => resolve_nested(store, descriptor, platform, label, depth),
        None => Err(ImageError::NoMatch {
            container: label.into(),
            wanted: format!("platform {platform}; choose one of the others with --platform"),
            choices: available.join(", "),
        }),
    }
}

fn parse_index(bytes: &[u8], what: &str) -> Result<Vec<Descriptor>, ImageError> {
    let index: Index = serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
        what: what.into(),
        source,
    })?;
    index.manifests.ok_or_else(|| ImageError::Invalid {
        what: what.into(),
        reason: "`manifests` is missing or null".into(),
    })
}

/// Reads a small blob and checks its size and digest against the descriptor.
fn read_blob(
    store: &dyn Store,
    descriptor: &Descriptor,
    kind: &str,
) -> Result<Vec<u8>, ImageError> {
    let what = format!("{kind} {} in {}", descriptor.digest, store.describe());
    let path =
        blob_path(&descriptor.digest).ok_or_else(|| invalid_digest(&descriptor.digest, &what))?;
    let bytes = store.read(&path)?;
    if bytes.len() as u64 != descriptor.size {
        return Err(ImageError::SizeMismatch {
            what,
            expected: descriptor.size,
            actual: bytes.len() as u64,
        });
    }
    let actual = sha256(&bytes);
    if actual != descriptor.digest {
        return Err(ImageError::DigestMismatch {
            what,
            expected: descriptor.digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

fn blob_path(digest: &str) -> Option<String> {
    hex_part(digest).map(|hex| format!("blobs/sha256/{hex}"))
}

fn invalid_digest(digest: &str, what: &str) -> ImageError {
    ImageError::Invalid {
        what: what.into(),
        reason: format!("`{digest}` is not a sha256 digest"),
    }
}

fn is_layer_media_type(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parse_and_display() {
        let platform = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(platform.to_string(), "linux/arm/v7");
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("a/b/c/d").is_none());
    }
}
