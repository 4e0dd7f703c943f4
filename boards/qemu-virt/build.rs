//! Puts memory.x on the linker's search path (riscv-rt's link.x includes
//! it), and the pinned CA certificate (DER) named by `EM_CA_DER` into
//! OUT_DIR/ca.der, the RSA root named by `EM_RSA_CA_DER` into
//! OUT_DIR/rsa-ca.der (each empty when unset: the firmware then stops with
//! an error before connecting). `scripts/qemu-demo` builds after starting
//! Dovecot, whose CA is generated per start.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory.x");
    for var in [
        "EM_USER",
        "EM_PASSWORD",
        "EM_CA_DER",
        "EM_RSA_CA_DER",
        "EM_MAILBOX",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());

    for (var, file) in [("EM_CA_DER", "ca.der"), ("EM_RSA_CA_DER", "rsa-ca.der")] {
        let der = match env::var_os(var) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
                fs::read(&path).unwrap_or_else(|e| panic!("{var}={path:?}: {e}"))
            }
            None => Vec::new(),
        };
        fs::write(out.join(file), der).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }
}
