//! `docker save` archives: the legacy layout (`manifest.json`, `<id>.json`,
//! `<id>/layer.tar`) and Docker 25+'s, which adds an OCI layout and points
//! `manifest.json` at `blobs/sha256/…`. Both are read through
//! `manifest.json`; digests come from hashing content, never from names.

use serde::Deserialize;

use crate::config::{ImageConfig, LayerInfo};
use crate::digest::{hex_part, sha256};
use crate::store::{Store, TarStore};
use crate::{Image, ImageError, Reference, Selector, Source};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

pub(crate) fn open(reference: &Reference) -> Result<Image, ImageError> {
    let label = format!("docker-archive `{}`", reference.path.display());
    let store = TarStore::open_labeled(&reference.path, label.clone())?;
    if !store.contains("manifest.json") {
        if store.contains("repositories") {
            return Err(ImageError::LegacyArchive { container: label });
        }
        return Err(ImageError::MissingFile {
            container: label,
            name: "manifest.json".into(),
        });
    }
    let what = format!("`manifest.json` in {label}");
    let items: Vec<ManifestItem> = serde_json::from_slice(&store.read("manifest.json")?)
        .map_err(|source| ImageError::Json { what, source })?;
    let item = select(items, reference.selector.as_ref(), &label)?;

    let config_bytes = store.read(&item.config)?;
    let config_digest = sha256(&config_bytes);
    if let Some(named) = blob_digest_from_path(&item.config) {
        if named != config_digest {
            return Err(ImageError::DigestMismatch {
                what: format!("config `{}` in {label}", item.config),
                expected: named,
                actual: config_digest,
            });
        }
    }
    let config = ImageConfig::parse(
        &config_bytes,
        &format!("config `{}` in {label}", item.config),
    )?;
    if config.diff_ids.len() != item.layers.len() {
        return Err(ImageError::Invalid {
            what: label,
            reason: format!(
                "`manifest.json` lists {} layers but the config's `rootfs.diff_ids` has {}",
                item.layers.len(),
                config.diff_ids.len()
            ),
        });
    }
    let layers = item
        .layers
        .iter()
        .enumerate()
        .map(|(index, blob)| {
            let named = blob_digest_from_path(blob);
            LayerInfo {
                index,
                digest: named.clone().unwrap_or_default(),
                diff_id: config.diff_ids[index].clone(),
                media_type: None,
                size: None,
                created_by: config.layer_history.get(index).cloned().flatten(),
                blob: blob.clone(),
                digest_known: named.is_some(),
            }
        })
        .collect();
    Ok(Image {
        reference: reference.text.clone(),
        transport: reference.transport,
        manifest_digest: None,
        config_digest,
        config,
        config_bytes,
        manifest_bytes: None,
        layers,
        names: item.repo_tags.clone().unwrap_or_default(),
        warnings: Vec::new(),
        source: Source::Layers(Box::new(store)),
    })
}

/// Picks one image by `NAME:TAG` or `@N`; without a selector the archive
/// must hold exactly one.
fn select(
    items: Vec<ManifestItem>,
    selector: Option<&Selector>,
    label: &str,
) -> Result<ManifestItem, ImageError> {
    let choices = || {
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item.repo_tags.as_deref() {
                Some([first, ..]) => format!("@{index} ({first})"),
                _ => format!("@{index}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let position = match selector {
        None if items.len() == 1 => Some(0),
        None if items.is_empty() => {
            return Err(ImageError::Invalid {
                what: label.into(),
                reason: "`manifest.json` lists no images".into(),
            })
        }
        None => {
            return Err(ImageError::Ambiguous {
                container: label.into(),
                how: "`docker-archive:FILE:NAME:TAG` or `docker-archive:FILE:@N`".into(),
                choices: choices(),
            })
        }
        Some(Selector::Index(index)) => (*index < items.len()).then_some(*index),
        Some(Selector::Name(name)) => items.iter().position(|item| {
            item.repo_tags
                .iter()
                .flatten()
                .any(|tag| same_name(tag, name))
        }),
    };
    match position {
        Some(index) => Ok(items.into_iter().nth(index).expect("index checked")),
        None => Err(ImageError::NoMatch {
            container: label.into(),
            wanted: match selector {
                Some(Selector::Index(index)) => format!("@{index}"),
                Some(Selector::Name(name)) => name.clone(),
                None => String::new(),
            },
            choices: choices(),
        }),
    }
}

/// Compares image names, treating `docker.io/library/x:t`, `docker.io/x:t`
/// and `x:t` alike and a missing tag as `latest`.
fn same_name(stored: &str, wanted: &str) -> bool {
    fn canonical(name: &str) -> String {
        let name = name.strip_prefix("docker.io/").unwrap_or(name);
        let name = name.strip_prefix("library/").unwrap_or(name);
        let last = name.rsplit('/').next().unwrap_or(name);
        if last.contains(':') {
            name.to_string()
        } else {
            format!("{name}:latest")
        }
    }
    canonical(stored) == canonical(wanted)
}

/// Returns the digest that a Docker 25+ path `blobs/sha256/<hex>` names.
fn blob_digest_from_path(path: &str) -> Option<String> {
    let hex = path.strip_prefix("blobs/sha256/")?;
    let digest = format!("sha256:{hex}");
    hex_part(&digest).is_some().then_some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_like_docker() {
        assert!(same_name("docker.io/library/nginx:latest", "nginx"));
        assert!(same_name("localhost/app:1", "localhost/app:1"));
        assert!(!same_name("nginx:1", "nginx"));
        assert!(same_name("localhost:5000/app", "localhost:5000/app:latest"));
    }
}
