//! `learn` and `verify` against real podman containers of the test images
//! (nginx-light, redis-server and postgresql from Debian), on 127.0.0.1
//! ports picked free. The images come from `scripts/build-images.sh`,
//! which `scripts/test.sh` runs before the Rust tests.
//!
//! For each image, a bare read-only root fails and names the path, and
//! `learn` finds the directories it writes. The learned profile then passes
//! real probes, and the compose and Kubernetes outputs, parsed back, mount
//! the same paths as the podman flags that passed.

use std::process::Command;

use hardfs_fs::Tree;
use hardfs_image::{BuildOptions, Image, Platform, Reference};
use hardfs_runtime::render::{self, KubernetesOptions};
use hardfs_runtime::{
    build_profile, learn, load_engine_image, output_directory, verify, CliEngine, EngineKind,
    LearnOptions, Probe, Profile, ProfileOptions, RunOptions, Verdict,
};

fn images_manifest() -> serde_json::Value {
    hardfs_test_images::images_manifest()
}

/// podman with the repository's containers.conf unless the environment
/// names another one.
fn podman() -> CliEngine {
    CliEngine::new(EngineKind::Podman)
        .with_env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
}

struct TestImage {
    reference: Reference,
    image: Image,
    tree: Tree,
}

fn open(name: &str) -> TestImage {
    let manifest = images_manifest();
    let path = manifest["images"][name]["exports"]["docker-archive"]
        .as_str()
        .unwrap_or_else(|| panic!("images.json has no docker-archive export of {name}"));
    let reference = Reference::parse(&format!("docker-archive:{path}")).unwrap();
    let image = Image::open(&reference, &Platform::host()).unwrap();
    let tree = image.build_tree(&BuildOptions::default()).unwrap().tree;
    TestImage {
        reference,
        image,
        tree,
    }
}

fn profile(image: &TestImage, options: &ProfileOptions) -> Profile {
    build_profile(&image.image.config, &image.tree, options)
}

fn run_options(engine_image: &str, probes: &[&str], command: &[&str]) -> RunOptions {
    let mut options = RunOptions::new(engine_image);
    options.probes = probes
        .iter()
        .map(|probe| Probe::parse(probe).unwrap())
        .collect();
    options.command = command.iter().map(|word| word.to_string()).collect();
    options.timeout = std::time::Duration::from_secs(40);
    options
}

/// Lists the containers started with `runs` that still exist.
fn leftover_containers(runs: &[&[String]]) -> Vec<String> {
    let names: Vec<&String> = runs
        .iter()
        .filter_map(|arguments| {
            let position = arguments.iter().position(|word| word == "--name")?;
            arguments.get(position + 1)
        })
        .collect();
    assert_eq!(names.len(), runs.len(), "every run has a --name");
    let output = Command::new("podman")
        .env("CONTAINERS_CONF", hardfs_test_images::containers_conf())
        .args(["ps", "--all", "--format", "{{.Names}}"])
        .output()
        .expect("podman runs");
    assert!(output.status.success(), "podman ps failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|name| names.iter().any(|started| started == name))
        .map(str::to_string)
        .collect()
}

/// Collects the paths of `--tmpfs PATH:OPTIONS` flags, sorted.
fn tmpfs_paths(arguments: &[String]) -> Vec<String> {
    let mut paths: Vec<String> = arguments
        .windows(2)
        .filter(|pair| pair[0] == "--tmpfs")
        .map(|pair| pair[1].split(':').next().unwrap().to_string())
        .collect();
    paths.sort();
    paths
}

/// Checks that the compose and Kubernetes outputs, read back, mount the
/// paths of the flags that passed.
fn check_platform_outputs(profile: &Profile, passed_arguments: &[String]) {
    let flag_paths = tmpfs_paths(passed_arguments);

    let compose_yaml = render::compose_yaml(&render::compose(profile, "image:1", "app")).unwrap();
    let compose: render::ComposeFile = serde_saphyr::from_str(&compose_yaml).unwrap();
    let service = &compose.services["app"];
    assert!(service.read_only);
    assert_eq!(service.cap_drop, ["ALL"]);
    assert_eq!(service.security_opt, ["no-new-privileges:true"]);
    let user = profile.user.as_ref().unwrap();
    assert_eq!(
        service.user.as_deref(),
        Some(format!("{}:{}", user.uid, user.gid).as_str())
    );
    let mut compose_paths: Vec<String> = service
        .tmpfs
        .iter()
        .map(|entry| entry.split(':').next().unwrap().to_string())
        .collect();
    compose_paths.sort();
    assert_eq!(compose_paths, flag_paths);

    let options = KubernetesOptions {
        pod: "app".into(),
        container: None,
        image: "image:1".into(),
    };
    let pod_yaml = render::kubernetes_pod(profile, &options).unwrap();
    let pod: serde_json::Value = serde_saphyr::from_str(&pod_yaml).unwrap();
    let container = &pod["spec"]["containers"][0];
    let context = &container["securityContext"];
    assert_eq!(context["runAsNonRoot"], true);
    assert_eq!(context["runAsUser"], user.uid);
    assert_eq!(context["runAsGroup"], user.gid);
    assert_eq!(context["allowPrivilegeEscalation"], false);
    assert_eq!(context["readOnlyRootFilesystem"], true);
    assert_eq!(context["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(context["seccompProfile"]["type"], "RuntimeDefault");
    let mut mount_paths: Vec<String> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| mount["mountPath"].as_str().unwrap().to_string())
        .collect();
    mount_paths.sort();
    assert_eq!(mount_paths, flag_paths);
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), flag_paths.len());
    for volume in volumes {
        assert!(volume["emptyDir"]["sizeLimit"].is_string(), "{volume}");
    }
}

