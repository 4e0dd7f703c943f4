//! Real servers and hostile peers, against the test Dovecot (see
//! `tests/common`): a password that needs a literal, and wrong ports that
//! must fail at once with an error that says so.
#![cfg(all(feature = "std", feature = "async"))]

mod common;

use common::imap_addr;
use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{Client, State};
use embedded_mail::RefusalKind;
use std::net::TcpStream;
use std::time::Duration;

/// The user `scripts/dovecot` adds for this test and its password: 8-bit
/// bytes, a quote and a backslash (IMAP needs a literal for it).
const LITERAL_USER: &str = "literal";
const LITERAL_PASSWORD: &str = "gr\u{fc}\u{df}e \"x\\y\"";

fn tcp(addr: std::net::SocketAddr) -> FromStd<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect to Dovecot");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    FromStd::new(s)
}

#[test]
fn imap_login_with_a_password_that_needs_a_literal() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = Client::connect(tcp(imap_addr()), &mut rx, &mut tx).unwrap();
    // Dovecot offers LITERAL+: `{N+}` and no wait (the no-LITERAL+ path is
    // in tests/imap_literals.rs).
    assert!(c.caps().literal_plus);
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
