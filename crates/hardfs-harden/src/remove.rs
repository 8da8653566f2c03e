//! `--remove GLOB` and the removal presets: matching paths of the final
//! view become whiteouts in the layer hardfs adds, and a warning names
//! each entrypoint or command word that needs a removed path.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use hardfs_fs::{normalize, FileKind, Tree};
use hardfs_image::ImageConfig;

use crate::plan::absolute_bytes;
use crate::HardenError;

/// Search path runc uses when the image sets no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Shells, in every directory Debian, Alpine and Red Hat images put them.
const SHELLS: &[&str] =
    &["{bin,usr/bin,usr/local/bin}/{sh,bash,dash,ash,zsh,ksh,mksh,csh,tcsh,fish,rbash,busybox}"];

/// System package managers and their helpers.
const PACKAGE_MANAGERS: &[&str] = &[
    "{bin,usr/bin,sbin,usr/sbin}/{apt,apt-get,apt-cache,apt-config,apt-mark,dpkg,dpkg-deb,dpkg-query,apk,yum,dnf,microdnf,rpm,zypper}",
    "usr/lib/apt",
    "usr/lib/dpkg",
    "var/lib/dpkg",
];

/// Globs of a preset by name: `shells` or `package-managers`.
pub fn preset(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "shells" => Some(SHELLS),
        "package-managers" => Some(PACKAGE_MANAGERS),
        _ => None,
    }
}

/// Paths to remove (the top-most matching path of each subtree), and the
/// globs that matched nothing.
pub(crate) fn matching_paths(
    tree: &Tree,
    globs: &[String],
) -> Result<(Vec<Vec<u8>>, Vec<String>), HardenError> {
    if globs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let set = compile(globs)?;
    let mut matched = vec![false; globs.len()];
    let mut removed: Vec<Vec<u8>> = Vec::new();
    tree.walk(|path, _| {
        if path.is_empty() {
            return;
        }
        let inside_removed = removed
            .last()
            .is_some_and(|top| path.starts_with(top) && path.get(top.len()) == Some(&b'/'));
        if inside_removed {
            return;
        }
        let text = String::from_utf8_lossy(path);
        let matches = set.matches(text.as_ref());
        for &index in &matches {
            matched[index] = true;
        }
        if !matches.is_empty() {
            removed.push(path.to_vec());
        }
    });
    let unmatched = globs
        .iter()
        .zip(matched)
        .filter(|(_, matched)| !matched)
        .map(|(glob, _)| glob.clone())
        .collect();
    Ok((removed, unmatched))
}

fn compile(globs: &[String]) -> Result<GlobSet, HardenError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let pattern = glob.trim_start_matches('/');
        let compiled = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|error| HardenError::InvalidGlob {
                glob: glob.clone(),
                reason: error.kind().to_string(),
            })?;
        builder.add(compiled);
    }
    builder.build().map_err(|error| HardenError::InvalidGlob {
        glob: globs.join(" "),
        reason: error.kind().to_string(),
    })
}

