//! A POP3 server whose answers do not match what was asked must not make
//! the poll take one message for another: a `UIDL n` answered for another
//! message ends the poll with an error before anything is fetched or
//! deleted. Replayed with the server's bytes split at every position.

#![cfg(feature = "std")]

mod script;

use embedded_mail::poll::{self, AfterStore, Policy, PollError, SyncState};
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::Error;
use script::{schedules, transcript, Script};

#[test]
fn a_uidl_answer_for_another_message_stops_the_poll() {
    let make = || {
        transcript(&[
            ("", "+OK ready\r\n"),
            ("CAPA\r\n", "+OK\r\nUIDL\r\nUSER\r\n.\r\n"),
            ("USER u\r\n", "+OK\r\n"),
            ("PASS p\r\n", "+OK in\r\n"),
            ("STAT\r\n", "+OK 2 20\r\n"),
            ("UIDL\r\n", "+OK\r\n1 a\r\n2 b\r\n.\r\n"),
            // Asked for message 1, answered for message 2.
            ("UIDL 1\r\n", "+OK 2 b\r\n"),
        ])
    };
    let total = script::server_len(&make());
    for (chunk, split) in schedules(total) {
        let mut s = Script::new(make(), chunk, split);
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
        let mut store: MemoryStore<4096, 8, 512> = MemoryStore::new();
        let mut state: SyncState<8> = SyncState::new();
        let policy = Policy {
            after_store: AfterStore::Delete,
            max_size: Some(1 << 20),
            ..Policy::default()
        };
        let mut c = embedded_mail::pop3::Client::connect(&mut s, &mut rx, &mut tx).unwrap();
        poll::pop3_login(&mut c, "u", "p", &policy).unwrap();
        let r = poll::pop3(&mut c, &mut store, &mut state, &policy, |_| {});
        drop(c);
        assert!(
            matches!(r, Err(PollError::Mail(Error::Malformed { .. }))),
            "split {split}: {r:?}"
        );
        assert_eq!(store.messages().count(), 0, "split {split}");
        let wrote = s.written_str();
        assert!(
            !wrote.contains("RETR") && !wrote.contains("DELE") && !wrote.contains("QUIT"),
            "split {split}: {wrote}"
        );
    }
}
