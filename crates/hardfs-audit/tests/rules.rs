//! Each image rule on a passing and a failing image built in code.

use hardfs_audit::{audit, AuditInput, LayerRef};
use hardfs_fs::{read_layer, ReadOptions, Tree};
use hardfs_image::ImageConfig;
use hardfs_rules::{Finding, Location, Severity};
use hardfs_tar::{EntryBuilder, EntryType, Writer};

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\ntoor:x:0:0::/:/bin/sh\n";
const GROUP: &str = "root:x:0:\napp:x:1000:\nstaff:x:50:app\n";

fn tree(layers: &[Vec<EntryBuilder>]) -> Tree {
    let mut tree = Tree::new();
    for (index, entries) in layers.iter().enumerate() {
        let mut writer = Writer::new(Vec::new());
        let base = if index == 0 {
            vec![
                EntryBuilder::dir("etc/"),
                EntryBuilder::file("etc/passwd", PASSWD),
                EntryBuilder::file("etc/group", GROUP),
            ]
        } else {
            Vec::new()
        };
        for entry in base.iter().chain(entries) {
            writer.append(entry).unwrap();
        }
        let bytes = writer.finish().unwrap();
        tree.apply_layer(
            index,
            read_layer(&bytes[..], &ReadOptions::with_account_files()).unwrap(),
        )
        .unwrap();
    }
    tree
}

fn run(tree: &Tree, config: &ImageConfig) -> Vec<Finding> {
    let layers = (0..3)
        .map(|index| LayerRef {
            digest: format!("sha256:{index:064}"),
            created_by: Some(format!("RUN step {index}")),
        })
        .collect();
    audit(&AuditInput::new(tree, config, layers, &[]))
}

fn user_config(user: &str) -> ImageConfig {
    ImageConfig {
        user: Some(user.into()),
        ..ImageConfig::default()
    }
}

/// (slug, path or config field, severity) of each finding.
fn summary(findings: &[Finding]) -> Vec<(&'static str, String, Severity)> {
    findings
        .iter()
        .map(|finding| {
            (
                finding.rule.slug,
                finding.subject().to_string(),
                finding.severity,
            )
        })
        .collect()
}

fn of_rule<'a>(findings: &'a [Finding], slug: &str) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|finding| finding.rule.slug == slug)
        .collect()
}

#[test]
fn setuid_root_is_high_and_traced_to_layer() {
    let tree = tree(&[
        vec![],
        vec![EntryBuilder::file("usr/bin/su", "x").mode(0o4755)],
    ]);
    let findings = run(&tree, &user_config("app"));
    let setuid = of_rule(&findings, "setuid-file");
    assert_eq!(setuid.len(), 1);
    assert_eq!(setuid[0].severity, Severity::High);
    assert_eq!(setuid[0].message, "setuid root: mode 4755, owner 0:0");
    let Location::ImagePath {
        path,
        layer_index,
        layer_digest,
        created_by,
    } = &setuid[0].location
    else {
        panic!()
    };
    assert_eq!(path, "/usr/bin/su");
    assert_eq!(*layer_index, 1);
    assert_eq!(layer_digest, &format!("sha256:{:064}", 1));
    assert_eq!(created_by.as_deref(), Some("RUN step 1"));
}

#[test]
fn setuid_non_root_is_medium() {
    let tree = tree(&[vec![EntryBuilder::file("opt/tool", "x")
        .mode(0o4755)
        .owner(1000, 1000)]]);
    let setuid = of_rule(&run(&tree, &user_config("app")), "setuid-file")
        .into_iter()
        .map(|f| f.severity)
        .collect::<Vec<_>>();
    assert_eq!(setuid, [Severity::Medium]);
}

#[test]
fn plain_files_pass_setuid_and_setgid() {
    let tree = tree(&[vec![
        EntryBuilder::file("usr/bin/ls", "x").mode(0o755),
        EntryBuilder::dir("var/mail/").mode(0o2775),
    ]]);
    let findings = run(&tree, &user_config("app"));
    assert!(of_rule(&findings, "setuid-file").is_empty());
    assert!(of_rule(&findings, "setgid-file").is_empty());
}

#[test]
fn setgid_file_and_hardlink_names() {
    let tree = tree(&[vec![
        EntryBuilder::file("usr/bin/wall", "x")
            .mode(0o2755)
            .owner(0, 5),
        EntryBuilder::hardlink("usr/bin/wall2", "usr/bin/wall")
            .mode(0o2755)
            .owner(0, 5),
    ]]);
    let findings = run(&tree, &user_config("app"));
    let setgid = of_rule(&findings, "setgid-file");
    assert_eq!(setgid.len(), 2);
    assert_eq!(
        setgid[0].message,
        "setgid gid 5: mode 2755, owner 0:5, hardlinked as /usr/bin/wall2"
    );
}

