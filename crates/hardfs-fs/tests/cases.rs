//! Layer-merge behavior on layers built in code: whiteouts, opaque
//! directories, hardlinks across layers, privileged bits and hostile names.
//! Each test is a minimal input with the tree a runtime produces from it.

use hardfs_fs::{
    read_layer, DiagnosticKind, FileKind, FsError, GhostReason, Layer, ReadOptions, Tree,
};
use hardfs_tar::{EntryBuilder, EntryType, Writer};

fn layer_bytes(entries: &[EntryBuilder]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    for entry in entries {
        writer.append(entry).unwrap();
    }
    writer.finish().unwrap()
}

fn read(entries: &[EntryBuilder], capture: &[&str]) -> Result<Layer, FsError> {
    let mut options = ReadOptions::with_account_files();
    options
        .capture
        .extend(capture.iter().map(|path| Box::from(path.as_bytes())));
    read_layer(&layer_bytes(entries)[..], &options)
}

fn merge_capturing(layers: &[Vec<EntryBuilder>], capture: &[&str]) -> Result<Tree, FsError> {
    let mut tree = Tree::new();
    for (index, entries) in layers.iter().enumerate() {
        tree.apply_layer(index, read(entries, capture)?)?;
    }
    Ok(tree)
}

fn merge(layers: &[Vec<EntryBuilder>]) -> Tree {
    merge_capturing(layers, &[]).unwrap()
}

/// The final view as sorted lines: `path/` for directories, `path -> t` for
/// symlinks, plain paths for the rest. The root is left out.
fn listing(tree: &Tree) -> Vec<String> {
    let mut lines = Vec::new();
    tree.walk(|path, file| {
        if path.is_empty() {
            return;
        }
        let path = String::from_utf8_lossy(path);
        let inode = file.inode();
        lines.push(match inode.kind {
            FileKind::Directory => format!("{path}/"),
            FileKind::Symlink => {
                format!(
                    "{path} -> {}",
                    String::from_utf8_lossy(inode.symlink_target().unwrap())
                )
            }
            _ => path.into_owned(),
        });
    });
    lines
}

fn content(tree: &Tree, path: &str) -> String {
    String::from_utf8(
        tree.content(path.as_bytes())
            .expect("content captured")
            .to_vec(),
    )
    .unwrap()
}

fn file(path: &str) -> EntryBuilder {
    EntryBuilder::file(path, "")
}

fn dir(path: &str) -> EntryBuilder {
    EntryBuilder::dir(path)
}

// A. Whiteouts and opaque directories

#[test]
fn opaque_dir_recreated_in_same_layer() {
    let tree = merge(&[
        vec![dir("d/"), dir("d/old/")],
        vec![dir("d/"), file("d/.wh..wh..opq"), dir("d/new/")],
    ]);
    assert_eq!(listing(&tree), ["d/", "d/new/"]);
}

#[test]
fn opaque_marker_after_same_layer_entries() {
    let tree = merge(&[
        vec![dir("d/"), file("d/old")],
        vec![dir("d/"), file("d/new"), file("d/.wh..wh..opq")],
    ]);
    assert_eq!(listing(&tree), ["d/", "d/new"]);
}

#[test]
fn opaque_dir_hides_whole_lower_subtree() {
    let tree = merge(&[
        vec![dir("a/"), dir("a/b/"), file("a/b/foo")],
        vec![dir("a/"), file("a/.wh..wh..opq")],
    ]);
    assert_eq!(listing(&tree), ["a/"]);
}

#[test]
fn path_readded_after_whiteout() {
    let tree = merge_capturing(
        &[
            vec![
                dir("lib/"),
                dir("lib/lsb/"),
                EntryBuilder::file("lib/lsb/init-functions", "old"),
            ],
            vec![file("lib/.wh.lsb")],
            vec![
                dir("lib/lsb/"),
                EntryBuilder::file("lib/lsb/init-functions", "new"),
            ],
        ],
        &["lib/lsb/init-functions"],
    )
    .unwrap();
    assert_eq!(
        listing(&tree),
        ["lib/", "lib/lsb/", "lib/lsb/init-functions"]
    );
    assert_eq!(content(&tree, "lib/lsb/init-functions"), "new");
    assert_eq!(tree.lookup(b"lib/lsb/init-functions").unwrap().layer(), 2);
}

