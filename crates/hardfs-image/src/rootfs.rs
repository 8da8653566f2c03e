//! An unpacked root filesystem (`dir:PATH`), read with lstat and xattrs.
//! No symlink is ever followed: links are recorded as they are, and only
//! regular files are opened, with `O_NOFOLLOW`.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hardfs_fs::{Layer, LayerEntry, ReadOptions, Tree};
use hardfs_tar::{EntryType, CAPABILITY_XATTR};

use crate::build::BuildOutput;
use crate::config::ImageConfig;
use crate::{Image, ImageError, Reference, Source};

pub(crate) fn open(reference: &Reference) -> Result<Image, ImageError> {
    let metadata = fs::symlink_metadata(&reference.path).map_err(|source| ImageError::Io {
        path: reference.path.clone(),
        source,
    })?;
    if !metadata.is_dir() {
        return Err(ImageError::UnknownFormat {
            path: reference.path.clone(),
            reason: "`dir:` takes a directory holding an unpacked root filesystem".into(),
        });
    }
    Ok(Image {
        reference: reference.text.clone(),
        transport: reference.transport,
        manifest_digest: None,
        config_digest: String::new(),
        config: ImageConfig::default(),
        config_bytes: Vec::new(),
        manifest_bytes: None,
        layers: Vec::new(),
        names: Vec::new(),
        warnings: Vec::new(),
        source: Source::RootDirectory(reference.path.clone()),
    })
}

pub(crate) fn build(root: &Path, options: &ReadOptions) -> Result<BuildOutput, ImageError> {
    let mut layer = Layer::default();
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, relative)) = stack.pop() {
        let io_error = |source| ImageError::Io {
            path: dir.clone(),
            source,
        };
        let mut children: Vec<_> = fs::read_dir(&dir)
            .map_err(io_error)?
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        children.sort_by_key(|child| child.file_name());
        for child in children {
            let path = child.path();
            let name =
                std::os::unix::ffi::OsStrExt::as_bytes(child.file_name().as_os_str()).to_vec();
            let child_relative = if relative.is_empty() {
                name
            } else {
                [&relative[..], b"/", &name[..]].concat()
            };
            let entry = read_entry(&path, &child_relative, options)?;
            if entry.entry_type == EntryType::Directory {
                stack.push((path, child_relative));
            }
            layer.entries.push(entry);
        }
    }
    let root_metadata = fs::symlink_metadata(root).map_err(|source| ImageError::Io {
        path: root.into(),
        source,
    })?;
    layer.entries.insert(
        0,
        LayerEntry {
            path: Box::default(),
            entry_type: EntryType::Directory,
            mode: root_metadata.mode() & 0o7777,
            uid: u64::from(root_metadata.uid()),
            gid: u64::from(root_metadata.gid()),
            size: 0,
            link: None,
            xattrs: Vec::new(),
            device: (0, 0),
            offset: 0,
            content: None,
        },
    );
    let entries = layer.entries.len() as u64;
    let mut tree = Tree::new();
    tree.apply_layer(0, layer)
        .map_err(|source| ImageError::Layer {
            what: format!("directory `{}`", root.display()),
            source,
        })?;
    Ok(BuildOutput {
        tree,
        layers: Vec::new(),
        compressions: Vec::new(),
        warnings: Vec::new(),
        entries,
    })
}

fn read_entry(
    path: &Path,
    relative: &[u8],
    options: &ReadOptions,
) -> Result<LayerEntry, ImageError> {
    let io_error = |source| ImageError::Io {
        path: path.into(),
        source,
    };
    let metadata = fs::symlink_metadata(path).map_err(io_error)?;
    let file_type = metadata.file_type();
    let (entry_type, link) = if file_type.is_symlink() {
        let target = fs::read_link(path).map_err(io_error)?;
        (
            EntryType::Symlink,
            Some(std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).into()),
        )
    } else if file_type.is_dir() {
        (EntryType::Directory, None)
    } else if file_type.is_char_device() {
        (EntryType::CharDevice, None)
    } else if file_type.is_block_device() {
        (EntryType::BlockDevice, None)
    } else if file_type.is_fifo() || file_type.is_socket() {
        (EntryType::Fifo, None)
    } else {
        (EntryType::Regular, None)
    };
    let mut xattrs = Vec::new();
    if entry_type == EntryType::Regular {
        let mut buffer = [0u8; 64];
        if let Ok(length) = rustix::fs::lgetxattr(path, "security.capability", &mut buffer) {
            xattrs.push((Box::from(CAPABILITY_XATTR), Box::from(&buffer[..length])));
        }
    }
    let wanted = entry_type == EntryType::Regular && options.wants(relative, metadata.len());
    let content = if wanted {
        Some(read_no_follow(path, options.max_capture_size)?.into())
    } else {
        None
    };
    let rdev = metadata.rdev();
    Ok(LayerEntry {
        path: relative.into(),
        entry_type,
        mode: metadata.mode() & 0o7777,
        uid: u64::from(metadata.uid()),
        gid: u64::from(metadata.gid()),
        size: if entry_type == EntryType::Regular {
            metadata.len()
        } else {
            0
        },
        link,
        xattrs,
        device: (rustix::fs::major(rdev), rustix::fs::minor(rdev)),
        offset: 0,
        content,
    })
}

fn read_no_follow(path: &Path, max: u64) -> Result<Vec<u8>, ImageError> {
    let io_error = |source| ImageError::Io {
        path: path.into(),
        source,
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(io_error)?;
    let mut data = Vec::new();
    file.take(max).read_to_end(&mut data).map_err(io_error)?;
    Ok(data)
}
