//! POP3 transcript tests: RFC 1939 / 2449 / 5034 / 2595 dialogues played by
//! a scripted server, each replayed with the server's bytes split at every
//! position and in 1-byte reads, through the blocking and the async client.

mod script;

use embedded_mail::pop3::{asynch, Client, State};
use embedded_mail::{Credentials, Error, Mechanism, RefusalKind, ResponseCode};
use script::{block_on, schedules, transcript, Script, ScriptError, Sink, Turn};

type Outcome = Result<String, String>;

/// Runs `scenario` over every read schedule of `turns` and checks that the
/// client sent exactly the scripted bytes and that the outcome never
/// depends on how the reads were split.
fn every_split(
    turns: Vec<Turn>,
    rx_len: usize,
    scenario: impl Fn(&mut Client<'_, &mut Script>) -> Outcome,
) -> String {
    let server_len = Script::new(turns.clone(), 1, 0).server_len();
    let mut first: Option<Outcome> = None;
    for (chunk, split) in schedules(server_len) {
        let mut script = Script::new(turns.clone(), chunk, split);
        let mut rx = vec![0u8; rx_len];
        let mut tx = [0u8; 512];
        let outcome = {
            let mut client = Client::new(&mut script, &mut rx, &mut tx);
            scenario(&mut client)
        };
        assert!(
            script.client_matches(),
            "client bytes differ (chunk {chunk}, split {split}):\n sent: {:?}\n want: {:?}",
            String::from_utf8_lossy(&script.written),
            String::from_utf8_lossy(script.expected_client())
        );
        match &first {
            None => first = Some(outcome),
            Some(f) => assert_eq!(f, &outcome, "chunk {chunk}, split {split}"),
        }
    }
    first.unwrap().expect("scenario failed")
}

fn err<E: core::fmt::Debug>(e: Error<E>) -> String {
    format!("{e:?}")
}

// RFC 1939 §10 example session, with a dot-stuffed body and APOP (§7).
fn rfc1939_turns() -> Vec<Turn> {
    let mut t = rfc1939_turns_without_quit();
    t.extend(transcript(&[(
        "QUIT\r\n",
        "+OK dewey POP3 server signing off (maildrop empty)\r\n",
    )]));
    t
}

fn rfc1939_turns_without_quit() -> Vec<Turn> {
    transcript(&[
        (
            "",
            "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
        ),
        (
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
            "+OK mrose's maildrop has 2 messages (320 octets)\r\n",
        ),
        ("STAT\r\n", "+OK 2 320\r\n"),
        (
            "LIST\r\n",
            "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
        ),
        (
            "RETR 1\r\n",
            "+OK 120 octets\r\nSubject: hi\r\n\r\n..leading dot\r\n. \r\n..\r\nlast\r\n.\r\n",
        ),
        ("DELE 1\r\n", "+OK message 1 deleted\r\n"),
        ("RETR 2\r\n", "+OK 200 octets\r\n.\r\n"),
        ("DELE 2\r\n", "+OK message 2 deleted\r\n"),
    ])
}

const RFC1939_BODY: &str = "Subject: hi\r\n\r\n.leading dot\r\n \r\n.\r\nlast\r\n";

#[test]
fn rfc1939_session_blocking() {
    let out = every_split(rfc1939_turns_without_quit(), 64, |c| {
        let g = c.greeting().map_err(err)?;
        assert!(g.apop);
        c.apop("mrose", "tanstaaf").map_err(err)?;
        assert_eq!(c.session().state(), State::Transaction);
        let s = c.stat().map_err(err)?;
        let mut listing = Vec::new();
        c.list(|m, sz| listing.push((m, sz))).map_err(err)?;
        let mut sink = Sink::default();
        let n = c.retr(1, &mut sink).map_err(err)?;
        assert_eq!(n as usize, sink.0.len());
        c.dele(1).map_err(err)?;
        let mut empty = Sink::default();
        c.retr(2, &mut empty).map_err(err)?;
        c.dele(2).map_err(err)?;
        Ok(format!(
            "{} {} {:?} {:?} {:?}",
            s.count,
            s.size,
            listing,
            String::from_utf8_lossy(&sink.0),
            empty.0
        ))
    });
    assert_eq!(
        out,
        format!("2 320 [(1, 120), (2, 200)] {RFC1939_BODY:?} []")
    );
}

#[test]
fn rfc1939_session_async_at_every_split() {
    let turns = rfc1939_turns();
    let server_len = Script::new(turns.clone(), 1, 0).server_len();
    for (chunk, split) in schedules(server_len) {
        let mut script = Script::new(turns.clone(), chunk, split);
        let mut rx = [0u8; 64];
        let mut tx = [0u8; 128];
        let body = block_on(async {
            let mut c = asynch::Client::connect(&mut script, &mut rx, &mut tx).await?;
            c.apop("mrose", "tanstaaf").await?;
            let s = c.stat().await?;
            assert_eq!((s.count, s.size), (2, 320));
            let mut listing = Vec::new();
            c.list(|m, sz| listing.push((m, sz))).await?;
            assert_eq!(listing, [(1, 120), (2, 200)]);
            let mut sink = Sink::default();
            c.retr(1, &mut sink).await?;
            c.dele(1).await?;
            c.retr(2, &mut Sink::default()).await?;
            c.dele(2).await?;
            c.quit().await?;
            Ok::<_, Error<ScriptError>>(sink.0)
        })
        .unwrap();
        assert_eq!(body, RFC1939_BODY.as_bytes(), "chunk {chunk} split {split}");
        assert!(script.client_matches());
    }
}

#[test]
fn quit_commits_and_enters_update() {
    let turns = rfc1939_turns();
    let mut script = Script::new(turns, usize::MAX, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    c.apop("mrose", "tanstaaf").unwrap();
    c.stat().unwrap();
    c.list(|_, _| {}).unwrap();
    c.retr(1, &mut Sink::default()).unwrap();
    c.dele(1).unwrap();
    c.retr(2, &mut Sink::default()).unwrap();
    c.dele(2).unwrap();
    c.quit().unwrap();
    assert!(script.client_matches());
}

#[test]
fn uidl_and_top_rfc1939_examples() {
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        ("USER mrose\r\n", "+OK\r\n"),
        ("PASS secret with spaces\r\n", "+OK\r\n"),
        (
            "UIDL\r\n",
            "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
        ),
        ("UIDL 2\r\n", "+OK 2 QhdPYR:00WBw1Ph7x7\r\n"),
        (
            "UIDL 3\r\n",
            "-ERR no such message, only 2 messages in maildrop\r\n",
        ),
        ("LIST 2\r\n", "+OK 2 200\r\n"),
        ("TOP 1 10\r\n", "+OK\r\nSubject: x\r\n\r\nline 1\r\n.\r\n"),
        ("TOP 100 3\r\n", "-ERR no such message\r\n"),
        ("NOOP\r\n", "+OK\r\n"),
        ("RSET\r\n", "+OK maildrop has 2 messages (320 octets)\r\n"),
    ]);
    let out = every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        c.login("mrose", "secret with spaces").map_err(err)?;
        let mut uids = Vec::new();
        c.uidl(|m, u| uids.push((m, String::from_utf8_lossy(u).into_owned())))
            .map_err(err)?;
        let two = c.uidl_one(2).map_err(err)?;
        let three = c.uidl_one(3).unwrap_err();
        let three_text = c.last_refusal().text().to_vec();
        let size = c.list_one(2).map_err(err)?;
        let mut top = Sink::default();
        c.top(1, 10, &mut top).map_err(err)?;
        let missing = c.top(100, 3, &mut Sink::default()).unwrap_err();
        c.noop().map_err(err)?;
        c.rset().map_err(err)?;
        assert!(three.is_recoverable());
        let Error::Refused(r) = three else {
            return Err("not refused".into());
        };
        assert_eq!(r.kind, RefusalKind::Err);
        Ok(format!(
            "{uids:?} {:?} {} {size} {:?} {}",
            String::from_utf8_lossy(&two),
            String::from_utf8_lossy(&three_text),
            String::from_utf8_lossy(&top.0),
            missing.is_recoverable()
        ))
    });
    assert_eq!(
        out,
        "[(1, \"whqtswO00WBw418f9t5JxYwZ\"), (2, \"QhdPYR:00WBw1Ph7x7\")] \"QhdPYR:00WBw1Ph7x7\" \
         no such message, only 2 messages in maildrop 200 \"Subject: x\\r\\n\\r\\nline 1\\r\\n\" true"
    );
}

