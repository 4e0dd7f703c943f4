//! Puts the `memory.x` of the target's family where the linker finds it
//! (`-Tlink.x` of cortex-m-rt / riscv-rt includes it). Host builds (the
//! transcript test) need none. Also copies the recorded TLS handshakes of
//! `EM_REPLAY_DIR` (src/tls_replay.rs) into OUT_DIR/replay, or writes
//! empty files when it is unset.

use std::{env, fs, path::PathBuf};

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-env-changed=EM_REPLAY_DIR");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let replay = out.join("replay");
    fs::create_dir_all(&replay).expect("create OUT_DIR/replay");
    let from = env::var_os("EM_REPLAY_DIR").map(PathBuf::from);
    for f in [
        "ec.bin",
        "ec-ca.der",
        "ec-leaf.der",
        "rsa.bin",
        "rsa-ca.der",
        "rsa-leaf.der",
        "rsa-int.der",
    ] {
        let bytes = match &from {
            Some(dir) => {
                println!("cargo:rerun-if-changed={}", dir.join(f).display());
                fs::read(dir.join(f)).unwrap_or_else(|e| panic!("EM_REPLAY_DIR: {f}: {e}"))
            }
            None => Vec::new(),
        };
        fs::write(replay.join(f), bytes).expect("write OUT_DIR/replay");
    }
    if os != "none" {
        return;
    }
    let file = match arch.as_str() {
        "arm" if env::var_os("CARGO_FEATURE_STACK_PAINT").is_some() => "memory/qemu-mps2-an386.x",
        "arm" => "memory/cortex-m.x",
        "riscv32" => "memory/riscv.x",
        other => panic!("link-check: no memory.x for target_arch {other}"),
    };
    fs::copy(file, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
}
