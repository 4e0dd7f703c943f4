//! Puts the `memory.x` of the target's family where the linker finds it
//! (`-Tlink.x` of cortex-m-rt / riscv-rt includes it). Host builds (the
//! transcript test) need none.

use std::{env, fs, path::PathBuf};

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory");
    if os != "none" {
        return;
    }
    let file = match arch.as_str() {
        "arm" if env::var_os("CARGO_FEATURE_STACK_PAINT").is_some() => "memory/qemu-mps2-an386.x",
        "arm" => "memory/cortex-m.x",
        "riscv32" => "memory/riscv.x",
        other => panic!("link-check: no memory.x for target_arch {other}"),
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy(file, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
}
