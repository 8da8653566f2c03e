//! The output's configuration and manifest: new DiffIDs, user and volumes,
//! history notes, and descriptors of the written blobs.

use std::collections::BTreeSet;

use hardfs_tar::Compression;
use serde_json::{json, Map, Value};

use crate::plan::Plan;
use crate::HardenError;

/// Annotation carrying the input image's manifest digest (or its config
/// digest when the input format has no manifest).
pub const INPUT_ANNOTATION: &str = "dev.hardfs.harden.input";

/// Annotation naming the base image's manifest digest.
const BASE_DIGEST_ANNOTATION: &str = "org.opencontainers.image.base.digest";

/// One layer of the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputLayer {
    /// Whether the layer was rewritten (or added) rather than copied.
    pub rewritten: bool,
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
    pub media_type: String,
    /// Annotations of the input descriptor, kept only for copied layers.
    pub annotations: Option<Value>,
}

/// The new configuration blob.
pub fn config(
    raw: &[u8],
    plan: &Plan,
    layers: &[OutputLayer],
    rewritten: &BTreeSet<usize>,
    added_layer: bool,
) -> Result<Vec<u8>, HardenError> {
    let mut root: Value = serde_json::from_slice(raw).map_err(HardenError::Config)?;
    let object = root
        .as_object_mut()
        .expect("the image reader checked that the config is an object");
    let diff_ids: Vec<Value> = layers.iter().map(|layer| json!(layer.diff_id)).collect();
    object.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": diff_ids}),
    );

    let runtime = object
        .entry("config")
        .or_insert_with(|| Value::Object(Map::new()));
    if !runtime.is_object() {
        *runtime = Value::Object(Map::new());
    }
    let runtime = runtime.as_object_mut().expect("set to an object above");
    if let Some(user) = &plan.user {
        runtime.insert("User".into(), json!(user.spec()));
    }
    if plan.volumes.is_empty() {
        runtime.remove("Volumes");
    } else {
        let volumes: Map<String, Value> = plan
            .volumes
            .iter()
            .map(|volume| (volume.clone(), json!({})))
            .collect();
        runtime.insert("Volumes".into(), Value::Object(volumes));
    }

    let created = object.get("created").cloned();
    update_history(object, plan, rewritten, added_layer, created);
    serde_json::to_vec(&root).map_err(HardenError::Config)
}

/// Notes the rewrite on each history step whose layer was rewritten and
/// adds one step for hardfs. Its time is the input's `created`, so that
/// the same input gives the same bytes.
fn update_history(
    object: &mut Map<String, Value>,
    plan: &Plan,
    rewritten: &BTreeSet<usize>,
    added_layer: bool,
    created: Option<Value>,
) {
    let history = object
        .entry("history")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(steps) = history.as_array_mut() else {
        return;
    };
    let mut layer = 0;
    for step in steps.iter_mut() {
        let empty = step
            .get("empty_layer")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if empty {
            continue;
        }
        if rewritten.contains(&layer) {
            if let Some(step) = step.as_object_mut() {
                let note = "hardfs harden rewrote headers of this layer";
                let comment = match step.get("comment").and_then(Value::as_str) {
                    Some(existing) if !existing.is_empty() => format!("{existing}; {note}"),
                    _ => note.to_string(),
                };
                step.insert("comment".into(), json!(comment));
            }
        }
        layer += 1;
    }
    let changed = plan.changes.len();
    let mut step = Map::new();
    if let Some(created) = created {
        step.insert("created".into(), created);
    }
    step.insert("created_by".into(), json!("hardfs harden"));
    step.insert(
        "comment".into(),
        json!(format!(
            "{changed} entries changed in {} layers",
            rewritten.len()
        )),
    );
    if !added_layer {
        step.insert("empty_layer".into(), json!(true));
    }
    steps.push(Value::Object(step));
}

/// The OCI media type of a layer blob with this compression.
pub fn layer_media_type(compression: Compression) -> &'static str {
    match compression {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// Builds the OCI image manifest. Manifest-level annotations of the input
/// are kept except the base image digest when a layer was rewritten, and
/// one annotation names the input.
pub fn manifest(
    input_manifest: Option<&[u8]>,
    input_name: &str,
    config_digest: &str,
    config_size: u64,
    layers: &[OutputLayer],
) -> Vec<u8> {
    let mut annotations = input_manifest
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .and_then(|manifest| manifest.get("annotations").cloned())
        .and_then(|value| value.as_object().cloned())
        .unwrap_or_default();
    annotations.insert(INPUT_ANNOTATION.into(), json!(input_name));
    if layers.iter().any(|layer| layer.rewritten) {
        // The base image's layers are no longer those of this image.
        annotations.remove(BASE_DIGEST_ANNOTATION);
    }
    let layers: Vec<Value> = layers
        .iter()
        .map(|layer| {
            let mut descriptor = json!({
                "mediaType": layer.media_type,
                "digest": layer.digest,
                "size": layer.size,
            });
            if let Some(annotations) = &layer.annotations {
                descriptor["annotations"] = annotations.clone();
            }
            descriptor
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": layers,
        "annotations": annotations,
    });
    serde_json::to_vec(&manifest).expect("a JSON value serializes")
}

/// Annotations of each layer descriptor in the input manifest.
pub fn input_layer_annotations(input_manifest: Option<&[u8]>) -> Vec<Option<Value>> {
    input_manifest
        .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .and_then(|manifest| manifest.get("layers").cloned())
        .and_then(|layers| layers.as_array().cloned())
        .map(|layers| {
            layers
                .iter()
                .map(|layer| layer.get("annotations").cloned())
                .collect()
        })
        .unwrap_or_default()
}
