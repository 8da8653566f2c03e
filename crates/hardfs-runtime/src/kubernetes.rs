//! Kubernetes output: a container `securityContext` that meets the Pod
//! Security Standards "restricted" profile with a read-only root, and one
//! volume per writable path: an `emptyDir`, or a `persistentVolumeClaim`
//! for an image volume. It is written as a standalone Pod or patched into
//! an existing manifest.
//!
//! The patch reads the manifest into an order-keeping YAML tree and
//! changes only the container's `securityContext`, its `volumeMounts` for
//! the profile's paths, the pod's `volumes` of the same names and, when
//! needed, the pod's `securityContext.sysctls` and `fsGroup`. Every other
//! key keeps its value and its place; comments and quoting style are not
//! kept, because the YAML is parsed and written again.

use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::render::{hidden_content, to_yaml, volume_source, Target, UNPRIVILEGED_PORT_SYSCTL};
use crate::size::kubernetes_quantity;
use crate::{MountKind, Profile, RuntimeError, WritablePath};

/// Paths whose size is below this use `medium: Memory`; larger ones use
/// the node's disk, so they do not count against the container's memory.
const MEMORY_MEDIUM_LIMIT: u64 = 64 << 20;

/// Names for the generated objects.
#[derive(Clone, Debug)]
pub struct KubernetesOptions {
    /// Pod name, for the standalone Pod.
    pub pod: String,
    /// Container to create, or to patch when the manifest has several.
    pub container: Option<String>,
    pub image: String,
}

/// A YAML value whose mappings keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    Mapping(Vec<(String, Node)>),
}

impl Node {
    fn mapping() -> Node {
        Node::Mapping(Vec::new())
    }

