//! Records when the crate was compiled: the TLS verifier's time floor
//! (`tls::BUILD_TIME_FLOOR`), used when the firmware has no clock.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EMBEDDED_MAIL_TIME_FLOOR");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let floor = from_env("EMBEDDED_MAIL_TIME_FLOOR")
        .or_else(|| from_env("SOURCE_DATE_EPOCH"))
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=EMBEDDED_MAIL_TIME_FLOOR={floor}");
}