fn capa_turns() -> Vec<Turn> {
    // RFC 2449 §6 example capability list, plus STLS and UTF8.
    transcript(&[
        ("", "+OK POP3 ready\r\n"),
        (
            "CAPA\r\n",
            "+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4 PLAIN\r\n\
             RESP-CODES\r\nLOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\n\
             IMPLEMENTATION Shlemazle-Plotz-v302\r\nSTLS\r\nUTF8\r\n.\r\n",
        ),
    ])
}

#[test]
fn capa_rfc2449_example() {
    let out = every_split(capa_turns(), 64, |c| {
        c.greeting().map_err(err)?;
        let caps = c.capa().map_err(err)?;
        Ok(format!(
            "top={} user={} uidl={} pipe={} codes={} stls={} utf8={} delay={:?} expire={:?} cram={} plain={} login={}",
            caps.top,
            caps.user,
            caps.uidl,
            caps.pipelining,
            caps.resp_codes,
            caps.stls,
            caps.utf8,
            caps.login_delay,
            caps.expire_days,
            caps.sasl.contains(Mechanism::CramMd5),
            caps.sasl.contains(Mechanism::Plain),
            caps.sasl.contains(Mechanism::Login),
        ))
    });
    assert_eq!(
        out,
        "top=true user=true uidl=true pipe=true codes=true stls=true utf8=true delay=Some(900) \
         expire=Some(60) cram=true plain=true login=false"
    );
}

