//! Differential check of the CRC-skipping gzip reader: wherever flate2's
//! checking decoder reads a stream, hardfs's reader must give the same
//! bytes. Any panic is a bug; errors on streams flate2 rejects are fine.

#![no_main]

use std::io::Read;

use hardfs_tar::GzipMembers;
use libfuzzer_sys::fuzz_target;

const MAX_OUTPUT: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let mut ours = Vec::new();
    let ours_result = GzipMembers::new(data)
        .take(MAX_OUTPUT)
        .read_to_end(&mut ours);
    let mut theirs = Vec::new();
    let theirs_result = flate2::read::MultiGzDecoder::new(data)
        .take(MAX_OUTPUT)
        .read_to_end(&mut theirs);
    if theirs_result.is_ok() && !data.is_empty() {
        assert!(ours_result.is_ok(), "flate2 read a stream hardfs rejects");
        assert!(ours == theirs, "the outputs differ");
    }
});