#[test]
fn nginx_learns_and_verifies() {
    let image = open("nginx");
    let engine = podman();
    let loaded = load_engine_image(&engine, &image.reference, &image.image.config_digest).unwrap();
    let engine_image = loaded.name.clone();
    let www_data = ProfileOptions {
        user: Some("www-data".into()),
        ..ProfileOptions::default()
    };
    let probes = ["http://:80/"];

    let bare = profile(
        &image,
        &ProfileOptions {
            bare: true,
            ..www_data.clone()
        },
    );
    let failed = verify(
        &engine,
        &bare,
        &image.tree,
        &run_options(&engine_image, &probes, &[]),
    )
    .unwrap();
    assert_eq!(failed.verdict, Verdict::Fail, "{}", failed.reason);
    assert_eq!(failed.failed_writes, ["/var/lib/nginx/body"]);
    assert_eq!(failed.suggestions, ["/var/lib/nginx"]);

    // Learn as the image runs by default (root); verify as www-data.
    let learn_options = LearnOptions {
        run: run_options(&engine_image, &probes, &[]),
        duration: std::time::Duration::from_secs(1),
        profile: profile(&image, &ProfileOptions::default()),
        reference: image.reference.text.clone(),
    };
    let learned = learn(&engine, &image.tree, &learn_options).unwrap();
    assert!(learned.ready, "{}", learned.reason);
    let learned_paths: Vec<&str> = learned
        .learned
        .paths
        .iter()
        .map(|path| path.path.as_str())
        .collect();
    assert_eq!(learned_paths, ["/run", "/var/lib/nginx"]);

    let full = profile(
        &image,
        &ProfileOptions {
            learned: Some(learned.learned.clone()),
            ..www_data
        },
    );
    assert!(full.needs_unprivileged_ports());
    let passed = verify(
        &engine,
        &full,
        &image.tree,
        &run_options(&engine_image, &probes, &[]),
    )
    .unwrap();
    assert_eq!(
        passed.verdict,
        Verdict::Pass,
        "{}\n{}",
        passed.reason,
        passed.logs
    );
    assert!(
        passed.reason.contains("HTTP/1.1 200 OK"),
        "{}",
        passed.reason
    );
    assert!(passed.arguments.contains(&"--user".to_string()));
    assert!(passed.arguments.contains(&"33:33".to_string()));
    assert!(passed.arguments.contains(&"--read-only".to_string()));
    assert!(tmpfs_paths(&passed.arguments).contains(&"/var/lib/nginx".to_string()));
    check_platform_outputs(&full, &passed.arguments);
    let mut runs = vec![&failed.arguments[..], &passed.arguments];
    runs.extend(learned.runs.iter().map(Vec::as_slice));
    assert_eq!(leftover_containers(&runs), Vec::<String>::new());
}

