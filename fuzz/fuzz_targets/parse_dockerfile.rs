//! Feeds arbitrary text to the Dockerfile parser and the whole lint pass.
//! Any input must give findings or an error, never a panic or a hang.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = hardfs_dockerfile::parse(&text) {
        let _ = file.dump();
    }
    let _ = hardfs_dockerfile::lint("Dockerfile", &text);
});
