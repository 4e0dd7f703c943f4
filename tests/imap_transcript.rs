//! IMAP transcripts: a scripted server, every split of its bytes, and the
//! client's bytes checked exactly.
#![cfg(feature = "async")]

mod script;

use embedded_mail::imap::{asynch, BodyRequest, Client, GenericEvent, Section, SequenceSet, State};
use embedded_mail::{Credentials, Error, Mechanism, RefusalKind};
use script::{block_on, transcript, Script, Sink, Turn};

const GREETING: &str =
    "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN IDLE UIDPLUS STARTTLS] ready\r\n";

fn body() -> Vec<u8> {
    let mut b = b"Subject: split\r\n\r\n".to_vec();
    for i in 0..40 {
        b.extend_from_slice(format!(".line {i} ) {{5}}\r\n").as_bytes());
    }
    b
}

fn fetch_script() -> (Vec<Turn>, Vec<u8>) {
    let body = body();
    let fetch_answer = format!(
        "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {{{}}}\r\n{})\r\n* 2 EXISTS\r\nA0003 OK done\r\n",
        body.len(),
        String::from_utf8_lossy(&body)
    );
    let t = vec![
        Turn { client: vec![], server: GREETING.as_bytes().to_vec() },
        Turn {
            client: b"A0001 LOGIN fred \"s3cr et\"\r\n".to_vec(),
            server: b"A0001 OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Logged in\r\n".to_vec(),
        },
        Turn {
            client: b"A0002 SELECT \"INBOX\"\r\n".to_vec(),
            server: b"* FLAGS (\\Seen)\r\n* 1 EXISTS\r\n* OK [UIDVALIDITY 42] x\r\nA0002 OK [READ-WRITE] SELECT done\r\n".to_vec(),
        },
        Turn { client: b"A0003 UID FETCH 7 (UID BODY.PEEK[])\r\n".to_vec(), server: fetch_answer.into_bytes() },
        Turn { client: b"A0004 LOGOUT\r\n".to_vec(), server: b"* BYE bye\r\nA0004 OK done\r\n".to_vec() },
    ];
    (t, body)
}

#[test]
fn fetch_with_a_literal_split_everywhere() {
    let (t, body) = fetch_script();
    let total = script::server_len(&t);
    for split in 0..=total {
        for chunk in [1, 3, 1000] {
            let (t, _) = fetch_script();
            let (mut rx, mut tx) = ([0u8; 128], [0u8; 128]);
            let mut c = Client::connect(Script::new(t, chunk, split), &mut rx, &mut tx).unwrap();
            c.login("fred", "s3cr et").unwrap();
            assert_eq!(c.select("INBOX").unwrap().uid_validity, Some(42));
            let mut sink = Sink(Vec::new());
            let n = c
                .fetch_body(7, BodyRequest::peek(Section::Full), &mut sink)
                .unwrap();
            assert_eq!(n as usize, body.len());
            assert!(sink.0 == body, "split {split} chunk {chunk}");
            assert_eq!(c.session().mailbox().exists, 2);
            let s = c.logout().unwrap();
            assert!(s.finished(), "split {split}: {}", s.written_str());
        }
    }
}

#[test]
fn async_fetch_with_a_literal_split_everywhere() {
    let (t, body) = fetch_script();
    let total = script::server_len(&t);
    for split in 0..=total {
        let (t, _) = fetch_script();
        block_on(async {
            let (mut rx, mut tx) = ([0u8; 128], [0u8; 128]);
            let mut c = asynch::Client::connect(Script::new(t, 2, split), &mut rx, &mut tx)
                .await
                .unwrap();
            c.login("fred", "s3cr et").await.unwrap();
            c.select("INBOX").await.unwrap();
            let mut sink = Sink(Vec::new());
            c.fetch_body(7, BodyRequest::peek(Section::Full), &mut sink)
                .await
                .unwrap();
            assert!(sink.0 == body);
            assert!(c.logout().await.unwrap().finished());
        });
    }
}

fn authed(extra: &[(&str, &str)], caps: &str) -> Vec<Turn> {
    let login_ok = format!("A0001 OK [CAPABILITY IMAP4rev1 {caps}] in\r\n");
    let mut pairs: Vec<(&str, &str)> = vec![("", GREETING), ("A0001 LOGIN u p\r\n", &login_ok)];
    pairs.extend_from_slice(extra);
    transcript(&pairs)
}

