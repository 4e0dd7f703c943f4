//! Session tests: RFC 3501 / RFC 9051 server examples and real servers'
//! quirks, decoded at every split of the input and through small buffers.

extern crate std;
use super::*;
use crate::error::{ProtocolError, RefusalKind, ResponseCode};
use crate::wire::RxBuffer;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

/// Feeds `wire` to `s` like a driver would: reads of at most `chunk`
/// bytes into an rx buffer of `cap` bytes. Events are rendered as
/// strings; consecutive body chunks are merged.
fn drive(
    s: &mut Session,
    wire: &[u8],
    chunk: usize,
    cap: usize,
) -> Result<Vec<String>, ProtocolError> {
    let mut mem = std::vec![0u8; cap];
    let mut rx = RxBuffer::new(&mut mem);
    let mut fed = 0;
    let mut out: Vec<String> = Vec::new();
    let mut body = String::new();
    let mut budget = 8 * wire.len() + 1000;
    loop {
        budget = budget.checked_sub(1).expect("decoder makes progress");
        match s.decode_raw(rx.data())? {
            Decoded::NeedMore => {
                if fed == wire.len() {
                    break;
                }
                if rx.is_full() {
                    s.overflow(rx.len());
                    continue;
                }
                let spare = rx.spare();
                let n = chunk.min(spare.len()).min(wire.len() - fed);
                spare[..n].copy_from_slice(&wire[fed..fed + n]);
                rx.commit(n);
                fed += n;
            }
            Decoded::Progress { consumed, event } => {
                if let Some(e) = event {
                    let e = e
                        .resolve(rx.data())
                        .map(|b| String::from_utf8_lossy(b).into_owned());
                    match e {
                        GenericEvent::BodyChunk(c) => body.push_str(&c),
                        other => {
                            if !body.is_empty() {
                                out.push(format!("Body({body})"));
                                body.clear();
                            }
                            out.push(format!("{other:?}"));
                        }
                    }
                }
                rx.consume(consumed);
            }
        }
    }
    Ok(out)
}

/// Runs `wire` at every read size and a few buffer sizes; all runs must
/// give the same events, which are returned.
fn all_splits(setup: impl Fn() -> Session, wire: &[u8], caps: &[usize]) -> Vec<String> {
    let reference = drive(&mut setup(), wire, wire.len(), 64 * 1024).unwrap();
    for &cap in caps {
        for chunk in 1..=wire.len().min(cap) {
            let got = drive(&mut setup(), wire, chunk, cap).unwrap();
            assert_eq!(got, reference, "chunk {chunk} cap {cap}");
        }
    }
    reference
}

