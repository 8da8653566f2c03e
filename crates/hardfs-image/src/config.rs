//! The parts of an image configuration that hardfs reads.

use serde_json::Value;

use crate::ImageError;

/// Runtime settings from the configuration's `config` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `config.User` as written; `None` when absent or empty.
    pub user: Option<String>,
    /// `config.Volumes` keys, sorted.
    pub volumes: Vec<String>,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    /// `config.ExposedPorts` keys such as `80/tcp`, sorted.
    pub exposed_ports: Vec<String>,
    /// `config.Healthcheck.Test`, where the image has one.
    pub healthcheck: Vec<String>,
    /// `os`, `architecture` and `variant` of the image.
    pub platform: String,
    /// `rootfs.diff_ids`, base first.
    pub diff_ids: Vec<String>,
    /// `created_by` of each history entry that made a layer, base first;
    /// empty when the history does not line up with the layers.
    pub layer_history: Vec<Option<String>>,
}

impl ImageConfig {
    /// Parses a configuration blob. `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<ImageConfig, ImageError> {
        let root: Value = serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
            what: what.into(),
            source,
        })?;
        let invalid = |reason: &str| ImageError::Invalid {
            what: what.into(),
            reason: reason.into(),
        };
        if !root.is_object() {
            return Err(invalid("the configuration is not a JSON object"));
        }
        let config = root
            .get("config")
            .or_else(|| root.get("container_config"))
            .cloned()
            .unwrap_or(Value::Null);
        let diff_ids = root
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("`rootfs.diff_ids` is missing"))?
            .iter()
            .map(|id| {
                id.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("a `rootfs.diff_ids` entry is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let platform = [
            root.get("os"),
            root.get("architecture"),
            root.get("variant"),
        ]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("/");
        let layer_history = layer_history(&root, diff_ids.len());
        Ok(ImageConfig {
            user: config
                .get("User")
                .and_then(Value::as_str)
                .filter(|user| !user.is_empty())
                .map(str::to_string),
            volumes: keys(config.get("Volumes")),
            env: strings(config.get("Env")),
            entrypoint: strings(config.get("Entrypoint")),
            cmd: strings(config.get("Cmd")),
            working_dir: config
                .get("WorkingDir")
                .and_then(Value::as_str)
                .filter(|dir| !dir.is_empty())
                .map(str::to_string),
            exposed_ports: keys(config.get("ExposedPorts")),
            healthcheck: strings(config.pointer("/Healthcheck/Test")),
            platform,
            diff_ids,
            layer_history,
        })
    }

    /// Returns the value of an environment variable from `config.Env`.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }
}

/// A layer of an opened image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Position, base layer = 0.
    pub index: usize,
    /// Digest of the blob as stored (compressed or not).
    pub digest: String,
    /// Expected digest of the uncompressed tar, from `rootfs.diff_ids`.
    pub diff_id: String,
    pub media_type: Option<String>,
    /// Blob size from the descriptor, where there is one.
    pub size: Option<u64>,
    /// The history step that made the layer.
    pub created_by: Option<String>,
    /// Path of the blob inside its store.
    pub(crate) blob: String,
    /// Whether the blob digest is known before reading; docker-archive layers
    /// are named by path, and their digest is computed while reading.
    pub(crate) digest_known: bool,
}

/// Maps history entries to layers, skipping `empty_layer` entries.
fn layer_history(root: &Value, layer_count: usize) -> Vec<Option<String>> {
    let Some(history) = root.get("history").and_then(Value::as_array) else {
        return Vec::new();
    };
    let steps: Vec<Option<String>> = history
        .iter()
        .filter(|entry| {
            !entry
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .map(|entry| {
            entry
                .get("created_by")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    if steps.len() == layer_count {
        steps
    } else {
        tracing::debug!(
            history = steps.len(),
            layers = layer_count,
            "history does not match the layers; build steps unknown"
        );
        Vec::new()
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn keys(value: Option<&Value>) -> Vec<String> {
    let mut keys: Vec<String> = value
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}
