//! `hardfs profile`: the writable paths of an image under a read-only
//! root, in the format of each platform.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use hardfs_fs::Tree;
use hardfs_image::{BuildOptions, Image, Platform, Reference};
use hardfs_report::escape;
use hardfs_runtime::render::{self, KubernetesOptions, Target};
use hardfs_runtime::{
    build_profile, format_size, parse_size, EngineKind, LearnedPaths, MountKind, Profile,
    ProfileOptions, RuntimeError,
};

use crate::cli::{ProfileArgs, ProfileFormat, ProfileSettings, VolumeAs};

use super::Hint;

/// An opened image and its merged tree.
pub struct LoadedImage {
    pub reference: Reference,
    pub image: Image,
    pub tree: Tree,
}

/// Opens an image reference and builds its tree.
pub fn load_image(text: &str) -> anyhow::Result<LoadedImage> {
    let reference = Reference::parse(text)?;
    let image = Image::open(&reference, &Platform::host())
        .with_context(|| format!("cannot open image {text}"))?;
    let output = image
        .build_tree(&BuildOptions::default())
        .with_context(|| format!("cannot read the layers of {text}"))?;
    for warning in &output.warnings {
        tracing::warn!("{warning}");
    }
    Ok(LoadedImage {
        reference,
        image,
        tree: output.tree,
    })
}

/// Resolves the shared profile options into library settings.
pub fn profile_options(
    settings: &ProfileSettings,
    learned: Option<&Path>,
) -> anyhow::Result<ProfileOptions> {
    let mut sizes = Vec::new();
    for value in &settings.sizes {
        let (path, size) = value
            .split_once('=')
            .filter(|(path, _)| path.starts_with('/'))
            .ok_or_else(|| RuntimeError::InvalidSizeOverride {
                value: value.clone(),
            })?;
        sizes.push((path.to_string(), parse_size(size)?));
    }
    let learned = learned.map(LearnedPaths::read).transpose()?;
    Ok(ProfileOptions {
        learned,
        user: settings.user.clone(),
        sizes,
        bare: settings.bare,
        volumes_as_tmpfs: settings.volume_as == VolumeAs::Tmpfs,
    })
}

/// Prints each profile warning on stderr as `warning:` lines, with the
/// paths whose image files the `target` platform hides (every path with
/// image files when there is no single target, as for text and JSON).
pub fn print_warnings(profile: &Profile, target: Option<Target>) {
    for warning in &profile.warnings {
        eprintln!("warning: {}", warning.message());
    }
    for line in content_warnings(profile, target) {
        eprintln!("warning: {line}");
    }
}

/// Describes each path whose files in the image the platform's mount
/// hides.
fn content_warnings(profile: &Profile, target: Option<Target>) -> Vec<String> {
    let Some(target) = target else {
        return profile
            .paths
            .iter()
            .filter(|path| path.image_content)
            .map(|path| format!(
                "{} has files in the image; an empty mount hides them unless the engine copies them in (podman does for tmpfs and new volumes, docker for new volumes only, Kubernetes never)",
                path.path
            ))
            .collect();
    };
    let next_step = match target {
        Target::Kubernetes => {
            "copy them into the volume with an initContainer, as docs/profile.md shows"
        }
        Target::Docker => {
            "mount a named volume there, which docker fills from the image, or leave the path out"
        }
        Target::Oci => "bind-mount a directory holding a copy of them, or leave the path out",
        Target::Podman => "leave the path out",
    };
    render::hidden_content(profile, target)
        .into_iter()
        .map(|path| format!(
            "{path} has files in the image that the empty mount there hides, so the process does not see them; {next_step}"
        ))
        .collect()
}

/// Returns the platform that a format targets, if any.
fn format_target(format: ProfileFormat) -> Option<Target> {
    match format {
        ProfileFormat::Text | ProfileFormat::Json => None,
        ProfileFormat::Podman => Some(Target::Podman),
        ProfileFormat::Docker | ProfileFormat::Compose => Some(Target::Docker),
        ProfileFormat::Kubernetes => Some(Target::Kubernetes),
        ProfileFormat::Oci => Some(Target::Oci),
    }
}

pub fn run(args: &ProfileArgs) -> anyhow::Result<u8> {
    if args.patch.is_some() && args.format != ProfileFormat::Kubernetes {
        bail!("--patch works only with --format kubernetes");
    }
    let loaded = load_image(&args.image)?;
    let options = profile_options(&args.settings, args.learned.as_deref())?;
    let profile = build_profile(&loaded.image.config, &loaded.tree, &options);
    print_warnings(&profile, format_target(args.format));
    let image_name = &output_image_name(args, &loaded.image);
    for path in profile
        .paths
        .iter()
        .filter(|path| path.mount == MountKind::Volume)
    {
        match args.format {
            ProfileFormat::Oci => eprintln!(
                "warning: {} is an image volume, and an OCI runtime spec has no named volumes, so the fragment mounts a tmpfs there whose data is lost when the container stops; replace it with a bind mount of a host directory to keep the data",
                path.path
            ),
            ProfileFormat::Kubernetes => eprintln!(
                "warning: {} is an image volume, mounted from the PersistentVolumeClaim `{}`, which must exist before the pod starts; pass --volume-as emptydir to use an emptyDir, whose data is lost with the pod",
                path.path,
                render::volume_source(image_name, &path.path)
            ),
            _ => {}
        }
    }

    let text = render_profile(&profile, args, image_name)?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(0)
}

