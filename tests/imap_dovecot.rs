//! The IMAP clients against a real Dovecot (see `tests/common`).
//! Run with `cargo test --features std,async --test imap_dovecot`.
#![cfg(all(feature = "std", feature = "async"))]

mod common;

use common::{
    dovecot, imap_addr, test_user, INBOX_UIDVALIDITY, QUOTA_STORAGE_KIB, READER, SEED_INBOX_LEN,
};
use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{
    decode_mailbox, BodyRequest, Client, Command, Envelope, FetchItems, FlagSet, GenericEvent,
    MailboxAttrs, Section, SequenceSet, State, StatusItems, StoreOp,
};
use embedded_mail::{Credentials, Error, Mechanism, RefusalKind, ResponseCode};
use std::net::TcpStream;
use std::time::Duration;

type Tcp = FromStd<TcpStream>;

fn tcp() -> TcpStream {
    let s = TcpStream::connect(imap_addr()).expect("connect to Dovecot");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn connect<'b>(rx: &'b mut [u8], tx: &'b mut [u8]) -> Client<'b, Tcp> {
    Client::connect(FromStd::new(tcp()), rx, tx).expect("greeting")
}

fn login<'b>(user: &str, rx: &'b mut [u8], tx: &'b mut [u8]) -> Client<'b, Tcp> {
    let mut c = connect(rx, tx);
    c.login(user, &dovecot().password).expect("login");
    assert_eq!(c.session().state(), State::Authenticated);
    c
}

#[test]
fn list_round_trips_non_ascii_names() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(READER, &mut rx, &mut tx);
    let mut names = Vec::new();
    let mut noselect = Vec::new();
    c.list("", "*", |item| {
        let mut out = [0u8; 128];
        let name = decode_mailbox(&item.name, false, &mut out)
            .expect("decodes")
            .to_string();
        assert_eq!(item.delimiter, Some(b'/'));
        if item.attrs.contains(MailboxAttrs::NOSELECT) {
            noselect.push(name.clone());
        }
        names.push(name);
    })
    .unwrap();
    for want in [
        "INBOX",
        "Archive",
        "Archive/2024",
        "Archive/2025",
        "Work/Projects",
        "Entwürfe",
        "日本語",
        "Sent",
        "Trash",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    // Every name goes back to the server intact (encoded again).
    for name in names.iter().filter(|n| !noselect.contains(n)) {
        let st = c
            .status(name, StatusItems::BASIC)
            .unwrap_or_else(|e| panic!("STATUS {name}: {e}"));
        assert!(st.uid_validity.is_some(), "{name}");
    }
    let st = c.status("Entwürfe", StatusItems::BASIC).unwrap();
    assert_eq!(st.uid_validity, Some(1_700_000_005));
    let st = c.status("日本語", StatusItems::BASIC).unwrap();
    assert_eq!(st.uid_validity, Some(1_700_000_006));
    let st = c.status("Archive", StatusItems::BASIC).unwrap();
    assert_eq!(st.messages, Some(2));
    c.logout().unwrap();
}

#[test]
fn select_state_and_uid_search() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(READER, &mut rx, &mut tx);
    let m = c.examine("INBOX").unwrap();
    assert_eq!(c.session().state(), State::Selected);
    assert_eq!(m.exists as usize, SEED_INBOX_LEN);
    assert_eq!(m.uid_validity, Some(INBOX_UIDVALIDITY));
    assert_eq!(m.uid_next, Some(SEED_INBOX_LEN as u32 + 1));
    assert!(m.read_only);
    assert!(m.flags.contains(FlagSet::SEEN | FlagSet::DELETED));

    let seed = dovecot().seed_inbox();
    let mut all = Vec::new();
    let s = c.uid_search("ALL", |n| all.push(n)).unwrap();
    assert_eq!(all, seed.iter().map(|m| m.uid).collect::<Vec<_>>());
    assert_eq!(s.hits as usize, SEED_INBOX_LEN);
    let mut seen = Vec::new();
    c.uid_search("SEEN", |n| seen.push(n)).unwrap();
    let want: Vec<u32> = seed
        .iter()
        .filter(|m| m.maildir_flags().contains('S'))
        .map(|m| m.uid)
        .collect();
    assert_eq!(seen, want);
    let mut flagged = Vec::new();
    c.uid_search("FLAGGED", |n| flagged.push(n)).unwrap();
    assert_eq!(flagged, [3]);
    // ESEARCH (Dovecot offers it).
    let ret = embedded_mail::imap::SearchReturn {
        min: true,
        max: true,
        count: true,
        all: true,
    };
    let mut ranges = Vec::new();
    let s = c
        .uid_esearch("SEEN", ret, |lo, hi| ranges.push((lo, hi)))
        .unwrap();
    assert_eq!(s.count, Some(want.len() as u32));
    assert_eq!(s.min, want.first().copied());
    assert_eq!(s.max, want.last().copied());
    let expanded: Vec<u32> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
    assert_eq!(expanded, want);
    c.close().unwrap();
    assert_eq!(c.session().state(), State::Authenticated);
}

