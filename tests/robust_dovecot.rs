//! Real servers and hostile peers, against the test Dovecot (see
//! `tests/common`): a password that needs a literal, and wrong ports that
//! must fail at once with an error that says so.
#![cfg(all(feature = "std", feature = "async"))]

mod common;

use common::{imap_addr, imaps_addr, pop3_addr, pop3s_addr};
use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{Client, State};
use embedded_mail::{pop3, Error, RefusalKind};
use std::net::TcpStream;
use std::time::Duration;
use std::time::Instant;

/// The user `scripts/dovecot` adds for this test and its password: 8-bit
/// bytes, a quote and a backslash (IMAP needs a literal for it).
const LITERAL_USER: &str = "literal";
const LITERAL_PASSWORD: &str = "gr\u{fc}\u{df}e \"x\\y\"";

fn tcp(addr: std::net::SocketAddr) -> FromStd<TcpStream> {
    tcp_timeout(addr, Duration::from_secs(10))
}

/// A connection whose reads and writes give up after `timeout` (how
/// blocking users bound every step: the transport's own timeouts).
fn tcp_timeout(addr: std::net::SocketAddr, timeout: Duration) -> FromStd<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout).expect("connect to Dovecot");
    s.set_read_timeout(Some(timeout)).unwrap();
    s.set_write_timeout(Some(timeout)).unwrap();
    s.set_nodelay(true).unwrap();
    FromStd::new(s)
}

#[test]
fn imap_login_with_a_password_that_needs_a_literal() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = Client::connect(tcp(imap_addr()), &mut rx, &mut tx).unwrap();
    // Dovecot offers LITERAL+: `{N+}` and no wait (the no-LITERAL+ path is
    // in tests/imap_literals.rs).
    assert!(c.capabilities().literal_plus);
    c.login(LITERAL_USER, LITERAL_PASSWORD).unwrap();
    assert_eq!(c.session().state(), State::Authenticated);
    c.select("INBOX").unwrap();
    c.logout().unwrap();

    // The same user with the password cut short is refused cleanly.
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = Client::connect(tcp(imap_addr()), &mut rx, &mut tx).unwrap();
    let e = c.login(LITERAL_USER, "gr\u{fc}\u{df}e").unwrap_err();
    assert_eq!(e.refusal().unwrap().kind, RefusalKind::No);
}

fn malformed<E>(e: &Error<E>) -> &'static str {
    match e {
        Error::Malformed { expected, .. } => expected,
        _ => "(not Malformed)",
    }
}

#[test]
fn a_wrong_protocol_port_fails_at_once_and_says_so() {
    let t = Instant::now();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let e = Client::connect(tcp(pop3_addr()), &mut rx, &mut tx)
        .map(|_| ())
        .unwrap_err();
    assert!(
        malformed(&e).contains("the server sent a POP3 greeting on an IMAP connection"),
        "{e}"
    );
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let e = pop3::Client::connect(tcp(imap_addr()), &mut rx, &mut tx)
        .map(|_| ())
        .unwrap_err();
    assert!(
        malformed(&e).contains("the server sent an IMAP greeting on a POP3 connection"),
        "{e}"
    );
    // At once: no waiting for a timeout.
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn plain_text_to_a_tls_port_ends_within_the_read_timeout() {
    // A TLS server waits for a ClientHello and sends nothing: only the
    // transport's read timeout ends the wait for the greeting.
    let bound = Duration::from_secs(1);
    let t = Instant::now();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let e = Client::connect(tcp_timeout(imaps_addr(), bound), &mut rx, &mut tx)
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(e, Error::Transport(ref io) if matches!(io.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "{e}"
    );
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let e = pop3::Client::connect(tcp_timeout(pop3s_addr(), bound), &mut rx, &mut tx)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    assert!(t.elapsed() < 4 * bound, "{:?}", t.elapsed());
}
