//! Whole TLS 1.3 handshakes without a network, for the stack measurement
//! of scripts/size-report: a real server's handshake flight, recorded on
//! the host against Dovecot (`record` below, run by size-report), played
//! back to the same client.
//!
//! It works because the client is deterministic here: the RNG is the
//! link check's xorshift with a fixed seed, so the ClientHello (random,
//! key share) is the same byte for byte on the host and on the target,
//! and the recorded ServerHello, certificates, CertificateVerify and
//! Finished fit it. The replayed handshake does the real work: ECDHE,
//! the key schedule, decrypting the flight, validating the chain against
//! the pinned root (for the RSA chain: one RSA-4096 PKCS#1 v1.5
//! verification, the intermediate, and one RSA-2048, the leaf), the
//! CertificateVerify signature (ECDSA P-256, or RSA-2048 PSS) and the
//! Finished MAC. A recording is refused if anything about it differs
//! (a wrong root, a changed client), so `handshake` returning true proves
//! the measured path is the successful one.
//!
//! The recordings come in at build time through `EM_REPLAY_DIR`
//! (build.rs): `ec.bin` + `ec-ca.der` (Dovecot's ECDSA P-256 chain, name
//! `localhost`) and `rsa.bin` + `rsa-ca.der` (its RSA chain, name
//! `rsa.localhost`), and the chains as DER (`ec-leaf.der`; `rsa-leaf.der`,
//! `rsa-int.der`) for [`check_chain`]. Without them the replays are empty
//! and skipped.

// Used by the stack-paint build (src/stack.rs) and the recorder test.
#![cfg_attr(not(feature = "stack-paint"), allow(dead_code))]

use crate::tls_calls::LinkCheckRng;
use crate::transport::Dummy;
use embedded_mail::tls::{self, TlsBuffers, TlsSettings};

/// The RNG seed of the recorded and the replayed client.
pub const SEED: u32 = 0x5eed_1234;

/// One recorded server: its handshake flight, the root to pin, the name.
pub struct Recording {
    pub flight: &'static [&'static [u8]],
    pub ca: &'static [u8],
    pub name: &'static str,
}

pub static EC: Recording = Recording {
    flight: &[include_bytes!(concat!(env!("OUT_DIR"), "/replay/ec.bin"))],
    ca: include_bytes!(concat!(env!("OUT_DIR"), "/replay/ec-ca.der")),
    name: "localhost",
};

pub static RSA: Recording = Recording {
    flight: &[include_bytes!(concat!(env!("OUT_DIR"), "/replay/rsa.bin"))],
    ca: include_bytes!(concat!(env!("OUT_DIR"), "/replay/rsa-ca.der")),
    name: "rsa.localhost",
};

/// Dovecot's EC chain as it sends it (the leaf; the root is pinned).
pub static CHAIN_EC: &[&[u8]] = &[include_bytes!(concat!(
    env!("OUT_DIR"),
    "/replay/ec-leaf.der"
))];

/// Dovecot's RSA chain as it sends it: leaf (RSA-2048), intermediate
/// (RSA-2048, signed by the RSA-4096 root).
pub static CHAIN_RSA: &[&[u8]] = &[
    include_bytes!(concat!(env!("OUT_DIR"), "/replay/rsa-leaf.der")),
    include_bytes!(concat!(env!("OUT_DIR"), "/replay/rsa-int.der")),
];

/// Path validation alone, without a handshake
/// ([`TlsSettings::check_chain`]): for the RSA chain one RSA-4096 and one
/// RSA-2048 PKCS#1 v1.5 verification plus the certificate checks; for
/// the EC chain one ECDSA P-256 verification. True if it accepts.
#[inline(never)]
pub fn check_chain(r: &Recording, chain: &[&[u8]]) -> bool {
    if chain.iter().any(|c| c.is_empty()) {
        return false;
    }
    TlsSettings::pinned_ca(core::hint::black_box(r.name), core::hint::black_box(r.ca))
        .check_chain(core::hint::black_box(chain))
        .is_ok()
}

impl Recording {
    /// False when build.rs found no recording.
    pub fn present(&self) -> bool {
        !self.ca.is_empty() && self.flight.iter().any(|s| !s.is_empty())
    }
}