/// A sink that keeps what it gets.
struct Sink(Vec<u8>);
impl embedded_io::ErrorType for Sink {
    type Error = std::convert::Infallible;
}
impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn uid_fetch_every_message_byte_identical_through_1k() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(READER, &mut rx, &mut tx);
    c.examine("INBOX").unwrap();
    let seed = dovecot().seed_inbox();
    assert!(
        seed.iter().any(|m| m.bytes_crlf.len() > 5_000_000),
        "the 5 MiB message is seeded"
    );
    for m in &seed {
        let mut sink = Sink(Vec::new());
        let n = c
            .fetch_body(m.uid, BodyRequest::peek(Section::Full), &mut sink)
            .unwrap();
        assert_eq!(n as usize, m.bytes_crlf.len(), "uid {}", m.uid);
        assert!(sink.0 == m.bytes_crlf, "uid {} differs", m.uid);
    }
    // Header, text and a partial range of the small message.
    let tiny = &seed[0];
    let split = tiny
        .bytes_crlf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap()
        + 4;
    let mut sink = Sink(Vec::new());
    c.fetch_body(tiny.uid, BodyRequest::peek(Section::Header), &mut sink)
        .unwrap();
    assert_eq!(sink.0, &tiny.bytes_crlf[..split]);
    let mut sink = Sink(Vec::new());
    c.fetch_body(tiny.uid, BodyRequest::peek(Section::Text), &mut sink)
        .unwrap();
    assert_eq!(sink.0, &tiny.bytes_crlf[split..]);
    let mut sink = Sink(Vec::new());
    let req = BodyRequest {
        partial: Some((5, 10)),
        ..BodyRequest::peek(Section::Full)
    };
    c.fetch_body(tiny.uid, req, &mut sink).unwrap();
    assert_eq!(sink.0, &tiny.bytes_crlf[5..15]);
    // Metadata items, ENVELOPE and BODYSTRUCTURE of every message.
    let mut sizes = Vec::new();
    let mut envelopes = 0;
    let mut structures = 0;
    let items = FetchItems {
        uid: true,
        flags: true,
        internal_date: true,
        size: true,
        envelope: true,
        body_structure: true,
        ..FetchItems::default()
    };
    c.session_mut().set_skip_oversized(true);
    c.uid_fetch(SequenceSet::All, items, |e| match e {
        GenericEvent::Rfc822Size(n) => sizes.push(n as usize),
        GenericEvent::FetchItem { name, value } if name == b"ENVELOPE" => {
            let env = Envelope::parse(value).expect("ENVELOPE parses");
            assert!(env.subject.is_some());
            let id = env.message_id.expect("Message-ID").raw;
            assert!(id.starts_with(b"<") && id.contains(&b'@'), "{id:?}");
            assert!(env.from.iter().next().and_then(|a| a.host).is_some());
            envelopes += 1;
        }
        GenericEvent::FetchItem { name, .. } if name == b"BODYSTRUCTURE" => structures += 1,
        GenericEvent::Skipped { .. } => structures += 1,
        GenericEvent::InternalDate(d) => assert_eq!(d.len(), 26, "{d:?}"),
        _ => {}
    })
    .unwrap();
    assert_eq!(
        sizes,
        seed.iter().map(|m| m.bytes_crlf.len()).collect::<Vec<_>>()
    );
    assert_eq!((envelopes, structures), (SEED_INBOX_LEN, SEED_INBOX_LEN));
}

