//! Errors of profile generation, learned-paths files and container runs.

use std::path::PathBuf;

/// A failure of `hardfs profile`, `learn` or `verify`.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid tmpfs size `{size}`: expected a positive number of bytes with an optional k, m or g suffix")]
    InvalidSize { size: String },

    #[error("invalid size override `{value}`: expected PATH=SIZE, such as /tmp=128m")]
    InvalidSizeOverride { value: String },

    #[error("invalid probe `{probe}`: {reason}")]
    InvalidProbe { probe: String, reason: String },

    #[error("cannot read the learned-paths file {}", path.display())]
    LearnedRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid learned-paths file {}", path.display())]
    LearnedParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("invalid learned-paths file {}: {reason}", path.display())]
    LearnedInvalid { path: PathBuf, reason: String },

    #[error("cannot write the learned-paths file {}", path.display())]
    LearnedWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot read the manifest to patch {}", path.display())]
    PatchRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid YAML in the manifest to patch {}", path.display())]
    PatchParse {
        path: PathBuf,
        #[source]
        source: serde_saphyr::Error,
    },

    #[error("cannot patch {}: {reason}", path.display())]
    PatchUnsupported { path: PathBuf, reason: String },

    #[error("cannot write YAML")]
    YamlWrite {
        #[source]
        source: serde_saphyr::ser::Error,
    },

    #[error("cannot run `{program}`")]
    EngineSpawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{command}` failed with {status}: {stderr}")]
    EngineCommand {
        command: String,
        status: String,
        stderr: String,
    },

    #[error("unexpected output from `{command}`: {reason}")]
    EngineOutput { command: String, reason: String },

    #[error("no container engine can run containers: {details}")]
    NoEngine { details: String },

    #[error("image `{reference}` cannot be run: {reason}")]
    ImageNotRunnable { reference: String, reason: String },

    #[error("cannot find a free port on 127.0.0.1")]
    NoFreePort {
        #[source]
        source: std::io::Error,
    },

    #[error("the container {container} did not start: {reason}")]
    ContainerNotStarted { container: String, reason: String },
}
