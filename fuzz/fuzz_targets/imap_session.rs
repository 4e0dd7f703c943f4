//! The IMAP session decoder (literals, FETCH streaming, SEARCH streaming,
//! skipping of oversized values, SASL and IDLE continuations) with commands
//! in flight, fed arbitrary server bytes in arbitrary reads through a small
//! receive buffer, exactly as the clients drive it (`src/link`). The
//! events' values then go through the public parsers (ENVELOPE, mailbox
//! names, ESEARCH ranges, flags). Invariants: no panic; every step consumes
//! a byte or reports an event; consumed never exceeds the input; every span
//! lies inside the input; decode steps are linear in the input; a failed
//! session stays failed.
#![no_main]

use embedded_mail::imap::{
    self, Append, BodyRequest, Command, Decoded, Envelope, Event, FetchItems, GenericEvent,
    SearchReturn, Section, SeqRange, SequenceSet, Session, State, StatusItems, StoreOp, Str,
};
use embedded_mail::sasl::SaslClient;
use embedded_mail::wire::RxBuffer;
use embedded_mail::{Credentials, Mechanism};
use fuzz_common::{Budget, Layout, Reads};
use libfuzzer_sys::fuzz_target;

const RANGES: [SeqRange; 2] = [SeqRange::range(1, 3), SeqRange::from(9)];

fn command(b: u8) -> Command<'static> {
    let full = FetchItems {
        uid: true,
        flags: true,
        envelope: true,
        body: Some(BodyRequest::peek(Section::Full)),
        ..FetchItems::default()
    };
    match b % 28 {
        0 => Command::Capability,
        1 => Command::Noop,
        2 => Command::Login {
            user: "fred",
            password: "s3cr et",
        },
        3 => Command::Select {
            mailbox: "INBOX",
            condstore: b & 0x80 != 0,
        },
        4 => Command::Examine("Entwürfe"),
        5 => Command::List {
            reference: "",
            pattern: "*",
            special_use: true,
        },
        6 => Command::Status {
            mailbox: "INBOX",
            items: StatusItems::BASIC,
        },
        7 => Command::Search {
            uid: true,
            criteria: "ALL",
            ret: None,
        },
        8 => Command::Search {
            uid: true,
            criteria: "UNSEEN",
            ret: Some(SearchReturn {
                min: true,
                max: true,
                count: true,
                all: true,
            }),
        },
        9 => Command::Fetch {
            set: SequenceSet::All,
            uid: true,
            items: full,
        },
        10 => Command::Fetch {
            set: SequenceSet::List(&RANGES),
            uid: false,
            items: FetchItems {
                internal_date: true,
                size: true,
                body_structure: true,
                modseq: true,
                body: Some(BodyRequest {
                    section: Section::HeaderFields("SUBJECT FROM"),
                    partial: Some((0, 1024)),
                    peek: true,
                    binary: false,
                }),
                ..FetchItems::default()
            },
        },
        11 => Command::Store {
            set: SequenceSet::One(7),
            uid: true,
            op: StoreOp::Add,
            silent: b & 0x80 != 0,
            flags: &["\\Seen", "\\Flagged"],
        },
        12 => Command::Copy {
            set: SequenceSet::One(7),
            uid: true,
            mailbox: "Archive",
        },
        13 => Command::Move {
            set: SequenceSet::Range(SeqRange::range(1, 4)),
            uid: true,
            mailbox: "Archive",
        },
        14 => Command::Expunge,
        15 => Command::Idle,
        16 => Command::Logout,
        17 => Command::Namespace,
        18 => Command::GetQuotaRoot("INBOX"),
        19 => Command::Enable(&["UTF8=ACCEPT", "CONDSTORE"]),
        20 => Command::Id(Some(&[("name", "fuzz")])),
        21 => Command::StartTls,
        22 => Command::Lsub {
            reference: "",
            pattern: "%",
        },
        23 => Command::Close,
        24 => Command::Unselect,
        25 => Command::UidExpunge(SequenceSet::One(3)),
        26 => Command::GetQuota(""),
        _ => Command::Check,
    }
}

fn check(start: usize, end: usize, len: usize) {
    assert!(
        start <= end && end <= len,
        "span {start}..{end} outside input of {len}"
    );
}

fn use_str(s: &Str<&[u8]>) -> usize {
    let mut out = [0u8; 64];
    s.bytes().count()
        + s.copy_to(&mut out).map_or(0, |c| c.len())
        + s.as_plain().map_or(0, |p| p.len())
}