#[test]
fn child_whiteout_under_removed_dir_is_noop() {
    let tree = merge(&[
        vec![dir("test/"), file("test/test")],
        vec![file(".wh.test"), file("test/.wh.test")],
    ]);
    assert!(listing(&tree).is_empty());
}

#[test]
fn whiteout_of_missing_path_is_noop() {
    let tree = merge(&[vec![file("keep")], vec![file(".wh.never-existed")]]);
    assert_eq!(listing(&tree), ["keep"]);
    assert_eq!(tree.diagnostics().len(), 1);
}

#[test]
fn whiteout_then_empty_dir_recreate() {
    let tree = merge(&[
        vec![dir("a1/"), file("a1/file")],
        vec![file(".wh.a1"), dir("a1/")],
    ]);
    assert_eq!(listing(&tree), ["a1/"]);
}

#[test]
fn whiteout_then_file_without_dir_entry() {
    let tree = merge(&[
        vec![dir("a1/"), file("a1/file")],
        vec![file(".wh.a1"), file("a1/newfile")],
    ]);
    assert_eq!(listing(&tree), ["a1/", "a1/newfile"]);
}

#[test]
fn whiteout_after_same_layer_file_keeps_it() {
    // Tar order must not matter: the whiteout hides only the lower `a1`.
    let tree = merge(&[
        vec![dir("a1/"), file("a1/file")],
        vec![file("a1/newfile"), file(".wh.a1")],
    ]);
    assert_eq!(listing(&tree), ["a1/", "a1/newfile"]);
}

#[test]
fn bare_whiteout_is_error() {
    let error = merge_capturing(
        &[
            vec![dir("etc/"), file("etc/passwd")],
            vec![file("etc/.wh.")],
        ],
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(error, FsError::InvalidWhiteout { ref entry } if entry == "etc/.wh."),
        "{error}"
    );
    let error = merge_capturing(&[vec![file(".wh.")]], &[]).unwrap_err();
    assert!(matches!(error, FsError::InvalidWhiteout { .. }), "{error}");
}

#[test]
fn aufs_metadata_is_skipped() {
    let tree = merge(&[
        vec![file("a")],
        vec![dir(".wh..wh.plnk/"), file(".wh..wh.aufs")],
    ]);
    assert_eq!(listing(&tree), ["a"]);
}

// B. Hardlinks across layers

#[test]
fn hardlink_survives_target_whiteout() {
    let tree = merge_capturing(
        &[
            vec![
                EntryBuilder::file("A", "x"),
                EntryBuilder::hardlink("Z", "A"),
            ],
            vec![file(".wh.A")],
        ],
        &["A"],
    )
    .unwrap();
    assert_eq!(listing(&tree), ["Z"]);
    assert_eq!(content(&tree, "Z"), "x");
    assert_eq!(tree.lookup(b"Z").unwrap().inode().link_count(), 1);
}

#[test]
fn hardlink_to_lower_layer_is_diagnosed() {
    let tree = merge(&[
        vec![EntryBuilder::file("A", "x").mode(0o4755)],
        vec![
            EntryBuilder::hardlink("B", "A"),
            EntryBuilder::file("C", "y"),
            EntryBuilder::hardlink("D", "C"),
        ],
    ]);
    assert_eq!(listing(&tree), ["A", "B", "C", "D"]);
    assert_eq!(tree.lookup(b"B").unwrap().inode().link_count(), 2);
    let diagnostics = tree.diagnostics();
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(&*diagnostics[0].path, b"B");
    assert_eq!(diagnostics[0].layer, 1);
    assert_eq!(diagnostics[0].kind, DiagnosticKind::HardlinkToLowerLayer);
}

#[test]
fn hardlink_whiteout_marker_and_lower_target() {
    let tree = merge(&[
        vec![dir("tmp/"), file("tmp/keep.repo"), file("tmp/victim")],
        vec![
            EntryBuilder::hardlink("tmp/.wh.victim", "tmp/keep.repo"),
            EntryBuilder::hardlink("tmp/newlink", "tmp/keep.repo"),
        ],
    ]);
    assert_eq!(listing(&tree), ["tmp/", "tmp/keep.repo", "tmp/newlink"]);
    let keep = tree.lookup(b"tmp/keep.repo").unwrap();
    let link = tree.lookup(b"tmp/newlink").unwrap();
    assert!(std::ptr::eq(keep.inode(), link.inode()));
    assert_eq!(keep.inode().link_count(), 2);
}

