//! POP3 against a real Dovecot on loopback (started by `tests/common`).
//!
//! Read-only tests use the `reader` account (its POP3 sessions neither lock
//! nor mark messages); each test that changes a mailbox has its own user.

mod common;
mod script;

use common::{dovecot, INBOX_UIDVALIDITY, READER};
use embedded_io_adapters::std::FromStd;
use embedded_mail::pop3::{asynch, Client, State};
use embedded_mail::{Credentials, Error, Mechanism, RefusalKind, ResponseCode};
use script::{block_on, Sink};
use std::net::TcpStream;

type Transport = FromStd<TcpStream>;

fn tcp() -> Transport {
    let s = TcpStream::connect(dovecot().pop3_addr()).expect("connect to Dovecot POP3");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    FromStd::new(s)
}

fn logged_in<'b>(user: &str, rx: &'b mut [u8], tx: &'b mut [u8]) -> Client<'b, Transport> {
    let mut c = Client::connect(tcp(), rx, tx).expect("greeting");
    c.capa().expect("CAPA");
    c.login(user, &dovecot().password).expect("login");
    assert_eq!(c.session().state(), State::Transaction);
    c
}

#[test]
fn capabilities_are_read() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    let caps = c.capa().unwrap();
    assert!(caps.top && caps.uidl && caps.user && caps.pipelining && caps.resp_codes);
    assert!(caps.stls, "the test server offers STLS");
    assert!(caps.sasl.contains(Mechanism::Plain));
    assert!(caps.sasl.contains(Mechanism::CramMd5));
}

#[test]
fn stat_list_and_uidl_agree_with_the_maildir() {
    let d = dovecot();
    let seeded = d.inbox_messages(READER);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = logged_in(READER, &mut rx, &mut tx);
    let stat = c.stat().unwrap();
    assert_eq!(stat.count as usize, seeded.len());
    let total: u64 = seeded.iter().map(|m| m.bytes_crlf.len() as u64).sum();
    assert_eq!(stat.size, total);
    let mut sizes = Vec::new();
    c.list(|msg, size| sizes.push((msg, size))).unwrap();
    let want: Vec<(u32, u64)> = seeded
        .iter()
        .enumerate()
        .map(|(i, m)| (i as u32 + 1, m.bytes_crlf.len() as u64))
        .collect();
    assert_eq!(sizes, want);
    assert_eq!(c.list_one(2).unwrap(), want[1].1);
    let mut uids = Vec::new();
    c.uidl(|msg, uid| uids.push((msg, String::from_utf8(uid.to_vec()).unwrap())))
        .unwrap();
    let want: Vec<(u32, String)> = seeded
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                i as u32 + 1,
                format!("{:08x}{:08x}", m.uid, INBOX_UIDVALIDITY),
            )
        })
        .collect();
    assert_eq!(uids, want);
    assert_eq!(c.uidl_one(3).unwrap().as_slice(), want[2].1.as_bytes());
    let missing = c.list_one(999).unwrap_err();
    assert_eq!(missing.refusal().map(|r| r.kind), Some(RefusalKind::Err));
    c.quit().unwrap();
}