/// Runs the event's values through the public parsers.
fn exercise(e: &Event<'_>, utf8: bool) -> usize {
    let mut acc = e.flag_set().map_or(0, |f| usize::from(f.bits()));
    match e {
        GenericEvent::List(item) => {
            let mut out = [0u8; 64];
            acc += imap::decode_mailbox(&item.name, utf8, &mut out).map_or(0, |s| s.len());
            acc += use_str(&item.name);
        }
        GenericEvent::FetchItem { value, .. } => {
            if let Ok(env) = Envelope::parse(value) {
                for s in [env.date, env.subject, env.in_reply_to, env.message_id]
                    .iter()
                    .flatten()
                {
                    acc += use_str(s);
                }
                for list in [env.from, env.sender, env.reply_to, env.to, env.cc, env.bcc] {
                    acc += usize::from(list.is_empty());
                    for a in list.iter() {
                        for s in [a.name, a.adl, a.mailbox, a.host].iter().flatten() {
                            acc += use_str(s);
                        }
                    }
                }
            }
        }
        GenericEvent::ESearch { all: Some(all), .. } => {
            acc += imap::parse_ranges(all).take(10_000).count();
        }
        _ => {}
    }
    acc
}

fuzz_target!(|data: &[u8]| {
    let Some(l) = Layout::parse(data) else { return };
    // Pipelining depth 1..=4 (bits 2-3); bit 4: skip oversized values.
    let depth = 1 + usize::from((l.flags >> 2) & 3);
    let mut session = Session::new();
    session.set_skip_oversized(l.flags & 0x10 != 0);
    let mut buf = [0u8; 1024];
    let mut rx = RxBuffer::new(&mut buf[..l.rx_len]);
    let mut tx = [0u8; 512];
    let mut reads = Reads::new(l.server, l.seed);
    let mut budget = Budget::new(l.server.len(), l.commands.len(), 4, 16);
    let mut next = 0usize;
    let creds = Credentials {
        user: "fred",
        secret: "s3cr et",
    };
    let mut sasl: Option<SaslClient<'_>> = None;
    let mut acc = 0usize;

    loop {
        while session.in_flight() < depth && !session.is_idling() {
            let Some(&b) = l.commands.get(next) else {
                break;
            };
            let r = match b {
                // AUTHENTICATE with a mechanism.
                0xf0..=0xf3 => {
                    let m = [
                        Mechanism::Plain,
                        Mechanism::Login,
                        Mechanism::CramMd5,
                        Mechanism::XOAuth2,
                    ];
                    match SaslClient::new(m[usize::from(b & 3)], creds) {
                        Ok(mut s) => {
                            let r = session.encode_authenticate(&mut s, &mut tx);
                            if r.is_ok() {
                                sasl = Some(s);
                            }
                            r
                        }
                        Err(e) => Err(e),
                    }
                }
                // APPEND (synchronizing or not, as the capabilities say).
                0xf4..=0xf7 => session
                    .encode_append(
                        &Append {
                            mailbox: "Sent",
                            flags: &["\\Seen"],
                            date: None,
                            len: u32::from(b) * 100,
                        },
                        &mut tx,
                    )
                    .map(|plan| plan.len),
                _ => session.encode(&command(b), &mut tx),
            };
            match r {
                Ok(n) => {
                    assert!(n <= tx.len());
                    next += 1;
                }
                Err(_) if session.in_flight() == 0 => next += 1,
                Err(_) => break,
            }
        }
        if session.is_broken() {
            assert!(
                session.decode_raw(rx.data()).is_err(),
                "a broken session decoded"
            );
            break;
        }
        let input_len = rx.len();
        let d = match session.decode_raw(rx.data()) {
            Ok(d) => d,
            Err(_) => {
                assert!(session.is_broken());
                assert!(session.decode_raw(rx.data()).is_err());
                break;
            }
        };
        match d {
            Decoded::NeedMore => {
                budget.step(0, true);
                if rx.is_full() {
                    session.overflow(rx.len());
                    continue;
                }
                let n = reads.read(rx.spare());
                if n == 0 {
                    break; // the server closed the connection
                }
                rx.commit(n);
            }
            Decoded::Progress { consumed, event } => {
                assert!(consumed <= input_len, "consumed {consumed} of {input_len}");
                assert!(
                    consumed > 0 || event.is_some(),
                    "Progress without a byte or an event"
                );
                budget.step(consumed, event.is_some());
                if let Some(raw) = event {
                    let raw = raw.map(|s| {
                        check(s.start, s.end, input_len);
                        s
                    });
                    let continuation = matches!(raw, GenericEvent::Continue(_));
                    let e = raw.resolve(rx.data());
                    let utf8 = session.capabilities().utf8_enabled;
                    acc = acc.wrapping_add(exercise(&e, utf8));
                    if continuation {
                        if session.is_idling() {
                            let _ = session.encode_idle_done(&mut tx);
                        } else if let (Some(s), GenericEvent::Continue(c)) = (sasl.as_mut(), e) {
                            if session.encode_sasl_response(s, c, &mut tx).is_err() {
                                let _ = session.encode_sasl_cancel(&mut tx);
                            }
                        }
                    }
                }
                rx.consume(consumed);
                if session.state() == State::TlsHandshake && session.begin_tls(rx.len()).is_err() {
                    break;
                }
            }
        }
    }
    std::hint::black_box(acc);
});