/// Blocking std I/O behind the async traits (the test's transport).
struct AsyncTcp(TcpStream);
impl embedded_io_async::ErrorType for AsyncTcp {
    type Error = std::io::Error;
}
impl embedded_io_async::Read for AsyncTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        std::io::Read::read(&mut self.0, buf)
    }
}
impl embedded_io_async::Write for AsyncTcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        std::io::Write::write(&mut self.0, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        std::io::Write::flush(&mut self.0)
    }
}

use embedded_mail::store::block_on;

#[test]
fn async_uid_fetch_every_message_byte_identical_through_1k() {
    block_on(async {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
        let mut c = embedded_mail::imap::asynch::Client::connect(AsyncTcp(tcp()), &mut rx, &mut tx)
            .await
            .unwrap();
        c.login(READER, &dovecot().password).await.unwrap();
        let m = c.examine("INBOX").await.unwrap();
        assert_eq!(m.exists as usize, SEED_INBOX_LEN);
        for m in dovecot().seed_inbox() {
            let mut sink = Sink(Vec::new());
            c.fetch_body(m.uid, BodyRequest::peek(Section::Full), &mut sink)
                .await
                .unwrap();
            assert!(sink.0 == m.bytes_crlf, "uid {} differs", m.uid);
        }
        let mut hits = Vec::new();
        c.uid_search("ALL", |n| hits.push(n)).await.unwrap();
        assert_eq!(hits.len(), SEED_INBOX_LEN);
        c.logout().await.unwrap();
    });
}

fn flags_of(c: &mut Client<'_, Tcp>, uid: u32) -> Vec<String> {
    let mut flags = Vec::new();
    let items = FetchItems {
        uid: true,
        flags: true,
        ..FetchItems::default()
    };
    c.uid_fetch(SequenceSet::One(uid), items, |e| {
        if let GenericEvent::Flags(list) = e {
            flags = String::from_utf8_lossy(list)
                .split(' ')
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect();
        }
    })
    .unwrap();
    // \Recent depends on which session saw the message first.
    flags.retain(|f| f != "\\Recent");
    flags.sort();
    flags
}

#[test]
fn store_flags_and_read_them_back() {
    let user = test_user(1);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(&user, &mut rx, &mut tx);
    c.select("INBOX").unwrap();
    let mut echoed = None;
    c.uid_store(
        SequenceSet::One(1),
        StoreOp::Add,
        &["\\Flagged", "$Test"],
        embedded_mail::imap::StoreReply::NewFlags,
        |e| {
            if let GenericEvent::Flags(f) = e {
                echoed = Some(FlagSet::parse(f));
            }
        },
    )
    .unwrap();
    assert!(echoed
        .unwrap()
        .contains(FlagSet::FLAGGED | FlagSet::SEEN | FlagSet::KEYWORDS));
    assert_eq!(flags_of(&mut c, 1), ["$Test", "\\Flagged", "\\Seen"]);
    c.uid_store(
        SequenceSet::One(1),
        StoreOp::Remove,
        &["\\Seen", "$Test"],
        embedded_mail::imap::StoreReply::Silent,
        |_| {},
    )
    .unwrap();
    assert_eq!(flags_of(&mut c, 1), ["\\Flagged"]);
    c.uid_store(
        SequenceSet::One(1),
        StoreOp::Replace,
        &["\\Answered"],
        embedded_mail::imap::StoreReply::Silent,
        |_| {},
    )
    .unwrap();
    assert_eq!(flags_of(&mut c, 1), ["\\Answered"]);
    // Pipelined: three FETCH FLAGS in flight at once.
    let items = FetchItems {
        uid: true,
        flags: true,
        ..FetchItems::default()
    };
    let tags: Vec<u32> = (1..=3)
        .map(|u| {
            c.submit(&Command::Fetch {
                set: SequenceSet::One(u),
                uid: true,
                items,
            })
            .unwrap()
        })
        .collect();
    assert_eq!(c.session().in_flight(), 3);
    let mut uids = Vec::new();
    c.complete(tags[2], |e| {
        if let GenericEvent::Uid(u) = e {
            uids.push(u)
        }
    })
    .unwrap();
    assert_eq!(uids, [1, 2, 3]);
    assert_eq!(c.session().in_flight(), 0);
}

