//! Profiles of the real test images: the paths, their reasons, the user,
//! and the platform outputs. No containers run here.

use hardfs_fs::Tree;
use hardfs_image::{BuildOptions, Image, ImageConfig, Platform, Reference};
use hardfs_runtime::render::{self, engine_flags};
use hardfs_runtime::{
    build_profile, output_directory, EngineKind, LearnedPath, LearnedPaths, Owner, Profile,
    ProfileOptions, ProfileWarning, Reason,
};

fn open(name: &str) -> (ImageConfig, Tree) {
    let manifest = hardfs_test_images::images_manifest();
    let archive = manifest["images"][name]["exports"]["docker-archive"]
        .as_str()
        .unwrap();
    let reference = Reference::parse(&format!("docker-archive:{archive}")).unwrap();
    let image = Image::open(&reference, &Platform::host()).unwrap();
    let tree = image.build_tree(&BuildOptions::default()).unwrap().tree;
    (image.config, tree)
}

fn paths(profile: &Profile) -> Vec<&str> {
    profile
        .paths
        .iter()
        .map(|path| path.path.as_str())
        .collect()
}

fn find<'a>(profile: &'a Profile, path: &str) -> &'a hardfs_runtime::WritablePath {
    profile
        .paths
        .iter()
        .find(|candidate| candidate.path == path)
        .unwrap_or_else(|| panic!("{path} missing from {:?}", paths(profile)))
}

#[test]
fn nginx_root_is_reported_and_var_run_followed() {
    let (config, tree) = open("nginx");
    let profile = build_profile(&config, &tree, &ProfileOptions::default());
    assert_eq!(paths(&profile), ["/run", "/tmp", "/var/tmp"]);
    let run = find(&profile, "/run");
    assert_eq!(run.reasons, [Reason::Runtime]);
    assert_eq!(run.size, 16 << 20);
    assert_eq!(find(&profile, "/tmp").owner, Owner::Shared);
    assert_eq!(find(&profile, "/tmp").mode, 0o1777);
    assert_eq!(
        profile.warnings,
        [ProfileWarning::RunsAsRoot { configured: None }]
    );
    assert!(profile.runs_as_root());
    assert!(
        !profile.needs_unprivileged_ports(),
        "root binds port 80 itself"
    );
}

#[test]
fn nginx_as_www_data_with_learned_paths() {
    let (config, tree) = open("nginx");
    let learned = LearnedPaths::new(
        "nginx",
        &[],
        vec![
            LearnedPath {
                path: "/var/run".into(),
                writes: Vec::new(),
                denied: Vec::new(),
            },
            LearnedPath {
                path: "/var/lib/nginx".into(),
                writes: Vec::new(),
                denied: Vec::new(),
            },
        ],
    );
    let options = ProfileOptions {
        learned: Some(learned),
        user: Some("www-data".into()),
        sizes: vec![("/var/lib/nginx".into(), 8 << 20)],
        bare: false,
        volumes_as_tmpfs: false,
    };
    let profile = build_profile(&config, &tree, &options);
    assert!(profile.warnings.is_empty(), "{:?}", profile.warnings);
    let user = profile.user.as_ref().unwrap();
    assert_eq!((user.uid, user.gid), (33, 33));
    assert_eq!(
        paths(&profile),
        ["/run", "/tmp", "/var/lib/nginx", "/var/tmp"]
    );
    assert_eq!(
        find(&profile, "/run").reasons,
        [Reason::Runtime, Reason::Learned]
    );
    let nginx = find(&profile, "/var/lib/nginx");
    assert_eq!(nginx.reasons, [Reason::Learned]);
    assert_eq!(nginx.size, 8 << 20);
    assert_eq!(nginx.owner, Owner::User);
    assert!(profile.needs_unprivileged_ports());

    let flags = engine_flags(&profile, EngineKind::Podman, "image");
    assert!(
        flags.contains(&"/var/lib/nginx:rw,nosuid,nodev,noexec,size=8m,mode=0755,U".to_string()),
        "{flags:?}"
    );
    assert!(flags.contains(&"net.ipv4.ip_unprivileged_port_start=0".to_string()));
    let docker = engine_flags(&profile, EngineKind::Docker, "image");
    assert!(
        docker.contains(
            &"/var/lib/nginx:rw,nosuid,nodev,noexec,size=8m,mode=0755,uid=33,gid=33".to_string()
        ),
        "{docker:?}"
    );
    assert!(!docker.contains(&"--read-only-tmpfs=false".to_string()));
}

