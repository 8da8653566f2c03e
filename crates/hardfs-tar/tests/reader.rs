//! Reader behavior on archives built in code, including the malformed ones.

use std::io::{Cursor, Write};

use hardfs_tar::{decompress, EntryBuilder, EntryType, Limits, Reader, TarError, Writer};

fn archive(entries: &[EntryBuilder]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    for entry in entries {
        writer.append(entry).unwrap();
    }
    writer.finish().unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<hardfs_tar::Entry>, TarError> {
    let mut reader = Reader::new(bytes);
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

#[test]
fn round_trip_of_every_type() {
    let bytes = archive(&[
        EntryBuilder::dir("etc/").mode(0o755),
        EntryBuilder::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n").owner(0, 0),
        EntryBuilder::file("usr/bin/su", "elf").mode(0o4755),
        EntryBuilder::symlink("bin", "usr/bin"),
        EntryBuilder::hardlink("usr/bin/su2", "usr/bin/su"),
        EntryBuilder::device("dev/null", EntryType::CharDevice, 1, 3),
        EntryBuilder::fifo("run/pipe"),
    ]);
    let entries = read_all(&bytes).unwrap();
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                String::from_utf8_lossy(&e.path).into_owned(),
                e.entry_type,
                e.mode,
                e.size,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("etc/".into(), EntryType::Directory, 0o755, 0),
            ("etc/passwd".into(), EntryType::Regular, 0o644, 26),
            ("usr/bin/su".into(), EntryType::Regular, 0o4755, 3),
            ("bin".into(), EntryType::Symlink, 0o777, 0),
            ("usr/bin/su2".into(), EntryType::Hardlink, 0o644, 0),
            ("dev/null".into(), EntryType::CharDevice, 0o660, 0),
            ("run/pipe".into(), EntryType::Fifo, 0o644, 0),
        ]
    );
    assert_eq!(entries[3].link_name, b"usr/bin");
    assert_eq!(entries[4].link_name, b"usr/bin/su");
    assert_eq!((entries[5].dev_major, entries[5].dev_minor), (1, 3));
}

#[test]
fn read_data_returns_content() {
    let bytes = archive(&[
        EntryBuilder::file("a", "first"),
        EntryBuilder::file("b", "second"),
    ]);
    let mut reader = Reader::new(&bytes[..]);
    reader.next_entry().unwrap().unwrap();
    let second = reader.next_entry().unwrap().unwrap();
    assert_eq!(second.path, b"b");
    assert_eq!(reader.read_data(100).unwrap(), b"second");
    assert!(reader.next_entry().unwrap().is_none());
}

#[test]
fn capability_value_with_newline_byte_decodes() {
    // vfs_cap_data revision 2 with cap_net_raw (bit 13) and a 0x0A byte.
    let value = [
        0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let bytes =
        archive(&[EntryBuilder::file("usr/bin/ping", "x").xattr("security.capability", value)]);
    let entries = read_all(&bytes).unwrap();
    assert_eq!(entries[0].xattr(b"security.capability"), Some(&value[..]));
    assert_eq!(entries[0].path, b"usr/bin/ping");
}

#[test]
fn long_pax_linkpath_resolves() {
    let dir: String = (0..12).map(|_| "aaaaaaaaaaaaaaa/").collect();
    let target = format!("{dir}bbbbbbbbbbbbbbb");
    let bytes = archive(&[
        EntryBuilder::file(&target, "x"),
        EntryBuilder::symlink("bbbbbbbbbbbbbbb", &target),
        EntryBuilder::hardlink("ccccccccccccccc", &target),
    ]);
    let entries = read_all(&bytes).unwrap();
    assert_eq!(entries[0].path, target.as_bytes());
    assert_eq!(entries[1].link_name, target.as_bytes());
    assert_eq!(entries[2].link_name, target.as_bytes());
}

#[test]
fn gnu_long_name_and_link() {
    let long: String = "d/".repeat(80) + "file";
    let mut writer = Writer::new(Vec::new()).gnu_long_names();
    writer.append(&EntryBuilder::file(&long, "x")).unwrap();
    writer
        .append(&EntryBuilder::symlink("link", "t/".repeat(70)))
        .unwrap();
    let bytes = writer.finish().unwrap();
    let entries = read_all(&bytes).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].path, long.as_bytes());
    assert_eq!(entries[1].link_name, "t/".repeat(70).as_bytes());
}

