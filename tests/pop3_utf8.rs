//! POP3 UTF8 (RFC 6856) in the poll's login: `UTF8` goes out after CAPA
//! and before USER when the server offers it and the policy has not opted
//! out, so a message with raw 8-bit headers is stored as the server holds
//! it. Every transcript is replayed with the server's bytes split at every
//! position, blocking and async.

#![cfg(all(feature = "std", feature = "async"))]

mod script;

use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use script::{block_on, schedules, transcript, Script, Turn};

type Mem = MemoryStore<4096, 8, 512>;

/// A message whose Subject and From hold raw UTF-8.
const MSG: &str =
    "From: J\u{f6}rg <j@example.org>\r\nSubject: Gr\u{fc}\u{df}e \u{2603}\r\n\r\nHallo\r\n";

const CAPA_UTF8: &str = "+OK\r\nUIDL\r\nUSER\r\nUTF8\r\n.\r\n";
const CAPA_PLAIN: &str = "+OK\r\nUIDL\r\nUSER\r\n.\r\n";

/// The poll after login (no PIPELINING, keep mode): STAT, the UIDL
/// listing, then `UIDL 1` + `LIST 1` for the new message, RETR 1, QUIT.
fn poll_turns() -> Vec<(String, String)> {
    vec![
        ("STAT\r\n".into(), format!("+OK 1 {}\r\n", MSG.len())),
        ("UIDL\r\n".into(), "+OK\r\n1 u-1\r\n.\r\n".into()),
        ("UIDL 1\r\n".into(), "+OK 1 u-1\r\n".into()),
        ("LIST 1\r\n".into(), format!("+OK 1 {}\r\n", MSG.len())),
        (
            "RETR 1\r\n".into(),
            format!("+OK {} octets\r\n{MSG}.\r\n", MSG.len()),
        ),
        ("QUIT\r\n".into(), "+OK bye\r\n".into()),
    ]
}

fn turns(capa: &str, utf8: Option<&str>) -> Vec<Turn> {
    let mut pairs: Vec<(String, String)> = vec![
        ("".into(), "+OK POP3 ready\r\n".into()),
        ("CAPA\r\n".into(), capa.into()),
    ];
    if let Some(answer) = utf8 {
        pairs.push(("UTF8\r\n".into(), answer.into()));
    }
    pairs.push(("USER j\u{f6}rg\r\n".into(), "+OK\r\n".into()));
    pairs.push(("PASS p\r\n".into(), "+OK in\r\n".into()));
    pairs.extend(poll_turns());
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    transcript(&refs)
}

/// Logs in with `policy`, polls in keep mode; checks the client wrote the
/// transcript exactly and the stored message is `MSG`, for every split,
/// blocking and async.
fn check(policy: &Policy<'_>, make: impl Fn() -> Vec<Turn>) {
    let total = script::server_len(&make());
    for (chunk, split) in schedules(total) {
        for asynch in [false, true] {
            let mut script = Script::new(make(), chunk, split);
            let mut store = Mem::new();
            let mut state: SyncState<8> = SyncState::new();
            let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
            let summary = if asynch {
                block_on(async {
                    let mut c =
                        embedded_mail::pop3::asynch::Client::connect(&mut script, &mut rx, &mut tx)
                            .await
                            .unwrap();
                    poll::asynch::pop3_login(&mut c, "j\u{f6}rg", "p", policy)
                        .await
                        .unwrap_or_else(|e| panic!("login, split {split}: {e}"));
                    poll::asynch::pop3(&mut c, &mut store, &mut state, policy, |_| {})
                        .await
                        .unwrap_or_else(|e| panic!("poll, split {split}: {e}"))
                })
            } else {
                let mut c =
                    embedded_mail::pop3::Client::connect(&mut script, &mut rx, &mut tx).unwrap();
                poll::pop3_login(&mut c, "j\u{f6}rg", "p", policy)
                    .unwrap_or_else(|e| panic!("login, split {split}: {e}"));
                let r = poll::pop3(&mut c, &mut store, &mut state, policy, |_| {});
                drop(c);
                r.unwrap_or_else(|e| {
                    panic!("poll, split {split}: {e}: wrote {:?}", script.written_str())
                })
            };
            assert!(
                script.client_matches(),
                "split {split} chunk {chunk} async {asynch}: client wrote {:?}, expected {:?}",
                String::from_utf8_lossy(&script.written),
                String::from_utf8_lossy(script.expected_client())
            );
            assert_eq!(summary.stored, 1);
            let stored: Vec<&[u8]> = store.messages().map(|(_, b)| b).collect();
            assert_eq!(stored, vec![MSG.as_bytes()], "the message as sent");
        }
    }
}

fn keep() -> Policy<'static> {
    Policy {
        after_store: AfterStore::Keep,
        ..Policy::default()
    }
}

#[test]
fn utf8_is_sent_before_login_when_offered() {
    assert!(Policy::default().pop3_utf8, "UTF8 is on by default");
    check(&keep(), || turns(CAPA_UTF8, Some("+OK UTF8 enabled\r\n")));
}

#[test]
fn utf8_is_not_sent_when_not_offered() {
    check(&keep(), || turns(CAPA_PLAIN, None));
}

#[test]
fn utf8_is_not_sent_when_the_caller_opts_out() {
    let policy = Policy {
        pop3_utf8: false,
        ..keep()
    };
    check(&policy, || turns(CAPA_UTF8, None));
}

#[test]
fn a_refused_utf8_still_logs_in() {
    check(&keep(), || turns(CAPA_UTF8, Some("-ERR not now\r\n")));
}

#[test]
fn a_refused_capa_still_logs_in_without_utf8() {
    check(&keep(), || turns("-ERR no CAPA here\r\n", None));
}
