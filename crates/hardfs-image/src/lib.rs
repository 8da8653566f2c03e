//! Reading container images without a daemon.
//!
//! A [`Reference`] names an image in one of skopeo's transport spellings
//! (`docker-archive:`, `oci:`, `oci-archive:`, `dir:`) or as a bare path
//! whose format is detected. [`Image::open`] reads and verifies its
//! manifest and configuration; [`Image::build_tree`] reads every layer,
//! decompressing them in parallel and checking each blob's digest and each
//! DiffID, and applies them in order to a [`hardfs_fs::Tree`].

mod build;
mod config;
mod digest;
mod docker_archive;
mod error;
mod oci;
mod reference;
mod rootfs;
mod store;

pub use build::{BuildOptions, BuildOutput, Progress};
pub use config::{ImageConfig, LayerInfo};
pub use error::ImageError;
pub use oci::Platform;
pub use reference::{Reference, Selector, Transport};

use store::Store;

/// An opened image: verified manifest and configuration, and where its
/// layers are.
pub struct Image {
    /// The reference as the user gave it.
    pub reference: String,
    pub transport: Transport,
    /// Digest of the image manifest, where the format has one.
    pub manifest_digest: Option<String>,
    /// Digest of the configuration blob (`sha256:…`); empty for `dir:`.
    pub config_digest: String,
    pub config: ImageConfig,
    /// Layers, base first.
    pub layers: Vec<LayerInfo>,
    /// Problems that did not stop reading, such as a media type that does
    /// not match the blob's compression.
    pub warnings: Vec<String>,
    pub(crate) source: Source,
}

pub(crate) enum Source {
    Layers(Box<dyn Store>),
    RootDirectory(std::path::PathBuf),
}

impl Image {
    /// Opens an image and verifies its manifest and configuration.
    pub fn open(reference: &Reference, platform: &Platform) -> Result<Image, ImageError> {
        match reference.transport {
            Transport::DockerArchive => docker_archive::open(reference),
            Transport::Oci | Transport::OciArchive => oci::open(reference, platform),
            Transport::Dir => rootfs::open(reference),
        }
    }
}