#[test]
fn copy_move_and_expunge() {
    let user = test_user(2);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(&user, &mut rx, &mut tx);
    let n = c.select("INBOX").unwrap().exists;
    let done = c.uid_copy(SequenceSet::One(1), "Archive").unwrap();
    assert_eq!(done.copy_validity, Some(1_700_000_001));
    assert_eq!(
        c.status("Archive", StatusItems::BASIC).unwrap().messages,
        Some(3)
    );
    let done = c.move_uids(SequenceSet::One(2), "Trash").unwrap();
    assert_eq!(done.copy_validity, Some(1_700_000_008));
    assert_eq!(c.session().mailbox().exists, n - 1);
    assert_eq!(
        c.status("Trash", StatusItems::BASIC).unwrap().messages,
        Some(1)
    );
    c.uid_store(
        SequenceSet::One(3),
        StoreOp::Add,
        &["\\Deleted"],
        embedded_mail::imap::StoreReply::Silent,
        |_| {},
    )
    .unwrap();
    let mut expunged = Vec::new();
    c.expunge(|e| {
        if let GenericEvent::Expunge(n) = e {
            expunged.push(n)
        }
    })
    .unwrap();
    assert_eq!(expunged, [2]); // UID 3 was message 2 after UID 2 moved.
    assert_eq!(c.session().mailbox().exists, n - 2);
    let mut left = Vec::new();
    c.uid_search("ALL", |u| left.push(u)).unwrap();
    assert!(!left.contains(&2) && !left.contains(&3) && left.contains(&1));
    // UID EXPUNGE only expunges what it names.
    c.uid_store(
        SequenceSet::List(&[
            embedded_mail::imap::SeqRange::one(4),
            embedded_mail::imap::SeqRange::one(5),
        ]),
        StoreOp::Add,
        &["\\Deleted"],
        embedded_mail::imap::StoreReply::Silent,
        |_| {},
    )
    .unwrap();
    c.uid_expunge(SequenceSet::One(4)).unwrap();
    let mut deleted = Vec::new();
    c.uid_search("DELETED", |u| deleted.push(u)).unwrap();
    assert_eq!(deleted, [5]);
}

