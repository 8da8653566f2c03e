//! Where an image's files live: a directory (OCI layout) or a tar file
//! (docker-archive, OCI archive) indexed once and read in place.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use hardfs_tar::{EntryType, Reader};

use crate::ImageError;

/// Largest JSON document (manifest, index, config) read into memory.
pub(crate) const MAX_JSON_SIZE: u64 = 64 << 20;

pub(crate) trait Store: Send + Sync {
    /// Describes the container for messages, such as `oci-archive:x.tar`.
    fn describe(&self) -> String;
    fn contains(&self, name: &str) -> bool;
    /// Opens a file for streaming, with its size.
    fn open(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64), ImageError>;

    /// Reads a small file whole.
    fn read(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let (reader, size) = self.open(name)?;
        if size > MAX_JSON_SIZE {
            return Err(ImageError::Invalid {
                what: format!("`{name}` in {}", self.describe()),
                reason: format!(
                    "{size} bytes, more than the {MAX_JSON_SIZE} bytes allowed for metadata"
                ),
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        reader
            .take(size)
            .read_to_end(&mut data)
            .map_err(|source| self.io_error(name, source))?;
        Ok(data)
    }

    fn io_error(&self, name: &str, source: io::Error) -> ImageError {
        ImageError::Io {
            path: PathBuf::from(format!("{}/{name}", self.describe())),
            source,
        }
    }
}

/// Files of a directory.
pub(crate) struct DirStore {
    root: PathBuf,
    label: String,
}

impl DirStore {
    pub fn new(root: &Path, label: String) -> Self {
        DirStore {
            root: root.into(),
            label,
        }
    }
}

impl Store for DirStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn contains(&self, name: &str) -> bool {
        self.root.join(name).is_file()
    }

    fn open(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64), ImageError> {
        let path = self.root.join(name);
        if !path.is_file() {
            return Err(ImageError::MissingFile {
                container: self.describe(),
                name: name.into(),
            });
        }
        let file = File::open(&path).map_err(|source| ImageError::Io {
            path: path.clone(),
            source,
        })?;
        let size = file
            .metadata()
            .map_err(|source| ImageError::Io { path, source })?
            .len();
        Ok((Box::new(file), size))
    }
}

/// Members of a tar file: offset and size of each regular file, with
/// symlinks between members resolved (legacy `docker save` links
/// identical layers to one another).
pub(crate) struct TarStore {
    path: PathBuf,
    label: String,
    members: BTreeMap<String, (u64, u64)>,
}

impl TarStore {
    pub fn open(path: &Path) -> Result<TarStore, ImageError> {
        Self::open_labeled(path, path.display().to_string())
    }

    pub fn open_labeled(path: &Path, label: String) -> Result<TarStore, ImageError> {
        let io_error = |source| ImageError::Io {
            path: path.into(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut reader = Reader::new_seekable(file);
        let mut members = BTreeMap::new();
        let mut links = Vec::new();
        loop {
            let entry = reader.next_entry().map_err(|source| ImageError::Tar {
                what: format!("archive `{}`", path.display()),
                source,
            })?;
            let Some(entry) = entry else { break };
            let name = clean(&String::from_utf8_lossy(&entry.path));
            match entry.entry_type {
                EntryType::Regular => {
                    members.insert(name, (entry.data_offset, entry.size));
                }
                EntryType::Symlink | EntryType::Hardlink => {
                    links.push((
                        name,
                        entry.entry_type,
                        String::from_utf8_lossy(&entry.link_name).into_owned(),
                    ));
                }
                _ => {}
            }
        }
        for (name, entry_type, target) in links {
            let target = if entry_type == EntryType::Symlink {
                let parent = name.rsplit_once('/').map_or("", |(parent, _)| parent);
                clean(&format!("{parent}/{target}"))
            } else {
                clean(&target)
            };
            if let Some(&member) = members.get(&target) {
                members.insert(name, member);
            }
        }
        Ok(TarStore {
            path: path.into(),
            label,
            members,
        })
    }
}

impl Store for TarStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn contains(&self, name: &str) -> bool {
        self.members.contains_key(&clean(name))
    }

    fn open(&self, name: &str) -> Result<(Box<dyn Read + Send>, u64), ImageError> {
        let Some(&(offset, size)) = self.members.get(&clean(name)) else {
            return Err(ImageError::MissingFile {
                container: self.describe(),
                name: name.into(),
            });
        };
        let io_error = |source| ImageError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = File::open(&self.path).map_err(io_error)?;
        file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
        Ok((Box::new(file.take(size)), size))
    }
}

/// Normalizes a member name: no leading `./` or `/`, `..` resolved.
fn clean(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}
