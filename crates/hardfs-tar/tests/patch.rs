//! The header patcher: untouched archives stay byte-identical, patched
//! entries read back with the new metadata, and contents survive.

use hardfs_tar::{patch_stream, EntryBuilder, HeaderPatch, Limits, Reader, CAPABILITY_XATTR};

const CAP: [u8; 20] = [
    0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
];

fn archive(entries: &[EntryBuilder]) -> Vec<u8> {
    let mut writer = hardfs_tar::Writer::new(Vec::new());
    for entry in entries {
        writer.append(entry).unwrap();
    }
    writer.finish().unwrap()
}

fn sample() -> Vec<u8> {
    let long = format!("usr/{}/tool", "d".repeat(150));
    archive(&[
        EntryBuilder::dir("usr/bin"),
        EntryBuilder::file("usr/bin/su", vec![7u8; 1500]).mode(0o4755),
        EntryBuilder::hardlink("usr/bin/su-link", "usr/bin/su"),
        EntryBuilder::file("usr/bin/ping", b"ping")
            .mode(0o755)
            .xattr(CAPABILITY_XATTR, CAP)
            .xattr("user.note", "kept"),
        EntryBuilder::file(&long, b"x")
            .mode(0o2755)
            .owner(1000, 1000),
        EntryBuilder::dir("tmp").mode(0o1777),
    ])
}

fn read_all(bytes: &[u8]) -> Vec<hardfs_tar::Entry> {
    let mut reader = Reader::new(bytes);
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        entries.push(entry);
    }
    entries
}

#[test]
fn unpatched_stream_is_identical() {
    let input = sample();
    let (output, stats) =
        patch_stream(&input[..], Vec::new(), Limits::default(), |_| None).unwrap();
    assert_eq!(output, input);
    assert_eq!(stats.entries, 6);
    assert_eq!(stats.patched, 0);
    assert_eq!(stats.bytes_out, input.len() as u64);
}

#[test]
fn patched_entries_read_back() {
    let input = sample();
    let (output, stats) = patch_stream(&input[..], Vec::new(), Limits::default(), |entry| {
        let mut patch = HeaderPatch::default();
        if entry.mode & 0o6000 != 0 {
            patch.mode = Some(entry.mode & !0o6000);
        }
        if entry.xattr(CAPABILITY_XATTR).is_some() {
            patch.drop_xattrs.push(CAPABILITY_XATTR.to_vec());
        }
        if entry.uid == 1000 {
            patch.uid = Some(0);
            patch.gid = Some(0);
        }
        Some(patch)
    })
    .unwrap();
    assert_eq!(stats.patched, 3);

    let entries = read_all(&output);
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[1].mode, 0o755);
    assert_eq!(entries[3].xattr(CAPABILITY_XATTR), None);
    assert_eq!(entries[3].xattr(b"user.note"), Some(&b"kept"[..]));
    assert_eq!(entries[4].mode, 0o755);
    assert_eq!(entries[4].uid, 0);
    assert_eq!(entries[4].gid, 0);
    assert!(entries[4].path.starts_with(b"usr/ddd"));
    assert_eq!(entries[5].mode, 0o1777);
}

#[test]
fn contents_survive_patching() {
    let input = sample();
    let (output, _) = patch_stream(&input[..], Vec::new(), Limits::default(), |entry| {
        Some(HeaderPatch {
            mode: Some(entry.mode & 0o755),
            ..HeaderPatch::default()
        })
    })
    .unwrap();
    let mut reader = Reader::new(&output[..]);
    let mut contents = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        contents.push((entry.path.clone(), reader.read_data(1 << 20).unwrap()));
    }
    assert_eq!(contents[1].1, vec![7u8; 1500]);
    assert_eq!(contents[3].1, b"ping");
}

#[test]
fn only_capability_record_empties_pax_header() {
    let input = archive(&[EntryBuilder::file("bin/ping", b"p").xattr(CAPABILITY_XATTR, CAP)]);
    let (output, _) = patch_stream(&input[..], Vec::new(), Limits::default(), |_| {
        Some(HeaderPatch {
            drop_xattrs: vec![CAPABILITY_XATTR.to_vec()],
            ..HeaderPatch::default()
        })
    })
    .unwrap();
    // Header, one content block and two end blocks: the PAX header is gone.
    assert_eq!(output.len(), 512 * 4);
    assert!(!output.windows(19).any(|window| window == CAPABILITY_XATTR));
}

#[test]
fn truncated_stream_is_error() {
    let input = sample();
    let result = patch_stream(&input[..1000], Vec::new(), Limits::default(), |_| None);
    assert!(result.is_err());
}
