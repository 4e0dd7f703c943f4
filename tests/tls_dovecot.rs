//! The TLS helpers against a real Dovecot (see `tests/common`): IMAPS and
//! POP3S with a byte-identical fetch, the STARTTLS and STLS upgrades, and
//! the verification failures (wrong pinned CA, wrong host name).
//! Run with `cargo test --features std,async,tls --test tls_dovecot`.
#![cfg(all(feature = "std", feature = "async", feature = "tls"))]

mod common;
mod script;

use common::{dovecot, OsRng, READER};
use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{BodyRequest, Section, State as ImapState};
use embedded_mail::pop3::State as Pop3State;
use embedded_mail::tls::{self, TlsBuffers, TlsError, TlsMode, TlsSettings};
use embedded_mail::Error;
use script::{block_on, Sink};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Messages up to this size are fetched (the 5 MiB one is covered by the
/// plain-text tests; over TLS in a debug build it only costs time).
const FETCH_LIMIT: usize = 256 * 1024;

fn tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to Dovecot");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// A std socket behind the async traits (the test's executor never waits).
struct AsyncTcp(TcpStream);

impl embedded_io_async::ErrorType for AsyncTcp {
    type Error = std::io::Error;
}
impl embedded_io_async::Read for AsyncTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        std::io::Read::read(&mut self.0, buf)
    }
}
impl embedded_io_async::Write for AsyncTcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        std::io::Write::write(&mut self.0, buf)
    }
    async fn flush(&mut self) -> Result<(), std::io::Error> {
        std::io::Write::flush(&mut self.0)
    }
}

struct Bufs {
    rx: Vec<u8>,
    tx: Vec<u8>,
    rd: Vec<u8>,
    wr: Vec<u8>,
}

impl Bufs {
    fn new() -> Self {
        Bufs {
            rx: vec![0; 1024],
            tx: vec![0; 256],
            rd: vec![0; tls::READ_BUFFER_LEN],
            wr: vec![0; tls::WRITE_BUFFER_LEN],
        }
    }
    fn split(&mut self) -> (&mut [u8], &mut [u8], TlsBuffers<'_>) {
        (
            &mut self.rx,
            &mut self.tx,
            TlsBuffers::new(&mut self.rd, &mut self.wr),
        )
    }
}

fn ca() -> &'static [u8] {
    static CA: OnceLock<Vec<u8>> = OnceLock::new();
    CA.get_or_init(|| dovecot().ca_der())
}

fn pinned() -> TlsSettings<'static> {
    TlsSettings::pinned_ca("localhost", ca())
}

/// A second throwaway ECDSA P-256 CA, made with openssl: not the one that
/// signed the server's certificate.
fn other_ca() -> &'static [u8] {
    static OTHER: OnceLock<Vec<u8>> = OnceLock::new();
    OTHER.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tls-other-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("running openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ]);
        run(&[
            "req",
            "-new",
            "-x509",
            "-key",
            "other.key",
            "-sha256",
            "-days",
            "30",
            "-subj",
            "/CN=Other Throwaway CA",
            "-out",
            "other.pem",
        ]);
        run(&[
            "x509",
            "-in",
            "other.pem",
            "-outform",
            "DER",
            "-out",
            "other.der",
        ]);
        let der = std::fs::read(dir.join("other.der")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        der
    })
}

fn seeded_small() -> Vec<common::SeededMessage> {
    dovecot()
        .inbox_messages(READER)
        .into_iter()
        .filter(|m| m.bytes_crlf.len() <= FETCH_LIMIT)
        .collect()
}

// ---- implicit TLS ---------------------------------------------------------

