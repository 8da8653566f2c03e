//! Feeds arbitrary bytes to the layer reader and the merge: the input is
//! split into two layers at its first byte's position, each decompressed
//! by magic bytes with a small output limit, read and applied. Any panic,
//! hang or runaway allocation is a bug; errors are the expected outcome.

#![no_main]

use hardfs_fs::{read_layer, ReadOptions, Tree};
use hardfs_tar::{decompress, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let split = (usize::from(split) * rest.len()) / 255;
    let (first, second) = rest.split_at(split.min(rest.len()));
    let mut options = ReadOptions::with_account_files();
    options.limits = Limits { max_entries: 10_000, max_extended_size: 64 << 10, ..Limits::default() };
    let mut tree = Tree::new();
    for (index, blob) in [first, second].into_iter().enumerate() {
        let Ok((_, stream)) = decompress(blob, 16 << 20) else { return };
        let Ok(layer) = read_layer(stream, &options) else { return };
        if tree.apply_layer(index, layer).is_err() {
            return;
        }
    }
    let mut count = 0usize;
    tree.walk(|_, file| {
        count += 1;
        let _ = file.display();
    });
    assert!(count >= 1);
});