#[test]
fn appuser_volumes_and_colon_volume() {
    let (config, tree) = open("appuser");
    let profile = build_profile(&config, &tree, &ProfileOptions::default());
    let data = find(&profile, "/app/data");
    assert_eq!(data.reasons, [Reason::Volume, Reason::UserOwned]);
    assert!(!paths(&profile).iter().any(|path| path.contains(':')));
    assert_eq!(
        profile.warnings,
        [ProfileWarning::VolumeWithOptions {
            volume: "/var/log:ro".into()
        }]
    );
}

#[test]
fn unknown_user_sets_no_user() {
    let (config, tree) = open("appuser");
    let options = ProfileOptions {
        user: Some("nosuch".into()),
        ..ProfileOptions::default()
    };
    let profile = build_profile(&config, &tree, &options);
    assert!(profile.user.is_none());
    assert!(profile.warnings.contains(&ProfileWarning::UnknownUser {
        configured: "nosuch".into(),
        name: "nosuch".into()
    }));
    let flags = engine_flags(&profile, EngineKind::Podman, "image");
    assert!(!flags.contains(&"--user".to_string()));
}

#[test]
fn home_and_tmpdir_from_environment() {
    let (mut config, tree) = open("redis");
    config.env.push("HOME=/var/lib/redis/home".into());
    config.env.push("TMPDIR=/scratch".into());
    let profile = build_profile(&config, &tree, &ProfileOptions::default());
    let redis = find(&profile, "/var/lib/redis");
    assert_eq!(redis.reasons, [Reason::Home, Reason::UserOwned]);
    assert_eq!(redis.mode, 0o750);
    assert_eq!(find(&profile, "/scratch").reasons, [Reason::Tmpdir]);
    assert_eq!(find(&profile, "/scratch").mode, 0o755);
}

#[test]
fn bare_profile_has_no_paths() {
    let (config, tree) = open("postgres");
    let options = ProfileOptions {
        bare: true,
        ..ProfileOptions::default()
    };
    let profile = build_profile(&config, &tree, &options);
    assert!(profile.paths.is_empty());
    let flags = engine_flags(&profile, EngineKind::Podman, "image");
    assert!(!flags.contains(&"--tmpfs".to_string()));
    assert!(flags.contains(&"--read-only".to_string()));
    assert!(flags.contains(&"--group-add".to_string()));
}

#[test]
fn oci_fragment_fields() {
    let (config, tree) = open("postgres");
    let profile = build_profile(&config, &tree, &ProfileOptions::default());
    let fragment = render::oci_fragment(&profile);
    assert_eq!(fragment["root"]["readonly"], true);
    assert_eq!(fragment["process"]["noNewPrivileges"], true);
    assert_eq!(fragment["process"]["user"]["uid"], 100);
    assert_eq!(fragment["process"]["user"]["additionalGids"][0], 101);
    let mounts = fragment["mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), profile.paths.len());
    for mount in mounts {
        assert_eq!(mount["type"], "tmpfs");
        let options: Vec<&str> = mount["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|option| option.as_str().unwrap())
            .collect();
        for required in ["nosuid", "nodev", "noexec"] {
            assert!(options.contains(&required), "{mount}");
        }
    }
}

#[test]
fn output_directory_of_real_images() {
    let (config, tree) = open("postgres");
    let process: Vec<String> = config
        .entrypoint
        .iter()
        .chain(&config.cmd)
        .cloned()
        .collect();
    assert_eq!(
        output_directory(&process, config.working_dir.as_deref(), &tree).as_deref(),
        Some("/var/lib/postgresql/15/main")
    );
    let two_directories = [
        "serve".to_string(),
        "/etc".into(),
        "/var/lib/postgresql".into(),
    ];
    assert_eq!(
        output_directory(&two_directories, Some("/srv"), &tree),
        None
    );
    let missing = ["serve".to_string(), "/no/such/directory".into()];
    assert_eq!(
        output_directory(&missing, Some("/srv"), &tree).as_deref(),
        Some("/srv")
    );
    assert_eq!(output_directory(&missing, Some("/"), &tree), None);

    let (config, tree) = open("nginx");
    let process: Vec<String> = config
        .entrypoint
        .iter()
        .chain(&config.cmd)
        .cloned()
        .collect();
    assert_eq!(
        output_directory(&process, config.working_dir.as_deref(), &tree),
        None
    );
}