#[test]
fn capability_decoded_to_names() {
    let value: Vec<u8> = [0x0200_0001u32, 1 << 13, 0, 0, 0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let tree = tree(&[vec![
        EntryBuilder::file("usr/bin/ping", "x").xattr("security.capability", value)
    ]]);
    let findings = run(&tree, &user_config("app"));
    let caps = of_rule(&findings, "file-capability");
    assert_eq!(caps.len(), 1);
    assert_eq!(
        caps[0].message,
        "file capabilities cap_net_raw=ep (revision 2)"
    );
    let clean = self::tree(&[vec![
        EntryBuilder::file("usr/bin/ping", "x").xattr("user.comment", "hi")
    ]]);
    assert!(of_rule(&run(&clean, &user_config("app")), "file-capability").is_empty());
}

#[test]
fn world_writable_sticky_is_low() {
    let tree = tree(&[vec![
        EntryBuilder::dir("tmp/").mode(0o1777),
        EntryBuilder::dir("srv/").mode(0o777),
        EntryBuilder::file("etc/motd", "").mode(0o666),
        EntryBuilder::symlink("link", "etc/motd"),
        EntryBuilder::file("etc/ok", "").mode(0o644),
        EntryBuilder::device("dev/null", EntryType::CharDevice, 1, 3).mode(0o666),
    ]]);
    let findings = run(&tree, &user_config("root"));
    let found: Vec<_> = summary(&findings)
        .into_iter()
        .filter(|(slug, ..)| *slug == "world-writable")
        .collect();
    assert_eq!(
        found,
        [
            ("world-writable", "/etc/motd".into(), Severity::Medium),
            ("world-writable", "/srv".into(), Severity::Medium),
            ("world-writable", "/tmp".into(), Severity::Low),
        ]
    );
}

#[test]
fn user_writable_grouped_by_directory() {
    let tree = tree(&[vec![
        EntryBuilder::dir("app/").mode(0o755),
        EntryBuilder::dir("app/data/").mode(0o755).owner(1000, 1000),
        EntryBuilder::file("app/data/a", "").owner(1000, 1000),
        EntryBuilder::file("app/data/b", "").owner(1000, 1000),
        EntryBuilder::file("app/main.py", "").mode(0o644),
        EntryBuilder::dir("srv/").mode(0o775).owner(0, 50),
        EntryBuilder::dir("root/").mode(0o700),
        EntryBuilder::file("root/open", "").mode(0o666),
    ]]);
    let findings = run(&tree, &user_config("app"));
    let writable: Vec<_> = of_rule(&findings, "user-writable")
        .iter()
        .map(|f| (f.subject().to_string(), f.message.clone(), f.severity))
        .collect();
    assert_eq!(
        writable,
        [
            (
                "/app/data".to_string(),
                "directory writable by the runtime user 1000:1000: mode 0755, owner 1000:1000; 2 more writable paths below it".to_string(),
                Severity::Medium
            ),
            ("/srv".to_string(), "directory writable by the runtime user 1000:1000: mode 0775, owner 0:50".to_string(), Severity::Medium),
        ]
    );
    // /root/open is mode 0666 but /root (0700) cannot be searched by app.
    assert!(writable.iter().all(|(path, ..)| path != "/root/open"));
}

#[test]
fn user_writable_code_is_high() {
    let tree = tree(&[vec![
        EntryBuilder::dir("app/").mode(0o755).owner(1000, 1000),
        EntryBuilder::file("app/server", "").mode(0o755),
        EntryBuilder::dir("usr/").mode(0o755),
        EntryBuilder::dir("usr/local/").mode(0o755),
        EntryBuilder::dir("usr/local/bin/").mode(0o777),
    ]]);
    let config = ImageConfig {
        user: Some("1000".into()),
        entrypoint: vec!["/app/server".into()],
        ..ImageConfig::default()
    };
    let findings = run(&tree, &config);
    let writable: Vec<_> = of_rule(&findings, "user-writable")
        .iter()
        .map(|f| (f.subject().to_string(), f.severity))
        .collect();
    assert_eq!(
        writable,
        [
            ("/app".into(), Severity::High),
            ("/usr/local/bin".into(), Severity::High)
        ]
    );
}

#[test]
fn root_user_skips_user_writable() {
    let tree = tree(&[vec![EntryBuilder::dir("app/").mode(0o755)]]);
    assert!(of_rule(&run(&tree, &ImageConfig::default()), "user-writable").is_empty());
}

#[test]
fn root_spellings_run_as_root() {
    let tree = tree(&[vec![]]);
    for user in [
        None,
        Some("root"),
        Some("0"),
        Some("0:0"),
        Some("root:root"),
        Some("0:wheel"),
        Some("toor"),
    ] {
        let config = ImageConfig {
            user: user.map(str::to_string),
            ..ImageConfig::default()
        };
        let findings = run(&tree, &config);
        let expected = if user == Some("0:wheel") {
            "unknown-user"
        } else {
            "runs-as-root"
        };
        assert_eq!(of_rule(&findings, expected).len(), 1, "USER {user:?}");
    }
    for user in ["app", "1000", "1000:1000", "app:staff", "123456"] {
        let findings = run(&tree, &user_config(user));
        assert!(of_rule(&findings, "runs-as-root").is_empty(), "USER {user}");
        assert!(of_rule(&findings, "unknown-user").is_empty(), "USER {user}");
    }
}

#[test]
fn unknown_user_and_group() {
    let tree = tree(&[vec![]]);
    let findings = run(&tree, &user_config("ghost"));
    let unknown = of_rule(&findings, "unknown-user");
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].message.contains("no user `ghost`"),
        "{}",
        unknown[0].message
    );
    assert!(of_rule(&findings, "runs-as-root").is_empty());
    let findings = run(&tree, &user_config("app:nogroup"));
    assert!(of_rule(&findings, "unknown-user")[0]
        .message
        .contains("no group `nogroup`"));
}

