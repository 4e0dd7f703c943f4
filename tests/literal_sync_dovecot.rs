//! A password that needs a literal against a real Dovecot that does not
//! advertise LITERAL+ (a second instance of its own, started by
//! `scripts/dovecot ensure` with `EM_DOVECOT_IMAP_CAPABILITY`, on free
//! ports; it stops by itself when this test process exits). The client
//! must send a synchronizing literal `{N}` and wait for the server's `+`
//! (so does APPEND; tests/robust_dovecot.rs covers the LITERAL+ server; the transcript
//! side is tests/imap_literals.rs). The poll then runs on the session.
#![cfg(feature = "std")]

use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{Client, State};
use embedded_mail::poll::{self, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::RefusalKind;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The user `scripts/dovecot` adds with this password: 8-bit bytes, a
/// quote and a backslash.
const LITERAL_USER: &str = "literal";
const LITERAL_PASSWORD: &str = "gr\u{fc}\u{df}e \"x\\y\"";

/// What the second Dovecot advertises: its defaults less LITERAL+ (and
/// less the IMAP4rev2 extensions a plain IMAP4rev1 server lacks).
const CAPABILITY: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS";

/// The IMAP port of the instance, started once per test process.
fn imap_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let owner = std::process::id();
        let dir = root
            .join("target")
            .join(format!("dovecot-auto-{owner}-noliteral"));
        let out = Command::new("bash")
            .arg(root.join("scripts/dovecot"))
            .arg("ensure")
            .arg(&dir)
            .arg(owner.to_string())
            .env("EM_DOVECOT_IMAP_CAPABILITY", CAPABILITY)
            // Free ports of its own, whatever the caller's instance uses.
            .env_remove("EM_POP3_PORT")
            .env_remove("EM_IMAP_PORT")
            .env_remove("EM_POP3S_PORT")
            .env_remove("EM_IMAPS_PORT")
            .output()
            .expect("running scripts/dovecot (run scripts/setup first)");
        assert!(
            out.status.success(),
            "scripts/dovecot ensure {} failed (Dovecot installed? run scripts/setup):\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env.sh")).expect("env.sh");
        env.lines()
            .find_map(|l| {
                l.trim_start_matches("export ")
                    .strip_prefix("EM_IMAP_PORT=")
                    .map(|v| v.trim_matches(['\'', '"']).parse().expect("a port"))
            })
            .expect("EM_IMAP_PORT in env.sh")
    })
}

fn tcp() -> FromStd<TcpStream> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, imap_port()));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    FromStd::new(s)
}

#[test]
fn login_with_a_synchronizing_literal_then_poll() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    let caps = *c.capabilities();
    assert!(
        !caps.literal_plus && !caps.literal_minus,
        "the instance must not offer LITERAL+ or LITERAL-: {caps:?}"
    );
    c.login(LITERAL_USER, LITERAL_PASSWORD)
        .unwrap_or_else(|e| panic!("login with a synchronizing literal: {e}"));
    assert_eq!(c.session().state(), State::Authenticated);
    assert!(
        !c.capabilities().literal_plus,
        "LITERAL+ stays off after login: {:?}",
        c.capabilities()
    );
    // APPEND waits for the continuation too; then the session is in step
    // for a keep-mode poll that stores what was appended.
    let mut bodies = Vec::new();
    for i in 0..3 {
        let body = format!(
            "From: a@example.org\r\nMessage-ID: <sync-{i}-{}@example.org>\r\n\r\nbody {i}\r\n",
            std::process::id()
        );
        let mut src: &[u8] = body.as_bytes();
        c.append("INBOX", &[], None, body.len() as u32, &mut src)
            .unwrap_or_else(|e| panic!("APPEND with a synchronizing literal: {e}"));
        bodies.push(body.into_bytes());
    }
    let mut store = MemoryStore::<{ 128 * 1024 }, 16, 2048>::new();
    let mut state: SyncState<64> = SyncState::new();
    let policy = Policy {
        max_size: Some(16 * 1024),
        max_messages: Some(3),
        ..Policy::default()
    };
    let summary = poll::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
        .unwrap_or_else(|e| panic!("poll after a literal login: {e}"));
    assert_eq!(summary.stored, 3, "{summary:?}");
    let mut stored: Vec<Vec<u8>> = store.messages().map(|(_, b)| b.to_vec()).collect();
    stored.sort();
    assert_eq!(stored, bodies, "stored as appended");
    c.logout().unwrap();
}

#[test]
fn a_wrong_password_sent_as_a_literal_is_refused_cleanly() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    let e = c.login(LITERAL_USER, "gr\u{fc}\u{df}e").unwrap_err();
    assert_eq!(e.refusal().map(|r| r.kind), Some(RefusalKind::No), "{e}");
    // The connection is still usable: the right password now.
    c.login(LITERAL_USER, LITERAL_PASSWORD).unwrap();
    assert_eq!(c.session().state(), State::Authenticated);
    c.logout().unwrap();
}