    /// Looks `key` up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Mapping(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Mapping(entries) => entries
                .iter_mut()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// Sets `key`, in place when it exists, else at the end.
    fn set(&mut self, key: &str, value: Node) {
        if let Node::Mapping(entries) = self {
            match entries.iter_mut().find(|(name, _)| name == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    /// Returns the mapping at `key`, created empty when missing or not a
    /// mapping.
    fn mapping_at(&mut self, key: &str) -> &mut Node {
        if !matches!(self.get(key), Some(Node::Mapping(_))) {
            self.set(key, Node::mapping());
        }
        self.get_mut(key).expect("key was just set")
    }

    /// Returns the sequence at `key`, created empty when missing or not a
    /// sequence.
    fn sequence_at(&mut self, key: &str) -> &mut Vec<Node> {
        if !matches!(self.get(key), Some(Node::Sequence(_))) {
            self.set(key, Node::Sequence(Vec::new()));
        }
        match self.get_mut(key) {
            Some(Node::Sequence(items)) => items,
            _ => unreachable!("key was just set to a sequence"),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(text) => Some(text),
            _ => None,
        }
    }

    fn from_value<T: Serialize>(value: &T) -> Node {
        let json = serde_json::to_value(value).expect("Kubernetes objects serialize");
        Node::from_json(json)
    }

    fn from_json(value: serde_json::Value) -> Node {
        use serde_json::Value;
        match value {
            Value::Null => Node::Null,
            Value::Bool(flag) => Node::Bool(flag),
            Value::Number(number) => match number.as_i64() {
                Some(integer) => Node::Integer(integer),
                None => Node::Float(number.as_f64().unwrap_or_default()),
            },
            Value::String(text) => Node::String(text),
            Value::Array(items) => Node::Sequence(items.into_iter().map(Node::from_json).collect()),
            Value::Object(map) => Node::Mapping(
                map.into_iter()
                    .map(|(key, value)| (key, Node::from_json(value)))
                    .collect(),
            ),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(flag) => serializer.serialize_bool(*flag),
            Node::Integer(integer) => serializer.serialize_i64(*integer),
            Node::Float(float) => serializer.serialize_f64(*float),
            Node::String(text) => serializer.serialize_str(text),
            Node::Sequence(items) => {
                let mut sequence = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    sequence.serialize_element(item)?;
                }
                sequence.end()
            }
            Node::Mapping(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
        match i64::try_from(value) {
            Ok(integer) => Ok(Node::Integer(integer)),
            Err(_) => Ok(Node::Float(value as f64)),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        Ok(Node::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
        Ok(Node::String(value.to_string()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Node, E> {
        Ok(Node::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element()? {
            items.push(item);
        }
        Ok(Node::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = access.next_entry::<Node, Node>()? {
            let key = match key {
                Node::String(text) => text,
                Node::Integer(integer) => integer.to_string(),
                Node::Bool(flag) => flag.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "unsupported mapping key {other:?}"
                    )))
                }
            };
            entries.push((key, value));
        }
        Ok(Node::Mapping(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityContext {
    run_as_non_root: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_user: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_as_group: Option<u64>,
    allow_privilege_escalation: bool,
    read_only_root_filesystem: bool,
    capabilities: Capabilities,
    seccomp_profile: SeccompProfile,
}

#[derive(Serialize)]
struct Capabilities {
    drop: Vec<String>,
}

#[derive(Serialize)]
struct SeccompProfile {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    empty_dir: Option<EmptyDir>,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent_volume_claim: Option<ClaimSource>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimSource {
    claim_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmptyDir {
    #[serde(skip_serializing_if = "Option::is_none")]
    medium: Option<String>,
    size_limit: String,
}

fn security_context(profile: &Profile) -> SecurityContext {
    SecurityContext {
        run_as_non_root: !profile.runs_as_root(),
        run_as_user: profile.user.as_ref().map(|user| user.uid),
        run_as_group: profile.user.as_ref().map(|user| user.gid),
        allow_privilege_escalation: false,
        read_only_root_filesystem: true,
        capabilities: Capabilities {
            drop: vec!["ALL".into()],
        },
        seccomp_profile: SeccompProfile {
            kind: "RuntimeDefault".into(),
        },
    }
}

/// Names the volume of a path with a DNS-1123 label: `/var/lib/nginx`
/// becomes `hardfs-var-lib-nginx`.
pub(crate) fn volume_name(path: &str) -> String {
    dns_label("hardfs", path)
}

/// Joins a prefix and a path into a DNS-1123 label of at most 63
/// characters: lowercase letters, digits and single dashes. Cleaning maps
/// several paths to one text (`/a/b-c`, `/a-b/c`, `/A/B/c`). So when the
/// path has anything but lowercase letters, digits and single slashes,
/// the label ends with a hash of the real path. A label over the length
/// limit is cut and ends with a longer hash. Different paths therefore get
/// different labels.
pub(crate) fn dns_label(prefix: &str, path: &str) -> String {
    let mut name = String::new();
    for character in prefix
        .chars()
        .chain(std::iter::once('/'))
        .chain(path.chars())
    {
        let character = character.to_ascii_lowercase();
        if character.is_ascii_alphanumeric() {
            name.push(character);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        name.push_str("hardfs");
    }
    let lossless = path == "/" || is_plain_path(path);
    if name.len() > 63 || !lossless {
        let hash = prefix
            .bytes()
            .chain([0])
            .chain(path.bytes())
            .fold(0xcbf29ce484222325u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
            });
        let suffix = if name.len() + 9 > 63 {
            format!("{hash:016x}")
        } else {
            format!("{:08x}", hash >> 32)
        };
        name.truncate(62 - suffix.len());
        name = format!("{}-{suffix}", name.trim_end_matches('-'));
    }
    name
}

/// Returns whether a path is `/` followed by components of lowercase
/// ASCII letters and digits, which labels keep apart without a hash.
fn is_plain_path(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        })
    })
}

fn volume(path: &WritablePath, image: &str) -> Volume {
    let name = volume_name(&path.path);
    match path.mount {
        MountKind::Tmpfs => Volume {
            name,
            empty_dir: Some(EmptyDir {
                medium: (path.size < MEMORY_MEDIUM_LIMIT).then(|| "Memory".to_string()),
                size_limit: kubernetes_quantity(path.size),
            }),
            persistent_volume_claim: None,
        },
        MountKind::Volume => Volume {
            name,
            empty_dir: None,
            persistent_volume_claim: Some(ClaimSource {
                claim_name: volume_source(image, &path.path),
            }),
        },
    }
}

/// The claims that a profile's Pod refers to, which must exist before the
/// Pod can start.
pub fn claim_names(profile: &Profile, image: &str) -> Vec<String> {
    profile
        .paths
        .iter()
        .filter(|path| path.mount == MountKind::Volume)
        .map(|path| volume_source(image, &path.path))
        .collect()
}

/// Builds the YAML comment put above the Pod: the claims to create, and the
/// paths whose image files a new volume does not have.
fn header_comment(profile: &Profile, image: &str) -> String {
    let mut lines = Vec::new();
    for claim in claim_names(profile, image) {
        lines.push(format!(
            "# hardfs: the PersistentVolumeClaim `{claim}` must exist before this Pod starts"
        ));
    }
    for path in hidden_content(profile, Target::Kubernetes) {
        lines.push(format!(
            "# hardfs: {path} has files in the image, and the volume mounted there starts empty; copy them in with an initContainer (see docs/profile.md)"
        ));
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

fn mount(path: &WritablePath) -> VolumeMount {
    VolumeMount {
        name: volume_name(&path.path),
        mount_path: path.path.clone(),
    }
}

/// Sets the pod-level fields: `fsGroup`, so that emptyDir volumes are
/// group-owned by the runtime group, and the port sysctl where needed.
/// Kubernetes rejects a `net.*` sysctl in a pod with `hostNetwork: true`,
/// so there the sysctl is left out with a warning.
fn patch_pod_security(pod_spec: &mut Node, profile: &Profile, warnings: &mut Vec<String>) {
    let host_network = pod_spec.get("hostNetwork") == Some(&Node::Bool(true));
    let context = pod_spec.mapping_at("securityContext");
    if let Some(user) = profile.user.as_ref().filter(|user| user.uid != 0) {
        context.set("fsGroup", Node::Integer(user.gid as i64));
        if !user.groups.is_empty() {
            let groups = user.groups.iter().map(|&group| Node::Integer(group as i64));
            context.set("supplementalGroups", Node::Sequence(groups.collect()));
        }
    }
    if profile.needs_unprivileged_ports() && host_network {
        warnings.push(format!(
            "the pod has `hostNetwork: true`, which Kubernetes does not allow with the sysctl {UNPRIVILEGED_PORT_SYSCTL}; it is not added, so a non-root user cannot bind ports below 1024"
        ));
    } else if profile.needs_unprivileged_ports() {
        let sysctls = context.sequence_at("sysctls");
        sysctls.retain(|sysctl| {
            sysctl.get("name").and_then(Node::as_str) != Some(UNPRIVILEGED_PORT_SYSCTL)
        });
        sysctls.push(Node::Mapping(vec![
            ("name".into(), Node::String(UNPRIVILEGED_PORT_SYSCTL.into())),
            ("value".into(), Node::String("0".into())),
        ]));
    }
}

/// Warns about pod-level fields that break the "restricted" Pod Security
/// Standard for every container of the pod, including those not patched.
fn check_pod_fields(pod_spec: &Node, patched: &str, warnings: &mut Vec<String>) {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod_spec.get(field) == Some(&Node::Bool(true)) {
            warnings.push(format!(
                "the pod sets `{field}: true`, which breaks the baseline and restricted Pod Security Standards"
            ));
        }
    }
    let others: Vec<&str> = match pod_spec.get("containers") {
        Some(Node::Sequence(containers)) => containers
            .iter()
            .filter_map(|container| container.get("name").and_then(Node::as_str))
            .filter(|name| *name != patched)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Node::Sequence(volumes)) = pod_spec.get("volumes") {
        for volume in volumes {
            if let Some(host_path) = volume.get("hostPath") {
                let name = volume.get("name").and_then(Node::as_str).unwrap_or("?");
                let node_path = host_path.get("path").and_then(Node::as_str).unwrap_or("?");
                warnings.push(format!(
                    "volume {name} is a hostPath (node path {node_path}), which breaks the baseline and restricted Pod Security Standards; replace it with an emptyDir or a PersistentVolumeClaim"
                ));
            }
        }
    }
    if let Some(Node::Sequence(containers)) = pod_spec.get("containers") {
        for container in containers {
            let name = container.get("name").and_then(Node::as_str).unwrap_or("?");
            if name == patched {
                continue;
            }
            let Some(context) = container.get("securityContext") else {
                continue;
            };
            if context.get("privileged") == Some(&Node::Bool(true)) {
                warnings.push(format!(
                    "container {name} is not patched and sets `privileged: true`, which breaks the baseline and restricted Pod Security Standards"
                ));
            }
            let added: Vec<String> = added_capabilities(context)
                .into_iter()
                .filter(|capability| capability != "NET_BIND_SERVICE")
                .collect();
            if !added.is_empty() {
                warnings.push(format!(
                    "container {name} is not patched and adds capabilities {}, which the restricted Pod Security Standard does not allow",
                    added.join(", ")
                ));
            }
        }
    }
    let context = pod_spec.get("securityContext");
    let field = |key: &str| context.and_then(|context| context.get(key));
    let others_text = if others.is_empty() {
        String::new()
    } else {
        format!(
            " and applies to the other containers ({}) unless they set their own",
            others.join(", ")
        )
    };
    if field("runAsUser") == Some(&Node::Integer(0)) {
        warnings.push(format!(
            "the pod's securityContext sets `runAsUser: 0`, which breaks the restricted Pod Security Standard{others_text}"
        ));
    }
    if field("runAsNonRoot") == Some(&Node::Bool(false)) {
        warnings.push(format!(
            "the pod's securityContext sets `runAsNonRoot: false`, which breaks the restricted Pod Security Standard{others_text}"
        ));
    }
}

/// Returns a mountPath as the profile writes paths: no trailing slash, no
/// empty or `.` components, so `/tmp/` and `/tmp/./` match `/tmp`.
fn clean_mount_path(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Returns the capability names in a container securityContext's
/// `capabilities.add`, without a `CAP_` prefix, in their order.
fn added_capabilities(context: &Node) -> Vec<String> {
    let Some(Node::Sequence(items)) = context.get("capabilities").and_then(|caps| caps.get("add"))
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for item in items {
        if let Some(name) = item.as_str() {
            let name = name.trim_start_matches("CAP_").to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Applies the profile to one container. A `volumeMount` that the
/// manifest already has at a profile path is kept, with a warning, and
/// the path is returned so that no volume is added for it.
fn patch_container(
    container: &mut Node,
    profile: &Profile,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let name = container
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or("the container")
        .to_string();
    let wanted = Node::from_value(&security_context(profile));
    let context = container.mapping_at("securityContext");
    if context.get("privileged") == Some(&Node::Bool(true)) {
        warnings.push(format!(
            "container {name}: `privileged: true` is removed, because Kubernetes rejects it together with `allowPrivilegeEscalation: false`"
        ));
    }
    if let Node::Mapping(entries) = context {
        entries.retain(|(key, value)| key != "privileged" || *value != Node::Bool(true));
    }
    let added = added_capabilities(context);
    if let Node::Mapping(entries) = wanted {
        for (key, value) in entries {
            context.set(&key, value);
        }
    }
    // The restricted Pod Security Standard lets a container add back only
    // NET_BIND_SERVICE after dropping ALL, so any other added capability goes.
    let (kept, removed): (Vec<String>, Vec<String>) = added
        .into_iter()
        .partition(|capability| capability == "NET_BIND_SERVICE");
    if !removed.is_empty() {
        warnings.push(format!(
            "container {name}: capabilities.add {} removed, because the restricted Pod Security Standard allows adding only NET_BIND_SERVICE; if the app needs them, run it without the restricted profile and add them back by hand",
            removed.join(", ")
        ));
    }
    if !kept.is_empty() {
        context.mapping_at("capabilities").set(
            "add",
            Node::Sequence(kept.into_iter().map(Node::String).collect()),
        );
    }
    if profile.user.is_none() {
        // An unresolved user has no numbers; drop stale ones rather than
        // keep numbers that no longer match the image.
        if let Node::Mapping(entries) = context {
            entries.retain(|(key, _)| key != "runAsUser" && key != "runAsGroup");
        }
    }
    let mounts = container.sequence_at("volumeMounts");
    // A mount of our own volume name is from an earlier patch and is
    // replaced; any other mount at a profile path is the user's.
    mounts.retain(|mount| {
        let mount_name = mount.get("name").and_then(Node::as_str).unwrap_or_default();
        !profile
            .paths
            .iter()
            .any(|wanted| volume_name(&wanted.path) == mount_name)
    });
    let mut kept_paths = Vec::new();
    for mount in mounts.iter() {
        let written = mount
            .get("mountPath")
            .and_then(Node::as_str)
            .unwrap_or_default();
        let path = clean_mount_path(written);
        if profile.paths.iter().any(|wanted| wanted.path == path) {
            let mount_name = mount.get("name").and_then(Node::as_str).unwrap_or_default();
            let read_only = if mount.get("readOnly") == Some(&Node::Bool(true)) {
                ", but it is `readOnly: true` where the profile needs the path writable, so the app cannot write there; remove `readOnly` or the mount"
            } else {
                ""
            };
            warnings.push(format!(
                "container {name}: keeping the existing volumeMount `{mount_name}` at {written} instead of the profile's emptyDir{read_only}"
            ));
            kept_paths.push(path);
        }
    }
    mounts.extend(
        profile
            .paths
            .iter()
            .filter(|path| !kept_paths.contains(&path.path))
            .map(|path| Node::from_value(&mount(path))),
    );
    kept_paths
}

fn patch_volumes(pod_spec: &mut Node, profile: &Profile, kept_paths: &[String], image: &str) {
    let names: Vec<String> = profile
        .paths
        .iter()
        .map(|path| volume_name(&path.path))
        .collect();
    let volumes = pod_spec.sequence_at("volumes");
    volumes.retain(|volume| {
        let name = volume
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or_default();
        !names.iter().any(|wanted| wanted == name)
    });
    volumes.extend(
        profile
            .paths
            .iter()
            .filter(|path| !kept_paths.contains(&path.path))
            .map(|path| Node::from_value(&volume(path, image))),
    );
}

/// Writes a standalone Pod that runs the image under the profile.
pub fn kubernetes_pod(
    profile: &Profile,
    options: &KubernetesOptions,
) -> Result<String, RuntimeError> {
    let container_name = options.container.clone().unwrap_or_else(|| "app".into());
    let mut container = Node::Mapping(vec![
        ("name".into(), Node::String(container_name)),
        ("image".into(), Node::String(options.image.clone())),
    ]);
    // A new pod has no mounts or pod fields of its own to warn about.
    let mut warnings = Vec::new();
    let kept_paths = patch_container(&mut container, profile, &mut warnings);
    let mut pod_spec = Node::Mapping(vec![("containers".into(), Node::Sequence(vec![container]))]);
    patch_volumes(&mut pod_spec, profile, &kept_paths, &options.image);
    patch_pod_security(&mut pod_spec, profile, &mut warnings);
    let pod = Node::Mapping(vec![
        ("apiVersion".into(), Node::String("v1".into())),
        ("kind".into(), Node::String("Pod".into())),
        (
            "metadata".into(),
            Node::Mapping(vec![("name".into(), Node::String(options.pod.clone()))]),
        ),
        ("spec".into(), pod_spec),
    ]);
    Ok(header_comment(profile, &options.image) + &to_yaml(&pod)?)
}

/// Returns the keys that lead to the pod spec of a workload kind.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(&["spec", "template", "spec"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// A patched manifest and what the patch could not make "restricted".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchOutput {
    pub yaml: String,
    /// One line per field kept, removed or left as it breaks the standard.
    pub warnings: Vec<String>,
}

/// Applies the profile to every Pod, Deployment, StatefulSet, DaemonSet,
/// ReplicaSet, Job or CronJob in a manifest file, the items of a List
/// included, and returns the file written again. Documents of other kinds
/// are kept as they are.
///
/// `image` names the image, from which the claims of image volumes are
/// named.
pub fn kubernetes_patch(
    profile: &Profile,
    file: &Path,
    container: Option<&str>,
    image: &str,
) -> Result<PatchOutput, RuntimeError> {
    let text = std::fs::read_to_string(file).map_err(|source| RuntimeError::PatchRead {
        path: file.into(),
        source,
    })?;
    let mut documents: Vec<Node> =
        serde_saphyr::from_multiple(&text).map_err(|source| RuntimeError::PatchParse {
            path: file.into(),
            source,
        })?;
    let unsupported = |reason: String| RuntimeError::PatchUnsupported {
        path: file.into(),
        reason,
    };
    let mut patched = 0;
    let mut warnings = Vec::new();
    for document in &mut documents {
        // `kubectl get -o yaml` writes several objects as a List.
        let is_list = document.get("kind").and_then(Node::as_str) == Some("List");
        let objects: Vec<&mut Node> = match document.get_mut("items") {
            Some(Node::Sequence(items)) if is_list => items.iter_mut().collect(),
            _ => vec![document],
        };
        for object in objects {
            let kind = object
                .get("kind")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_string();
            let Some(path) = pod_spec_path(&kind) else {
                continue;
            };
            let mut pod_spec = &mut *object;
            for key in path {
                pod_spec = pod_spec.get_mut(key).ok_or_else(|| {
                    unsupported(format!("the {kind} has no `{}`", path.join(".")))
                })?;
            }
            patch_pod_spec(pod_spec, profile, container, image, &mut warnings)
                .map_err(|reason| unsupported(format!("{kind}: {reason}")))?;
            patched += 1;
        }
    }
    if patched == 0 {
        return Err(unsupported(
            "no Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob in it".into(),
        ));
    }
    let mut output = header_comment(profile, image);
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            output.push_str("---\n");
        }
        output.push_str(&to_yaml(document)?);
    }
    Ok(PatchOutput {
        yaml: output,
        warnings,
    })
}

fn patch_pod_spec(
    pod_spec: &mut Node,
    profile: &Profile,
    container: Option<&str>,
    image: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let containers = match pod_spec.get_mut("containers") {
        Some(Node::Sequence(containers)) if !containers.is_empty() => containers,
        _ => return Err("the pod spec has no containers".into()),
    };
    let index = match container {
        Some(name) => containers
            .iter()
            .position(|candidate| candidate.get("name").and_then(Node::as_str) == Some(name))
            .ok_or_else(|| format!("no container named `{name}`"))?,
        None if containers.len() == 1 => 0,
        None => {
            let names: Vec<&str> = containers
                .iter()
                .filter_map(|candidate| candidate.get("name").and_then(Node::as_str))
                .collect();
            return Err(format!(
                "it has {} containers ({}); choose one with --container",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let kept_paths = patch_container(&mut containers[index], profile, warnings);
    let patched = containers[index]
        .get("name")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    patch_volumes(pod_spec, profile, &kept_paths, image);
    patch_pod_security(pod_spec, profile, warnings);
    check_pod_fields(pod_spec, &patched, warnings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaned_paths_get_distinct_names() {
        let paths = ["/a/b-c", "/a-b/c", "/a_b/c", "/A/B/c", "/a/b/c"];
        let names: Vec<String> = paths.iter().map(|path| volume_name(path)).collect();
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), paths.len(), "{names:?}");
        assert_eq!(names[4], "hardfs-a-b-c");
        for name in &names[..4] {
            assert!(name.starts_with("hardfs-a-b-c-"), "{name}");
            assert_eq!(name.len(), "hardfs-a-b-c-".len() + 8, "{name}");
        }
        let sources: std::collections::BTreeSet<String> = paths
            .iter()
            .map(|path| crate::render::volume_source("myapp", path))
            .collect();
        assert_eq!(sources.len(), paths.len());
    }

    #[test]
    fn volume_names_are_labels() {
        assert_eq!(volume_name("/var/lib/nginx"), "hardfs-var-lib-nginx");
        assert_eq!(volume_name("/tmp"), "hardfs-tmp");
        assert!(volume_name("/a_b/C.d").starts_with("hardfs-a-b-c-d-"));
        let long = volume_name(&format!("/{}", "x".repeat(100)));
        assert_eq!(long.len(), 63);
        assert_ne!(long, volume_name(&format!("/{}", "x".repeat(101))));
    }

    #[test]
    fn node_keeps_key_order() {
        let node: Node =
            serde_saphyr::from_str("b: 1\na: [x, 2, true, null]\nc: {z: 1.5}\n").unwrap();
        let Node::Mapping(entries) = &node else {
            panic!("{node:?}")
        };
        let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        let again: Node = serde_saphyr::from_str(&to_yaml(&node).unwrap()).unwrap();
        assert_eq!(again, node);
    }

    use crate::{Owner, Reason, RunUser};

    fn sample_profile() -> Profile {
        Profile {
            user: Some(RunUser {
                uid: 100,
                gid: 102,
                groups: vec![101],
                name: Some("postgres".into()),
                configured: Some("postgres".into()),
            }),
            paths: vec![
                WritablePath {
                    path: "/run".into(),
                    reasons: vec![Reason::Runtime],
                    mount: crate::MountKind::Tmpfs,
                    size: 16 << 20,
                    mode: 0o755,
                    owner: Owner::User,
                    image_content: false,
                },
                WritablePath {
                    path: "/tmp".into(),
                    reasons: vec![Reason::Temporary],
                    mount: crate::MountKind::Tmpfs,
                    size: 64 << 20,
                    mode: 0o1777,
                    owner: Owner::Shared,
                    image_content: false,
                },
            ],
            privileged_ports: vec![80],
            warnings: Vec::new(),
        }
    }

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  labels:
    app: db
spec:
  replicas: 3
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      serviceAccountName: db
      containers:
        - name: db
          image: example/db:15
          env:
            - name: MODE
              value: \"yes\"
          securityContext:
            privileged: false
          volumeMounts:
            - name: data
              mountPath: /var/lib/db
            - name: old-tmp
              mountPath: /tmp
        - name: sidecar
          image: example/sidecar:1
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: db-data
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  ports:
    - port: 5432
";

    fn patch(text: &str, container: Option<&str>) -> Result<String, RuntimeError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        kubernetes_patch(&sample_profile(), file.path(), container, "db:1")
            .map(|output| output.yaml)
    }

    #[test]
    fn patch_changes_only_profile_fields() {
        let patched = patch(DEPLOYMENT, Some("db")).unwrap();
        let before: Vec<serde_json::Value> = serde_saphyr::from_multiple(DEPLOYMENT).unwrap();
        let after: Vec<serde_json::Value> = serde_saphyr::from_multiple(&patched).unwrap();
        assert_eq!(after.len(), 2);
        assert_eq!(after[1], before[1], "the Service is unchanged");

        let pod = &after[0]["spec"]["template"]["spec"];
        let db = &pod["containers"][0];
        assert_eq!(
            db["securityContext"]["privileged"], false,
            "existing keys stay"
        );
        assert_eq!(db["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(db["securityContext"]["runAsNonRoot"], true);
        assert_eq!(db["securityContext"]["runAsUser"], 100);
        assert_eq!(db["securityContext"]["runAsGroup"], 102);
        assert_eq!(db["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(db["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(
            db["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let mounts: Vec<(&str, &str)> = db["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|mount| {
                (
                    mount["name"].as_str().unwrap(),
                    mount["mountPath"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            mounts,
            [
                ("data", "/var/lib/db"),
                ("old-tmp", "/tmp"),
                ("hardfs-run", "/run"),
            ]
        );
        assert_eq!(
            pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "db-data"
        );
        assert_eq!(pod["volumes"][1]["emptyDir"]["medium"], "Memory");
        assert_eq!(pod["volumes"][1]["emptyDir"]["sizeLimit"], "16Mi");
        assert_eq!(
            pod["volumes"].as_array().unwrap().len(),
            2,
            "{}",
            pod["volumes"]
        );
        assert_eq!(pod["securityContext"]["fsGroup"], 102);
        assert_eq!(pod["securityContext"]["supplementalGroups"][0], 101);
        assert_eq!(
            pod["securityContext"]["sysctls"][0]["name"],
            UNPRIVILEGED_PORT_SYSCTL
        );

        // Everything outside the patched fields is as it was.
        let strip = |mut document: serde_json::Value| {
            let pod = document["spec"]["template"]["spec"]
                .as_object_mut()
                .unwrap();
            pod.remove("volumes");
            pod.remove("securityContext");
            let db = pod["containers"][0].as_object_mut().unwrap();
            db.remove("securityContext");
            db.remove("volumeMounts");
            document
        };
        assert_eq!(strip(after[0].clone()), strip(before[0].clone()));
        assert_eq!(
            after[0]["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "yes"
        );
        assert_eq!(
            after[0]["spec"]["template"]["spec"]["containers"][1],
            before[0]["spec"]["template"]["spec"]["containers"][1]
        );
    }

    const UNSAFE_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      hostNetwork: true
      securityContext:
        runAsUser: 0
      containers:
        - name: web
          image: example/web:1
          securityContext:
            privileged: true
          volumeMounts:
            - name: old
              mountPath: /run
        - name: sidecar
          image: example/sidecar:1
      volumes:
        - name: old
          hostPath:
            path: /srv/run
";

    fn patch_output(text: &str) -> PatchOutput {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        kubernetes_patch(&sample_profile(), file.path(), Some("web"), "db:1").unwrap()
    }

    #[test]
    fn patch_removes_privileged_with_warning() {
        let output = patch_output(UNSAFE_DEPLOYMENT);
        let after: serde_json::Value = serde_saphyr::from_str(&output.yaml).unwrap();
        let web = &after["spec"]["template"]["spec"]["containers"][0];
        assert!(web["securityContext"]["privileged"].is_null(), "{web}");
        assert_eq!(web["securityContext"]["allowPrivilegeEscalation"], false);
        assert!(
            output
                .warnings
                .iter()
                .any(|warning| warning.contains("`privileged: true` is removed")),
            "{:?}",
            output.warnings
        );
    }

    #[test]
    fn patch_reads_lists_and_host_paths() {
        let manifest = "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: db
    spec:
      containers:
        - name: web
          image: db:1
          volumeMounts:
            - {name: scratch, mountPath: /run/}
        - name: sidecar
          image: tool:1
          securityContext:
            privileged: true
            capabilities:
              add: [CAP_SYS_PTRACE, NET_BIND_SERVICE]
      volumes:
        - {name: scratch, hostPath: {path: /srv}}
";
        let output = patch_output(manifest);
        let after: serde_json::Value = serde_saphyr::from_str(&output.yaml).unwrap();
        let pod = &after["items"][0]["spec"];
        let mounts: Vec<&str> = pod["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|mount| mount["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(
            mounts
                .iter()
                .filter(|path| path.starts_with("/run"))
                .count(),
            1,
            "{mounts:?}"
        );
        assert_eq!(
            pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
            true
        );
        assert_eq!(
            output.warnings,
            vec![
                "container web: keeping the existing volumeMount `scratch` at /run/ instead of the profile's emptyDir",
                "volume scratch is a hostPath (node path /srv), which breaks the baseline and restricted Pod Security Standards; replace it with an emptyDir or a PersistentVolumeClaim",
                "container sidecar is not patched and sets `privileged: true`, which breaks the baseline and restricted Pod Security Standards",
                "container sidecar is not patched and adds capabilities SYS_PTRACE, which the restricted Pod Security Standard does not allow",
            ]
        );
    }

    #[test]
    fn patch_says_a_kept_mount_is_read_only() {
        let manifest = "\
apiVersion: v1
kind: Pod
metadata:
  name: db
spec:
  containers:
    - name: web
      image: db:1
      volumeMounts:
        - {name: state, mountPath: /run, readOnly: true}
  volumes:
    - {name: state, emptyDir: {}}
";
        let output = patch_output(manifest);
        assert_eq!(
            output.warnings,
            vec!["container web: keeping the existing volumeMount `state` at /run instead of the profile's emptyDir, but it is `readOnly: true` where the profile needs the path writable, so the app cannot write there; remove `readOnly` or the mount"]
        );
    }

    #[test]
    fn mount_paths_are_cleaned() {
        assert_eq!(clean_mount_path("/tmp/"), "/tmp");
        assert_eq!(clean_mount_path("//var/./lib//nginx/"), "/var/lib/nginx");
        assert_eq!(clean_mount_path("/"), "/");
    }

    #[test]
    fn patch_keeps_only_net_bind_service() {
        let manifest = "\
apiVersion: v1
kind: Pod
metadata:
  name: db
spec:
  containers:
    - name: web
      image: db:1
      securityContext:
        capabilities:
          add: [NET_BIND_SERVICE, CAP_SYS_ADMIN, NET_RAW]
          drop: [MKNOD]
";
        let output = patch_output(manifest);
        let after: serde_json::Value = serde_saphyr::from_str(&output.yaml).unwrap();
        let capabilities = &after["spec"]["containers"][0]["securityContext"]["capabilities"];
        assert_eq!(capabilities["drop"], serde_json::json!(["ALL"]));
        assert_eq!(capabilities["add"], serde_json::json!(["NET_BIND_SERVICE"]));
        assert_eq!(
            output.warnings,
            vec!["container web: capabilities.add SYS_ADMIN, NET_RAW removed, because the restricted Pod Security Standard allows adding only NET_BIND_SERVICE; if the app needs them, run it without the restricted profile and add them back by hand"]
        );
    }

    #[test]
    fn patch_keeps_existing_mount_with_warning() {
        let output = patch_output(UNSAFE_DEPLOYMENT);
        let after: serde_json::Value = serde_saphyr::from_str(&output.yaml).unwrap();
        let pod = &after["spec"]["template"]["spec"];
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        let at_run: Vec<&str> = mounts
            .iter()
            .filter(|mount| mount["mountPath"] == "/run")
            .map(|mount| mount["name"].as_str().unwrap())
            .collect();
        assert_eq!(at_run, ["old"]);
        let volumes: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|volume| volume["name"].as_str().unwrap())
            .collect();
        assert_eq!(volumes, ["old", "hardfs-tmp"]);
        assert!(
            output
                .warnings
                .iter()
                .any(|warning| warning.contains("keeping the existing volumeMount `old` at /run")),
            "{:?}",
            output.warnings
        );
    }

    #[test]
    fn patch_warns_about_pod_fields() {
        let output = patch_output(UNSAFE_DEPLOYMENT);
        let after: serde_json::Value = serde_saphyr::from_str(&output.yaml).unwrap();
        let pod = &after["spec"]["template"]["spec"];
        assert!(pod["securityContext"]["sysctls"].is_null(), "{pod}");
        let warned = |text: &str| output.warnings.iter().any(|warning| warning.contains(text));
        assert!(
            warned("`hostNetwork: true`, which Kubernetes does not allow"),
            "{:?}",
            output.warnings
        );
        assert!(
            warned("sets `hostNetwork: true`, which breaks"),
            "{:?}",
            output.warnings
        );
        assert!(warned("`runAsUser: 0`, which breaks the restricted Pod Security Standard and applies to the other containers (sidecar)"), "{:?}", output.warnings);
    }

    #[test]
    fn patch_again_replaces_own_mounts() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), DEPLOYMENT).unwrap();
        let first = kubernetes_patch(&sample_profile(), file.path(), Some("db"), "db:1").unwrap();
        std::fs::write(file.path(), &first.yaml).unwrap();
        let second = kubernetes_patch(&sample_profile(), file.path(), Some("db"), "db:1").unwrap();
        assert_eq!(second.yaml, first.yaml);
        assert!(
            !second
                .warnings
                .iter()
                .any(|warning| warning.contains("hardfs-run")),
            "{:?}",
            second.warnings
        );
    }

    #[test]
    fn patch_keeps_key_order() {
        let patched = patch(DEPLOYMENT, Some("db")).unwrap();
        let keys: Vec<&str> = patched
            .lines()
            .filter(|line| !line.starts_with(' ') && !line.starts_with('-'))
            .collect();
        assert_eq!(
            &keys[..4],
            [
                "apiVersion: apps/v1",
                "kind: Deployment",
                "metadata:",
                "spec:"
            ]
        );
    }

    #[test]
    fn patch_needs_container_choice() {
        let error = patch(DEPLOYMENT, None).unwrap_err().to_string();
        assert!(error.contains("2 containers (db, sidecar)"), "{error}");
        let error = patch(DEPLOYMENT, Some("web")).unwrap_err().to_string();
        assert!(error.contains("no container named `web`"), "{error}");
    }

    #[test]
    fn patch_rejects_manifest_without_workload() {
        let error = patch("apiVersion: v1\nkind: Service\n", None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no Pod, Deployment"), "{error}");
        let error = patch("a: [unclosed\n", None).unwrap_err();
        assert!(matches!(error, RuntimeError::PatchParse { .. }), "{error}");
    }

    #[test]
    fn pod_meets_restricted_fields() {
        let options = KubernetesOptions {
            pod: "web".into(),
            container: None,
            image: "example/web:1".into(),
        };
        let yaml = kubernetes_pod(&sample_profile(), &options).unwrap();
        let pod: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(pod["kind"], "Pod");
        assert_eq!(pod["metadata"]["name"], "web");
        let container = &pod["spec"]["containers"][0];
        assert_eq!(container["name"], "app");
        assert_eq!(container["image"], "example/web:1");
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(container["volumeMounts"].as_array().unwrap().len(), 2);
        assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 2);
    }
}
