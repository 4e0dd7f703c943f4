//! Downgrade and injection cases of the TLS helpers, against scripted
//! servers: TLS required but not offered, refused, bytes injected after the
//! OK, an IMAP PREAUTH greeting. Each asserts that nothing but the
//! capability request (and the refused upgrade command) was written: no
//! credential, no TLS handshake taken over a poisoned stream.
//! Run with `cargo test --features std,async,tls --test tls_transcript`.
#![cfg(all(feature = "std", feature = "async", feature = "tls"))]

mod script;

use embedded_mail::tls::{self, TlsBuffers, TlsError, TlsMode, TlsSettings};
use embedded_mail::{Error, RefusalKind};
use script::{block_on, transcript, Script};

/// Never used to make a key in these tests (the handshake never starts,
/// or fails on the first record); deterministic for reproducibility.
struct TestRng(u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for TestRng {}

const CA: &[u8] = b"not a certificate: never reached";

fn settings() -> TlsSettings<'static> {
    TlsSettings::pinned_ca("mail.example", CA)
}

/// Runs `f` with fresh client and TLS buffers.
fn with_bufs<R>(f: impl FnOnce(&mut [u8], &mut [u8], TlsBuffers<'_>) -> R) -> R {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 256]);
    let (mut rd, mut wr) = (vec![0u8; 16_640], vec![0u8; 4_096]);
    f(&mut rx, &mut tx, TlsBuffers::new(&mut rd, &mut wr))
}

fn pop3_blocking(s: &mut Script) -> Error<TlsError> {
    with_bufs(|rx, tx, tls| {
        match tls::pop3_connect(
            s,
            tls::Connect {
                mode: TlsMode::StartTls,
                settings: &settings(),
                tls,
                rx,
                tx,
            },
            TestRng(1),
        ) {
            Ok(_) => panic!("TLS helper succeeded against a script"),
            Err(e) => e,
        }
    })
}

fn pop3_async(s: &mut Script) -> Error<TlsError> {
    with_bufs(|rx, tx, tls| {
        let r = block_on(tls::asynch::pop3_connect(
            s,
            tls::Connect {
                mode: TlsMode::StartTls,
                settings: &settings(),
                tls,
                rx,
                tx,
            },
            TestRng(1),
        ));
        match r {
            Ok(_) => panic!("TLS helper succeeded against a script"),
            Err(e) => e,
        }
    })
}

fn imap_blocking(s: &mut Script) -> Error<TlsError> {
    with_bufs(|rx, tx, tls| {
        match tls::imap_connect(
            s,
            tls::Connect {
                mode: TlsMode::StartTls,
                settings: &settings(),
                tls,
                rx,
                tx,
            },
            TestRng(1),
        ) {
            Ok(_) => panic!("TLS helper succeeded against a script"),
            Err(e) => e,
        }
    })
}

fn imap_async(s: &mut Script) -> Error<TlsError> {
    with_bufs(|rx, tx, tls| {
        let r = block_on(tls::asynch::imap_connect(
            s,
            tls::Connect {
                mode: TlsMode::StartTls,
                settings: &settings(),
                tls,
                rx,
                tx,
            },
            TestRng(1),
        ));
        match r {
            Ok(_) => panic!("TLS helper succeeded against a script"),
            Err(e) => e,
        }
    })
}

type Run = fn(&mut Script) -> Error<TlsError>;
const POP3: [(&str, Run); 2] = [("blocking", pop3_blocking), ("async", pop3_async)];
const IMAP: [(&str, Run); 2] = [("blocking", imap_blocking), ("async", imap_async)];

/// Runs the dialogue under every read schedule with both clients; `check`
/// sees the error, the bytes written, and whether the schedule delivered
/// the whole server side at once (no split).
fn every_schedule(
    runs: &[(&str, Run)],
    pairs: &[(&str, &str)],
    check: impl Fn(&Error<TlsError>, &[u8], bool, &str),
) {
    let len = Script::new(transcript(pairs), 1, 0).server_len();
    for (name, run) in runs {
        for (chunk, split) in script::schedules(len) {
            let mut s = Script::new(transcript(pairs), chunk, split);
            let e = run(&mut s);
            let whole = chunk == usize::MAX && (split == 0 || split >= len);
            let what = format!("{name} chunk {chunk} split {split}: {e:?}");
            check(&e, &s.written, whole, &what);
        }
    }
}

// ---- POP3 ---------------------------------------------------------------

#[test]
fn pop3_stls_not_offered_fails_after_capa_only() {
    let pairs = [
        ("", "+OK POP3 ready\r\n"),
        ("CAPA\r\n", "+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n.\r\n"),
    ];
    every_schedule(&POP3, &pairs, |e, written, _, what| {
        assert!(matches!(e, Error::NotSupported("STLS")), "{what}");
        assert_eq!(written, b"CAPA\r\n", "{what}");
    });
}

#[test]
fn pop3_stls_refused_fails_without_fallback() {
    let pairs = [
        ("", "+OK POP3 ready\r\n"),
        ("CAPA\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
        ("STLS\r\n", "-ERR not now\r\n"),
    ];
    every_schedule(&POP3, &pairs, |e, written, _, what| {
        assert!(
            matches!(e, Error::Refused(r) if r.kind == RefusalKind::Err),
            "{what}"
        );
        assert_eq!(written, b"CAPA\r\nSTLS\r\n", "{what}");
    });
}

#[test]
fn pop3_bytes_injected_after_stls_ok_are_refused() {
    let pairs = [
        ("", "+OK POP3 ready\r\n"),
        ("CAPA\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
        ("STLS\r\n", "+OK Begin TLS\r\n+OK injected\r\n"),
    ];
    every_schedule(&POP3, &pairs, |e, written, whole, what| {
        if whole {
            // The injected line came with the +OK: refused before the
            // handshake, nothing more written.
            assert!(
                matches!(e, Error::Malformed { expected, .. } if expected.contains("STLS")),
                "{what}"
            );
            assert_eq!(written, b"CAPA\r\nSTLS\r\n", "{what}");
        } else {
            // Either refused the same way, or the injected bytes reached
            // the TLS layer, which rejects them as a record.
            assert!(
                matches!(e, Error::Malformed { .. } | Error::Transport(_)),
                "{what}"
            );
        }
        assert!(written.starts_with(b"CAPA\r\nSTLS\r\n"), "{what}");
        let text = String::from_utf8_lossy(written);
        assert!(!text.contains("USER") && !text.contains("PASS"), "{what}");
    });
}

// ---- IMAP ---------------------------------------------------------------

#[test]
fn imap_starttls_not_offered_fails_after_capability_only() {
    let pairs = [
        ("", "* OK IMAP ready\r\n"),
        (
            "A0001 CAPABILITY\r\n",
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nA0001 OK done\r\n",
        ),
    ];
    every_schedule(&IMAP, &pairs, |e, written, _, what| {
        assert!(matches!(e, Error::NotSupported("STARTTLS")), "{what}");
        assert_eq!(written, b"A0001 CAPABILITY\r\n", "{what}");
    });
}

#[test]
fn imap_starttls_not_in_greeting_capabilities_fails_with_nothing_written() {
    let pairs = [("", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] IMAP ready\r\n")];
    every_schedule(&IMAP, &pairs, |e, written, _, what| {
        assert!(matches!(e, Error::NotSupported("STARTTLS")), "{what}");
        assert!(written.is_empty(), "{what}");
    });
}

#[test]
fn imap_starttls_refused_fails_without_fallback() {
    let pairs = [
        (
            "",
            "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n",
        ),
        ("A0001 STARTTLS\r\n", "A0001 NO not today\r\n"),
    ];
    every_schedule(&IMAP, &pairs, |e, written, _, what| {
        assert!(
            matches!(e, Error::Refused(r) if r.kind == RefusalKind::No),
            "{what}"
        );
        assert_eq!(written, b"A0001 STARTTLS\r\n", "{what}");
    });
}

#[test]
fn imap_preauth_with_tls_required_is_refused() {
    let pairs = [(
        "",
        "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in as fred\r\n",
    )];
    every_schedule(&IMAP, &pairs, |e, written, _, what| {
        assert!(
            matches!(e, Error::NotSupported(w) if w.contains("PREAUTH")),
            "{what}"
        );
        assert!(written.is_empty(), "{what}");
    });
}

#[test]
fn imap_upgrade_after_preauth_is_refused() {
    let pairs = [("", "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")];
    let mut s = Script::new(transcript(&pairs), usize::MAX, 0);
    with_bufs(|rx, tx, tls| {
        let mut c = embedded_mail::imap::Client::new(&mut s, rx, tx);
        assert!(c.greeting().unwrap().preauth);
        match tls::imap_upgrade(c, &settings(), tls, TestRng(1)) {
            Err(Error::NotSupported(w)) => assert!(w.contains("PREAUTH")),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("upgrade after PREAUTH succeeded"),
        }
    });
    assert!(s.written.is_empty());
}

#[test]
fn imap_bytes_injected_after_starttls_ok_are_refused() {
    let pairs = [
        ("", "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n"),
        (
            "A0001 STARTTLS\r\n",
            "A0001 OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
        ),
    ];
    every_schedule(&IMAP, &pairs, |e, written, whole, what| {
        if whole {
            assert!(
                matches!(e, Error::Malformed { expected, .. } if expected.contains("STARTTLS")),
                "{what}"
            );
            assert_eq!(written, b"A0001 STARTTLS\r\n", "{what}");
        } else {
            assert!(
                matches!(e, Error::Malformed { .. } | Error::Transport(_)),
                "{what}"
            );
        }
        assert!(written.starts_with(b"A0001 STARTTLS\r\n"), "{what}");
        assert!(
            !String::from_utf8_lossy(written).contains("LOGIN"),
            "{what}"
        );
    });
}

#[test]
fn pop3_upgrade_after_login_is_refused() {
    let pairs = [
        ("", "+OK ready\r\n"),
        ("CAPA\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n"),
        ("USER u\r\n", "+OK\r\n"),
        ("PASS p\r\n", "+OK\r\n"),
    ];
    let mut s = Script::new(transcript(&pairs), usize::MAX, 0);
    with_bufs(|rx, tx, tls| {
        let mut c = embedded_mail::pop3::Client::connect(&mut s, rx, tx).unwrap();
        c.capa().unwrap();
        c.login("u", "p").unwrap();
        match tls::pop3_upgrade(c, &settings(), tls, TestRng(1)) {
            Err(Error::WrongState { .. }) => {}
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("upgrade after login succeeded"),
        }
    });
    assert!(s.client_matches());
}

#[test]
fn empty_server_name_is_refused_before_any_byte() {
    let mut s = Script::new(transcript(&[("", "")]), usize::MAX, 0);
    let r = with_bufs(|_, _, tls| {
        tls::handshake(&mut s, tls, &TlsSettings::pinned_ca("", CA), TestRng(1)).map(|_| ())
    });
    assert!(matches!(r, Err(Error::InvalidArgument(_))));
    assert!(s.written.is_empty());
}
