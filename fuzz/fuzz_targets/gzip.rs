//! Differential check of hardfs's gzip reader, with each inflate
//! implementation the build has, against flate2's decoder. Where flate2
//! reads a stream, every implementation must give the same bytes. ISA-L
//! checks the CRC-32 as flate2 does, so it must also reject every stream
//! flate2 rejects for its data. zlib-rs skips the CRC-32 and may accept
//! more. Any panic is a bug.

#![no_main]

use std::io::Read;

use hardfs_tar::{GzipMembers, Inflate};
use libfuzzer_sys::fuzz_target;

const MAX_OUTPUT: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let mut theirs = Vec::new();
    let theirs_result = flate2::read::MultiGzDecoder::new(data)
        .take(MAX_OUTPUT)
        .read_to_end(&mut theirs);
    for &inflate in Inflate::ALL {
        let mut ours = Vec::new();
        let ours_result = GzipMembers::with_inflate(data, inflate)
            .take(MAX_OUTPUT)
            .read_to_end(&mut ours);
        // hardfs follows Go's gzip reader where it differs from flate2: it
        // rejects names and comments over 511 bytes and ignores reserved
        // flag bits, which flate2 rejects in a header.
        let runtime_limit = matches!(&ours_result, Err(error)
            if error.to_string().contains("which podman and docker reject"));
        let flate2_header_error = matches!(&theirs_result, Err(error)
            if error.to_string().contains("header"));
        if theirs_result.is_ok() && !data.is_empty() && !runtime_limit {
            assert!(ours_result.is_ok(), "flate2 read a stream {inflate:?} rejects");
            assert!(ours == theirs, "{inflate:?} and flate2 give different bytes");
        }
        if inflate.checks_crc()
            && ours_result.is_ok()
            && (ours.len() as u64) < MAX_OUTPUT
            && !flate2_header_error
        {
            assert!(theirs_result.is_ok(), "{inflate:?} read a stream flate2 rejects");
        }
    }
});
