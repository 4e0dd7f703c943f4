//! IMAP transcripts for synchronizing literals (RFC 3501 §7.5), LITERAL+ /
//! LITERAL- (RFC 7888) and the ends of a session (tagged BYE, a close
//! after LOGOUT): every split of the server's bytes, client bytes exact.
#![cfg(feature = "async")]

mod script;

use embedded_mail::imap::{asynch, Client};
use embedded_mail::{Error, RefusalKind};
use script::{block_on, Script, Turn};

/// A plain IMAP4rev1 server (Courier-like): no LITERAL+, no AUTH=PLAIN, so
/// a password with 8-bit bytes must go in a synchronizing literal.
const GREETING: &str = "* OK [CAPABILITY IMAP4rev1] ready\r\n";

fn t(client: &[u8], server: &str) -> Turn {
    Turn {
        client: client.to_vec(),
        server: server.as_bytes().to_vec(),
    }
}

/// A password that needs a literal without UTF8=ACCEPT: 8-bit bytes.
const PASSWORD: &str = "p\u{e4}ss \"w\\rd";

fn login_bytes(literal_plus: bool) -> Vec<u8> {
    let marker = if literal_plus { "+" } else { "" };
    format!(
        "A0001 LOGIN fred {{{}{marker}}}\r\n{PASSWORD}\r\n",
        PASSWORD.len()
    )
    .into_bytes()
}

/// Runs `f` over every split of the script's server bytes with reads of
/// 1, 7 and 1000 bytes.
fn every_split(script: impl Fn() -> Vec<Turn>, f: impl Fn(Script) -> Script) {
    let total = script::server_len(&script());
    for split in 0..=total {
        for chunk in [1, 7, 1000] {
            let s = f(Script::new(script(), chunk, split));
            assert!(
                s.finished(),
                "split {split} chunk {chunk}: {}",
                s.written_str()
            );
        }
    }
}

fn synchronizing() -> Vec<Turn> {
    let login = login_bytes(false);
    let cut = login.iter().position(|&b| b == b'\n').unwrap() + 1;
    vec![
        t(b"", GREETING),
        t(&login[..cut], "+ go ahead\r\n"),
        t(&login[cut..], "A0001 OK [CAPABILITY IMAP4rev1] in\r\n"),
        t(b"A0002 LOGOUT\r\n", "* BYE bye\r\nA0002 OK done\r\n"),
    ]
}

#[test]
fn login_waits_for_the_continuation_without_literal_plus() {
    every_split(synchronizing, |s| {
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
        c.login("fred", PASSWORD).unwrap();
        c.logout().unwrap()
    });
}

#[test]
fn async_login_waits_for_the_continuation() {
    every_split(synchronizing, |s| {
        block_on(async {
            let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
            let mut c = asynch::Client::connect(s, &mut rx, &mut tx).await.unwrap();
            c.login("fred", PASSWORD).await.unwrap();
            c.logout().await.unwrap()
        })
    });
}

#[test]
fn two_literals_pause_twice() {
    let user = "j\u{f6}rg";
    let script = || {
        vec![
            t(b"", GREETING),
            t(
                format!("A0001 LOGIN {{{}}}\r\n", user.len()).as_bytes(),
                "+ \r\n",
            ),
            t(
                format!("{user} {{{}}}\r\n", PASSWORD.len()).as_bytes(),
                "+ more\r\n",
            ),
            t(
                format!("{PASSWORD}\r\n").as_bytes(),
                "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
            ),
        ]
    };
    every_split(script, |s| {
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
        c.login(user, PASSWORD).unwrap();
        c.into_parts().transport
    });
}

#[test]
fn literal_plus_and_literal_minus_do_not_wait() {
    for cap in ["LITERAL+", "LITERAL-"] {
        let script = || {
            vec![
                t(b"", &format!("* OK [CAPABILITY IMAP4rev1 {cap}] hi\r\n")),
                t(&login_bytes(true), "A0001 OK [CAPABILITY IMAP4rev1] in\r\n"),
            ]
        };
        every_split(script, |s| {
            let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
            let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
            c.login("fred", PASSWORD).unwrap();
            let s = c.into_parts().transport;
            // One write: nothing waits.
            assert_eq!(s.writes.len(), 1);
            s
        });
    }
}

#[test]
fn literal_minus_waits_for_a_long_literal() {
    let long = "\u{e9}".repeat(2100); // 4200 bytes > 4096
    let script = || {
        vec![
            t(b"", "* OK [CAPABILITY IMAP4rev1 LITERAL-] hi\r\n"),
            t(
                format!("A0001 LOGIN fred {{{}}}\r\n", long.len()).as_bytes(),
                "+ ok\r\n",
            ),
            t(
                format!("{long}\r\n").as_bytes(),
                "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
            ),
        ]
    };
    let (mut rx, mut tx) = (vec![0u8; 64], vec![0u8; 4300]);
    let mut c = Client::connect(Script::new(script(), 7, 0), &mut rx, &mut tx).unwrap();
    c.login("fred", &long).unwrap();
    assert!(c.into_parts().transport.finished());
}

