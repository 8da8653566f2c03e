//! The same real images, exported by skopeo in every format, must give
//! the identical model. The images come from `scripts/build-images.sh`,
//! which `scripts/test.sh` runs before the Rust tests.

use hardfs_fs::{display_path, Tree};
use hardfs_image::{BuildOptions, Image, Platform, Reference};

fn images_manifest() -> serde_json::Value {
    hardfs_test_images::images_manifest()
}

/// Every path with its type, mode, owner, size, link target and xattrs.
fn canonical(tree: &Tree) -> Vec<String> {
    let mut lines = Vec::new();
    tree.walk(|path, file| {
        let inode = file.inode();
        let xattrs: Vec<String> = inode
            .xattrs()
            .iter()
            .map(|(key, value)| format!("{}={:02x?}", display_path(key), value))
            .collect();
        lines.push(format!(
            "/{} {:?} {:o} {}:{} size={} links={} target={} layer={} {}",
            display_path(path),
            inode.kind,
            inode.mode,
            inode.uid,
            inode.gid,
            if inode.kind == hardfs_fs::FileKind::Regular {
                inode.size
            } else {
                0
            },
            inode.link_count(),
            inode.symlink_target().map(display_path).unwrap_or_default(),
            file.layer(),
            xattrs.join(",")
        ));
    });
    lines
}

fn build(reference: &str) -> (Image, Tree) {
    let reference = Reference::parse(reference).unwrap();
    let image = Image::open(&reference, &Platform::host())
        .unwrap_or_else(|error| panic!("{}: {error}", reference.text));
    let output = image
        .build_tree(&BuildOptions::default())
        .unwrap_or_else(|error| panic!("{}: {error:?}", reference.text));
    (image, output.tree)
}

#[test]
fn every_format_gives_identical_model() {
    let manifest = images_manifest();
    let images = manifest["images"].as_object().expect("images object");
    for name in ["nginx", "redis", "postgres", "appuser"] {
        let exports = images[name]["exports"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} missing from images.json"));
        let mut references: Vec<String> = vec![
            format!(
                "docker-archive:{}",
                exports["docker-archive"].as_str().unwrap()
            ),
            format!("oci:{}", exports["oci"].as_str().unwrap()),
            format!("oci-archive:{}", exports["oci-archive"].as_str().unwrap()),
        ];
        if let Some(zstd) = exports.get("oci-zstd") {
            references.push(format!("oci:{}", zstd.as_str().unwrap()));
        }
        let (first_image, first_tree) = build(&references[0]);
        let expected = canonical(&first_tree);
        assert!(
            expected.len() > 1000,
            "{name}: only {} paths",
            expected.len()
        );
        for reference in &references[1..] {
            let (image, tree) = build(reference);
            assert_eq!(
                image.config.diff_ids, first_image.config.diff_ids,
                "{reference}"
            );
            assert_eq!(image.config.user, first_image.config.user, "{reference}");
            assert_eq!(
                image.config.volumes, first_image.config.volumes,
                "{reference}"
            );
            let actual = canonical(&tree);
            let differences: Vec<_> = expected
                .iter()
                .zip(&actual)
                .filter(|(a, b)| a != b)
                .take(5)
                .collect();
            assert!(
                differences.is_empty(),
                "{reference} differs from {}: {differences:#?}",
                references[0]
            );
            assert_eq!(actual.len(), expected.len(), "{reference}");
        }
    }
}
