//! The learned-paths file that `hardfs learn` writes and `hardfs profile
//! --learned` and `hardfs verify --profile` read.
//!
//! It is JSON:
//!
//! ```json
//! {
//!   "format": "hardfs-learned-paths",
//!   "version": 1,
//!   "image": "oci-archive:nginx.tar",
//!   "command": [],
//!   "paths": [
//!     { "path": "/var/lib/nginx", "writes": ["A /var/lib/nginx/body"] }
//!   ]
//! }
//! ```
//!
//! `paths[].path` is an absolute directory; `writes` lists the changes that
//! led to it as `podman diff` prints them, for the reader. A path that
//! `learn` had to mount because the image's user was denied writing it has
//! a `denied` list with the paths named in the image's output instead.
//! Every other field is informational.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::RuntimeError;

/// Value of the `format` field.
pub const LEARNED_FORMAT: &str = "hardfs-learned-paths";
/// The only `version` this reader accepts.
pub const LEARNED_VERSION: u32 = 1;

/// The directories an image wrote while it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedPaths {
    pub format: String,
    pub version: u32,
    /// The image reference that was run.
    #[serde(default)]
    pub image: String,
    /// The command that was run instead of the image's, if any.
    #[serde(default)]
    pub command: Vec<String>,
    pub paths: Vec<LearnedPath>,
}

/// One directory that needs to be writable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedPath {
    pub path: String,
    /// The changes below it, as `KIND PATH` lines.
    #[serde(default)]
    pub writes: Vec<String>,
    /// Paths that the image's output reported it was denied writing, when
    /// `learn` mounted this directory for a further run because of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<String>,
}

impl LearnedPaths {
    /// Creates the file contents for `image` with the given paths.
    pub fn new(image: &str, command: &[String], paths: Vec<LearnedPath>) -> LearnedPaths {
        LearnedPaths {
            format: LEARNED_FORMAT.into(),
            version: LEARNED_VERSION,
            image: image.into(),
            command: command.to_vec(),
            paths,
        }
    }

    /// Reads and checks a learned-paths file.
    pub fn read(path: &Path) -> Result<LearnedPaths, RuntimeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeError::LearnedRead {
            path: path.into(),
            source,
        })?;
        let learned: LearnedPaths =
            serde_json::from_str(&text).map_err(|source| RuntimeError::LearnedParse {
                path: path.into(),
                source,
            })?;
        learned.validate(path)?;
        Ok(learned)
    }

    /// Writes the file as indented JSON.
    pub fn write(&self, path: &Path) -> Result<(), RuntimeError> {
        let mut text = serde_json::to_string_pretty(self).expect("learned paths serialize");
        text.push('\n');
        std::fs::write(path, text).map_err(|source| RuntimeError::LearnedWrite {
            path: path.into(),
            source,
        })
    }

    fn validate(&self, file: &Path) -> Result<(), RuntimeError> {
        let invalid = |reason: String| RuntimeError::LearnedInvalid {
            path: file.into(),
            reason,
        };
        if self.format != LEARNED_FORMAT {
            return Err(invalid(format!(
                "`format` is `{}`, expected `{LEARNED_FORMAT}`",
                self.format
            )));
        }
        if self.version != LEARNED_VERSION {
            return Err(invalid(format!(
                "`version` is {}, expected {LEARNED_VERSION}",
                self.version
            )));
        }
        for (index, learned) in self.paths.iter().enumerate() {
            let path = &learned.path;
            if !path.starts_with('/') {
                return Err(invalid(format!("paths[{index}] `{path}` is not absolute")));
            }
            if path.trim_matches('/').is_empty() {
                return Err(invalid(format!(
                    "paths[{index}] is `/`, which is never made writable"
                )));
            }
            if path.split('/').any(|part| part == "..") {
                return Err(invalid(format!("paths[{index}] `{path}` contains `..`")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_temp(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn learned_file_round_trips() {
        let learned = LearnedPaths::new(
            "oci:x",
            &[],
            vec![LearnedPath {
                path: "/var/lib/nginx".into(),
                writes: vec!["A /var/lib/nginx/body".into()],
                denied: Vec::new(),
            }],
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        learned.write(file.path()).unwrap();
        assert_eq!(LearnedPaths::read(file.path()).unwrap(), learned);
    }

    #[test]
    fn learned_file_rejects_root_and_relative() {
        for (path, expected) in [
            ("/", "never made writable"),
            ("var/x", "not absolute"),
            ("/a/../b", "`..`"),
        ] {
            let text = format!(
                r#"{{"format":"hardfs-learned-paths","version":1,"paths":[{{"path":"{path}"}}]}}"#
            );
            let file = write_temp(&text);
            let error = LearnedPaths::read(file.path()).unwrap_err().to_string();
            assert!(error.contains(expected), "{path}: {error}");
            assert!(
                error.contains(&file.path().display().to_string()),
                "{error}"
            );
        }
    }

    #[test]
    fn learned_file_rejects_other_versions() {
        let file = write_temp(r#"{"format":"hardfs-learned-paths","version":2,"paths":[]}"#);
        let error = LearnedPaths::read(file.path()).unwrap_err().to_string();
        assert!(error.contains("`version` is 2"), "{error}");
        let file = write_temp(r#"{"format":"other","version":1,"paths":[]}"#);
        let error = LearnedPaths::read(file.path()).unwrap_err().to_string();
        assert!(error.contains("`format` is `other`"), "{error}");
    }

    #[test]
    fn learned_file_reports_bad_json() {
        let file = write_temp("{not json");
        let error = LearnedPaths::read(file.path()).unwrap_err();
        assert!(matches!(error, RuntimeError::LearnedParse { .. }));
        assert!(error
            .to_string()
            .contains(&file.path().display().to_string()));
    }
}