#[test]
fn ustar_prefix_joins_name() {
    let path = format!("{}/{}", "p".repeat(120), "n".repeat(90));
    let entries = read_all(&archive(&[EntryBuilder::file(&path, "")])).unwrap();
    assert_eq!(entries[0].path, path.as_bytes());
}

#[test]
fn non_utf8_name_is_kept_exactly() {
    let name = b"data/caf\xe9.txt".to_vec();
    let long = [b"d/".repeat(60), b"caf\xe9".to_vec()].concat();
    let entries = read_all(&archive(&[
        EntryBuilder::file(&name, "x"),
        EntryBuilder::file(&long, "y"),
    ]))
    .unwrap();
    assert_eq!(entries[0].path, name);
    assert_eq!(entries[1].path, long);
}

#[test]
fn header_only_types_ignore_size_field() {
    // A directory header claiming 1024 bytes: Go's archive/tar reads no data
    // for it, so the next header starts right after it.
    let mut dir = archive(&[EntryBuilder::dir("d/")]);
    dir.truncate(512);
    dir[124..136].copy_from_slice(b"00000002000\0");
    rewrite_checksum(&mut dir[..512]);
    let rest = archive(&[EntryBuilder::file("d/f", "x")]);
    let entries = read_all(&[dir, rest].concat()).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].size, 0);
    assert_eq!(entries[1].path, b"d/f");
}

#[test]
fn bad_checksum_names_offset() {
    let mut bytes = archive(&[EntryBuilder::file("a", "x"), EntryBuilder::file("b", "y")]);
    bytes[1024] ^= 0x01; // first byte of the second header's name
    let error = read_all(&bytes).unwrap_err();
    assert!(
        matches!(error, TarError::Checksum { offset: 1024, .. }),
        "{error}"
    );
}

