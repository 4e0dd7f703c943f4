//! Puts the CA certificate to pin (DER) into OUT_DIR/ca.der: the file named
//! by MAIL_CA_DER at build time, else the bundled placeholder (a throwaway
//! CA whose key was destroyed: every handshake against a real server then
//! fails verification, which is the point, so a firmware built without a CA
//! can never talk to an unverified server).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MAIL_CA_DER");
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("ca.der");
    let (src, placeholder) = match std::env::var_os("MAIL_CA_DER").filter(|v| !v.is_empty()) {
        Some(p) => {
            let mut p = PathBuf::from(p);
            if p.is_relative() {
                // Relative to the directory cargo was started from (the
                // shell's), as a user would expect; cargo gives build
                // scripts the package directory as their working directory.
                if let Some(pwd) = std::env::var_os("PWD") {
                    p = PathBuf::from(pwd).join(p);
                }
            }
            (p, false)
        }
        None => (manifest.join("placeholder-ca.der"), true),
    };
    println!("cargo:rerun-if-changed={}", src.display());
    let der = std::fs::read(&src)
        .unwrap_or_else(|e| panic!("MAIL_CA_DER: cannot read {}: {e}", src.display()));
    // A DER certificate is a SEQUENCE: refuse PEM (or anything else) early.
    if der.first() != Some(&0x30) {
        panic!(
            "MAIL_CA_DER: {} is not a DER certificate (convert a PEM one with \
             `openssl x509 -in ca.pem -outform DER -out ca.der`)",
            src.display()
        );
    }
    std::fs::write(&out, &der).expect("write OUT_DIR/ca.der");
    println!(
        "cargo:rustc-env=MAIL_CA_IS_PLACEHOLDER={}",
        if placeholder { "1" } else { "0" }
    );
}
