//! hardfs's gzip reader, with each inflate implementation the build has,
//! against flate2's decoder: the same output for every header form, member
//! layout and read size, and an error wherever the stream is cut, damaged
//! or its trailer disagrees.

use std::io::{BufReader, Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compression as Level, Crc, GzBuilder};
use hardfs_tar::{GzipMembers, Inflate};

fn sample(length: usize) -> Vec<u8> {
    (0..length)
        .map(|index| (index * 31 % 253) as u8 ^ (index / 1000) as u8)
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Level::new(6));
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Builds one member with every optional header field, FHCRC included,
/// which flate2's builder does not write.
fn member_with_all_fields(data: &[u8]) -> Vec<u8> {
    let mut member = vec![0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 255];
    member.extend_from_slice(&5u16.to_le_bytes());
    member.extend_from_slice(b"extra");
    member.extend_from_slice(b"layer.tar\0");
    member.extend_from_slice(b"a comment\0");
    let mut header_crc = Crc::new();
    header_crc.update(&member);
    member.extend_from_slice(&(header_crc.sum() as u16).to_le_bytes());
    let mut encoder = DeflateEncoder::new(member, Level::new(1));
    encoder.write_all(data).unwrap();
    let mut member = encoder.finish().unwrap();
    let mut crc = Crc::new();
    crc.update(data);
    member.extend_from_slice(&crc.sum().to_le_bytes());
    member.extend_from_slice(&(data.len() as u32).to_le_bytes());
    member
}

/// Reads a stream with every implementation; they must agree.
fn read_all(stream: &[u8]) -> std::io::Result<Vec<u8>> {
    let results: Vec<_> = Inflate::ALL
        .iter()
        .map(|&inflate| read_with(inflate, stream))
        .collect();
    for (inflate, result) in Inflate::ALL.iter().zip(&results) {
        match (result, &results[0]) {
            (Ok(ours), Ok(first)) => assert!(ours == first, "{inflate:?} output differs"),
            (Err(ours), Err(first)) => assert_eq!(ours.kind(), first.kind(), "{inflate:?}"),
            _ => panic!("{inflate:?} disagrees: {result:?} vs {:?}", results[0]),
        }
    }
    results.into_iter().next().unwrap()
}

fn read_with(inflate: Inflate, stream: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut output = Vec::new();
    GzipMembers::with_inflate(stream, inflate).read_to_end(&mut output)?;
    Ok(output)
}

fn flate2_reads(stream: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    flate2::read::MultiGzDecoder::new(stream)
        .read_to_end(&mut output)
        .unwrap();
    output
}

#[test]
fn single_member_matches_flate2() {
    let data = sample(3 << 20);
    let stream = gzip(&data);
    let output = read_all(&stream).unwrap();
    assert_eq!(output.len(), data.len());
    assert!(output == data);
    assert!(output == flate2_reads(&stream));
}

#[test]
fn several_members_are_concatenated() {
    let parts = [sample(100_000), Vec::new(), sample(1), sample(70_000)];
    let mut stream = Vec::new();
    for part in &parts {
        stream.extend(gzip(part));
    }
    stream.extend(member_with_all_fields(b"last"));
    let expected: Vec<u8> = parts.concat().into_iter().chain(*b"last").collect();
    assert!(read_all(&stream).unwrap() == expected);
    assert!(flate2_reads(&stream) == expected);
}

#[test]
fn optional_header_fields_are_skipped() {
    let data = sample(50_000);
    let stream = member_with_all_fields(&data);
    assert!(read_all(&stream).unwrap() == data);
    let named = GzBuilder::new()
        .filename("x")
        .comment("y")
        .extra(vec![1, 2, 3])
        .write(Vec::new(), Level::new(6));
    let mut named = named;
    named.write_all(&data).unwrap();
    assert!(read_all(&named.finish().unwrap()).unwrap() == data);
}

#[test]
fn zlib_rs_checks_size_not_crc() {
    let data = sample(10_000);
    let mut stream = gzip(&data);
    let length = stream.len();
    stream[length - 8] ^= 0xff;
    assert!(
        read_with(Inflate::ZlibRs, &stream).unwrap() == data,
        "a wrong CRC is ignored"
    );

    let mut stream = gzip(&data);
    stream[length - 4] ^= 0x01;
    let error = read_with(Inflate::ZlibRs, &stream).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        error.to_string(),
        "gzip member size does not match its trailer (ISIZE)"
    );
}

#[cfg(hardfs_isal)]
#[test]
fn isal_checks_crc_and_size() {
    let data = sample(10_000);
    let length = gzip(&data).len();
    for at in [length - 8, length - 5, length - 4, length - 1] {
        let mut stream = gzip(&data);
        stream[at] ^= 0x01;
        let error = read_with(Inflate::Isal, &stream).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "byte {at}");
        assert_eq!(
            error.to_string(),
            "gzip member does not match its trailer (CRC-32 or ISIZE)"
        );
    }
}

