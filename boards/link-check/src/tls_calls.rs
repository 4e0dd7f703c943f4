//! The TLS helpers (feature `tls`): POP3 STLS and IMAP STARTTLS upgrades
//! and implicit TLS, blocking and async, over the dummy transport. The
//! canned servers accept the upgrade and then send no handshake, so every
//! call ends in the handshake with an error; the bytes are opaque to the
//! optimiser, so the whole handshake, certificate verification and record
//! layer stay in the binary. The TLS record buffers are on the stack
//! (16 640 + 4 096 bytes), as firmware without a heap would have them.

use crate::transport::Dummy;
use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
use embedded_mail::Error;

/// Not random at all: a stand-in for a hardware TRNG, good only for a
/// link check. Never use a deterministic generator for real TLS.
pub struct LinkCheckRng(u32);

impl LinkCheckRng {
    /// The generator from `seed` (non-zero).
    pub const fn new(seed: u32) -> Self {
        LinkCheckRng(seed)
    }
}

impl rand_core::RngCore for LinkCheckRng {
    fn next_u32(&mut self) -> u32 {
        // xorshift32
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u32() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for LinkCheckRng {}

/// A throwaway CA placeholder: verification code must link, not pass.
static CA: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x00];

static POP3_STLS: &[&[u8]] = &[
    b"+OK POP3 ready\r\n",
    b"+OK\r\nUSER\r\nSTLS\r\nUIDL\r\n.\r\n",
    b"+OK Begin TLS\r\n",
];
static IMAP_STARTTLS: &[&[u8]] = &[
    b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n",
    b"A0001 OK Begin TLS negotiation now\r\n",
];
static IMPLICIT: &[&[u8]] = &[];

/// Where each call stopped: 1 for a TLS (transport) error or a closed
/// connection, as expected against these servers; 0 otherwise.
#[derive(Debug, Default, Clone, Copy)]
pub struct TlsReport {
    /// Calls that stopped in the handshake as expected.
    pub in_handshake: u32,
    /// Calls that did not.
    pub other: u32,
}

impl TlsReport {
    fn note<T, E>(&mut self, r: Result<T, Error<E>>) {
        match r {
            Err(Error::Transport(_) | Error::ConnectionClosed) => self.in_handshake += 1,
            _ => self.other += 1,
        }
    }
}

fn settings() -> TlsSettings<'static> {
    TlsSettings::pinned_ca(
        core::hint::black_box("mail.example"),
        core::hint::black_box(CA),
    )
}

/// Runs the blocking and async helpers once each per protocol and mode.
pub fn run() -> TlsReport {
    let mut report = TlsReport::default();
    let mut rd = [0u8; tls::READ_BUFFER_LEN];
    let mut wr = [0u8; tls::WRITE_BUFFER_LEN];
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 256]);
    let rng = || LinkCheckRng(core::hint::black_box(0x2545_f491));

    #[cfg(all(feature = "pop3", feature = "blocking"))]
    for (script, mode) in [
        (POP3_STLS, TlsMode::StartTls),
        (IMPLICIT, TlsMode::Implicit),
    ] {
        let bufs = TlsBuffers::new(&mut rd, &mut wr);
        let r = tls::pop3_connect(
            Dummy::new(script),
            tls::Connect {
                mode,
                settings: &settings(),
                tls: bufs,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng(),
        );
        report.note(r.map(|_| ()));
    }
    #[cfg(all(feature = "imap", feature = "blocking"))]
    for (script, mode) in [
        (IMAP_STARTTLS, TlsMode::StartTls),
        (IMPLICIT, TlsMode::Implicit),
    ] {
        let bufs = TlsBuffers::new(&mut rd, &mut wr);
        let r = tls::imap_connect(
            Dummy::new(script),
            tls::Connect {
                mode,
                settings: &settings(),
                tls: bufs,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng(),
        );
        report.note(r.map(|_| ()));
    }
    #[cfg(all(feature = "pop3", feature = "async"))]
    for (script, mode) in [
        (POP3_STLS, TlsMode::StartTls),
        (IMPLICIT, TlsMode::Implicit),
    ] {
        let bufs = TlsBuffers::new(&mut rd, &mut wr);
        let r = crate::executor::block_on(tls::asynch::pop3_connect(
            Dummy::new(script),
            tls::Connect {
                mode,
                settings: &settings(),
                tls: bufs,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng(),
        ));
        report.note(r.map(|_| ()));
    }
    #[cfg(all(feature = "imap", feature = "async"))]
    for (script, mode) in [
        (IMAP_STARTTLS, TlsMode::StartTls),
        (IMPLICIT, TlsMode::Implicit),
    ] {
        let bufs = TlsBuffers::new(&mut rd, &mut wr);
        let r = crate::executor::block_on(tls::asynch::imap_connect(
            Dummy::new(script),
            tls::Connect {
                mode,
                settings: &settings(),
                tls: bufs,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng(),
        ));
        report.note(r.map(|_| ()));
    }
    report
}

/// `size_of` the TLS streams over the dummy transport (blocking, async),
/// which live as long as the connection (the record buffers come on top).
pub static TLS_SIZES: [u32; 2] = [
    core::mem::size_of::<tls::TlsStream<'static, Dummy>>() as u32,
    core::mem::size_of::<tls::asynch::TlsStream<'static, Dummy>>() as u32,
];

#[cfg(all(
    test,
    feature = "blocking",
    feature = "async",
    feature = "pop3",
    feature = "imap"
))]
mod tests {
    #[test]
    fn every_tls_call_reaches_the_handshake() {
        let r = super::run();
        assert_eq!(r.in_handshake, 8, "{r:?}");
        assert_eq!(r.other, 0, "{r:?}");
        println!("size_of TlsStream<Dummy> {}", super::TLS_SIZES[0]);
        println!("size_of asynch::TlsStream<Dummy> {}", super::TLS_SIZES[1]);
        // The async connect's future holds the TLS stream, the verifier
        // (with its 4 KiB chain room) and the handshake state.
        let (mut rd, mut wr) = ([0u8; 64], [0u8; 64]);
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        let settings = super::settings();
        let fut = embedded_mail::tls::asynch::imap_connect(
            crate::transport::Dummy::new(super::IMPLICIT),
            embedded_mail::tls::Connect {
                mode: super::TlsMode::StartTls,
                settings: &settings,
                tls: super::TlsBuffers::new(&mut rd, &mut wr),
                rx: &mut rx,
                tx: &mut tx,
            },
            super::LinkCheckRng(1),
        );
        println!(
            "size_of_val(tls::asynch::imap_connect future) = {} bytes (host)",
            core::mem::size_of_val(&fut)
        );
    }
}