fn encode(s: &mut Session, cmd: Command<'_>) -> String {
    let mut buf = [0u8; 512];
    let n = s.encode(&cmd, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn greeted() -> Session {
    let mut s = Session::new();
    drive(
        &mut s,
        b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN IDLE MOVE UIDPLUS] ready\r\n",
        100,
        1024,
    )
    .unwrap();
    s
}

fn selected() -> Session {
    let mut s = greeted();
    encode(
        &mut s,
        Command::Login {
            user: "u",
            password: "p",
        },
    );
    drive(
        &mut s,
        b"A0001 OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS ESEARCH LITERAL+] done\r\n",
        100,
        1024,
    )
    .unwrap();
    encode(
        &mut s,
        Command::Select {
            mailbox: "INBOX",
            condstore: false,
        },
    );
    drive(
        &mut s,
        b"A0002 OK [READ-WRITE] SELECT completed\r\n",
        100,
        1024,
    )
    .unwrap();
    assert_eq!(s.state(), State::Selected);
    s
}

#[test]
fn greeting_and_capabilities() {
    let s = greeted();
    assert_eq!(s.state(), State::NotAuthenticated);
    let c = s.capabilities();
    assert!(c.known && c.imap4rev1 && c.literal_plus && c.sasl_ir && c.idle && c.move_);
    assert!(c.sasl.contains(crate::sasl::Mechanism::Plain));
    let mut s = Session::new();
    let ev = drive(
        &mut s,
        b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n",
        5,
        64,
    )
    .unwrap();
    assert!(ev[0].starts_with("Greeting { preauth: true"));
    assert_eq!(s.state(), State::Authenticated);
    let mut s = Session::new();
    let ev = drive(&mut s, b"* BYE Autologout; idle for too long\r\n", 5, 64).unwrap();
    assert!(ev[0].contains("kind: Bye"), "{ev:?}");
    assert_eq!(s.last_refusal().text(), b"Autologout; idle for too long");
    assert_eq!(s.state(), State::Logout);
}

#[test]
fn rfc3501_select_example() {
    // RFC 3501 §6.3.1.
    let wire = b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n\
* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n\
* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n\
A0002 OK [READ-WRITE] SELECT completed\r\n";
    let setup = || {
        let mut s = greeted();
        encode(
            &mut s,
            Command::Login {
                user: "u",
                password: "p",
            },
        );
        drive(&mut s, b"A0001 OK done\r\n", 100, 1024).unwrap();
        encode(
            &mut s,
            Command::Select {
                mailbox: "INBOX",
                condstore: false,
            },
        );
        s
    };
    let ev = all_splits(setup, wire, &[64, 1024]);
    assert_eq!(ev.len(), 8);
    assert!(ev[7].starts_with("Done { tag: 2, command: Select, code: ReadWrite"));
    let mut s = setup();
    drive(&mut s, wire, 7, 128).unwrap();
    let m = s.mailbox();
    assert_eq!((m.exists, m.recent, m.first_unseen), (172, 1, Some(12)));
    assert_eq!((m.uid_validity, m.uid_next), (Some(3857529045), Some(4392)));
    assert!(m
        .permanent_flags
        .contains(FlagSet::DELETED | FlagSet::SEEN | FlagSet::MAY_CREATE));
    assert!(!m.permanent_flags.contains(FlagSet::DRAFT));
    assert!(m.flags.contains(FlagSet::DRAFT));
    assert_eq!(s.state(), State::Selected);
    // Capabilities were dropped at login (no CAPABILITY code in the OK).
    assert!(!s.capabilities().known);
}

#[test]
fn rfc3501_fetch_examples_stream_at_every_split() {
    // RFC 3501 §6.4.5 / §7.4.2, with a literal body.
    let wire = b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \
\"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\") \
(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") \
BODY[HEADER] {40}\r\nDate: Wed, 17 Jul 1996\r\nSubject: (x)\r\n\r\n UID 4827313)\r\n\
* 13 FETCH (BODY[]<0> ~{3}\r\na)b BODY[TEXT] \"q\\\"x\" BINARY[1] NIL)\r\n\
* 14 FETCH (FLAGS (\\Deleted \\Seen $Label) MODSEQ (12121231000))\r\n\
A0003 OK FETCH completed\r\n";
    let setup = || {
        let mut s = selected();
        encode(
            &mut s,
            Command::Fetch {
                set: SequenceSet::All,
                uid: false,
                items: FetchItems {
                    flags: true,
                    ..FetchItems::default()
                },
            },
        );
        s
    };
    let ev = all_splits(setup, wire, &[1024]);
    let expect = [
        "FetchStart { seq: 12 }",
        "Flags(\"\\\\Seen\")",
        "InternalDate(\"17-Jul-1996 02:44:25 -0700\")",
        "Rfc822Size(4286)",
    ];
    assert_eq!(&ev[..4], &expect);
    assert!(
        ev[4].starts_with("FetchItem { name: \"ENVELOPE\", value: \"(\\\"Wed, 17 Jul"),
        "{}",
        ev[4]
    );
    assert_eq!(
        ev[5],
        "BodyStart { section: \"BODY[HEADER]\", origin: None, len: 40 }"
    );
    assert_eq!(
        ev[6],
        "Body(Date: Wed, 17 Jul 1996\r\nSubject: (x)\r\n\r\n)"
    );
    assert_eq!(
        &ev[7..],
        &[
            "BodyEnd",
            "Uid(4827313)",
            "FetchEnd",
            "FetchStart { seq: 13 }",
            "BodyStart { section: \"BODY[]<0>\", origin: Some(0), len: 3 }",
            "Body(a)b)",
            "BodyEnd",
            "BodyStart { section: \"BODY[TEXT]\", origin: None, len: 3 }",
            "Body(q\"x)",
            "BodyEnd",
            "BodyStart { section: \"BINARY[1]\", origin: None, len: 0 }",
            "BodyEnd",
            "FetchEnd",
            "FetchStart { seq: 14 }",
            "Flags(\"\\\\Deleted \\\\Seen $Label\")",
            "ModSeq(12121231000)",
            "FetchEnd",
            "Done { tag: 3, command: Fetch, code: None, text: \"FETCH completed\" }",
        ]
    );
}

