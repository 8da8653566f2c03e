//! Read-only root profiles for container images.
//!
//! [`build_profile`] finds the places an image needs to write under a
//! read-only root: its volumes, the temporary and runtime directories,
//! `HOME` and `TMPDIR`, directories the runtime user owns, and paths
//! learned by running it. [`render`] turns a [`Profile`] into podman or
//! docker flags, a compose service, a Kubernetes Pod or patch, or an OCI
//! runtime-spec fragment. [`learn`] runs an image with a writable root and
//! reduces what it wrote to directories; [`verify`] runs it under a
//! profile and checks that it stays up and passes a [`Probe`]. Both drive
//! containers through the [`Engine`] trait.

mod diff;
mod engine;
mod error;
mod kubernetes;
mod learn;
mod learned;
mod probe;
mod profile;
pub mod render;
mod session;
mod size;

pub use diff::{parse_diff, reduce_changes, Change, ChangeKind};
pub use engine::{
    detect_engine, CliEngine, ContainerState, Engine, EngineKind, ExecOutput, RunSpec,
};
pub use error::RuntimeError;
pub use learn::{learn, LearnOptions, LearnOutcome, MAX_LEARN_RUNS};
pub use learned::{LearnedPath, LearnedPaths, LEARNED_FORMAT, LEARNED_VERSION};
pub use probe::{Probe, ProbeOutcome};
pub use profile::{
    build_profile, MountKind, Owner, Profile, ProfileOptions, ProfileWarning, Reason, RunUser,
    WritablePath,
};
pub use session::{
    cleanup_on_signal, failed_write_paths, is_system_directory, load_engine_image,
    output_directory, verify, wait_if_interrupted, EngineImage, RunOptions, Verdict, VerifyOptions,
    VerifyOutcome, IMAGE_REPOSITORY, RUN_LABEL,
};
pub use size::{format_size, parse_size};