#[test]
fn retr_every_message_byte_identical_through_512_bytes_blocking() {
    let d = dovecot();
    let seeded = d.inbox_messages(READER);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = logged_in(READER, &mut rx, &mut tx);
    for (i, m) in seeded.iter().enumerate() {
        let mut sink = Sink::default();
        let n = c.retr(i as u32 + 1, &mut sink).unwrap();
        assert_eq!(n as usize, sink.0.len());
        assert!(
            sink.0 == m.pop3_retr_bytes(),
            "message {} ({} bytes) differs",
            m.uid,
            m.bytes_crlf.len()
        );
    }
    assert!(seeded.iter().any(|m| m.bytes_crlf.len() >= 5 * 1024 * 1024));
    c.quit().unwrap();
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

#[test]
fn retr_every_message_byte_identical_through_512_bytes_async() {
    let d = dovecot();
    let seeded = d.inbox_messages(READER);
    let stream = TcpStream::connect(d.pop3_addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let bodies = block_on(async {
        let mut c = asynch::Client::connect(AsyncTcp(stream), &mut rx, &mut tx).await?;
        c.capa().await?;
        c.login(READER, &d.password).await?;
        let mut bodies = Vec::new();
        for i in 0..seeded.len() {
            let mut sink = Sink::default();
            c.retr(i as u32 + 1, &mut sink).await?;
            bodies.push(sink.0);
        }
        c.quit().await?;
        Ok::<_, Error<std::io::Error>>(bodies)
    })
    .unwrap();
    for (body, m) in bodies.iter().zip(&seeded) {
        assert!(*body == m.pop3_retr_bytes(), "message {} differs", m.uid);
    }
}

#[test]
fn top_returns_the_header_and_n_lines() {
    let seeded = dovecot().inbox_messages(READER);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = logged_in(READER, &mut rx, &mut tx);
    let full = seeded[0].pop3_retr_bytes();
    let header_end = full.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut sink = Sink::default();
    c.top(1, 0, &mut sink).unwrap();
    assert_eq!(sink.0, &full[..header_end]);
    let mut sink = Sink::default();
    c.top(1, 1, &mut sink).unwrap();
    let first_line_end = header_end
        + full[header_end..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap()
        + 2;
    assert_eq!(sink.0, &full[..first_line_end]);
}

#[test]
fn every_login_method_dovecot_offers() {
    let d = dovecot();
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 256]);
    // APOP (the greeting carries a timestamp when APOP is enabled).
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    assert!(c.session().apop_available());
    c.apop(READER, &d.password).unwrap();
    assert_eq!(c.session().state(), State::Transaction);
    c.quit().unwrap();
    for mech in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
        let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
        c.capa().unwrap();
        c.authenticate(
            mech,
            Credentials {
                user: READER,
                secret: &d.password,
            },
        )
        .unwrap_or_else(|e| panic!("{mech:?}: {e:?}"));
        assert_eq!(c.session().state(), State::Transaction);
        c.stat().unwrap();
        c.quit().unwrap();
    }
}

#[test]
fn wrong_password_is_a_server_refusal() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    let e = c.login(READER, "not-the-password").unwrap_err();
    let r = e.refusal().expect("a refusal");
    assert_eq!(r.kind, RefusalKind::Err);
    assert_eq!(r.code, ResponseCode::Auth, "{r}");
    assert_eq!(c.session().state(), State::Authorization);
    // The connection is still usable: log in properly now.
    c.login(READER, &dovecot().password).unwrap();
}

#[test]
fn dele_then_quit_removes_the_message() {
    let user = common::test_user(20);
    let d = dovecot();
    let before = d.inbox_messages(&user);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = logged_in(&user, &mut rx, &mut tx);
    c.dele(1).unwrap();
    // A deleted message can no longer be read in this session.
    assert!(c.retr(1, &mut Sink::default()).is_err());
    c.quit().unwrap();
    let after = d.inbox_messages(&user);
    assert_eq!(after.len(), before.len() - 1);
    assert!(after.iter().all(|m| m.uid != before[0].uid));
    let mut c = logged_in(&user, &mut rx, &mut tx);
    assert_eq!(c.stat().unwrap().count as usize, before.len() - 1);
}

#[test]
fn dele_then_rset_keeps_everything() {
    let user = common::test_user(21);
    let d = dovecot();
    let before = d.inbox_messages(&user).len();
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = logged_in(&user, &mut rx, &mut tx);
    c.delete_many(&[1, 2, 3]).unwrap();
    assert_eq!(c.stat().unwrap().count as usize, before - 3);
    c.rset().unwrap();
    assert_eq!(c.stat().unwrap().count as usize, before);
    c.quit().unwrap();
    assert_eq!(d.inbox_messages(&user).len(), before);
}

#[test]
fn second_login_while_locked_is_in_use() {
    let user = common::test_user(22);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let first = logged_in(&user, &mut rx, &mut tx);
    let (mut rx2, mut tx2) = ([0u8; 512], [0u8; 128]);
    let mut second = Client::connect(tcp(), &mut rx2, &mut tx2).unwrap();
    second.capa().unwrap();
    let e = second.login(&user, &dovecot().password).unwrap_err();
    assert_eq!(
        e.refusal().map(|r| r.code),
        Some(ResponseCode::InUse),
        "{e:?}"
    );
    first.quit().unwrap();
}

#[test]
fn stls_is_accepted_and_the_transport_handed_back() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut c = Client::connect(tcp(), &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    let parts = c.stls().unwrap();
    assert_eq!(parts.session.state(), State::Authorization);
    assert!(!parts.session.capabilities().stls);
}
