//! Pieces the host examples share.
#![allow(dead_code)]

use std::io::Read as _;

/// The kernel's CSPRNG for TLS key exchange (firmware uses its hardware
/// TRNG instead).
pub struct OsRng(std::fs::File);

impl OsRng {
    /// Opens `/dev/urandom`.
    pub fn open() -> std::io::Result<Self> {
        std::fs::File::open("/dev/urandom").map(OsRng)
    }
}

impl rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // A failing /dev/urandom must not yield predictable keys.
        if self.0.read_exact(dest).is_err() {
            std::process::abort();
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for OsRng {}