#[test]
fn big_body_streams_through_a_tiny_buffer() {
    let body: Vec<u8> = (0..20_000u32)
        .map(|i| b"abc\r\n.xyz"[(i % 9) as usize])
        .collect();
    let mut wire = format!("* 1 FETCH (UID 7 BODY[] {{{}}}\r\n", body.len()).into_bytes();
    wire.extend_from_slice(&body);
    wire.extend_from_slice(b")\r\nA0003 OK done\r\n");
    for (chunk, cap) in [(1, 64), (7, 64), (64, 64), (1000, 100), (333, 1024)] {
        let mut s = selected();
        encode(&mut s, Command::Noop);
        let ev = drive(&mut s, &wire, chunk, cap).unwrap();
        assert_eq!(ev[3], format!("Body({})", String::from_utf8_lossy(&body)));
        assert_eq!(
            ev.last().unwrap(),
            "Done { tag: 3, command: Noop, code: None, text: \"done\" }"
        );
    }
}

#[test]
fn search_streams_numbers() {
    let mut wire = b"* SEARCH".to_vec();
    for n in 1..=500u32 {
        wire.extend_from_slice(format!(" {n}").as_bytes());
    }
    wire.extend_from_slice(b" (MODSEQ 917162500)\r\n* search\r\nA0003 OK SEARCH completed\r\n");
    let mut s = selected();
    encode(
        &mut s,
        Command::Search {
            uid: true,
            criteria: "ALL",
            ret: None,
        },
    );
    let ev = drive(&mut s, &wire, 13, 32).unwrap();
    assert_eq!(ev.len(), 502);
    assert_eq!(ev[0], "SearchHit(1)");
    assert_eq!(ev[499], "SearchHit(500)");
    assert_eq!(ev[500], "SearchModSeq(917162500)");
    // RFC 4731 ESEARCH.
    let mut s = selected();
    encode(
        &mut s,
        Command::Search {
            uid: true,
            criteria: "UNSEEN",
            ret: Some(SearchReturn {
                min: true,
                max: true,
                count: true,
                all: true,
            }),
        },
    );
    let ev = drive(
        &mut s,
        b"* ESEARCH (TAG \"A0003\") UID MIN 7 MAX 3800 COUNT 5 ALL 7,3:5,3800\r\nA0003 OK done\r\n",
        5,
        128,
    )
    .unwrap();
    assert_eq!(ev[0], "ESearch { uid: true, min: Some(7), max: Some(3800), count: Some(5), all: Some(\"7,3:5,3800\") }");
}

#[test]
fn list_status_namespace_quota() {
    let wire = "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n\
* LIST (\\Noselect \\HasChildren) \"/\" {6}\r\nA/&-\\\"\r\n\
* LSUB () NIL INBOX\r\n\
* LIST (\\NonExistent) \"\\\\\" \"Gone\"\r\n\
* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 SIZE 99999999999)\r\n\
* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\"))\r\n\
* QUOTAROOT INBOX \"User quota\"\r\n\
* QUOTA \"User quota\" (STORAGE 10 512 MESSAGE 3 100)\r\n\
* ID (\"name\" \"Dovecot\")\r\n\
* XUNKNOWN stuff (here\r\n\
A0003 OK done\r\n";
    let setup = || {
        let mut s = selected();
        encode(
            &mut s,
            Command::List {
                reference: "",
                pattern: "*",
                special_use: false,
            },
        );
        s
    };
    let ev = all_splits(setup, wire.as_bytes(), &[128]);
    assert!(ev[0].contains("attrs: MailboxAttrs(2064)"), "{}", ev[0]);
    assert!(
        ev[1].contains("delimiter: Some(47), name: Str { raw: \"A/&-\\\\\\\"\""),
        "{}",
        ev[1]
    );
    assert!(ev[2].contains("delimiter: None") && ev[2].contains("lsub: true"));
    assert!(ev[3].contains("delimiter: Some(92)"), "{}", ev[3]);
    assert!(ev[4].contains("messages: Some(231)") && ev[4].contains("size: Some(99999999999)"));
    assert!(ev[5].starts_with("Namespace { personal: \"((\\\"\\\" \\\"/\\\"))\", other: \"NIL\""));
    assert!(ev[6].contains("roots: \"\\\"User quota\\\"\""));
    assert!(ev[7].contains("storage: Some((10, 512)), messages: Some((3, 100))"));
    assert_eq!(ev[9], "Other(\"XUNKNOWN stuff (here\")");
    // Names decode from modified UTF-7.
    let mut s = setup();
    let mut rx = wire.as_bytes().to_vec();
    let (n, e) = s.decode(&rx).unwrap().unwrap();
    let Some(GenericEvent::List(item)) = e else {
        panic!()
    };
    let mut out = [0u8; 32];
    assert_eq!(
        decode_mailbox(&item.name, false, &mut out).unwrap(),
        "Entwürfe"
    );
    assert!(item
        .attrs
        .contains(MailboxAttrs::DRAFTS | MailboxAttrs::HAS_NO_CHILDREN));
    rx.drain(..n);
    let (_, e) = s.decode(&rx).unwrap().unwrap();
    let Some(GenericEvent::List(item)) = e else {
        panic!()
    };
    assert_eq!(
        decode_mailbox(&item.name, false, &mut out).unwrap(),
        "A/&\\\""
    );
}