/// Chooses the image name that the output runs and names volumes after:
/// `--image-name`, else a repository name the image carries (OCI ref name
/// or docker-archive `RepoTags`), else the image ID (the first 12 hex
/// digits of the config digest). The transport and file name are never
/// used, so the volume names stay the same wherever the image file lies.
/// Warns when compose or Kubernetes output, other than a patch, gets no
/// pullable image name.
fn output_image_name(args: &ProfileArgs, image: &Image) -> String {
    if let Some(name) = &args.image_name {
        return name.clone();
    }
    if let Some(name) = repository_name(&image.names) {
        return name.to_string();
    }
    let id = image
        .config_digest
        .strip_prefix("sha256:")
        .map(|hex| hex.chars().take(12).collect::<String>())
        .filter(|id| !id.is_empty());
    let name = id.clone().unwrap_or_else(|| args.image.clone());
    // podman and docker run a loaded image by its ID, but compose and
    // Kubernetes nodes pull the image by name. A --patch keeps the
    // manifest's own `image:` fields, so it needs no pullable name.
    let warn = args.patch.is_none()
        && matches!(
            (&id, args.format),
            (_, ProfileFormat::Compose | ProfileFormat::Kubernetes)
                | (None, ProfileFormat::Podman | ProfileFormat::Docker)
        );
    if warn {
        let consequence = match id {
            Some(_) => format!("the output names it by its image ID `{name}`, which works only where the image is loaded"),
            None => format!("the output names it `{}`, which no engine can pull", escape(&name)),
        };
        eprintln!(
            "warning: {} carries no repository name, so {consequence}; pass --image-name with the name the image is pushed under",
            escape(&args.image)
        );
    }
    name
}

/// Returns the first of an image's own names that is a repository name
/// with a tag or a registry path (`localhost/app:1`, `postgres:16`), not a bare tag
/// such as `latest`.
fn repository_name(names: &[String]) -> Option<&str> {
    names.iter().map(String::as_str).find(|name| {
        (name.contains(':') || name.contains('/'))
            && name.starts_with(|first: char| first.is_ascii_lowercase() || first.is_ascii_digit())
            && name.chars().all(|character| {
                character.is_ascii_lowercase()
                    || character.is_ascii_digit()
                    || "._-/:@".contains(character)
            })
    })
}

fn render_profile(
    profile: &Profile,
    args: &ProfileArgs,
    image_name: &str,
) -> anyhow::Result<String> {
    let text = match args.format {
        ProfileFormat::Text => text_report(profile, image_name),
        ProfileFormat::Json => {
            let value =
                serde_json::json!({ "version": 1, "image": args.image, "profile": profile });
            serde_json::to_string_pretty(&value)? + "\n"
        }
        ProfileFormat::Podman => {
            render::engine_command(profile, EngineKind::Podman, image_name) + "\n"
        }
        ProfileFormat::Docker => {
            render::engine_command(profile, EngineKind::Docker, image_name) + "\n"
        }
        ProfileFormat::Compose => {
            render::compose_yaml(&render::compose(profile, image_name, &args.name))?
        }
        ProfileFormat::Kubernetes => match &args.patch {
            Some(file) => {
                let output = render::kubernetes_patch(
                    profile,
                    file,
                    args.container.as_deref(),
                    image_name,
                )
                    .context(Hint(
                        "every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob in the file gets this image's profile: keep only the workloads that run the image, and name the container with --container when a pod has several (it must exist in each of them)".into(),
                    ))?;
                for warning in &output.warnings {
                    eprintln!("warning: {warning}");
                }
                output.yaml
            }
            None => render::kubernetes_pod(
                profile,
                &KubernetesOptions {
                    pod: args.name.clone(),
                    container: args.container.clone(),
                    image: image_name.into(),
                },
            )?,
        },
        ProfileFormat::Oci => serde_json::to_string_pretty(&render::oci_fragment(profile))? + "\n",
    };
    Ok(text)
}

fn text_report(profile: &Profile, image_name: &str) -> String {
    let mut out = String::new();
    let user = match &profile.user {
        Some(user) => format!(
            "{}:{}{}",
            user.uid,
            user.gid,
            user.name
                .as_deref()
                .map(|name| format!(" ({name})"))
                .unwrap_or_default()
        ),
        None => "unresolved".into(),
    };
    out.push_str(&format!("user: {user}\n"));
    if profile.paths.is_empty() {
        out.push_str("writable paths: none\n");
    } else {
        out.push_str("writable paths:\n");
    }
    for path in &profile.paths {
        let reasons: Vec<&str> = path
            .reasons
            .iter()
            .map(|reason| reason.describe())
            .collect();
        let mount = match path.mount {
            MountKind::Tmpfs => {
                format!("size={:<5} mode={:04o}", format_size(path.size), path.mode)
            }
            MountKind::Volume => format!("{:<20}", "named volume"),
        };
        out.push_str(&format!(
            "  {:<32} {mount}  {}\n",
            path.path,
            reasons.join(", ")
        ));
    }
    out.push('\n');
    out.push_str(&render::engine_command(
        profile,
        EngineKind::Podman,
        image_name,
    ));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::repository_name;

    #[test]
    fn repository_name_skips_bare_tags() {
        let names = ["latest".to_string(), "localhost/tester/t3app:1".to_string()];
        assert_eq!(repository_name(&names), Some("localhost/tester/t3app:1"));
        assert_eq!(repository_name(&["1".to_string()]), None);
        assert_eq!(repository_name(&["Bad Name:1".to_string()]), None);
        assert_eq!(
            repository_name(&["postgres:16".to_string()]),
            Some("postgres:16")
        );
    }
}