#[test]
fn redis_learns_and_verifies() {
    let image = open("redis");
    let engine = podman();
    let loaded = load_engine_image(&engine, &image.reference, &image.image.config_digest).unwrap();
    let engine_image = loaded.name.clone();
    // Protected mode replies -DENIED to connections that do not come from
    // loopback, and published ports arrive from the bridge.
    let command = [
        "redis-server",
        "--bind",
        "0.0.0.0",
        "--protected-mode",
        "no",
        "--dir",
        "/var/lib/redis",
    ];
    // redis writes nothing until it saves, so SAVE is part of readiness;
    // redis-cli exits 0 even on an error reply, hence the comparison.
    let probes = ["redis:6379", "exec:sh -c 'test \"$(redis-cli SAVE)\" = OK'"];

    let bare = profile(
        &image,
        &ProfileOptions {
            bare: true,
            ..ProfileOptions::default()
        },
    );
    let mut options = run_options(&engine_image, &probes, &command);
    options.timeout = std::time::Duration::from_secs(5);
    let failed = verify(&engine, &bare, &image.tree, &options).unwrap();
    assert_eq!(failed.verdict, Verdict::Fail, "{}", failed.reason);
    assert!(
        failed.failed_writes.contains(&"/var/lib/redis".to_string()),
        "{:?}",
        failed.failed_writes
    );
    assert_eq!(failed.suggestions, ["/var/lib/redis"]);

    let learn_options = LearnOptions {
        run: run_options(&engine_image, &probes, &command),
        duration: std::time::Duration::from_secs(1),
        profile: profile(&image, &ProfileOptions::default()),
        reference: image.reference.text.clone(),
    };
    let learned = learn(&engine, &image.tree, &learn_options).unwrap();
    assert!(learned.ready, "{}", learned.reason);
    let learned_paths: Vec<&str> = learned
        .learned
        .paths
        .iter()
        .map(|path| path.path.as_str())
        .collect();
    assert_eq!(learned_paths, ["/var/lib/redis"]);
    assert_eq!(
        learned.learned.paths[0].writes,
        ["A /var/lib/redis/dump.rdb"]
    );

    let full = profile(
        &image,
        &ProfileOptions {
            learned: Some(learned.learned.clone()),
            ..ProfileOptions::default()
        },
    );
    let passed = verify(
        &engine,
        &full,
        &image.tree,
        &run_options(&engine_image, &probes, &command),
    )
    .unwrap();
    assert_eq!(
        passed.verdict,
        Verdict::Pass,
        "{}\n{}",
        passed.reason,
        passed.logs
    );
    assert!(passed.reason.contains("+PONG"), "{}", passed.reason);
    check_platform_outputs(&full, &passed.arguments);
    let mut runs = vec![&failed.arguments[..], &passed.arguments];
    runs.extend(learned.runs.iter().map(Vec::as_slice));
    assert_eq!(leftover_containers(&runs), Vec::<String>::new());
}

#[test]
fn postgres_learns_and_verifies() {
    let image = open("postgres");
    let engine = podman();
    let loaded = load_engine_image(&engine, &image.reference, &image.image.config_digest).unwrap();
    let engine_image = loaded.name.clone();
    let probes = ["exec:psql -tAc 'SELECT 1'"];

    let bare = profile(
        &image,
        &ProfileOptions {
            bare: true,
            ..ProfileOptions::default()
        },
    );
    let mut options = run_options(&engine_image, &probes, &[]);
    let config = &image.image.config;
    let process: Vec<String> = config
        .entrypoint
        .iter()
        .chain(&config.cmd)
        .cloned()
        .collect();
    options.relative_to = output_directory(&process, config.working_dir.as_deref(), &image.tree);
    let failed = verify(&engine, &bare, &image.tree, &options).unwrap();
    assert_eq!(failed.verdict, Verdict::Fail, "{}", failed.reason);
    assert!(
        failed.logs.contains("Read-only file system"),
        "{}",
        failed.logs
    );
    assert_eq!(
        failed.failed_writes,
        ["/var/lib/postgresql/15/main/postmaster.pid"]
    );
    assert_eq!(failed.suggestions, ["/var/lib/postgresql/15/main"]);

    let learn_options = LearnOptions {
        run: run_options(&engine_image, &probes, &[]),
        duration: std::time::Duration::from_secs(1),
        profile: profile(&image, &ProfileOptions::default()),
        reference: image.reference.text.clone(),
    };
    let learned = learn(&engine, &image.tree, &learn_options).unwrap();
    assert!(learned.ready, "{}", learned.reason);
    let learned_paths: Vec<&str> = learned
        .learned
        .paths
        .iter()
        .map(|path| path.path.as_str())
        .collect();
    assert_eq!(
        learned_paths,
        ["/run/postgresql", "/var/lib/postgresql/15/main"]
    );

    let full = profile(
        &image,
        &ProfileOptions {
            learned: Some(learned.learned.clone()),
            ..ProfileOptions::default()
        },
    );
    let user = full.user.as_ref().unwrap();
    assert_eq!(user.name.as_deref(), Some("postgres"));
    assert!(!user.groups.is_empty(), "postgres is in ssl-cert");
    let passed = verify(
        &engine,
        &full,
        &image.tree,
        &run_options(&engine_image, &probes, &[]),
    )
    .unwrap();
    assert_eq!(
        passed.verdict,
        Verdict::Pass,
        "{}\n{}",
        passed.reason,
        passed.logs
    );
    assert!(
        passed.reason.contains("exit status 0: 1"),
        "{}",
        passed.reason
    );
    check_platform_outputs(&full, &passed.arguments);
    let mut runs = vec![&failed.arguments[..], &passed.arguments];
    runs.extend(learned.runs.iter().map(Vec::as_slice));
    assert_eq!(leftover_containers(&runs), Vec::<String>::new());
}