#[test]
fn numeric_user_resolution() {
    let tree = tree(&[vec![]]);
    let resolved = hardfs_audit::resolve_user(Some("123456"), &tree).unwrap();
    assert_eq!(
        (resolved.uid, resolved.gid, resolved.uid_without_entry),
        (123456, 0, true)
    );
    let resolved = hardfs_audit::resolve_user(Some("1000"), &tree).unwrap();
    assert_eq!(
        (resolved.uid, resolved.gid, resolved.groups.clone()),
        (1000, 1000, vec![50])
    );
    let resolved = hardfs_audit::resolve_user(Some("app:0"), &tree).unwrap();
    assert_eq!(
        (resolved.uid, resolved.gid, resolved.groups),
        (1000, 0, vec![])
    );
}

#[test]
fn volumes_declared_and_with_options() {
    let tree = tree(&[vec![]]);
    let config = ImageConfig {
        user: Some("app".into()),
        volumes: vec!["/app/data".into(), "/var/log:ro".into()],
        ..ImageConfig::default()
    };
    let findings = run(&tree, &config);
    let declared: Vec<_> = of_rule(&findings, "volume-declared")
        .iter()
        .map(|f| f.subject().to_string())
        .collect();
    // Volume findings are about the volume path, which allowlists match.
    assert_eq!(declared, ["/app/data", "/var/log:ro"]);
    let options = of_rule(&findings, "volume-with-options");
    assert_eq!(options.len(), 1);
    assert_eq!(options[0].severity, Severity::High);
    assert!(options[0].message.contains("literally named `/var/log:ro`"));
    assert!(of_rule(&run(&tree, &user_config("app")), "volume-declared").is_empty());
}

#[test]
fn special_files_outside_dev() {
    let tree = tree(&[vec![
        EntryBuilder::device("dev/null", EntryType::CharDevice, 1, 3),
        EntryBuilder::device("opt/disk", EntryType::BlockDevice, 8, 0),
        EntryBuilder::fifo("run/pipe"),
    ]]);
    let special: Vec<_> = of_rule(&run(&tree, &user_config("app")), "special-file")
        .iter()
        .map(|f| (f.subject().to_string(), f.message.clone()))
        .collect();
    assert_eq!(
        special,
        [
            ("/opt/disk".into(), "block device 8:0 outside /dev".into()),
            ("/run/pipe".into(), "FIFO outside /dev".into())
        ]
    );
}