#[test]
fn pipelined_login_and_deletes_leave_in_one_write() {
    let mut turns = capa_turns();
    turns.extend(transcript(&[
        ("USER a\r\n", "+OK\r\n"),
        ("PASS b\r\n", "+OK logged in\r\n"),
        ("DELE 1\r\n", "+OK\r\n"),
        ("DELE 2\r\n", "-ERR [SYS/TEMP] already deleted\r\n"),
        ("DELE 3\r\n", "+OK\r\n"),
    ]));
    let out = every_split(turns.clone(), 64, |c| {
        c.greeting().map_err(err)?;
        c.capa().map_err(err)?;
        c.login("a", "b").map_err(err)?;
        let e = c.delete_many(&[1, 2, 3]).unwrap_err();
        Ok(format!("{:?}", e.refusal().map(|r| r.code)))
    });
    assert_eq!(out, "Some(SysTemp)");
    // CAPA, USER+PASS together, the three DELEs together.
    let mut script = Script::new(turns, usize::MAX, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 128]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    c.login("a", "b").unwrap();
    let _ = c.delete_many(&[1, 2, 3]);
    drop(c);
    assert_eq!(script.writes.len(), 3);
}

/// Of commands pipelined together, the text kept is the first refusal's
/// (the cause), not a later one's; the next flight records afresh.
#[test]
fn the_first_refusal_of_a_flight_keeps_its_text() {
    let mut turns = capa_turns();
    turns.extend(transcript(&[
        ("USER a\r\n", "+OK\r\n"),
        ("PASS b\r\n", "+OK logged in\r\n"),
        ("DELE 1\r\n", "+OK\r\n"),
        ("DELE 2\r\n", "-ERR [SYS/TEMP] mailbox locked\r\n"),
        ("DELE 3\r\n", "-ERR no such message\r\n"),
        ("NOOP\r\n", "-ERR try later\r\n"),
    ]));
    let out = every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        c.capa().map_err(err)?;
        c.login("a", "b").map_err(err)?;
        let e = c.delete_many(&[1, 2, 3]).unwrap_err();
        let first = String::from_utf8_lossy(c.last_refusal().text()).into_owned();
        let code = e.refusal().map(|r| r.code);
        c.noop().unwrap_err();
        let next = String::from_utf8_lossy(c.last_refusal().text()).into_owned();
        Ok(format!("{code:?} {first} / {next}"))
    });
    assert_eq!(out, "Some(SysTemp) mailbox locked / try later");
}

#[test]
fn enable_utf8_rfc6856() {
    let mut turns = capa_turns();
    turns.extend(transcript(&[("UTF8\r\n", "+OK UTF8 enabled\r\n")]));
    every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        c.capa().map_err(err)?;
        c.enable_utf8().map_err(err)?;
        assert!(c.capabilities().utf8_active);
        Ok(String::new())
    });
}