#[test]
fn truncated_content_is_error() {
    let bytes = archive(&[
        EntryBuilder::file("a", vec![7u8; 2000]),
        EntryBuilder::file("b", "y"),
    ]);
    let error = read_all(&bytes[..1500]).unwrap_err();
    assert!(
        matches!(
            error,
            TarError::Truncated {
                what: "entry content",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn truncated_header_is_error() {
    let bytes = archive(&[EntryBuilder::file("a", "x")]);
    let error = read_all(&bytes[..300]).unwrap_err();
    assert!(
        matches!(
            error,
            TarError::Truncated {
                what: "a header block",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn end_without_zero_blocks_is_clean() {
    let bytes = archive(&[EntryBuilder::file("a", "x")]);
    assert_eq!(read_all(&bytes[..1024]).unwrap().len(), 1);
}

#[test]
fn header_after_single_zero_block_is_error() {
    let first = archive(&[EntryBuilder::file("a", "x")]);
    let second = archive(&[EntryBuilder::file("b", "y")]);
    let bytes = [&first[..1024], &[0u8; 512][..], &second[..]].concat();
    assert!(matches!(
        read_all(&bytes),
        Err(TarError::Field {
            field: "header",
            ..
        })
    ));
}

#[test]
fn name_over_limit_is_error() {
    let long = "n".repeat(5000);
    let error = read_all(&archive(&[EntryBuilder::file(&long, "")])).unwrap_err();
    assert!(
        matches!(
            error,
            TarError::NameTooLong {
                len: 5000,
                max: 4096,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn entry_count_limit() {
    let bytes = archive(&[
        EntryBuilder::file("a", ""),
        EntryBuilder::file("b", ""),
        EntryBuilder::file("c", ""),
    ]);
    let limits = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let mut reader = Reader::new(&bytes[..]).with_limits(limits);
    reader.next_entry().unwrap();
    reader.next_entry().unwrap();
    assert!(matches!(
        reader.next_entry(),
        Err(TarError::TooManyEntries { max: 2 })
    ));
}

#[test]
fn absurd_size_is_error() {
    let mut bytes = archive(&[EntryBuilder::file("a", "x")]);
    bytes[124..136].copy_from_slice(b"77777777777\0");
    rewrite_checksum(&mut bytes[..512]);
    let limits = Limits {
        max_entry_size: 1 << 30,
        ..Limits::default()
    };
    let mut reader = Reader::new(&bytes[..]).with_limits(limits);
    assert!(matches!(
        reader.next_entry(),
        Err(TarError::EntryTooLarge { .. })
    ));
}

#[test]
fn unknown_typeflag_is_error() {
    let mut bytes = archive(&[EntryBuilder::file("a", "")]);
    bytes[156] = b'S';
    rewrite_checksum(&mut bytes[..512]);
    assert!(matches!(
        read_all(&bytes),
        Err(TarError::UnsupportedType { typeflag: 'S', .. })
    ));
}

#[test]
fn seekable_reader_matches_streaming() {
    let bytes = archive(&[
        EntryBuilder::file("a", vec![1u8; 5000]),
        EntryBuilder::file("b", "y"),
    ]);
    let mut reader = Reader::new_seekable(Cursor::new(&bytes));
    let mut names = Vec::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        names.push(entry.path);
    }
    assert_eq!(names, vec![b"a".to_vec(), b"b".to_vec()]);
    let truncated = &bytes[..3000];
    let mut reader = Reader::new_seekable(Cursor::new(truncated));
    reader.next_entry().unwrap();
    assert!(matches!(
        reader.next_entry(),
        Err(TarError::Truncated { .. })
    ));
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let tar = archive(&[
        EntryBuilder::file("a", "one"),
        EntryBuilder::file("b", "two"),
    ]);
    let (head, tail) = tar.split_at(1024);
    let mut blob = Vec::new();
    for part in [head, tail] {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(part).unwrap();
        blob.extend(encoder.finish().unwrap());
    }
    let (compression, stream) = decompress(&blob[..], u64::MAX).unwrap();
    assert_eq!(compression, hardfs_tar::Compression::Gzip);
    let mut reader = Reader::new(stream);
    assert_eq!(reader.next_entry().unwrap().unwrap().path, b"a");
    assert_eq!(reader.next_entry().unwrap().unwrap().path, b"b");
}

#[test]
fn zstd_layer_is_read() {
    let tar = archive(&[EntryBuilder::file("z", "zz")]);
    let blob = zstd::encode_all(&tar[..], 3).unwrap();
    let (compression, stream) = decompress(&blob[..], u64::MAX).unwrap();
    assert_eq!(compression, hardfs_tar::Compression::Zstd);
    assert_eq!(
        Reader::new(stream).next_entry().unwrap().unwrap().path,
        b"z"
    );
}

#[test]
fn decompression_bomb_is_stopped() {
    let tar = archive(&[EntryBuilder::file("zeros", vec![0u8; 4 << 20])]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&tar).unwrap();
    let blob = encoder.finish().unwrap();
    let (_, stream) = decompress(&blob[..], 1 << 20).unwrap();
    let mut reader = Reader::new(stream);
    let error = reader
        .next_entry()
        .and_then(|_| reader.next_entry())
        .unwrap_err();
    assert!(matches!(error, TarError::Bomb { max: 1048576 }), "{error}");
}

#[test]
fn xz_is_rejected_by_name() {
    let blob = [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0];
    assert!(matches!(
        decompress(&blob[..], u64::MAX),
        Err(TarError::UnsupportedCompression("xz"))
    ));
}

fn rewrite_checksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}