#[test]
fn append_with_a_synchronizing_literal_ends_in_one_write() {
    let msg = b"Subject: a\r\n\r\nsome body text that spans several command buffers\r\n";
    let prefix = format!("A0002 APPEND \"Sent\" (\\Seen) {{{}}}\r\n", msg.len());
    let data = format!("{}\r\n", String::from_utf8_lossy(msg));
    let extra = [
        (prefix.as_str(), "+ Ready for literal data\r\n"),
        (
            data.as_str(),
            "A0002 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        ),
    ];
    for split in 0..=script::server_len(&authed(&extra, "")) {
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let mut c =
            Client::connect(Script::new(authed(&extra, ""), 1, split), &mut rx, &mut tx).unwrap();
        c.login("u", "p").unwrap();
        let mut src: &[u8] = msg;
        let done = c
            .append("Sent", &["\\Seen"], None, msg.len() as u32, &mut src)
            .unwrap();
        assert_eq!(done.append_uid, Some((38505, 3955)));
        let s = c.into_parts().transport;
        assert!(s.finished());
        let last = s.writes.last().unwrap();
        // The message's tail and the closing CRLF leave together.
        assert!(
            last.len() >= 34 && data.as_bytes().ends_with(last),
            "{}",
            String::from_utf8_lossy(last)
        );
    }
    // A server that refuses instead of sending the continuation: no data.
    let extra = [(prefix.as_str(), "A0002 NO [OVERQUOTA] Quota exceeded\r\n")];
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut c = Client::connect(Script::new(authed(&extra, ""), 5, 0), &mut rx, &mut tx).unwrap();
    c.login("u", "p").unwrap();
    let mut src: &[u8] = msg;
    let e = c
        .append("Sent", &["\\Seen"], None, msg.len() as u32, &mut src)
        .unwrap_err();
    assert_eq!(
        e.refusal().unwrap().code,
        embedded_mail::ResponseCode::OverQuota
    );
    assert!(c.into_parts().transport.finished());
}

#[test]
fn append_with_literal_plus_does_not_wait() {
    let msg = b"Subject: b\r\n\r\nx\r\n";
    let data = format!(
        "A0002 APPEND \"INBOX\" {{{}+}}\r\n{}\r\n",
        msg.len(),
        String::from_utf8_lossy(msg)
    );
    let extra = [(data.as_str(), "A0002 OK [APPENDUID 1 2] done\r\n")];
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 256]);
    let mut c = Client::connect(
        Script::new(authed(&extra, "LITERAL+"), 7, 0),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.login("u", "p").unwrap();
    let mut src: &[u8] = msg;
    c.append("INBOX", &[], None, msg.len() as u32, &mut src)
        .unwrap();
    let s = c.into_parts().transport;
    assert!(s.finished());
    // Command, literal and CRLF in one write.
    assert_eq!(s.writes.last().unwrap(), data.as_bytes());
}

#[test]
fn starttls_refuses_bytes_injected_after_the_ok() {
    let script = || {
        transcript(&[
            ("", GREETING),
            ("A0001 STARTTLS\r\n", "A0001 OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"),
        ])
    };
    let mut refused_later = 0;
    for split in 0..=script::server_len(&script()) {
        for chunk in [1, 5, 1000] {
            let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
            let c = Client::connect(Script::new(script(), chunk, split), &mut rx, &mut tx).unwrap();
            match c.starttls() {
                Err(Error::Malformed { .. }) => {}
                // The injected bytes had not arrived yet: they are still
                // on the transport, where the TLS handshake will choke on
                // them; nothing was taken as protected.
                Ok(parts) => {
                    assert_eq!(parts.session.state(), State::NotAuthenticated);
                    assert!(parts.transport.unread() > 0, "split {split} chunk {chunk}");
                    refused_later += 1;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }
    assert!(refused_later > 0);
    // Delivered in one read: always refused.
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let c = Client::connect(Script::new(script(), 1000, 0), &mut rx, &mut tx).unwrap();
    assert!(matches!(c.starttls(), Err(Error::Malformed { .. })));
}

#[test]
fn authenticate_plain_with_sasl_ir_and_login_with_challenges() {
    let t = transcript(&[
        ("", GREETING),
        (
            "A0001 AUTHENTICATE PLAIN AHUAcA==\r\n",
            "A0001 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
        ),
    ]);
    for split in 0..=script::server_len(&t) {
        let t = transcript(&[
            ("", GREETING),
            (
                "A0001 AUTHENTICATE PLAIN AHUAcA==\r\n",
                "A0001 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n",
            ),
        ]);
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 128]);
        let mut c = Client::connect(Script::new(t, 1, split), &mut rx, &mut tx).unwrap();
        c.authenticate(
            Mechanism::Plain,
            Credentials {
                user: "u",
                secret: "p",
            },
        )
        .unwrap();
        assert_eq!(c.session().state(), State::Authenticated);
        assert!(c.into_parts().transport.finished());
    }
    let t = transcript(&[
        ("", "* OK hi\r\n"),
        (
            "A0001 CAPABILITY\r\n",
            "* CAPABILITY IMAP4rev1 AUTH=LOGIN\r\nA0001 OK\r\n",
        ),
        ("A0002 AUTHENTICATE LOGIN\r\n", "+ VXNlcm5hbWU6\r\n"),
        ("dQ==\r\n", "+ UGFzc3dvcmQ6\r\n"),
        (
            "cA==\r\n",
            "A0002 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
        ),
    ]);
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 128]);
    let mut c = Client::connect(Script::new(t, 3, 0), &mut rx, &mut tx).unwrap();
    c.ensure_capabilities().unwrap();
    let e = c
        .authenticate(
            Mechanism::Login,
            Credentials {
                user: "u",
                secret: "p",
            },
        )
        .unwrap_err();
    let r = e.refusal().unwrap();
    assert_eq!(
        (r.kind, r.code),
        (RefusalKind::No, embedded_mail::ResponseCode::Auth)
    );
    assert!(c.into_parts().transport.finished());
}

