//! The POP3 session decoder with commands in flight, fed arbitrary server
//! bytes in arbitrary reads through a small receive buffer, exactly as the
//! clients drive it (`src/link`). Invariants: no panic; every step
//! consumes a byte or reports an event (never `Progress { 0, None }`);
//! consumed never exceeds the input; event spans lie inside the input;
//! decode steps are linear in the input; a failed session stays failed.
#![no_main]

use embedded_mail::pop3::{Command, Decoded, RawEvent, Session, State};
use embedded_mail::sasl::SaslClient;
use embedded_mail::wire::RxBuffer;
use embedded_mail::{Credentials, Mechanism};
use fuzz_common::{Budget, Layout, Reads};
use libfuzzer_sys::fuzz_target;

const CREDS: Credentials<'static> = Credentials {
    user: "fred",
    secret: "s3cr et",
};

fn command(b: u8) -> Command<'static> {
    match b % 17 {
        0 => Command::Capa,
        1 => Command::User("fred"),
        2 => Command::Pass("s3cr et"),
        3 => Command::Apop {
            user: "mrose",
            secret: "tanstaaf",
        },
        4 => Command::Stat,
        5 => Command::List(None),
        6 => Command::List(Some(1)),
        7 => Command::Uidl(None),
        8 => Command::Uidl(Some(2)),
        9 => Command::Retr(1),
        10 => Command::Top { msg: 2, lines: 0 },
        11 => Command::Dele(1),
        12 => Command::Rset,
        13 => Command::Noop,
        14 => Command::Quit,
        15 => Command::Stls,
        _ => Command::Utf8,
    }
}

fn mechanism(b: u8) -> Mechanism {
    match b & 3 {
        0 => Mechanism::Plain,
        1 => Mechanism::Login,
        2 => Mechanism::CramMd5,
        _ => Mechanism::XOAuth2,
    }
}

fn check_span(start: usize, end: usize, len: usize) {
    assert!(
        start <= end && end <= len,
        "span {start}..{end} outside input of {len}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some(l) = Layout::parse(data) else { return };
    // Pipelining depth 1..=4 (bits 2-3). Command bytes 0xf0.. are AUTH
    // with a mechanism (low two bits), others `command(b)`.
    let depth = 1 + usize::from((l.flags >> 2) & 3);
    let mut session = Session::new();
    let mut buf = [0u8; 1024];
    let mut rx = RxBuffer::new(&mut buf[..l.rx_len]);
    let mut tx = [0u8; 512];
    let mut reads = Reads::new(l.server, l.seed);
    let mut budget = Budget::new(l.server.len(), l.commands.len(), 4, 8);
    let mut next = 0usize;
    let mut sasl: Option<SaslClient<'static>> = None;

    loop {
        // Keep up to `depth` commands in flight; a command the state does
        // not allow waits until nothing is in flight, then is dropped.
        while session.in_flight() < depth {
            let Some(&b) = l.commands.get(next) else {
                break;
            };
            let r = if b >= 0xf0 {
                match SaslClient::new(mechanism(b), CREDS) {
                    Ok(mut s) => {
                        let r = session.encode_auth(&mut s, &mut tx);
                        if r.is_ok() {
                            sasl = Some(s);
                        }
                        r
                    }
                    Err(e) => Err(e),
                }
            } else {
                session.encode(&command(b), &mut tx)
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
            return;
        }
        let input_len = rx.len();
        let d = match session.decode_raw(rx.data()) {
            Ok(d) => d,
            Err(_) => {
                assert!(session.is_broken());
                assert!(session.decode_raw(rx.data()).is_err());
                return;
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
                    return; // the server closed the connection
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
                if let Some(e) = event {
                    match e {
                        RawEvent::Ok(s)
                        | RawEvent::UniqueId(_, s)
                        | RawEvent::Capability(s)
                        | RawEvent::Body(s) => check_span(s.start, s.end, input_len),
                        RawEvent::Challenge(s) => {
                            check_span(s.start, s.end, input_len);
                            let challenge = s.get(rx.data());
                            let r = match sasl.as_mut() {
                                Some(c) => session.encode_sasl_response(c, challenge, &mut tx),
                                None => session.encode_sasl_cancel(&mut tx),
                            };
                            if r.is_err() {
                                let _ = session.encode_sasl_cancel(&mut tx);
                            }
                        }
                        _ => {}
                    }
                    // Resolving borrows the input; it must agree.
                    let _ = e.resolve(rx.data());
                }
                rx.consume(consumed);
                if session.state() == State::TlsHandshake {
                    // As the client: nothing may be buffered after STLS's +OK.
                    if session.begin_tls(rx.len()).is_err() {
                        return;
                    }
                }
            }
        }
    }
});
