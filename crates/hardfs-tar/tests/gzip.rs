//! The CRC-skipping gzip reader against flate2's checking one: the same
//! output for every header form and member layout, and an error wherever
//! the stream is cut or its sizes disagree.

use std::io::{Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compression as Level, Crc, GzBuilder};
use hardfs_tar::GzipMembers;

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

fn read_all(stream: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut output = Vec::new();
    GzipMembers::new(stream).read_to_end(&mut output)?;
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
fn crc_is_not_checked_but_size_is() {
    let data = sample(10_000);
    let mut stream = gzip(&data);
    let length = stream.len();
    stream[length - 8] ^= 0xff;
    assert!(read_all(&stream).unwrap() == data, "a wrong CRC is ignored");

    let mut stream = gzip(&data);
    stream[length - 4] ^= 0x01;
    let error = read_all(&stream).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        error.to_string(),
        "gzip member size does not match its trailer (ISIZE)"
    );
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
    let cases: [(Vec<u8>, &str); 4] = [
        (Vec::new(), "empty gzip stream"),
        (
            [gzip(&data), b"trailing garbage".to_vec()].concat(),
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
                let mut stream = gzip(&data);
                stream[3] |= 0x80;
                stream
            },
            "invalid gzip header: reserved flag bits are set",
        ),
    ];
    for (stream, message) in cases {
        let error = read_all(&stream).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
}
