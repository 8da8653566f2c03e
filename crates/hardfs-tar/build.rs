//! Builds the ISA-L inflate glue when the library and its header are
//! installed (Debian: libisal-dev). Without them hardfs still builds and
//! inflates gzip layers with zlib-rs, which takes a third longer, and the
//! build prints a warning. `HARDFS_NO_ISAL=1` chooses zlib-rs even when
//! ISA-L is installed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(hardfs_isal)");
    println!("cargo::rerun-if-changed=src/isal_shim.c");
    println!("cargo::rerun-if-env-changed=HARDFS_NO_ISAL");
    if std::env::var_os("HARDFS_NO_ISAL").is_some_and(|value| value != "0") {
        return;
    }
    let mut build = cc::Build::new();
    build
        .file("src/isal_shim.c")
        .warnings(true)
        .cargo_warnings(false);
    match build.try_compile("hardfs_isal_shim") {
        Ok(()) => {
            println!("cargo::rustc-link-lib=dylib=isal");
            println!("cargo::rustc-cfg=hardfs_isal");
        }
        Err(_) => println!(
            "cargo::warning=ISA-L (isa-l/igzip_lib.h) was not found, so gzip layers are \
             inflated with zlib-rs, which takes a third longer; for the faster path install libisal-dev, \
             then run `cargo clean -p hardfs-tar` and build again"
        ),
    }
}
