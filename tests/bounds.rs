//! Bounds against hostile or mistaken peers (transcripts): a wrong
//! protocol's greeting fails on its first byte, an endless line fails
//! after a bounded number of bytes, both with errors that say so.
#![cfg(feature = "async")]

mod script;

use embedded_mail::{imap, pop3, Error};
use script::{Script, Turn};

fn greeting_only(server: &[u8]) -> Vec<Turn> {
    vec![Turn {
        client: vec![],
        server: server.to_vec(),
    }]
}

fn expected<E>(e: Error<E>) -> &'static str {
    match e {
        Error::Malformed { expected, .. } => expected,
        _ => panic!("not Malformed"),
    }
}

#[test]
fn a_pop3_greeting_on_an_imap_connection_fails_on_its_first_byte() {
    let server = b"+OK Dovecot (Debian) ready.\r\n";
    for split in 0..=server.len() {
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        // Reads of one byte: the first one must be enough.
        let s = Script::new(greeting_only(server), 1, split);
        let mut c = imap::Client::new(s, &mut rx, &mut tx);
        let e = c.greeting().map(|_| ()).unwrap_err();
        assert!(
            expected(e).contains("POP3 greeting on an IMAP connection"),
            "{e}"
        );
        assert_eq!(c.into_parts().transport.unread(), server.len() - 1);
    }
}

#[test]
fn an_imap_greeting_or_tls_bytes_on_a_pop3_connection_fail_at_once() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"* OK [CAPABILITY IMAP4rev1] ready\r\n",
            "IMAP greeting on a POP3 connection",
        ),
        // A TLS alert record (what a TLS server may send to plain text).
        (
            b"\x15\x03\x03\x00\x02\x02\x46",
            "is this a TLS port? try pop3s://",
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "is this a POP3 server"),
    ];
    for (server, want) in cases {
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        let mut c = pop3::Client::new(Script::new(greeting_only(server), 1, 0), &mut rx, &mut tx);
        let e = c.greeting().map(|_| ()).unwrap_err();
        assert!(expected(e).contains(want), "{e}");
        assert_eq!(c.into_parts().transport.unread(), server.len() - 1);
    }
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let s = Script::new(greeting_only(b"\x16\x03\x01\x00\x05hello"), 1, 0);
    let e = imap::Client::connect(s, &mut rx, &mut tx)
        .map(|_| ())
        .unwrap_err();
    assert!(expected(e).contains("try imaps://"), "{e}");
}

/// A greeting, then one line of `n` bytes that never ends in answer to
/// the client's `command`.
fn endless(greeting: &[u8], command: &[u8], start: &[u8], n: usize) -> Vec<Turn> {
    let mut line = start.to_vec();
    line.resize(n, b'x');
    vec![
        Turn {
            client: vec![],
            server: greeting.to_vec(),
        },
        Turn {
            client: command.to_vec(),
            server: line,
        },
    ]
}

#[test]
fn an_endless_imap_line_fails_within_the_bound() {
    let greeting = b"* OK [CAPABILITY IMAP4rev1] hi\r\n";
    for (max, skip) in [(imap::DEFAULT_MAX_LINE, false), (4096, false), (4096, true)] {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 64]);
        let s = Script::new(
            endless(greeting, b"A0001 NOOP\r\n", b"* ", 1 << 20),
            1000,
            0,
        );
        let mut c = imap::Client::connect(s, &mut rx, &mut tx).unwrap();
        c.session_mut().set_max_line(max);
        c.session_mut().set_skip_oversized(skip);
        let e = c.noop(|_| {}).unwrap_err();
        assert!(matches!(e, Error::BufferTooSmall { .. }), "{e}");
        let read = greeting.len() + (1 << 20) - c.into_parts().transport.unread();
        assert!(
            read <= greeting.len() + max + 2 * 1024,
            "read {read} for max {max}"
        );
    }
}

#[test]
fn an_endless_pop3_line_fails_within_the_bound() {
    let greeting = b"+OK ready\r\n";
    for max in [pop3::DEFAULT_MAX_LINE, 2000] {
        let turns = endless(greeting, b"CAPA\r\n", b"+OK ", 1 << 20);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 64]);
        let s = Script::new(turns, 1000, 0);
        let mut c = pop3::Client::connect(s, &mut rx, &mut tx).unwrap();
        c.session_mut().set_max_line(max);
        let e = c.capa().unwrap_err();
        assert!(
            matches!(e, Error::BufferTooSmall { needed, available: 512 } if needed > max),
            "{e}"
        );
        let read = (1 << 20) - c.into_parts().transport.unread();
        assert!(read <= max + 2 * 1000, "read {read} for max {max}");
    }
}