#[test]
fn hardlink_replaces_existing_path() {
    let tree = merge(&[
        vec![
            dir("usr/"),
            dir("usr/bin/"),
            EntryBuilder::file("usr/bin/perl", "p"),
            EntryBuilder::file("usr/bin/perl5", "q"),
        ],
        vec![EntryBuilder::hardlink("usr/bin/perl5", "usr/bin/perl")],
    ]);
    let perl = tree.lookup(b"usr/bin/perl").unwrap();
    let perl5 = tree.lookup(b"usr/bin/perl5").unwrap();
    assert!(std::ptr::eq(perl.inode(), perl5.inode()));
    assert_eq!(perl5.layer(), 1);
    assert_eq!(perl.inode().link_count(), 2);
}

#[test]
fn hardlinked_names_share_mode() {
    let tree = merge(&[vec![
        EntryBuilder::file("bin/su", "x").mode(0o4755),
        EntryBuilder::hardlink("bin/su2", "bin/su").mode(0o4755),
    ]]);
    assert_eq!(tree.lookup(b"bin/su2").unwrap().inode().mode, 0o4755);
    assert_eq!(
        tree.lookup(b"bin/su2").unwrap().other_names(),
        vec![b"bin/su".to_vec()]
    );
}

#[test]
fn hardlink_header_sets_shared_metadata() {
    // Podman applies the link header's owner and mode to the shared inode.
    let tree = merge(&[vec![
        EntryBuilder::file("usr/bin/tool", "x").mode(0o755),
        EntryBuilder::hardlink("usr/bin/tool2", "usr/bin/tool")
            .mode(0o4755)
            .owner(0, 0),
        EntryBuilder::file("data/f", "").mode(0o644),
        EntryBuilder::hardlink("data/g", "data/f")
            .mode(0o666)
            .owner(1000, 1000),
    ]]);
    assert_eq!(tree.lookup(b"usr/bin/tool").unwrap().inode().mode, 0o4755);
    let shared = tree.lookup(b"data/f").unwrap().inode();
    assert_eq!((shared.mode, shared.uid, shared.gid), (0o666, 1000, 1000));
}

