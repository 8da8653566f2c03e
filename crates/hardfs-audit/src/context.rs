//! What the rules read: the merged tree, the configuration and the layers.

use hardfs_fs::Tree;
use hardfs_image::ImageConfig;
use hardfs_rules::Location;

use crate::user::{resolve_user, ResolvedUser, UserError};

/// A layer as the rules cite it.
#[derive(Clone, Debug, Default)]
pub struct LayerRef {
    pub digest: String,
    pub created_by: Option<String>,
}

/// Everything the image rules need.
pub struct AuditInput<'a> {
    pub tree: &'a Tree,
    pub config: &'a ImageConfig,
    /// Layers, base first; empty for a root directory.
    pub layers: Vec<LayerRef>,
    /// Problems found while reading that did not stop it.
    pub warnings: &'a [String],
    /// The runtime user, resolved once.
    pub user: Result<ResolvedUser, UserError>,
}

impl<'a> AuditInput<'a> {
    pub fn new(
        tree: &'a Tree,
        config: &'a ImageConfig,
        layers: Vec<LayerRef>,
        warnings: &'a [String],
    ) -> Self {
        let user = resolve_user(config.user.as_deref(), tree);
        AuditInput {
            tree,
            config,
            layers,
            warnings,
            user,
        }
    }

    /// Location of a path changed last by `layer`.
    pub(crate) fn path_location(&self, display: String, layer: usize) -> Location {
        let layer_ref = self.layers.get(layer).cloned().unwrap_or_default();
        Location::ImagePath {
            path: display,
            layer_index: layer,
            layer_digest: layer_ref.digest,
            created_by: layer_ref.created_by,
        }
    }
}