#[test]
fn ghost_from_chmod_layer() {
    let tree = tree(&[
        vec![EntryBuilder::file("usr/bin/passwd", "x").mode(0o4755)],
        vec![EntryBuilder::file("usr/bin/passwd", "x").mode(0o755)],
    ]);
    let findings = run(&tree, &user_config("app"));
    assert!(of_rule(&findings, "setuid-file").is_empty());
    let ghosts = of_rule(&findings, "ghost-privileged-copy");
    assert_eq!(ghosts.len(), 1);
    assert_eq!(ghosts[0].subject(), "/usr/bin/passwd");
    assert_eq!(ghosts[0].message, "setuid root (mode 4755) stays in layer 0; layer 1 (`RUN step 1`) replaced it only in the final view");
    let clean = self::tree(&[
        vec![EntryBuilder::file("usr/bin/passwd", "x").mode(0o755)],
        vec![EntryBuilder::file("usr/bin/passwd", "y")],
    ]);
    assert!(of_rule(&run(&clean, &user_config("app")), "ghost-privileged-copy").is_empty());
}

#[test]
fn group0_writable_system_path() {
    let tree = tree(&[vec![
        EntryBuilder::dir("opt/").mode(0o775),
        EntryBuilder::dir("tmp/").mode(0o775),
        EntryBuilder::file("etc/app.conf", "")
            .mode(0o664)
            .owner(0, 50),
    ]]);
    let found: Vec<_> = of_rule(&run(&tree, &user_config("app")), "group0-writable")
        .iter()
        .map(|f| f.subject().to_string())
        .collect();
    assert_eq!(found, ["/opt"]);
}

#[test]
fn duplicate_entry_reported() {
    let tree = tree(&[vec![
        EntryBuilder::file("a", "1"),
        EntryBuilder::file("a", "2"),
    ]]);
    let found = of_rule(&run(&tree, &user_config("app")), "duplicate-entry").len();
    assert_eq!(found, 1);
    let clean = self::tree(&[
        vec![EntryBuilder::file("a", "1")],
        vec![EntryBuilder::file("a", "2")],
    ]);
    assert!(of_rule(&run(&clean, &user_config("app")), "duplicate-entry").is_empty());
}

#[test]
fn cross_layer_hardlink_reported() {
    let tree = tree(&[
        vec![EntryBuilder::file("a", "1")],
        vec![EntryBuilder::hardlink("b", "a")],
    ]);
    let findings = run(&tree, &user_config("app"));
    let found = of_rule(&findings, "cross-layer-hardlink");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject(), "/b");
    assert_eq!(found[0].severity, Severity::Medium);
    let clean = self::tree(&[vec![
        EntryBuilder::file("a", "1"),
        EntryBuilder::hardlink("b", "a"),
    ]]);
    assert!(of_rule(&run(&clean, &user_config("app")), "cross-layer-hardlink").is_empty());
}

/// A tree with only the given entries, no standard account files.
fn bare_tree(entries: Vec<EntryBuilder>) -> Tree {
    let mut writer = Writer::new(Vec::new());
    for entry in &entries {
        writer.append(entry).unwrap();
    }
    let bytes = writer.finish().unwrap();
    let mut tree = Tree::new();
    tree.apply_layer(
        0,
        read_layer(&bytes[..], &ReadOptions::with_account_files()).unwrap(),
    )
    .unwrap();
    tree
}

#[test]
fn passwd_read_as_runc_reads_it() {
    let cases = [
        (
            "app:x:notanumber:1::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
            (0, 1),
        ),
        ("app:x: 1000:1000::/:/bin/sh\n", (0, 1000)),
        ("app:x:1000\n", (1000, 0)),
        ("\n  app:x:7:8::/:/bin/sh  \n", (7, 8)),
    ];
    for (passwd, expected) in cases {
        let tree = bare_tree(vec![
            EntryBuilder::dir("etc/"),
            EntryBuilder::file("etc/passwd", passwd),
        ]);
        let user = hardfs_audit::resolve_user(Some("app"), &tree).unwrap();
        assert_eq!((user.uid, user.gid), expected, "{passwd:?}");
    }
}

#[test]
fn passwd_behind_symlink_is_followed() {
    for target in ["../opt/pw/passwd", "/opt/pw/passwd"] {
        let tree = bare_tree(vec![
            EntryBuilder::dir("etc/"),
            EntryBuilder::dir("opt/"),
            EntryBuilder::dir("opt/pw/"),
            EntryBuilder::file("opt/pw/passwd", "app:x:1000:1000::/:/bin/sh\n"),
            EntryBuilder::symlink("etc/passwd", target),
        ]);
        let user = hardfs_audit::resolve_user(Some("app"), &tree).unwrap();
        assert_eq!((user.uid, user.gid), (1000, 1000), "{target}");
    }
}