#[test]
fn hardlink_header_clearing_setuid_leaves_ghost() {
    let value = [
        1u8, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let tree = merge(&[vec![
        EntryBuilder::file("usr/bin/su", "x").mode(0o4755),
        EntryBuilder::hardlink("usr/bin/hl", "usr/bin/su").mode(0o755),
        EntryBuilder::file("usr/bin/ping", "p").xattr("security.capability", value),
        EntryBuilder::hardlink("usr/bin/ping2", "usr/bin/ping").mode(0o644),
    ]]);
    assert_eq!(tree.lookup(b"usr/bin/su").unwrap().inode().mode, 0o755);
    assert!(tree
        .lookup(b"usr/bin/ping")
        .unwrap()
        .inode()
        .capability()
        .is_none());
    let ghosts: Vec<_> = tree
        .ghosts()
        .iter()
        .map(|g| (String::from_utf8_lossy(&g.path).into_owned(), g.mode))
        .collect();
    assert_eq!(
        ghosts,
        [
            ("usr/bin/su".to_string(), 0o4755),
            ("usr/bin/ping".to_string(), 0o644)
        ]
    );
}

#[test]
fn replaced_link_target_keeps_old_content() {
    let tree = merge_capturing(
        &[
            vec![
                EntryBuilder::file("A", "old"),
                EntryBuilder::hardlink("Z", "A"),
            ],
            vec![EntryBuilder::file("A", "new")],
        ],
        &["A"],
    )
    .unwrap();
    assert_eq!(content(&tree, "Z"), "old");
    assert_eq!(content(&tree, "A"), "new");
}

#[test]
fn hardlink_to_missing_target_is_error() {
    let error = merge_capturing(&[vec![EntryBuilder::hardlink("Z", "nowhere")]], &[]).unwrap_err();
    assert!(
        matches!(error, FsError::MissingLinkTarget { .. }),
        "{error}"
    );
}

#[test]
fn hardlink_to_directory_is_error() {
    let error =
        merge_capturing(&[vec![dir("d/"), EntryBuilder::hardlink("Z", "d")]], &[]).unwrap_err();
    assert!(matches!(error, FsError::LinkToDirectory { .. }), "{error}");
}

// C. setuid, setgid, capabilities and ghosts

#[test]
fn special_bits_come_from_header() {
    let tree = merge(&[vec![
        EntryBuilder::file("usr/local/bin/tool", "t").mode(0o4555),
        EntryBuilder::file("usr/local/bin/sg", "t").mode(0o2755),
        EntryBuilder::file("usr/local/bin/both", "t")
            .mode(0o6755)
            .owner(0, 0),
    ]]);
    assert_eq!(
        tree.lookup(b"usr/local/bin/tool").unwrap().inode().mode,
        0o4555
    );
    assert_eq!(
        tree.lookup(b"usr/local/bin/sg").unwrap().inode().mode,
        0o2755
    );
    assert_eq!(
        tree.lookup(b"usr/local/bin/both").unwrap().inode().mode,
        0o6755
    );
}

#[test]
fn capability_xattr_is_kept() {
    let value = [
        1u8, 0, 0, 2, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let tree = merge(&[vec![
        EntryBuilder::file("usr/bin/ping", "p").xattr("security.capability", value)
    ]]);
    let ping = tree.lookup(b"usr/bin/ping").unwrap();
    assert_eq!(ping.inode().capability(), Some(&value[..]));
    assert!(ping.inode().is_privileged());
}

#[test]
fn chmod_in_later_layer_leaves_ghost() {
    let tree = merge(&[
        vec![
            dir("usr/"),
            dir("usr/bin/"),
            EntryBuilder::file("usr/bin/passwd", "p").mode(0o4755),
        ],
        vec![
            dir("usr/"),
            dir("usr/bin/"),
            EntryBuilder::file("usr/bin/passwd", "p").mode(0o755),
        ],
    ]);
    assert_eq!(tree.lookup(b"usr/bin/passwd").unwrap().inode().mode, 0o755);
    let ghosts = tree.ghosts();
    assert_eq!(ghosts.len(), 1);
    assert_eq!(&*ghosts[0].path, b"usr/bin/passwd");
    assert_eq!(ghosts[0].layer, 0);
    assert_eq!(ghosts[0].hidden_by, 1);
    assert_eq!(ghosts[0].mode, 0o4755);
    assert_eq!(ghosts[0].reason, GhostReason::Replaced);
}

#[test]
fn removed_privileged_dir_leaves_ghosts() {
    let tree = merge(&[
        vec![
            dir("opt/"),
            EntryBuilder::file("opt/a", "").mode(0o2755),
            EntryBuilder::file("opt/b", "").xattr("security.capability", [2u8; 20]),
            file("opt/c"),
        ],
        vec![file(".wh.opt")],
    ]);
    let mut ghosts: Vec<_> = tree
        .ghosts()
        .iter()
        .map(|g| (String::from_utf8_lossy(&g.path).into_owned(), g.reason))
        .collect();
    ghosts.sort();
    assert_eq!(
        ghosts,
        [
            ("opt/a".into(), GhostReason::Removed),
            ("opt/b".into(), GhostReason::Removed)
        ]
    );
}

#[test]
fn setgid_directory_is_not_privileged() {
    let tree = merge(&[
        vec![EntryBuilder::dir("var/mail/").mode(0o2775)],
        vec![file(".wh.var")],
    ]);
    assert!(tree.ghosts().is_empty());
}

// D. Names

#[test]
fn non_utf8_name_kept_exactly() {
    let tree = merge(&[vec![
        dir("data/"),
        EntryBuilder::file(b"data/caf\xe9.txt", "x"),
    ]]);
    let found = tree.lookup(b"data/caf\xe9.txt").unwrap();
    assert_eq!(found.path(), b"data/caf\xe9.txt");
    assert_eq!(found.display(), "/data/caf\\xe9.txt");
}

#[test]
fn long_symlink_and_hardlink_targets() {
    let dir_path: String = (0..12).map(|_| "aaaaaaaaaaaaaaa/").collect();
    let target = format!("{dir_path}bbbbbbbbbbbbbbb");
    let tree = merge(&[vec![
        EntryBuilder::file(&target, "x"),
        EntryBuilder::symlink("bbbbbbbbbbbbbbb", &target),
        EntryBuilder::hardlink("ccccccccccccccc", &target),
    ]]);
    let symlink = tree.lookup(b"bbbbbbbbbbbbbbb").unwrap();
    assert_eq!(symlink.inode().symlink_target(), Some(target.as_bytes()));
    assert_eq!(
        tree.lookup(b"ccccccccccccccc")
            .unwrap()
            .inode()
            .link_count(),
        2
    );
}

#[test]
fn spellings_of_a_path_are_one_path() {
    let tree = merge(&[
        vec![file("./a"), file("/b"), dir("c/"), file("c//d")],
        vec![file("a"), file("./c/d")],
    ]);
    assert_eq!(listing(&tree), ["a", "b", "c/", "c/d"]);
    assert_eq!(tree.lookup(b"/a").unwrap().layer(), 1);
}

// E. Path traversal and symlink escape

#[test]
fn symlink_named_root_cannot_replace_root() {
    let tree = merge(&[
        vec![EntryBuilder::symlink("./", "/tmp/hostdir")],
        vec![file("pwned")],
    ]);
    assert_eq!(listing(&tree), ["pwned"]);
    assert_eq!(tree.root().inode().kind, FileKind::Directory);
    assert_eq!(tree.diagnostics().len(), 1);
}

#[test]
fn root_dir_entry_sets_root_metadata() {
    let tree = merge(&[vec![
        EntryBuilder::dir("./").mode(0o700).owner(0, 0),
        file("a"),
    ]]);
    assert_eq!(tree.root().inode().mode, 0o700);
}

#[test]
fn file_over_symlink_replaces_symlink() {
    let tree = merge(&[vec![
        EntryBuilder::symlink("link", "/tmp/outside"),
        EntryBuilder::file("link", ""),
    ]]);
    assert_eq!(listing(&tree), ["link"]);
    assert_eq!(tree.duplicates().len(), 1);
}

#[test]
fn dotdot_name_is_error() {
    let error = merge_capturing(&[vec![file("../etc/passwd")]], &[]).unwrap_err();
    assert!(matches!(error, FsError::EscapesRoot { .. }), "{error}");
}

#[test]
fn same_layer_parent_symlink_is_followed() {
    let tree = merge(&[vec![
        dir("usr/"),
        dir("usr/bin/"),
        EntryBuilder::symlink("bin", "usr/bin"),
        EntryBuilder::symlink("abs", "/../../usr"),
        file("bin/tool"),
        file("abs/lib/x"),
    ]]);
    assert_eq!(
        listing(&tree),
        [
            "abs -> /../../usr",
            "bin -> usr/bin",
            "usr/",
            "usr/bin/",
            "usr/bin/tool",
            "usr/lib/",
            "usr/lib/x"
        ]
    );
}

#[test]
fn lower_parent_symlink_becomes_directory() {
    // Podman unpacks each layer into an empty directory: `bin/tool` creates
    // a directory `bin` there, which hides the lower symlink.
    let tree = merge(&[
        vec![
            dir("usr/"),
            dir("usr/bin/"),
            EntryBuilder::file("usr/bin/su", "x").mode(0o4755),
            EntryBuilder::symlink("bin", "usr/bin"),
        ],
        vec![file("bin/tool"), file("link/.wh.su")],
    ]);
    assert_eq!(
        listing(&tree),
        ["bin/", "bin/tool", "usr/", "usr/bin/", "usr/bin/su"]
    );
    assert_eq!(tree.lookup(b"usr/bin/su").unwrap().inode().mode, 0o4755);
}

#[test]
fn whiteout_under_lower_symlink_hides_nothing() {
    let tree = merge(&[
        vec![
            dir("usr/"),
            dir("usr/bin/"),
            EntryBuilder::file("usr/bin/su", "x").mode(0o4755),
            EntryBuilder::symlink("link", "/usr/bin"),
        ],
        vec![file("link/.wh.su")],
    ]);
    assert_eq!(listing(&tree), ["link/", "usr/", "usr/bin/", "usr/bin/su"]);
    assert!(tree.ghosts().is_empty());
}

#[test]
fn implicit_parent_resets_lower_dir_metadata() {
    let tree = merge(&[
        vec![
            EntryBuilder::dir("app/").mode(0o700).owner(1000, 1000),
            EntryBuilder::dir("tmp/").mode(0o1777),
        ],
        vec![
            file("app/file"),
            file("tmp/x"),
            EntryBuilder::dir("tmp/").mode(0o1777),
        ],
    ]);
    let app = tree.lookup(b"app").unwrap().inode();
    assert_eq!((app.mode, app.uid, app.gid), (0o755, 0, 0));
    assert_eq!(tree.lookup(b"tmp").unwrap().inode().mode, 0o1777);
}

#[test]
fn symlink_loop_is_error() {
    let error = merge_capturing(
        &[vec![
            EntryBuilder::symlink("a", "b"),
            EntryBuilder::symlink("b", "a"),
            file("a/x"),
        ]],
        &[],
    )
    .unwrap_err();
    assert!(matches!(error, FsError::SymlinkLoop { .. }), "{error}");
}

#[test]
fn lower_file_as_parent_is_replaced() {
    let tree = merge(&[vec![file("f")], vec![file("f/x")]]);
    assert_eq!(listing(&tree), ["f/", "f/x"]);
}

#[test]
fn same_layer_file_as_parent_is_error() {
    let error = merge_capturing(&[vec![file("f"), file("f/x")]], &[]).unwrap_err();
    assert!(
        matches!(error, FsError::ParentNotDirectory { kind, .. } if kind == "regular file"),
        "{error}"
    );
}

#[test]
fn duplicate_entry_last_wins_and_is_reported() {
    let tree = merge_capturing(
        &[vec![
            EntryBuilder::file("abc", "one"),
            file("other"),
            EntryBuilder::file("abc", "two"),
        ]],
        &["abc"],
    )
    .unwrap();
    assert_eq!(listing(&tree), ["abc", "other"]);
    assert_eq!(content(&tree, "abc"), "two");
    assert_eq!(tree.duplicates().len(), 1);
    assert_eq!(&*tree.duplicates()[0].path, b"abc");
}

#[test]
fn implicit_parents_are_root_0755() {
    let tree = merge(&[vec![EntryBuilder::file("a/b/c", "").owner(1000, 1000)]]);
    let parent = tree.lookup(b"a/b").unwrap();
    assert_eq!(parent.inode().mode, 0o755);
    assert_eq!((parent.inode().uid, parent.inode().gid), (0, 0));
}

#[test]
fn device_and_fifo_types() {
    let tree = merge(&[vec![
        EntryBuilder::device("dev/sda", EntryType::BlockDevice, 8, 0),
        EntryBuilder::fifo("run/p"),
    ]]);
    assert_eq!(
        tree.lookup(b"dev/sda").unwrap().inode().kind,
        FileKind::BlockDevice
    );
    assert_eq!(tree.lookup(b"dev/sda").unwrap().inode().device(), (8, 0));
    assert_eq!(tree.lookup(b"run/p").unwrap().inode().kind, FileKind::Fifo);
}

// G. Order of the final view

#[test]
fn walk_sorted_despite_tar_order() {
    let tree = merge(&[
        vec![
            dir("d/"),
            file("d/m"),
            file("d/b"),
            file("d/z"),
            file("d/a"),
            dir("c/"),
            file("c/2"),
            file("c/1"),
        ],
        vec![
            file("d/.wh.m"),
            file("d/c"),
            file("d/0"),
            file("d/y"),
            file("c/.wh.1"),
        ],
        vec![
            file("d/.wh.a"),
            file("d/m"),
            file("c/0"),
            file("c/.wh.2"),
            file("b"),
        ],
    ]);
    assert_eq!(
        listing(&tree),
        ["b", "c/", "c/0", "d/", "d/0", "d/b", "d/c", "d/m", "d/y", "d/z"]
    );
    assert_eq!(tree.lookup(b"d/m").unwrap().layer(), 2);
    assert!(tree.lookup(b"d/a").is_none());
    assert!(tree.lookup(b"c/1").is_none());
}

#[test]
fn large_directory_lookup_after_removals() {
    let count = 3000;
    let first: Vec<EntryBuilder> = std::iter::once(dir("big/"))
        .chain((0..count).rev().map(|n| file(&format!("big/f{n}"))))
        .collect();
    let second: Vec<EntryBuilder> = (0..count)
        .filter(|n| n % 3 == 0)
        .map(|n| file(&format!("big/.wh.f{n}")))
        .collect();
    let tree = merge(&[first, second]);
    for n in 0..count {
        let found = tree.lookup(format!("big/f{n}").as_bytes()).is_some();
        assert_eq!(found, n % 3 != 0, "big/f{n}");
    }
    let mut expected: Vec<String> = (0..count)
        .filter(|n| n % 3 != 0)
        .map(|n| format!("big/f{n}"))
        .collect();
    expected.sort();
    expected.insert(0, "big/".to_string());
    assert_eq!(listing(&tree), expected);
}
