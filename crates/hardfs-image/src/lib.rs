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
    /// The configuration blob as stored; empty for `dir:`.
    pub config_bytes: Vec<u8>,
    /// The image manifest as stored, where the format has one.
    pub manifest_bytes: Option<Vec<u8>>,
    /// Layers, base first.
    pub layers: Vec<LayerInfo>,
    /// The names the image carries: the `org.opencontainers.image.ref.name`
    /// of its OCI manifest, or the `RepoTags` of a docker-archive image.
    pub names: Vec<String>,
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

    /// Opens the raw blob of layer `index` (compressed as stored) for
    /// streaming, with its size in bytes. The digest is not checked here.
    pub fn open_layer_blob(
        &self,
        index: usize,
    ) -> Result<(Box<dyn std::io::Read + Send>, u64), ImageError> {
        let Source::Layers(store) = &self.source else {
            return Err(ImageError::Invalid {
                what: self.reference.clone(),
                reason: "a root directory has no layer blobs".into(),
            });
        };
        let layer = self.layers.get(index).ok_or_else(|| ImageError::Invalid {
            what: self.reference.clone(),
            reason: format!("it has no layer {index}"),
        })?;
        store.open(&layer.blob)
    }
}