#[test]
fn imaps_login_and_byte_identical_fetch() {
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let stream = FromStd::new(tcp(d.imaps_addr()));
    let mut c = tls::imap_connect(
        stream,
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &pinned(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("IMAPS connect");
    assert!(c.capabilities().known && c.capabilities().imap4rev1);
    c.login(READER, &d.password).expect("login over TLS");
    assert_eq!(c.session().state(), ImapState::Authenticated);
    c.examine("INBOX").unwrap();
    let msgs = seeded_small();
    assert!(msgs.len() >= 3);
    for m in &msgs {
        let mut sink = Sink(Vec::new());
        let n = c
            .fetch_body(m.uid, BodyRequest::peek(Section::Full), &mut sink)
            .unwrap();
        assert_eq!(n as usize, m.bytes_crlf.len(), "uid {}", m.uid);
        assert!(sink.0 == m.bytes_crlf, "uid {} differs", m.uid);
    }
    let stream = c.logout().unwrap();
    stream.close().map_err(|(_, e)| e).expect("close_notify");
}

#[test]
fn pop3s_login_and_byte_identical_retr() {
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let stream = FromStd::new(tcp(d.pop3s_addr()));
    let mut c = tls::pop3_connect(
        stream,
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &pinned(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("POP3S connect");
    assert!(c.capabilities().uidl && c.capabilities().user);
    assert!(!c.capabilities().stls, "no STLS under TLS");
    c.login(READER, &d.password).expect("login over TLS");
    assert_eq!(c.session().state(), Pop3State::Transaction);
    let all = dovecot().inbox_messages(READER);
    for (i, m) in all.iter().enumerate() {
        if m.bytes_crlf.len() > FETCH_LIMIT {
            continue;
        }
        let mut sink = Sink(Vec::new());
        c.retr(i as u32 + 1, &mut sink).unwrap();
        assert!(sink.0 == m.pop3_retr_bytes(), "message {} differs", i + 1);
    }
    c.quit().unwrap();
}

#[test]
fn async_imaps_and_pop3s_fetch() {
    let d = dovecot();
    let msgs = seeded_small();
    let all = dovecot().inbox_messages(READER);
    block_on(async {
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let t = AsyncTcp(tcp(d.imaps_addr()));
        let mut c = tls::asynch::imap_connect(
            t,
            tls::Connect {
                mode: TlsMode::Implicit,
                settings: &pinned(),
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        )
        .await
        .expect("async IMAPS");
        c.login(READER, &d.password).await.unwrap();
        c.examine("INBOX").await.unwrap();
        for m in &msgs {
            let mut sink = Sink(Vec::new());
            c.fetch_body(m.uid, BodyRequest::peek(Section::Full), &mut sink)
                .await
                .unwrap();
            assert!(sink.0 == m.bytes_crlf, "uid {} differs", m.uid);
        }
        c.logout().await.unwrap();

        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let t = AsyncTcp(tcp(d.pop3s_addr()));
        let mut c = tls::asynch::pop3_connect(
            t,
            tls::Connect {
                mode: TlsMode::Implicit,
                settings: &pinned(),
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        )
        .await
        .expect("async POP3S");
        c.login(READER, &d.password).await.unwrap();
        for (i, m) in all.iter().enumerate() {
            if m.bytes_crlf.len() > FETCH_LIMIT {
                continue;
            }
            let mut sink = Sink(Vec::new());
            c.retr(i as u32 + 1, &mut sink).await.unwrap();
            assert!(sink.0 == m.pop3_retr_bytes(), "message {} differs", i + 1);
        }
        c.quit().await.unwrap();
    });
}

// ---- STARTTLS / STLS ----------------------------------------------------

#[test]
fn imap_starttls_upgrade_then_login() {
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let stream = FromStd::new(tcp(d.imap_addr()));
    let mut c = tls::imap_connect(
        stream,
        tls::Connect {
            mode: TlsMode::StartTls,
            settings: &pinned(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("STARTTLS");
    // Read again under TLS: known, and no longer offering STARTTLS.
    assert!(c.capabilities().known && c.capabilities().imap4rev1);
    assert!(!c.capabilities().starttls);
    assert_eq!(c.session().state(), ImapState::NotAuthenticated);
    c.login(READER, &d.password).unwrap();
    let st = c.examine("INBOX").unwrap();
    assert_eq!(st.exists as usize, dovecot().inbox_messages(READER).len());
    c.logout().unwrap();
}

#[test]
fn imap_upgrade_of_an_existing_client_async() {
    let d = dovecot();
    block_on(async {
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let mut c = embedded_mail::imap::asynch::Client::new(AsyncTcp(tcp(d.imap_addr())), rx, tx);
        assert!(!c.greeting().await.unwrap().preauth);
        let mut c = tls::asynch::imap_upgrade(c, &pinned(), tb, OsRng::new())
            .await
            .expect("async STARTTLS");
        assert!(c.capabilities().known && !c.capabilities().starttls);
        c.login(READER, &d.password).await.unwrap();
        c.logout().await.unwrap();
    });
}

#[test]
fn pop3_stls_upgrade_then_login() {
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let stream = FromStd::new(tcp(d.pop3_addr()));
    let mut c = tls::pop3_connect(
        stream,
        tls::Connect {
            mode: TlsMode::StartTls,
            settings: &pinned(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("STLS");
    assert!(
        c.capabilities().uidl && !c.capabilities().stls,
        "CAPA read again under TLS"
    );
    c.login(READER, &d.password).unwrap();
    let stat = c.stat().unwrap();
    assert_eq!(stat.count as usize, dovecot().inbox_messages(READER).len());
    c.quit().unwrap();
}

#[test]
fn pop3_stls_upgrade_of_an_existing_client_async() {
    let d = dovecot();
    block_on(async {
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let mut c =
            embedded_mail::pop3::asynch::Client::connect(AsyncTcp(tcp(d.pop3_addr())), rx, tx)
                .await
                .unwrap();
        assert!(c.capa().await.unwrap().stls);
        let mut c = tls::asynch::pop3_upgrade(c, &pinned(), tb, OsRng::new())
            .await
            .expect("async STLS");
        assert!(!c.capabilities().stls);
        c.login(READER, &d.password).await.unwrap();
        c.stat().await.unwrap();
        c.quit().await.unwrap();
    });
}

// ---- verification failures ----------------------------------------------

fn assert_cert_refused<C>(r: Result<C, Error<TlsError>>, what: &str) {
    match r {
        Err(Error::Certificate(why)) => eprintln!("{what}: refused: {why}"),
        Err(e) => panic!("{what}: expected a certificate refusal, got {e:?}"),
        Ok(_) => panic!("{what}: the handshake succeeded"),
    }
}

#[test]
fn wrong_pinned_ca_fails() {
    let d = dovecot();
    let wrong = TlsSettings::pinned_ca("localhost", other_ca());
    for (addr, mode, what) in [
        (d.imaps_addr(), TlsMode::Implicit, "IMAPS"),
        (d.imap_addr(), TlsMode::StartTls, "IMAP STARTTLS"),
    ] {
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let r = tls::imap_connect(
            FromStd::new(tcp(addr)),
            tls::Connect {
                mode,
                settings: &wrong,
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        );
        assert_cert_refused(r, what);
    }
    for (addr, mode, what) in [
        (d.pop3s_addr(), TlsMode::Implicit, "POP3S"),
        (d.pop3_addr(), TlsMode::StartTls, "POP3 STLS"),
    ] {
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let r = block_on(tls::asynch::pop3_connect(
            AsyncTcp(tcp(addr)),
            tls::Connect {
                mode,
                settings: &wrong,
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        ));
        assert_cert_refused(r, what);
    }
}

#[test]
fn wrong_host_name_fails() {
    let d = dovecot();
    for name in ["mail.example.com", "localhost.evil", "127.0.0.2"] {
        let settings = TlsSettings::pinned_ca(name, ca());
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let r = tls::pop3_connect(
            FromStd::new(tcp(d.pop3s_addr())),
            tls::Connect {
                mode: TlsMode::Implicit,
                settings: &settings,
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        );
        assert_cert_refused(r, name);
        let mut b = Bufs::new();
        let (rx, tx, tb) = b.split();
        let r = block_on(tls::asynch::imap_connect(
            AsyncTcp(tcp(d.imaps_addr())),
            tls::Connect {
                mode: TlsMode::Implicit,
                settings: &settings,
                tls: tb,
                rx,
                tx,
            },
            OsRng::new(),
        ));
        assert_cert_refused(r, name);
    }
}

/// The control for the two tests above: the same wrong CA and name pass
/// only when verification is explicitly switched off.
#[test]
fn insecure_skip_verification_accepts_what_verification_refuses() {
    let d = dovecot();
    let insecure = TlsSettings::insecure_skip_verification("mail.example.com");
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let c = tls::imap_connect(
        FromStd::new(tcp(d.imaps_addr())),
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &insecure,
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("insecure handshake");
    c.logout().unwrap();
}

/// A clock far past the certificate's notAfter makes it expire.
#[test]
fn clock_past_not_after_fails() {
    struct Year2200;
    impl tls::TlsClock for Year2200 {
        fn now() -> Option<u64> {
            Some(7_258_118_400)
        }
    }
    struct Now;
    impl tls::TlsClock for Now {
        fn now() -> Option<u64> {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs())
        }
    }
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let r = tls::imap_connect(
        FromStd::new(tcp(d.imaps_addr())),
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &pinned().with_clock::<Year2200>(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    );
    assert_cert_refused(r, "expired");
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let c = tls::imap_connect(
        FromStd::new(tcp(d.imaps_addr())),
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &pinned().with_clock::<Now>(),
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("valid now");
    c.logout().unwrap();
}

// ---- an RSA chain (RSA-4096 root, RSA-2048 intermediate and leaf) --------

fn rsa_ca() -> &'static [u8] {
    static CA: OnceLock<Vec<u8>> = OnceLock::new();
    CA.get_or_init(|| std::fs::read(&dovecot().rsa_ca_der_path).expect("rsa-ca.der"))
}

#[test]
fn imaps_poll_over_a_verified_rsa_chain_stores_every_message_byte_exact() {
    use embedded_mail::poll::{self, Policy, SyncState};
    use embedded_mail::store::maildir::MaildirStore;
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    // Dovecot serves its RSA chain to clients asking for rsa.localhost.
    let settings = TlsSettings::pinned_ca("rsa.localhost", rsa_ca());
    let stream = FromStd::new(tcp(d.imaps_addr()));
    let mut c = tls::imap_connect(
        stream,
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &settings,
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    )
    .expect("IMAPS connect over an RSA chain");
    c.login(READER, &d.password).expect("login over TLS");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-rsa-poll-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = MaildirStore::open(&dir).unwrap();
    let mut state: SyncState<32> = SyncState::new();
    let policy = Policy {
        max_size: Some(FETCH_LIMIT as u64),
        ..Policy::default()
    };
    let summary = poll::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
        .expect("poll over TLS");
    let mut want: Vec<Vec<u8>> = seeded_small().into_iter().map(|m| m.bytes_crlf).collect();
    let mut got: Vec<Vec<u8>> = store
        .messages()
        .unwrap()
        .iter()
        .map(|(_, path)| std::fs::read(path).unwrap())
        .collect();
    want.sort();
    got.sort();
    assert_eq!(summary.stored as usize, want.len());
    assert!(got == want, "stored bodies differ from the server's");
    c.logout().unwrap();
}

#[test]
fn rsa_chain_is_refused_when_the_ec_root_is_pinned() {
    let d = dovecot();
    let mut b = Bufs::new();
    let (rx, tx, tb) = b.split();
    let settings = TlsSettings::pinned_ca("rsa.localhost", ca());
    let stream = FromStd::new(tcp(d.imaps_addr()));
    let r = tls::imap_connect(
        stream,
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &settings,
            tls: tb,
            rx,
            tx,
        },
        OsRng::new(),
    );
    assert!(
        matches!(
            r,
            Err(Error::Certificate(
                embedded_mail::CertificateError::UnknownIssuer
            ))
        ),
        "an RSA chain to another root must be refused"
    );
}