#[test]
fn move_falls_back_to_copy_store_expunge() {
    let extra = [
        (
            "A0002 SELECT \"INBOX\"\r\n",
            "* 3 EXISTS\r\nA0002 OK [READ-WRITE] ok\r\n",
        ),
        (
            "A0003 UID COPY 5:7 \"Trash\"\r\n",
            "A0003 OK [COPYUID 9 5:7 1:3] copied\r\n",
        ),
        (
            "A0004 UID STORE 5:7 +FLAGS.SILENT (\\Deleted)\r\n",
            "A0004 OK stored\r\n",
        ),
        (
            "A0005 UID EXPUNGE 5:7\r\n",
            "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nA0005 OK expunged\r\n",
        ),
    ];
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 128]);
    let mut c = Client::connect(
        Script::new(authed(&extra, "UIDPLUS"), 4, 0),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.login("u", "p").unwrap();
    c.select("INBOX").unwrap();
    let done = c
        .move_uids(
            SequenceSet::Range(embedded_mail::imap::SeqRange::range(5, 7)),
            "Trash",
        )
        .unwrap();
    assert_eq!(done.copy_validity, Some(9));
    assert_eq!(c.session().mailbox().exists, 0);
    assert!(c.into_parts().transport.finished());
}

#[test]
fn idle_delivers_events_until_done() {
    let extra = [
        (
            "A0002 SELECT \"INBOX\"\r\n",
            "* 3 EXISTS\r\nA0002 OK [READ-WRITE] ok\r\n",
        ),
        ("A0003 IDLE\r\n", "+ idling\r\n* 4 EXISTS\r\n* 1 RECENT\r\n"),
        ("DONE\r\n", "* 2 EXPUNGE\r\nA0003 OK IDLE terminated\r\n"),
    ];
    for split in 0..=script::server_len(&authed(&extra, "IDLE")) {
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let mut c = Client::connect(
            Script::new(authed(&extra, "IDLE"), 1, split),
            &mut rx,
            &mut tx,
        )
        .unwrap();
        c.login("u", "p").unwrap();
        c.select("INBOX").unwrap();
        c.idle_start().unwrap();
        let mut seen = Vec::new();
        c.idle_wait(|e| {
            if let GenericEvent::Exists(n) = e {
                seen.push(n);
                return false;
            }
            true
        })
        .unwrap();
        assert_eq!(seen, [4]);
        c.idle_done().unwrap();
        assert_eq!(c.session().mailbox().exists, 3);
        assert!(c.into_parts().transport.finished());
    }
}

#[test]
fn bye_during_a_command_is_an_error() {
    let extra = [("A0002 NOOP\r\n", "* BYE [UNAVAILABLE] shutting down\r\n")];
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut c = Client::connect(Script::new(authed(&extra, ""), 64, 0), &mut rx, &mut tx).unwrap();
    c.login("u", "p").unwrap();
    let e = c.noop(|_| {}).unwrap_err();
    assert_eq!(e.refusal().unwrap().kind, RefusalKind::Bye);
    assert!(matches!(c.noop(|_| {}), Err(Error::Broken)));
}