#[test]
fn refusals_and_untagged_updates() {
    let mut s = selected();
    encode(&mut s, Command::Noop);
    encode(
        &mut s,
        Command::Copy {
            set: SequenceSet::One(1),
            uid: true,
            mailbox: "Nowhere",
        },
    );
    let ev = drive(
        &mut s,
        b"* 3 EXPUNGE\r\n* 22 EXISTS\r\n* OK [ALERT] System shutdown in 10 minutes\r\nA0003 OK NOOP done\r\n\
A0004 NO [TRYCREATE] Mailbox doesn't exist: Nowhere\r\n",
        3,
        64,
    )
    .unwrap();
    assert_eq!(ev[0], "Expunge(3)");
    assert!(ev[2].starts_with("Status { kind: Ok, code: Alert"));
    assert!(ev[4].contains("kind: No, code: TryCreate"), "{}", ev[4]);
    assert_eq!(s.last_refusal().text(), b"Mailbox doesn't exist: Nowhere");
    assert_eq!(s.mailbox().exists, 22);
    assert!(s.mailbox().expunged);
    assert_eq!(s.in_flight(), 0);
    // BYE during a command.
    encode(&mut s, Command::Noop);
    let ev = drive(&mut s, b"* BYE [UNAVAILABLE] going down\r\n", 3, 64).unwrap();
    assert!(ev[0].contains("kind: Bye, code: Unavailable"), "{ev:?}");
    assert_eq!(s.last_refusal().text(), b"going down");
    assert_eq!(s.state(), State::Logout);
}

#[test]
fn tolerances() {
    // Lower-case status words, OK without space before the code, doubled
    // spaces, bare `* OK`, bare LF line ends, unknown codes.
    let mut s = selected();
    encode(&mut s, Command::Noop);
    let ev = drive(
        &mut s,
        b"* ok\r\n* OK[ALERT]  hi\n*  5  exists\r\n* OK [X-UNKNOWN-CODE 1 2] x\r\nA0003 ok  [READ-ONLY]  fine\r\n",
        2,
        64,
    )
    .unwrap();
    assert_eq!(ev[0], "Status { kind: Ok, code: None, text: \"\" }");
    assert_eq!(ev[1], "Status { kind: Ok, code: Alert, text: \"hi\" }");
    assert_eq!(ev[2], "Exists(5)");
    assert!(ev[3].contains("Other { atom: \"X-UNKNOWN-CODE\", args: \"1 2\" }"));
    assert!(ev[4].starts_with("Done { tag: 3, command: Noop, code: ReadOnly, text: \"fine\""));
    assert!(s.mailbox().read_only);
}