#[test]
fn a_refused_continuation_sends_nothing_more() {
    let login = login_bytes(false);
    let cut = login.iter().position(|&b| b == b'\n').unwrap() + 1;
    let script = || {
        vec![
            t(b"", GREETING),
            t(
                &login[..cut],
                "A0001 NO [AUTHENTICATIONFAILED] literal refused\r\n",
            ),
        ]
    };
    every_split(script, |s| {
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
        let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
        let e = c.login("fred", PASSWORD).unwrap_err();
        let r = e.refusal().expect("a refusal");
        assert_eq!(r.kind, RefusalKind::No);
        assert_eq!(c.last_refusal().text(), b"literal refused");
        assert_eq!(c.last_refusal().refusal(), *r);
        // The password never left.
        let s = c.into_parts().transport;
        assert!(!s.written_str().contains("ss"));
        s
    });
    // A tagged OK where the `+` belongs is out of step: malformed.
    let script = || vec![t(b"", GREETING), t(&login[..cut], "A0001 OK what\r\n")];
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut c = Client::connect(Script::new(script(), 3, 0), &mut rx, &mut tx).unwrap();
    assert!(matches!(
        c.login("fred", PASSWORD),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn a_synchronizing_literal_is_never_pipelined() {
    let mut s = embedded_mail::imap::Session::new();
    let mut out = [0u8; 128];
    s.decode(b"* OK [CAPABILITY IMAP4rev1] hi\r\n").unwrap();
    let cmd = embedded_mail::imap::Command::Noop;
    s.encode(&cmd, &mut out).unwrap();
    let login = embedded_mail::imap::Command::Login {
        user: "fred",
        password: PASSWORD,
    };
    assert!(matches!(
        s.encode(&login, &mut out),
        Err(Error::InvalidArgument(_))
    ));
    assert!(s.literal_pauses().is_empty());
    assert_eq!(s.in_flight(), 1);
}

/// With AUTH=PLAIN offered, a password that would need a synchronizing
/// literal goes as AUTHENTICATE PLAIN instead: one write, one round trip
/// with SASL-IR (two without), any byte carried by base64.
#[test]
fn auth_plain_is_preferred_to_a_synchronizing_literal() {
    let mut raw = b"\0fred\0".to_vec();
    raw.extend_from_slice(PASSWORD.as_bytes());
    let b64 = base64(&raw);
    for sasl_ir in [true, false] {
        let caps = if sasl_ir {
            "AUTH=PLAIN SASL-IR"
        } else {
            "AUTH=PLAIN"
        };
        let greeting = format!("* OK [CAPABILITY IMAP4rev1 {caps}] hi\r\n");
        let script = || {
            let mut v = vec![t(b"", &greeting)];
            if sasl_ir {
                v.push(t(
                    format!("A0001 AUTHENTICATE PLAIN {b64}\r\n").as_bytes(),
                    "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
                ));
            } else {
                v.push(t(b"A0001 AUTHENTICATE PLAIN\r\n", "+ \r\n"));
                v.push(t(
                    format!("{b64}\r\n").as_bytes(),
                    "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
                ));
            }
            v
        };
        every_split(script, |s| {
            let (mut rx, mut tx) = ([0u8; 64], [0u8; 128]);
            let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
            c.login("fred", PASSWORD).unwrap();
            c.into_parts().transport
        });
    }
}

/// LOGINDISABLED with AUTH=PLAIN: login() authenticates instead of
/// sending a LOGIN the server would refuse.
#[test]
fn logindisabled_uses_auth_plain() {
    let script = || {
        vec![
            t(
                b"",
                "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN SASL-IR] hi\r\n",
            ),
            t(
                format!("A0001 AUTHENTICATE PLAIN {}\r\n", base64(b"\0u\0p")).as_bytes(),
                "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
            ),
        ]
    };
    every_split(script, |s| {
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
        c.login("u", "p").unwrap();
        c.into_parts().transport
    });
}

/// Standard base64 with padding (RFC 4648): the crate's own encoder.
fn base64(bytes: &[u8]) -> String {
    let mut out = vec![0u8; embedded_mail::sasl::base64::encoded_len(bytes.len())];
    let n = embedded_mail::sasl::base64::encode(bytes, &mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn logged_in(logout_answer: &str) -> Vec<Turn> {
    vec![
        t(b"", GREETING),
        t(
            b"A0001 LOGIN u p\r\n",
            "A0001 OK [CAPABILITY IMAP4rev1] in\r\n",
        ),
        t(b"A0002 LOGOUT\r\n", logout_answer),
    ]
}

#[test]
fn a_tagged_bye_completes_logout() {
    for answer in [
        "A0002 BYE logging out\r\n",
        "* BYE see you\r\nA0002 BYE bye\r\n",
    ] {
        every_split(
            || logged_in(answer),
            |s| {
                let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
                let mut c = Client::connect(s, &mut rx, &mut tx).unwrap();
                c.login("u", "p").unwrap();
                c.logout().unwrap()
            },
        );
    }
}

/// A script whose server closes the connection once its bytes are read.
struct Closing(Script);
impl embedded_io::ErrorType for Closing {
    type Error = script::ScriptError;
}
impl embedded_io::Read for Closing {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.0.finished() {
            return Ok(0);
        }
        self.0.read(buf)
    }
}
impl embedded_io::Write for Closing {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn a_close_after_the_bye_of_logout_is_not_an_error() {
    every_split(
        || logged_in("* BYE server shutting down the connection\r\n"),
        |s| {
            let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
            let mut c = Client::connect(Closing(s), &mut rx, &mut tx).unwrap();
            c.login("u", "p").unwrap();
            c.logout().unwrap().0
        },
    );
    // Without a BYE, a close is still an error: the server never agreed.
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let s = Script::new(logged_in(""), 5, 0);
    let mut c = Client::connect(Closing(s), &mut rx, &mut tx).unwrap();
    c.login("u", "p").unwrap();
    assert!(matches!(c.logout(), Err(Error::ConnectionClosed)));
}