#[test]
fn append_then_fetch_back() {
    let user = test_user(3);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 128]);
    let mut c = login(&user, &mut rx, &mut tx);
    let mut msg =
        b"From: a@example.test\r\nTo: b@example.test\r\nSubject: appended\r\n\r\n".to_vec();
    for i in 0..2000 {
        msg.extend_from_slice(format!("line {i} of an appended message\r\n").as_bytes());
    }
    let mut src: &[u8] = &msg;
    let done = c
        .append(
            "Sent",
            &["\\Seen"],
            Some("01-Jan-2024 10:00:00 +0000"),
            msg.len() as u32,
            &mut src,
        )
        .unwrap();
    let (validity, uid) = done.append_uid.expect("APPENDUID");
    assert_eq!(validity, 1_700_000_007);
    c.select("Sent").unwrap();
    let mut sink = Sink(Vec::new());
    c.fetch_body(uid, BodyRequest::peek(Section::Full), &mut sink)
        .unwrap();
    assert!(sink.0 == msg);
    assert_eq!(flags_of(&mut c, uid), ["\\Seen"]);
    let mut date = String::new();
    let items = FetchItems {
        internal_date: true,
        ..FetchItems::default()
    };
    c.uid_fetch(SequenceSet::One(uid), items, |e| {
        if let GenericEvent::InternalDate(d) = e {
            date = String::from_utf8_lossy(d).into();
        }
    })
    .unwrap();
    assert_eq!(date, "01-Jan-2024 10:00:00 +0000");
    // A non-ASCII target mailbox, created, appended to, renamed, deleted.
    c.create("Ünïcödé/Sub").unwrap();
    let mut src: &[u8] = b"Subject: x\r\n\r\nhi\r\n";
    c.append("Ünïcödé/Sub", &[], None, 18, &mut src).unwrap();
    c.rename("Ünïcödé/Sub", "Ünïcödé/Renamed").unwrap();
    assert_eq!(
        c.status("Ünïcödé/Renamed", StatusItems::BASIC)
            .unwrap()
            .messages,
        Some(1)
    );
    let mut found = Vec::new();
    c.list("", "Ünïcödé/*", |item| {
        let mut out = [0u8; 64];
        found.push(
            decode_mailbox(&item.name, false, &mut out)
                .unwrap()
                .to_string(),
        );
    })
    .unwrap();
    assert_eq!(found, ["Ünïcödé/Renamed"]);
    c.subscribe("Ünïcödé/Renamed").unwrap();
    c.unsubscribe("Ünïcödé/Renamed").unwrap();
    c.delete("Ünïcödé/Renamed").unwrap();
    // Dovecot 2.3 sends no [NONEXISTENT] code here, just NO.
    let err = c.status("Ünïcödé/Renamed", StatusItems::BASIC).unwrap_err();
    assert_eq!(err.refusal().unwrap().kind, RefusalKind::No);
}

#[test]
fn idle_is_woken_by_an_append_from_another_connection() {
    let user = test_user(4);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(&user, &mut rx, &mut tx);
    let before = c.select("INBOX").unwrap().exists;
    c.idle_start().unwrap();
    assert!(c.session().is_idling());
    let u = user.clone();
    let other = std::thread::spawn(move || {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
        let mut d = login(&u, &mut rx, &mut tx);
        let mut src: &[u8] = b"Subject: wake up\r\n\r\nidle test\r\n";
        d.append("INBOX", &[], None, src.len() as u32, &mut src)
            .unwrap();
        d.logout().unwrap();
    });
    let mut exists = None;
    c.idle_wait(|e| {
        if let GenericEvent::Exists(n) = e {
            exists = Some(n);
            return false;
        }
        true
    })
    .unwrap();
    other.join().unwrap();
    assert_eq!(exists, Some(before + 1));
    c.idle_done().unwrap();
    assert!(!c.session().is_idling());
    assert_eq!(c.session().mailbox().exists, before + 1);
    c.noop(|_| {}).unwrap();
}

#[test]
fn quota_root_reports_usage_and_limit() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(READER, &mut rx, &mut tx);
    assert!(c.capabilities().quota);
    let q = c.get_quota_root("INBOX").unwrap();
    assert!(q.roots >= 1);
    let (usage, limit) = q.values.storage.expect("STORAGE");
    assert_eq!(limit, QUOTA_STORAGE_KIB);
    assert!(usage >= 5 * 1024, "the 5 MiB message counts: {usage}");
    let q2 = c.get_quota("User quota").unwrap();
    assert_eq!(q2.values.storage.map(|s| s.1), Some(QUOTA_STORAGE_KIB));
}

#[test]
fn authenticate_with_every_offered_mechanism() {
    let pw = &dovecot().password;
    for mech in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
        let mut c = connect(&mut rx, &mut tx);
        c.ensure_capabilities().unwrap();
        assert!(c.capabilities().sasl.contains(mech), "{mech:?} offered");
        c.authenticate(
            mech,
            Credentials {
                user: READER,
                secret: pw,
            },
        )
        .unwrap_or_else(|e| panic!("{mech:?}: {e}"));
        assert_eq!(c.session().state(), State::Authenticated);
        assert!(c.capabilities().known && c.capabilities().idle);
        c.logout().unwrap();
    }
    // A wrong secret is a refusal with AUTHENTICATIONFAILED, and the
    // connection stays usable.
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = connect(&mut rx, &mut tx);
    let e = c
        .authenticate(
            Mechanism::CramMd5,
            Credentials {
                user: READER,
                secret: "wrong",
            },
        )
        .unwrap_err();
    assert_eq!(e.refusal().map(|r| r.code), Some(ResponseCode::Auth));
    c.authenticate(
        Mechanism::Plain,
        Credentials {
            user: READER,
            secret: pw,
        },
    )
    .unwrap();
}