#[test]
fn oversized_responses_fail_or_skip() {
    let mut long = b"* LIST () \"/\" \"".to_vec();
    long.extend(std::iter::repeat_n(b'x', 300));
    long.extend_from_slice(b"\"\r\nA0003 OK done\r\n");
    let mut s = selected();
    encode(
        &mut s,
        Command::List {
            reference: "",
            pattern: "*",
            special_use: false,
        },
    );
    let e = drive(&mut s, &long, 50, 128).unwrap_err();
    assert_eq!(
        e,
        ProtocolError::BufferTooSmall {
            needed: 318,
            available: 128
        }
    );
    assert!(s.is_broken());

    let mut s = selected();
    s.set_skip_oversized(true);
    encode(
        &mut s,
        Command::List {
            reference: "",
            pattern: "*",
            special_use: false,
        },
    );
    let ev = drive(&mut s, &long, 50, 128).unwrap();
    assert_eq!(ev[0], "Skipped { size: 318 }");
    assert!(ev[1].starts_with("Done"));

    // A big BODYSTRUCTURE with a nested literal, skipped.
    let mut wire =
        b"* 1 FETCH (UID 9 BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"NAME\" {300}\r\n".to_vec();
    wire.extend(std::iter::repeat_n(b')', 300));
    wire.extend_from_slice(b") NIL NIL \"7BIT\" 12 1) FLAGS ())\r\nA0003 OK done\r\n");
    let mut s = selected();
    s.set_skip_oversized(true);
    encode(&mut s, Command::Noop);
    let ev = drive(&mut s, &wire, 17, 128).unwrap();
    assert_eq!(
        &ev[..3],
        &["FetchStart { seq: 1 }", "Uid(9)", "Skipped { size: 353 }"]
    );
    assert_eq!(ev[3], "Flags(\"\")");
    // Without skipping it is an error naming at least the literal.
    let mut s = selected();
    encode(&mut s, Command::Noop);
    match drive(&mut s, &wire, 17, 128) {
        Err(ProtocolError::BufferTooSmall { needed, .. }) => assert!(needed > 300),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    let cases: &[&[u8]] = &[
        b"* 1 FETCH (BODY[] {99999999999999999999999}\r\n",
        b"* 1 FETCH (BODY[] {4294967296}\r\n",
        b"* 1 FETCH (UID 99999999999)\r\n",
        b"* 1 FETCH (UID 1\r\n",
        b"* 1 FETCH (BODY[ {1}\r\n",
        b"A9999 OK not ours\r\n",
        b"* LIST (\\x \"/\" {5}\r\nab\r\n",
        b"* SEARCH 1 x\r\n",
        b"* 99999999999 EXISTS\r\n",
        b"* STATUS x (MESSAGES)\r\n",
        b"* OK [UIDVALIDITY x] y\r\n",
        b"* OK [PERMANENTFLAGS (\\Seen] y\r\n",
    ];
    for &case in cases {
        for chunk in 1..=case.len() {
            let mut s = selected();
            encode(&mut s, Command::Noop);
            // Must not panic; most are errors.
            let _ = drive(&mut s, case, chunk, 64);
        }
    }
    let mut s = selected();
    encode(&mut s, Command::Noop);
    assert!(drive(&mut s, cases[1], 100, 64).is_err());
    assert!(drive(&mut s, b"A0003 OK\r\n", 100, 64) == Err(ProtocolError::Broken));
}

#[test]
fn encodes_commands_and_refuses_bad_arguments() {
    let mut s = greeted();
    assert_eq!(
        s.encode(
            &Command::Select {
                mailbox: "INBOX",
                condstore: false
            },
            &mut [0u8; 64]
        ),
        Err(ProtocolError::WrongState {
            command: "SELECT",
            state: crate::error::SessionState::NotAuthenticated
        })
    );
    assert_eq!(
        encode(
            &mut s,
            Command::Login {
                user: "fred",
                password: "pa ss\"w"
            }
        ),
        "A0001 LOGIN fred \"pa ss\\\"w\"\r\n"
    );
    // CR/LF in a password: a literal (LITERAL+ is offered).
    assert_eq!(
        encode(
            &mut s,
            Command::Login {
                user: "a",
                password: "x\r\ny"
            }
        ),
        "A0002 LOGIN a {4+}\r\nx\r\ny\r\n"
    );
    assert!(s
        .encode(
            &Command::Login {
                user: "a",
                password: "x\0y"
            },
            &mut [0u8; 64]
        )
        .is_err());
    // Without LITERAL+: a synchronizing literal, and where to pause.
    let mut s = Session::new();
    drive(&mut s, b"* OK hi\r\n", 100, 100).unwrap();
    let mut out = [0u8; 64];
    let n = s
        .encode(
            &Command::Login {
                user: "a",
                password: "x\ny",
            },
            &mut out,
        )
        .unwrap();
    assert_eq!(&out[..n], b"A0001 LOGIN a {3}\r\nx\ny\r\n");
    assert_eq!(s.literal_pauses(), &[19]);
    let mut s = selected();
    assert_eq!(
        encode(
            &mut s,
            Command::Fetch {
                set: SequenceSet::Range(SeqRange::from(4)),
                uid: true,
                items: FetchItems {
                    uid: true,
                    flags: true,
                    body: Some(BodyRequest {
                        section: Section::HeaderFields("SUBJECT FROM"),
                        partial: Some((0, 1024)),
                        peek: true,
                        binary: false
                    }),
                    ..FetchItems::default()
                },
            }
        ),
        "A0003 UID FETCH 4:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.1024>)\r\n"
    );
    assert_eq!(
        encode(
            &mut s,
            Command::Store {
                set: SequenceSet::One(3),
                uid: false,
                op: StoreOp::Add,
                silent: true,
                flags: &["\\Deleted", "$Junk"]
            }
        ),
        "A0004 STORE 3 +FLAGS.SILENT (\\Deleted $Junk)\r\n"
    );
    assert_eq!(
        encode(
            &mut s,
            Command::Move {
                set: SequenceSet::One(3),
                uid: true,
                mailbox: "日本語"
            }
        ),
        "A0005 UID MOVE 3 \"&ZeVnLIqe-\"\r\n"
    );
    assert!(s
        .encode(&Command::Create("a\r\nb"), &mut [0u8; 64])
        .is_err());
    assert!(s
        .encode(
            &Command::Search {
                uid: false,
                criteria: "ALL\r\nA1 LOGOUT",
                ret: None
            },
            &mut [0u8; 64]
        )
        .is_err());
    assert!(s
        .encode(
            &Command::Store {
                set: SequenceSet::One(1),
                uid: false,
                op: StoreOp::Add,
                silent: false,
                flags: &["a b"]
            },
            &mut [0u8; 64]
        )
        .is_err());
    assert_eq!(
        s.encode(&Command::Noop, &mut [0u8; 8]),
        Err(ProtocolError::BufferTooSmall {
            needed: 12,
            available: 8
        })
    );
    // APPEND: LITERAL+ means no continuation.
    let plan = s
        .encode_append(
            &Append {
                mailbox: "Sent",
                flags: &["\\Seen"],
                date: None,
                len: 10,
            },
            &mut [0u8; 64],
        )
        .unwrap();
    assert!(!plan.wait_continue);
}

#[test]
fn idle_and_starttls() {
    let mut s = selected();
    let mut buf = [0u8; 64];
    assert!(s.encode_idle_done(&mut buf).is_err());
    assert_eq!(encode(&mut s, Command::Idle), "A0003 IDLE\r\n");
    assert!(matches!(
        s.encode(&Command::Noop, &mut buf),
        Err(ProtocolError::WrongState {
            state: crate::error::SessionState::Idle,
            ..
        })
    ));
    let ev = drive(&mut s, b"+ idling\r\n* 4 EXISTS\r\n", 3, 64).unwrap();
    assert_eq!(ev, ["Continue(\"idling\")", "Exists(4)"]);
    assert!(s.is_idling());
    assert_eq!(s.encode_idle_done(&mut buf), Ok(6));
    drive(&mut s, b"A0003 OK IDLE terminated\r\n", 3, 64).unwrap();
    assert_eq!(s.in_flight(), 0);

    let mut s = Session::new();
    drive(
        &mut s,
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n",
        100,
        100,
    )
    .unwrap();
    assert!(matches!(
        s.encode(
            &Command::Login {
                user: "a",
                password: "b"
            },
            &mut buf
        ),
        Err(ProtocolError::NotSupported(_))
    ));
    encode(&mut s, Command::StartTls);
    drive(&mut s, b"A0001 OK Begin TLS\r\n", 100, 100).unwrap();
    assert_eq!(s.state(), State::TlsHandshake);
    let mut t = s.clone();
    assert!(t.begin_tls(5).is_err());
    assert!(t.is_broken());
    s.begin_tls(0).unwrap();
    assert!(!s.capabilities().known && !s.capabilities().starttls);
}

#[test]
fn rfc9051_examples() {
    // RFC 9051 §7.5 / §6.4.4 / §7.3.1 bits a rev2 server sends.
    let mut s = selected();
    encode(&mut s, Command::Enable(&["IMAP4rev2", "UTF8=ACCEPT"]));
    let ev = drive(
        &mut s,
        b"* ENABLED IMAP4rev2 UTF8=ACCEPT\r\n* STATUS \"Entw\xc3\xbcrfe\" (MESSAGES 2 DELETED 1 SIZE 77)\r\n\
* LIST (\\Subscribed \\Sent) \"/\" \"Sent\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
* 3 FETCH (BINARY[1] ~{4}\r\n\x00\x01\r\n UID 4)\r\n* VANISHED (EARLIER) 41,43:116\r\nA0003 OK done\r\n",
        4,
        128,
    )
    .unwrap();
    assert!(s.capabilities().rev2_enabled && s.capabilities().utf8_enabled);
    assert!(ev[1].contains("deleted: Some(1)"));
    assert!(ev[2].contains("attrs: MailboxAttrs(16512)"), "{}", ev[2]);
    assert_eq!(ev[5], "Body(\u{0}\u{1}\r\n)");
    assert_eq!(ev[9], "Vanished { earlier: true, uids: \"41,43:116\" }");
    // Mailbox names now travel as UTF-8.
    assert_eq!(
        encode(&mut s, Command::Create("日本語")),
        "A0004 CREATE \"日本語\"\r\n"
    );
    let _ = ToString::to_string("x");
    let _ = RefusalKind::No;
    let _ = ResponseCode::None;
}

#[test]
fn mailbox_with_spaces() {
    let mut s = selected();
    assert_eq!(
        encode(
            &mut s,
            Command::Select {
                mailbox: "No such folder",
                condstore: false
            }
        ),
        "A0003 SELECT \"No such folder\"\r\n"
    );
}

/// Mutated server bytes, random splits and buffer sizes: errors are
/// fine, panics and endless loops are not.
#[test]
fn random_mutations_never_panic() {
    let corpus: &[&[u8]] = &[
        b"* 12 FETCH (FLAGS (\\Seen) UID 4 BODY[HEADER] {12}\r\nSubject: x\r\n ENVELOPE (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL \"<a@b>\"))\r\nA0003 OK done\r\n",
        b"* LIST (\\HasNoChildren) \"/\" {5}\r\nA&-bc\r\n* STATUS x (MESSAGES 2)\r\n* SEARCH 1 2 3\r\nA0003 OK\r\n",
        b"* OK [PERMANENTFLAGS (\\Seen \\*)] x\r\n* 3 EXISTS\r\n+ go\r\n* QUOTA r (STORAGE 1 2)\r\n* ESEARCH UID ALL 1:3\r\nA0003 NO [TRYCREATE] no\r\n",
        b"* 1 FETCH (BODY[]<0> ~{3}\r\nabc BINARY[1] \"q\\\"\" RFC822.SIZE 9 BODYSTRUCTURE (\"a\" (\"b\" {2}\r\n)) NIL))\r\n",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    let noise: &[&[u8]] = &[
        b"{",
        b"}",
        b"{99999999999}\r\n",
        b"(",
        b")",
        b"\"",
        b"\\",
        b"\r\n",
        b" ",
        b"[",
        b"]",
        b"<",
        b"*",
        b"0",
        b"~{2}\r\n",
        b"\n",
    ];
    for round in 0..3000 {
        let mut wire = corpus[round % corpus.len()].to_vec();
        for _ in 0..1 + rnd(4) {
            let at = rnd(wire.len() + 1);
            match rnd(3) {
                0 => {
                    let end = (at + rnd(8)).min(wire.len());
                    wire.drain(at..end);
                }
                1 => {
                    let piece = noise[rnd(noise.len())];
                    wire.splice(at..at, piece.iter().copied());
                }
                _ => {
                    if let Some(b) = wire.get_mut(at) {
                        *b = rnd(256) as u8;
                    }
                }
            }
        }
        let mut s = selected();
        s.set_skip_oversized(rnd(2) == 0);
        encode(&mut s, Command::Noop);
        let _ = drive(&mut s, &wire, 1 + rnd(40), 16 + rnd(200));
    }
}
