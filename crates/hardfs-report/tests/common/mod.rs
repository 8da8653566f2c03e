//! Reports built in code for the render tests: a few findings of each
//! location kind, including hostile names with a newline and an ESC byte.

use std::path::PathBuf;

use glob::Pattern;
use hardfs_report::{
    AllowEntry, ImageTarget, ImageUser, LayerInfo, Origin, Policy, Problem, Report, Target, Tool,
};
use hardfs_rules::{Finding, Location, Severity};

pub const HOSTILE_PATH: &str = "/srv/evil\nname\x1b[31m";

fn rule(id: &str) -> &'static hardfs_rules::Rule {
    hardfs_rules::lookup(id).unwrap()
}

/// Builds a 64-digit digest that starts with the layer index.
fn layer_digest(layer: usize) -> String {
    format!("sha256:{layer}{}", &"0123456789abcdef".repeat(4)[1..])
}

fn image_path(layer: usize, path: &str) -> Location {
    let created_by = match layer {
        0 => None,
        1 => Some(
            "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends \
             passwd login util-linux && rm -rf /var/lib/apt/lists/*"
                .to_string(),
        ),
        2 => Some("/bin/sh -c #(nop) COPY dir:5f1c in /srv \x1b]0;owned\x07".to_string()),
        _ => Some(format!("RUN /bin/sh -c step {layer} # buildkit")),
    };
    Location::ImagePath {
        path: path.to_string(),
        layer_index: layer,
        layer_digest: layer_digest(layer),
        created_by,
    }
}

fn allow(id: &str, pattern: &str, reason: &str, origin: Origin) -> AllowEntry {
    AllowEntry {
        rule: rule(id),
        pattern: Pattern::new(pattern).unwrap(),
        reason: reason.to_string(),
        origin,
    }
}

/// Builds the policy of the sample reports, with one allowlist entry from a config file
/// and one from the command line.
pub fn policy() -> Policy {
    Policy {
        allow: vec![
            allow(
                "setgid-file",
                "/usr/bin/*",
                "wall and write need the tty group",
                Origin::ConfigFile {
                    path: PathBuf::from(".hardfs.toml"),
                    line: 4,
                },
            ),
            allow(
                "add-remote",
                "Dockerfile",
                "allowed on the command line",
                Origin::CommandLine,
            ),
        ],
        ..Policy::default()
    }
}

pub fn tool() -> Tool {
    Tool {
        name: "hardfs".to_string(),
        version: "0.0.0-test".to_string(),
    }
}

pub fn image_findings() -> Vec<Finding> {
    let mut findings = vec![
        Finding::new(
            rule("setuid-file"),
            image_path(1, "/usr/bin/passwd"),
            "setuid-root file, mode 4755, owner 0:0",
        )
        .with_severity(Severity::High),
        Finding::new(
            rule("setuid-file"),
            image_path(1, "/usr/bin/su"),
            "setuid-root file, mode 4755, owner 0:0",
        )
        .with_severity(Severity::High),
        Finding::new(
            rule("setgid-file"),
            image_path(1, "/usr/bin/wall"),
            "setgid file, mode 2755, group tty",
        ),
        Finding::new(
            rule("world-writable"),
            image_path(2, HOSTILE_PATH),
            "world-writable file, mode 0666 \x1b[2J",
        ),
        Finding::new(
            rule("runs-as-root"),
            Location::ImageConfig {
                field: "config.User".to_string(),
            },
            "config.User is empty, so the container runs as uid 0",
        ),
        Finding::new(
            rule("ghost-privileged-copy"),
            image_path(0, "/usr/bin/newgrp"),
            "setuid-root copy in layer 0, removed by layer 1",
        ),
    ];
    for number in 0..12 {
        findings.push(Finding::new(
            rule("world-writable"),
            image_path(3, &format!("/usr/share/app/cache-{number:02}")),
            "world-writable directory without the sticky bit, mode 0777",
        ));
    }
    findings
}

pub fn image_target() -> Target {
    Target::Image(ImageTarget {
        reference: "registry.example/app:1.0".to_string(),
        transport: "docker-archive".to_string(),
        manifest_digest: Some(format!("sha256:aa{}", "11".repeat(31))),
        config_digest: format!("sha256:bb{}", "22".repeat(31)),
        user: ImageUser {
            configured: None,
            resolved: Some((0, 0)),
            writable: Vec::new(),
        },
        layers: (0..4)
            .map(|index| LayerInfo {
                index,
                digest: layer_digest(index),
                size: 1000 * (index as u64 + 1),
                created_by: match image_path(index, "/") {
                    Location::ImagePath { created_by, .. } => created_by,
                    _ => None,
                },
            })
            .collect(),
    })
}

pub fn image_report() -> Report {
    let mut report = Report::new(image_target(), image_findings(), vec![], &policy());
    report.tool = tool();
    report
}

/// Builds the image report with one layer that could not be read.
pub fn incomplete_image_report() -> Report {
    let problem = Problem::from_error(
        "layer 4 (sha256:4444)",
        &std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated gzip stream"),
    );
    let mut report = Report::new(image_target(), image_findings(), vec![problem], &policy());
    report.tool = tool();
    report
}

pub fn dockerfile_findings() -> Vec<Finding> {
    let at = |file: &str, line, column| Location::Dockerfile {
        file: file.to_string(),
        line,
        column,
    };
    vec![
        Finding::new(
            rule("chmod-world-writable"),
            at("Dockerfile", 12, 5),
            "`chmod 777 /app` makes /app world-writable",
        ),
        Finding::new(
            rule("chmod-setuid"),
            at("build/Dockerfile.dev", 3, 1),
            "`chmod u+s /usr/local/bin/tool` sets the setuid bit",
        ),
        Finding::new(
            rule("runs-as-root"),
            at("Dockerfile", 20, 1),
            "the final stage has no USER instruction",
        ),
        Finding::new(
            rule("user-not-created"),
            at("odd\nname\x1b[1m.Dockerfile", 2, 6),
            "USER app\x1b[8m names a user that no instruction creates",
        ),
        Finding::new(
            rule("add-remote"),
            at("Dockerfile", 4, 1),
            "ADD fetches https://example.invalid/tool.tgz without --checksum",
        ),
    ]
}

pub fn dockerfile_report() -> Report {
    let files = vec![
        "Dockerfile".to_string(),
        "build/Dockerfile.dev".to_string(),
        "odd\nname\x1b[1m.Dockerfile".to_string(),
    ];
    let mut report = Report::new(
        Target::Dockerfiles(files),
        dockerfile_findings(),
        vec![],
        &policy(),
    );
    report.tool = tool();
    report
}
