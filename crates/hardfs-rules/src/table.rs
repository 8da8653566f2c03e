//! The rule descriptors. `hardfs rules`, `hardfs explain`, SARIF rule
//! metadata and the docs are all generated from this table.

use crate::Severity;

/// What a rule inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// Built images (`hardfs audit`).
    Image,
    /// Dockerfiles and Containerfiles (`hardfs lint`).
    Dockerfile,
    /// Both.
    Both,
}

/// One rule: its stable names, default severity and the text shown to users.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable ID such as `HF001`.
    pub id: &'static str,
    /// Stable kebab-case name such as `setuid-file`.
    pub slug: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub applies: Applies,
    /// Why the finding matters, in one or two sentences.
    pub why: &'static str,
    /// How to fix it, in one or two sentences.
    pub fix: &'static str,
    /// The governing text: a CIS Docker Benchmark item, a spec clause or a reference page.
    pub reference: &'static str,
}

pub static RULES: &[Rule] = &[
    Rule {
        id: "HF001",
        slug: "setuid-file",
        title: "Regular file with the setuid bit",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "A setuid executable runs with its owner's privileges whoever starts it; a setuid-root \
              binary with any flaw gives a process in the container root (high severity).",
        fix: "Clear the bit (`hardfs harden`, or `chmod u-s` in the layer that adds the file) unless \
              the application needs it, and run with `--security-opt no-new-privileges`.",
        reference: "CIS Docker Benchmark 4.8: Ensure setuid and setgid permissions are removed",
    },
    Rule {
        id: "HF002",
        slug: "setgid-file",
        title: "Regular file with the setgid bit",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "A setgid executable runs with its group's privileges whoever starts it, which often \
              grants access to shadow files, mail spools or terminals.",
        fix: "Clear the bit (`hardfs harden`, or `chmod g-s` in the layer that adds the file) unless \
              the application needs it.",
        reference: "CIS Docker Benchmark 4.8: Ensure setuid and setgid permissions are removed",
    },
    Rule {
        id: "HF003",
        slug: "file-capability",
        title: "File with Linux capabilities (security.capability)",
        severity: Severity::High,
        applies: Applies::Image,
        why: "File capabilities grant privileges such as cap_net_raw to every process that executes \
              the file, without setuid and without showing in `find -perm`.",
        fix: "Remove the `security.capability` attribute (`hardfs harden`, or `setcap -r`) and grant \
              capabilities at run time with `--cap-add` only where needed.",
        reference: "capabilities(7), File capabilities; OCI image-spec layer.md, File Attributes",
    },
    Rule {
        id: "HF004",
        slug: "world-writable",
        title: "World-writable file or directory",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "Any user in the container can change a world-writable file, and can replace the \
              entries of a world-writable directory without the sticky bit. Directories with the \
              sticky bit, such as /tmp, are listed at low severity.",
        fix: "Remove the world-write bit (`chmod o-w`, or `hardfs harden`); keep scratch space on a \
              tmpfs under a read-only root.",
        reference: "CIS Docker Benchmark 4.8; CIS Distribution Independent Linux 6.1.10",
    },
    Rule {
        id: "HF005",
        slug: "user-writable",
        title: "Path writable by the runtime user",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "Whatever the runtime user can write, a compromised process can change. Writable code \
              (bin, sbin or lib directories, the entrypoint or the command) lets it persist or \
              tamper with the application (high severity).",
        fix: "Make code root-owned and not writable by others (`hardfs harden`), keep only data \
              directories writable, and run with a read-only root filesystem.",
        reference: "CIS Docker Benchmark 5.12: Ensure the container's root filesystem is mounted as read only",
    },
    Rule {
        id: "HF006",
        slug: "unknown-user",
        title: "Configured user not found in the image",
        severity: Severity::High,
        applies: Applies::Image,
        why: "The runtime resolves a user name through the image's /etc/passwd and /etc/group; a \
              name that is not there makes the container fail to start.",
        fix: "Create the user in the image, or set USER to a numeric `uid:gid`.",
        reference: "OCI image-spec config.md, config.User",
    },
    Rule {
        id: "HF007",
        slug: "runs-as-root",
        title: "Container runs as root",
        severity: Severity::Medium,
        applies: Applies::Both,
        why: "With no USER, or a user that resolves to uid 0, every process in the container is \
              root, so any flaw in the application is a flaw running as root.",
        fix: "Create an unprivileged user and set `USER uid:gid` (numeric, which Kubernetes' \
              runAsNonRoot can verify), or use `hardfs harden --user`.",
        reference: "CIS Docker Benchmark 4.1: Ensure that a user for the container has been created",
    },
    Rule {
        id: "HF008",
        slug: "volume-declared",
        title: "Image declares a volume",
        severity: Severity::Low,
        applies: Applies::Both,
        why: "Docker, Podman and containerd mount image volumes read-write even under \
              `--read-only`, so a read-only root filesystem does not cover them.",
        fix: "Mount the path explicitly at run time with the access it needs (`-v name:/path:ro`, \
              `--mount type=volume,...,readonly`, or a Kubernetes volumeMount with `readOnly: true`).",
        reference: "Dockerfile reference, VOLUME; OCI image-spec config.md, config.Volumes",
    },
    Rule {
        id: "HF009",
        slug: "volume-with-options",
        title: "VOLUME path contains a colon",
        severity: Severity::High,
        applies: Applies::Both,
        why: "VOLUME takes no options: `VOLUME /var/log:ro` declares a read-write volume at a \
              directory literally named `/var/log:ro` and leaves /var/log unprotected.",
        fix: "Declare the path without the colon suffix (`VOLUME /var/log` for `/var/log:ro`), \
              or no volume, and make it read-only at run time: `-v name:/var/log:ro`, `--mount type=volume,dst=/var/log,readonly`, compose \
              `read_only: true` on the volume, or `readOnly: true` on a Kubernetes volumeMount.",
        reference: "Dockerfile reference, VOLUME",
    },
    Rule {
        id: "HF010",
        slug: "special-file",
        title: "Device node, FIFO or socket outside /dev",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "A device node in the image gives direct access to the device it names wherever the \
              runtime permits it; images have no reason to ship one outside /dev.",
        fix: "Remove the node from the image; runtimes create the devices a container needs in /dev.",
        reference: "CIS Docker Benchmark 5.17: Ensure that host devices are not directly exposed to containers",
    },
    Rule {
        id: "HF011",
        slug: "ghost-privileged-copy",
        title: "Privileged file left in a lower layer",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "A later layer changed or deleted this setuid, setgid or capability file, but the \
              original still sits in a lower layer blob that anyone who can pull the image can \
              extract. `RUN find / -perm /6000 -exec chmod a-s {} \\;` leaves every original behind.",
        fix: "Rewrite the layer that added the file (`hardfs harden` re-emits only the layers that \
              change), or build without the privileged file in the first place.",
        reference: "OCI image-spec layer.md, Changesets and Whiteouts",
    },
    Rule {
        id: "HF012",
        slug: "group0-writable",
        title: "System path writable by group 0",
        severity: Severity::Low,
        applies: Applies::Image,
        why: "Platforms that run containers with an arbitrary uid and gid 0 (OpenShift's default) \
              make every group-0-writable path writable by the application.",
        fix: "Remove the group-write bit from system paths; give group 0 write access only to the \
              application's data directories.",
        reference: "OpenShift Container Platform, Images: support arbitrary user ids",
    },
    Rule {
        id: "HF013",
        slug: "user-not-created",
        title: "User or group name not created in the Dockerfile",
        severity: Severity::Medium,
        applies: Applies::Dockerfile,
        why: "USER and chown take names that must exist in the image's /etc/passwd and /etc/group; \
              a name that nothing creates fails the build or the container start.",
        fix: "Create the account (useradd, adduser, groupadd, addgroup) or use a numeric `uid:gid`, \
              which Kubernetes' runAsNonRoot can also verify.",
        reference: "Dockerfile reference, USER",
    },
    Rule {
        id: "HF014",
        slug: "chmod-world-writable",
        title: "chmod makes a path world-writable",
        severity: Severity::Medium,
        applies: Applies::Dockerfile,
        why: "A world-writable path can be changed by any user in the container.",
        fix: "Grant write access to the owner or a group instead (`chmod 755`, `chown app:app`), \
              and use a tmpfs for scratch space.",
        reference: "CIS Docker Benchmark 4.8",
    },
    Rule {
        id: "HF015",
        slug: "chmod-setuid",
        title: "chmod sets the setuid or setgid bit",
        severity: Severity::High,
        applies: Applies::Dockerfile,
        why: "A setuid or setgid file runs with its owner's or group's privileges whoever starts it.",
        fix: "Drop the setuid/setgid bit; grant the one capability needed at run time instead.",
        reference: "CIS Docker Benchmark 4.8",
    },
    Rule {
        id: "HF016",
        slug: "code-owned-by-runtime-user",
        title: "Application code owned by the runtime user",
        severity: Severity::Medium,
        applies: Applies::Dockerfile,
        why: "When the runtime user owns the code it runs, a compromised process can rewrite that \
              code and persist.",
        fix: "Keep code owned by root and chown only a dedicated data directory to the runtime user.",
        reference: "CIS Docker Benchmark 5.12",
    },
    Rule {
        id: "HF017",
        slug: "setuid-strip-in-layer",
        title: "setuid bits stripped in a new layer",
        severity: Severity::Low,
        applies: Applies::Dockerfile,
        why: "`find / -perm /6000 ... chmod a-s` clears the bits in a new layer only; every original \
              setuid or setgid file stays in the lower layer blobs.",
        fix: "Keep the step if you like, then run `hardfs harden` on the built image, which rewrites \
              the lower layers instead.",
        reference: "OCI image-spec layer.md, Changesets",
    },
    Rule {
        id: "HF018",
        slug: "writable-dir-undeclared",
        title: "Directory made writable for the runtime user",
        severity: Severity::Info,
        applies: Applies::Dockerfile,
        why: "A directory chowned to the runtime user will need a tmpfs or emptyDir under a \
              read-only root filesystem; `hardfs profile` generates those mounts.",
        fix: "Run `hardfs profile` on the built image and mount the path it lists.",
        reference: "CIS Docker Benchmark 5.12",
    },
    Rule {
        id: "HF019",
        slug: "add-remote",
        title: "ADD of a URL or a local archive",
        severity: Severity::Info,
        applies: Applies::Dockerfile,
        why: "ADD fetches URLs without a checksum unless `--checksum` is given, and silently \
              extracts local archives, keeping whatever modes they carry.",
        fix: "Use COPY for local files, and `ADD --checksum=sha256:...` or a verified download for URLs.",
        reference: "Dockerfile reference, ADD; CIS Docker Benchmark 4.9",
    },
    Rule {
        id: "HF020",
        slug: "duplicate-entry",
        title: "Path given twice in one layer",
        severity: Severity::Low,
        applies: Applies::Image,
        why: "A layer must not contain the same path twice; runtimes keep the last entry, while \
              tools that keep the first see a different file.",
        fix: "Rebuild the layer; the final view here uses the last entry, as runtimes do.",
        reference: "OCI image-spec layer.md, Distributable Format",
    },
    Rule {
        id: "HF021",
        slug: "layer-format",
        title: "Layer descriptor does not match its content",
        severity: Severity::Low,
        applies: Applies::Image,
        why: "The media type claims one compression but the blob uses another, or uses a media \
              type outside the OCI and Docker specs; some runtimes reject such images.",
        fix: "Re-push the image with standard media types (`skopeo copy` rewrites them).",
        reference: "OCI image-spec layer.md, Media Types",
    },
    Rule {
        id: "HF022",
        slug: "cross-layer-hardlink",
        title: "Hardlink to a file of a lower layer",
        severity: Severity::Medium,
        applies: Applies::Image,
        why: "Podman unpacks each layer into an empty directory, where the link target does not \
              exist, so it fails to load the image; containerd applies the layer over the lower \
              ones and accepts it. Tools disagree about such an image.",
        fix: "Rebuild the layer so that it also contains the link target, for example by creating \
              both names in the same build step.",
        reference: "OCI image-spec layer.md, Hardlinks",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_slugs_are_unique() {
        let ids: HashSet<_> = RULES.iter().map(|rule| rule.id).collect();
        let slugs: HashSet<_> = RULES.iter().map(|rule| rule.slug).collect();
        assert_eq!(ids.len(), RULES.len());
        assert_eq!(slugs.len(), RULES.len());
    }

    #[test]
    fn every_rule_is_documented() {
        for rule in RULES {
            assert!(
                rule.id.starts_with("HF") && rule.id.len() == 5,
                "{}",
                rule.id
            );
            assert!(!rule.title.is_empty(), "{} has no title", rule.id);
            assert!(rule.why.len() > 40, "{} has no reason", rule.id);
            assert!(rule.fix.len() > 20, "{} has no fix", rule.id);
            assert!(!rule.reference.is_empty(), "{} has no reference", rule.id);
            let kebab = rule
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            assert!(kebab, "{} slug is not kebab-case", rule.id);
        }
    }

    #[test]
    fn lookup_by_id_and_slug() {
        assert_eq!(
            crate::lookup("hf001").map(|rule| rule.slug),
            Some("setuid-file")
        );
        assert_eq!(
            crate::lookup("volume-with-options").map(|rule| rule.id),
            Some("HF009")
        );
        assert!(crate::lookup("no-such-rule").is_none());
    }
}