#[test]
fn wrong_password_and_wrong_state_are_clear_errors() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = connect(&mut rx, &mut tx);
    match c.select("INBOX") {
        Err(Error::WrongState {
            command: "SELECT",
            state: embedded_mail::SessionState::NotAuthenticated,
        }) => {}
        other => panic!("{other:?}"),
    }
    let e = c.login(READER, "not-the-password").unwrap_err();
    let r = e.refusal().expect("a refusal");
    assert_eq!((r.kind, r.code), (RefusalKind::No, ResponseCode::Auth));
    assert_eq!(c.last_refusal().refusal(), *r);
    assert!(!c.last_refusal().text().is_empty(), "Dovecot says why");
    assert!(e.is_recoverable());
    c.login(READER, &dovecot().password).unwrap();
    match c.fetch(
        SequenceSet::All,
        FetchItems {
            uid: true,
            ..FetchItems::default()
        },
        |_| {},
    ) {
        Err(Error::WrongState {
            command: "FETCH",
            state: embedded_mail::SessionState::Authenticated,
        }) => {}
        other => panic!("{other:?}"),
    }
    let e = c.select("No such folder").unwrap_err();
    assert_eq!(e.refusal().unwrap().kind, RefusalKind::No);
    assert_eq!(c.session().state(), State::Authenticated);
    // Any command through `run` is checked against the state too.
    let e = c
        .run(
            &Command::Search {
                uid: false,
                criteria: "ALL",
                ret: None,
            },
            |_| {},
        )
        .unwrap_err();
    assert!(matches!(e, Error::WrongState { .. }));
    c.id(Some(&[("name", "embedded-mail"), ("version", "0.1")]))
        .unwrap();
    let mut personal = Vec::new();
    c.namespace(|e| {
        if let GenericEvent::Namespace { personal: p, .. } = e {
            personal = p.to_vec();
        }
    })
    .unwrap();
    assert!(
        personal.starts_with(b"((\"\""),
        "{}",
        String::from_utf8_lossy(&personal)
    );
    c.enable_defaults().unwrap();
    let t = c.logout().unwrap();
    drop(t);
}

#[test]
fn starttls_hands_the_transport_back() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = connect(&mut rx, &mut tx);
    c.ensure_capabilities().unwrap();
    assert!(c.capabilities().starttls);
    let parts = c.starttls().unwrap();
    // begin_tls checked that nothing followed the OK: ready for the handshake.
    assert_eq!(parts.session.state(), State::NotAuthenticated);
    assert!(!parts.session.capabilities().known);
}

#[test]
fn condstore_select_reports_highestmodseq() {
    let user = test_user(5);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = login(&user, &mut rx, &mut tx);
    assert!(c.capabilities().condstore);
    c.run(
        &Command::Select {
            mailbox: "INBOX",
            condstore: true,
        },
        |_| {},
    )
    .unwrap();
    let m = *c.session().mailbox();
    assert!(m.highest_modseq.is_some(), "{m:?}");
    let mut modseqs = Vec::new();
    let items = FetchItems {
        uid: true,
        modseq: true,
        ..FetchItems::default()
    };
    c.uid_fetch(SequenceSet::All, items, |e| {
        if let GenericEvent::ModSeq(n) = e {
            modseqs.push(n)
        }
    })
    .unwrap();
    assert_eq!(modseqs.len(), SEED_INBOX_LEN);
    assert!(modseqs.iter().all(|&n| n <= m.highest_modseq.unwrap()));
    c.unselect().unwrap();
    assert_eq!(c.session().state(), State::Authenticated);
}