/// Warnings for entrypoint and command words (the program and, for a shell
/// form, the shell) that resolve to a removed path.
pub(crate) fn command_warnings(
    tree: &Tree,
    config: &ImageConfig,
    removed: &[Vec<u8>],
) -> Vec<String> {
    let search = config.env_var("PATH").unwrap_or(DEFAULT_PATH);
    let mut warnings = Vec::new();
    for (field, words) in [("Entrypoint", &config.entrypoint), ("Cmd", &config.cmd)] {
        let Some(program) = words.first() else {
            continue;
        };
        let mut candidates = Vec::new();
        if program.contains('/') {
            candidates.push(program.clone());
        } else {
            candidates.extend(search.split(':').map(|dir| format!("{dir}/{program}")));
        }
        for candidate in candidates {
            let Ok(path) = normalize(candidate.as_bytes()) else {
                continue;
            };
            let Some(file) = tree.lookup_following(&path) else {
                continue;
            };
            if file.inode().kind == FileKind::Directory {
                continue;
            }
            let resolved = file.path();
            let hit = removed.iter().find(|top| {
                [&path[..], &resolved[..]].iter().any(|name| {
                    name.starts_with(top) && (name.len() == top.len() || name[top.len()] == b'/')
                })
            });
            if let Some(top) = hit {
                warnings.push(format!(
                    "config.{field} runs `{program}`, which resolves to {} under the removed {}",
                    absolute_bytes(&resolved),
                    absolute_bytes(top)
                ));
            } else if let Some(interpreter) = file.inode().content().and_then(|c| interpreter(c)) {
                let removed_interpreter = interpreter_paths(tree, &interpreter, search)
                    .into_iter()
                    .find_map(|path| under_removed(&path, removed).map(|top| (path, top)));
                if let Some((path, top)) = removed_interpreter {
                    warnings.push(format!(
                        "config.{field} runs `{program}`, a script for `{interpreter}`, which \
                         resolves to {} under the removed {}",
                        absolute_bytes(&path),
                        absolute_bytes(top)
                    ));
                }
            }
            break;
        }
    }
    warnings
}

/// Reads the interpreter of a script's `#!` line; for `#!/usr/bin/env NAME`
/// that is NAME.
fn interpreter(content: &[u8]) -> Option<String> {
    let line = content.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if first.rsplit('/').next() == Some("env") {
        return words
            .find(|word| !word.starts_with('-'))
            .map(str::to_string);
    }
    Some(first.to_string())
}

/// Finds the paths an interpreter name or path stands for in the image,
/// searching `search` for a bare name: the name itself, with its parent
/// directories resolved, and the file it finally resolves to. Removing
/// either breaks the script.
fn interpreter_paths(tree: &Tree, interpreter: &str, search: &str) -> Vec<Vec<u8>> {
    let candidates: Vec<String> = if interpreter.contains('/') {
        vec![interpreter.to_string()]
    } else {
        search
            .split(':')
            .map(|dir| format!("{dir}/{interpreter}"))
            .collect()
    };
    for candidate in candidates {
        let Ok(path) = normalize(candidate.as_bytes()) else {
            continue;
        };
        if let Some(name) = tree.lookup(&path) {
            let mut paths = vec![name.path()];
            if let Some(target) = tree.lookup_following(&path) {
                paths.push(target.path());
            }
            return paths;
        }
    }
    Vec::new()
}

/// Returns the removed path that `path` is, or lies under.
fn under_removed<'a>(path: &[u8], removed: &'a [Vec<u8>]) -> Option<&'a Vec<u8>> {
    removed
        .iter()
        .find(|top| path.starts_with(top) && (path.len() == top.len() || path[top.len()] == b'/'))
}

/// Builds the whiteout name that hides `path` (`dir/.wh.name`).
pub(crate) fn whiteout_name(path: &[u8]) -> Vec<u8> {
    match path.iter().rposition(|&b| b == b'/') {
        Some(index) => [&path[..=index], b".wh.", &path[index + 1..]].concat(),
        None => [&b".wh."[..], path].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteout_names() {
        assert_eq!(whiteout_name(b"usr/bin/bash"), b"usr/bin/.wh.bash");
        assert_eq!(whiteout_name(b"opt"), b".wh.opt");
    }

    #[test]
    fn presets_compile() {
        for name in ["shells", "package-managers"] {
            let globs: Vec<String> = preset(name)
                .unwrap()
                .iter()
                .map(|g| g.to_string())
                .collect();
            let set = compile(&globs).unwrap();
            assert!(set.is_match("usr/bin/bash") || set.is_match("usr/bin/apt-get"));
        }
        assert!(preset("editors").is_none());
    }

    #[test]
    fn glob_does_not_cross_directories() {
        let set = compile(&["/usr/bin/*sh".to_string()]).unwrap();
        assert!(set.is_match("usr/bin/bash"));
        assert!(!set.is_match("usr/bin/x/bash"));
    }
}