/// scripts/test.sh installs ISA-L, so a build that fell back to zlib-rs
/// there is a broken install step, not a slower run.
#[test]
fn isal_built_when_expected() {
    if std::env::var_os("HARDFS_EXPECT_ISAL").is_some() {
        assert_eq!(Inflate::fastest().as_str(), "ISA-L");
    }
}

#[test]
fn read_sizes_give_same_bytes() {
    // Small and stored members next to each other, so that member ends
    // fall inside and at the edges of the reader's buffer.
    let parts = [
        sample(5_000),
        b"x".to_vec(),
        Vec::new(),
        sample(300_000),
        sample(17),
    ];
    let mut stream = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let mut encoder = GzEncoder::new(Vec::new(), Level::new(index as u32 % 10));
        encoder.write_all(part).unwrap();
        stream.extend(encoder.finish().unwrap());
    }
    let expected = parts.concat();
    for &inflate in Inflate::ALL {
        for capacity in [1, 2, 7, 8, 9, 64, 4096, 65_537] {
            for output_size in [1, 3, 4096, 1 << 20] {
                let mut reader = GzipMembers::with_inflate(
                    BufReader::with_capacity(capacity, &stream[..]),
                    inflate,
                );
                let mut output = Vec::new();
                let mut buffer = vec![0; output_size];
                loop {
                    let count = reader.read(&mut buffer).unwrap();
                    if count == 0 {
                        break;
                    }
                    output.extend_from_slice(&buffer[..count]);
                }
                assert!(
                    output == expected,
                    "{inflate:?}, input buffer {capacity}, output buffer {output_size}"
                );
            }
        }
    }
}

#[test]
fn damaged_deflate_data_is_error() {
    let data = sample(100_000);
    let stream = gzip(&data);
    let mut rejected = 0;
    for at in (10..stream.len() - 8).step_by(97) {
        let mut damaged = stream.clone();
        damaged[at] ^= 0x55;
        for &inflate in Inflate::ALL {
            match read_with(inflate, &damaged) {
                Ok(output) => assert!(
                    output != data || !inflate.checks_crc(),
                    "{inflate:?} read a damaged stream as the original"
                ),
                Err(error) => {
                    // flate2 calls corrupt deflate data invalid input.
                    assert!(
                        matches!(
                            error.kind(),
                            std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
                        ),
                        "{inflate:?}: {error}"
                    );
                    rejected += 1;
                }
            }
        }
    }
    assert!(rejected > 0);
}

#[test]
fn truncated_streams_are_errors() {
    let data = sample(200_000);
    let stream = gzip(&data);
    for cut in [
        1,
        5,
        10,
        stream.len() / 2,
        stream.len() - 8,
        stream.len() - 1,
    ] {
        let error = read_all(&stream[..cut]).unwrap_err();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::InvalidData,
            "cut at {cut}"
        );
        assert!(
            error
                .to_string()
                .starts_with("gzip stream ends inside a member"),
            "cut at {cut}: {error}"
        );
    }
}

#[test]
fn bad_headers_and_trailing_bytes_are_errors() {
    let data = sample(1000);
    let cases: [(Vec<u8>, &str); 6] = [
        (Vec::new(), "empty gzip stream"),
        (
            [gzip(&data), b"trailing garbage".to_vec()].concat(),
            "invalid gzip stream: the bytes after member 1 are not a gzip member (trailing data)",
        ),
        (
            [gzip(&data), vec![0]].concat(),
            "invalid gzip stream: the bytes after member 1 are not a gzip member (trailing data)",
        ),
        (
            b"PK\x03\x04 not gzip".to_vec(),
            "invalid gzip header: the magic bytes 1f 8b are missing",
        ),
        (
            {
                let mut stream = gzip(&data);
                stream[2] = 7;
                stream
            },
            "invalid gzip header: the compression method is not deflate",
        ),
        (
            {
                let mut stream = member_with_all_fields(&data);
                // The FHCRC field follows the 10 fixed bytes, the extra
                // field (2 + 5), the name (10) and the comment (10).
                stream[37] ^= 0xff;
                stream
            },
            "invalid gzip header: its CRC-16 is",
        ),
    ];
    for (stream, message) in cases {
        let error = read_all(&stream).unwrap_err();
        assert!(
            error.to_string().starts_with(message),
            "{error} should start with {message}"
        );
    }
}

/// Go's gzip reader, which podman and docker use, ignores reserved flag
/// bits and rejects names longer than 511 bytes, so hardfs does the same.
#[test]
fn header_limits_follow_container_runtimes() {
    let data = sample(1000);
    let mut reserved = gzip(&data);
    reserved[3] |= 0xe0;
    assert!(read_all(&reserved).unwrap() == data);

    for (length, accepted) in [(511, true), (512, false)] {
        let named = GzBuilder::new()
            .filename(vec![b'n'; length])
            .write(Vec::new(), Level::new(6));
        let mut named = named;
        named.write_all(&data).unwrap();
        let result = read_all(&named.finish().unwrap());
        if accepted {
            assert!(result.unwrap() == data, "name of {length} bytes");
        } else {
            assert_eq!(
                result.unwrap_err().to_string(),
                "invalid gzip header: the file name is longer than 511 bytes, which podman and \
                 docker reject"
            );
        }
    }
}