#[test]
fn auth_plain_with_initial_response_rfc5034() {
    // RFC 5034 §6 (PLAIN example, with the initial response).
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        (
            "AUTH PLAIN AHRlc3QAMTIzNA==\r\n",
            "+OK Maildrop locked and ready\r\n",
        ),
    ]);
    every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        c.authenticate(
            Mechanism::Plain,
            Credentials {
                user: "test",
                secret: "1234",
            },
        )
        .map_err(err)?;
        assert_eq!(c.session().state(), State::Transaction);
        Ok(String::new())
    });
}

fn cram_turns() -> Vec<Turn> {
    // RFC 5034 §6 / RFC 2195 CRAM-MD5 example.
    transcript(&[
        ("", "+OK ready\r\n"),
        (
            "AUTH CRAM-MD5\r\n",
            "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
        ),
        (
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n",
            "+OK CRAM authentication successful\r\n",
        ),
    ])
}

#[test]
fn auth_cram_md5_rfc2195() {
    every_split(cram_turns(), 80, |c| {
        c.greeting().map_err(err)?;
        c.authenticate(
            Mechanism::CramMd5,
            Credentials {
                user: "tim",
                secret: "tanstaaftanstaaf",
            },
        )
        .map_err(err)?;
        Ok(String::new())
    });
    // Same through the async client, 1-byte reads.
    let mut script = Script::new(cram_turns(), 1, 0);
    let (mut rx, mut tx) = ([0u8; 80], [0u8; 128]);
    block_on(async {
        let mut c = asynch::Client::connect(&mut script, &mut rx, &mut tx).await?;
        c.authenticate(
            Mechanism::CramMd5,
            Credentials {
                user: "tim",
                secret: "tanstaaftanstaaf",
            },
        )
        .await
    })
    .unwrap();
    assert!(script.client_matches());
}

#[test]
fn auth_login_and_failure_code() {
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        ("AUTH LOGIN\r\n", "+ VXNlcm5hbWU6\r\n"),
        ("dGlt\r\n", "+ UGFzc3dvcmQ6\r\n"),
        ("d3Jvbmc=\r\n", "-ERR [AUTH] Authentication failed\r\n"),
    ]);
    let out = every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        let e = c
            .authenticate(
                Mechanism::Login,
                Credentials {
                    user: "tim",
                    secret: "wrong",
                },
            )
            .unwrap_err();
        assert_eq!(c.session().state(), State::Authorization);
        Ok(format!("{:?}", e.refusal().map(|r| r.code)))
    });
    assert_eq!(out, "Some(Auth)");
}

#[test]
fn in_use_is_exposed() {
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        ("USER a\r\n", "+OK\r\n"),
        (
            "PASS b\r\n",
            "-ERR [IN-USE] Do you have another POP session running?\r\n",
        ),
    ]);
    let out = every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        let e = c.login("a", "b").unwrap_err();
        Ok(format!("{:?}", e.refusal().map(|r| r.code)))
    });
    assert_eq!(out, "Some(InUse)");
}