/// Runs the client's whole handshake against `r` (verification on, the
/// recorded root pinned, the TLS record buffers on this stack frame, as
/// firmware without a heap has them). True if it succeeded.
#[inline(never)]
pub fn handshake(r: &Recording) -> bool {
    let mut rd = [0u8; tls::READ_BUFFER_LEN];
    let mut wr = [0u8; tls::WRITE_BUFFER_LEN];
    let settings =
        TlsSettings::pinned_ca(core::hint::black_box(r.name), core::hint::black_box(r.ca));
    let ok = tls::handshake(
        Dummy::new(r.flight),
        TlsBuffers::new(&mut rd, &mut wr),
        &settings,
        LinkCheckRng::new(SEED),
    )
    .is_ok();
    core::hint::black_box(&mut rd);
    ok
}

/// The recorder: `cargo test --features tls,tls-rsa -- --ignored
/// record_handshakes` with EM_RECORD_DIR (where to write), EM_IMAPS_PORT,
/// EM_CA_DER and EM_RSA_CA_DER (a running `scripts/dovecot`'s env.sh).
#[cfg(test)]
mod record {
    use super::SEED;
    use crate::tls_calls::LinkCheckRng;
    use embedded_io::{ErrorKind, ErrorType, Read, Write};
    use embedded_mail::tls::{self, TlsBuffers, TlsSettings};
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    /// A TCP stream that keeps every byte the server sent.
    struct Recorder {
        tcp: TcpStream,
        got: Vec<u8>,
    }

    impl ErrorType for Recorder {
        type Error = ErrorKind;
    }

    impl Read for Recorder {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            let n = self.tcp.read(buf).map_err(|_| ErrorKind::Other)?;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
            self.tcp.write(buf).map_err(|_| ErrorKind::Other)
        }
        fn flush(&mut self) -> Result<(), ErrorKind> {
            self.tcp.flush().map_err(|_| ErrorKind::Other)
        }
    }

    fn record(port: u16, name: &'static str, ca: &'static [u8]) -> Vec<u8> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect to Dovecot");
        let mut rec = Recorder {
            tcp,
            got: Vec::new(),
        };
        let (mut rd, mut wr) = (
            vec![0u8; tls::READ_BUFFER_LEN],
            vec![0u8; tls::WRITE_BUFFER_LEN],
        );
        let settings = TlsSettings::pinned_ca(name, ca);
        let stream = tls::handshake(
            &mut rec,
            TlsBuffers::new(&mut rd, &mut wr),
            &settings,
            LinkCheckRng::new(SEED),
        )
        .unwrap_or_else(|e| panic!("handshake with {name}: {e}"));
        drop(stream);
        rec.got
    }

    fn leak(v: Vec<u8>) -> &'static [u8] {
        Vec::leak(v)
    }

    #[test]
    #[ignore = "needs a running Dovecot (scripts/size-report runs it)"]
    fn record_handshakes() {
        let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} not set"));
        let dir = std::path::PathBuf::from(var("EM_RECORD_DIR"));
        let port: u16 = var("EM_IMAPS_PORT").parse().expect("EM_IMAPS_PORT");
        std::fs::create_dir_all(&dir).expect("EM_RECORD_DIR");
        for (tag, name, ca_var) in [
            ("ec", "localhost", "EM_CA_DER"),
            ("rsa", "rsa.localhost", "EM_RSA_CA_DER"),
        ] {
            let ca = leak(std::fs::read(var(ca_var)).expect(ca_var));
            let flight = record(port, name, ca);
            // The recording must replay: same client, same bytes.
            let flight_static: &'static [&'static [u8]] = Vec::leak(vec![leak(flight.clone())]);
            let r = super::Recording {
                flight: flight_static,
                ca,
                name,
            };
            assert!(super::handshake(&r), "{tag}: the recording does not replay");
            std::fs::write(dir.join(format!("{tag}.bin")), &flight).expect("write");
            std::fs::write(dir.join(format!("{tag}-ca.der")), ca).expect("write");
            println!("recorded {tag}: {} bytes of server flight", flight.len());
        }
    }
}
