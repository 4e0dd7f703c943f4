//! Puts memory.x on the linker's search path (riscv-rt's link.x includes
//! it), and the pinned CA certificate (DER) named by `EM_CA_DER` into
//! OUT_DIR/ca.der (empty when unset: the firmware then stops with an
//! error before connecting). `scripts/qemu-demo` builds after starting
//! Dovecot, whose CA is generated per start.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory.x");
    for var in ["EM_USER", "EM_PASSWORD", "EM_CA_DER", "EM_MAILBOX"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());

    let ca = match env::var_os("EM_CA_DER") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            fs::read(&path).unwrap_or_else(|e| panic!("EM_CA_DER={path:?}: {e}"))
        }
        None => Vec::new(),
    };
    fs::write(out.join("ca.der"), ca).expect("write ca.der");
}