#[test]
fn stls_hands_back_and_resumes_with_capabilities_forgotten() {
    let mut turns = capa_turns();
    turns.extend(transcript(&[("STLS\r\n", "+OK Begin TLS negotiation\r\n")]));
    let mut script = Script::new(turns, 1, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    let parts = c.stls().unwrap();
    assert!(!parts.session.capabilities().stls, "pre-TLS caps forgotten");
    assert_eq!(parts.session.state(), State::Authorization);
    // "TLS" transport: a new script continuing the dialogue.
    let mut after = Script::new(
        transcript(&[
            ("", ""),
            ("USER a\r\n", "+OK\r\n"),
            ("PASS b\r\n", "+OK\r\n"),
        ]),
        1,
        0,
    );
    let mut c2 = Client::resume(embedded_mail::pop3::Parts {
        transport: &mut after,
        session: parts.session,
        rx: parts.rx,
        tx: parts.tx,
    });
    c2.login("a", "b").unwrap();
    assert_eq!(c2.session().state(), State::Transaction);
    assert!(after.client_matches());
}

#[test]
fn stls_refuses_bytes_injected_before_the_handshake() {
    let mut turns = capa_turns();
    // The attacker appends a forged response right after the +OK.
    turns.extend(transcript(&[(
        "STLS\r\n",
        "+OK Begin TLS negotiation\r\n+OK logged in\r\n",
    )]));
    let mut script = Script::new(turns, usize::MAX, 0);
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    let e = c.stls().map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

#[test]
fn stls_not_offered_fails_before_sending() {
    let turns = transcript(&[("", "+OK ready\r\n")]);
    let mut script = Script::new(turns, usize::MAX, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    let e = c.stls().map(|_| ()).unwrap_err();
    assert_eq!(e, Error::NotSupported("STLS"));
    assert!(script.written.is_empty());
}

#[test]
fn long_status_line_reports_the_size_needed() {
    let long = format!("+OK {}\r\n", "x".repeat(300));
    let turns = transcript(&[("", &long)]);
    let out = every_split(turns, 64, |c| {
        Ok(format!("{:?}", c.greeting().unwrap_err()))
    });
    assert_eq!(
        out,
        format!(
            "{:?}",
            Error::<ScriptError>::BufferTooSmall {
                needed: long.len(),
                available: 64
            }
        )
    );
}

#[test]
fn wrong_state_and_injection_send_nothing() {
    let turns = transcript(&[("", "+OK ready\r\n")]);
    let mut script = Script::new(turns, usize::MAX, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    assert_eq!(
        c.stat().unwrap_err(),
        Error::WrongState {
            command: "STAT",
            state: embedded_mail::SessionState::Authorization
        }
    );
    assert!(matches!(
        c.login("a\r\nDELE 1", "x").unwrap_err(),
        Error::InvalidArgument(_)
    ));
    assert!(matches!(
        c.login("a", "x\r\nDELE 1").unwrap_err(),
        Error::InvalidArgument(_)
    ));
    assert!(matches!(
        c.login("a b", "x").unwrap_err(),
        Error::InvalidArgument(_)
    ));
    assert!(matches!(
        c.login("a\0", "x").unwrap_err(),
        Error::InvalidArgument(_)
    ));
    assert_eq!(
        c.apop("a", "b").unwrap_err(),
        Error::NotSupported("APOP (no timestamp in greeting)")
    );
    drop(c);
    assert!(script.written.is_empty());
}

#[test]
fn cut_connection_mid_body_is_reported_and_poisons() {
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        ("USER a\r\n", "+OK\r\n"),
        ("PASS b\r\n", "+OK\r\n"),
        ("RETR 1\r\n", "+OK\r\nline one\r\nline two\r\n"), // no terminator
    ]);
    let mut script = Script::new(turns, 5, 0);
    let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    let mut c = Client::connect(&mut script, &mut rx, &mut tx).unwrap();
    c.login("a", "b").unwrap();
    let mut sink = Sink::default();
    assert_eq!(c.retr(1, &mut sink).unwrap_err(), Error::ConnectionClosed);
    assert_eq!(c.noop().unwrap_err(), Error::Broken);
}

#[test]
fn malformed_listing_is_an_error_not_a_panic() {
    let turns = transcript(&[
        ("", "+OK ready\r\n"),
        ("USER a\r\n", "+OK\r\n"),
        ("PASS b\r\n", "+OK\r\n"),
        ("LIST\r\n", "+OK\r\n1 abc\r\n.\r\n"),
    ]);
    let out = every_split(turns, 64, |c| {
        c.greeting().map_err(err)?;
        c.login("a", "b").map_err(err)?;
        Ok(format!("{:?}", c.list(|_, _| {}).unwrap_err()))
    });
    assert!(out.starts_with("Malformed"), "{out}");
}

#[test]
fn refused_greeting_closes() {
    let turns = transcript(&[("", "-ERR [SYS/TEMP] too busy\r\n")]);
    let out = every_split(turns, 64, |c| {
        let e = c.greeting().unwrap_err();
        assert_eq!(c.session().state(), State::Closed);
        Ok(format!("{:?}", e.refusal().map(|r| r.code)))
    });
    assert_eq!(out, "Some(SysTemp)");
    let _ = ResponseCode::None;
}
