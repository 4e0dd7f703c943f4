//! Poll policies against the seeded Dovecot, the server state checked
//! through a second connection. Users t06..t08.

mod common;

use embedded_io_adapters::std::FromStd;
use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::maildir::MaildirStore;
use std::net::TcpStream;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("poll-dovecot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn exists(user: &str) -> usize {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    let (untagged, _) = c.imap("b", "EXAMINE INBOX");
    untagged
        .iter()
        .find_map(|l| {
            l.strip_suffix(" EXISTS")
                .and_then(|l| l.strip_prefix("* "))
                .and_then(|n| n.parse().ok())
        })
        .unwrap()
}

fn imap_poll(user: &str, store: &mut MaildirStore, policy: &Policy<'_>) -> poll::Summary {
    let d = common::dovecot();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let tcp = TcpStream::connect(d.imap_addr()).unwrap();
    let mut c = embedded_mail::imap::Client::connect(FromStd::new(tcp), &mut rx, &mut tx).unwrap();
    c.login(user, &d.password).unwrap();
    let mut state: SyncState<32> = SyncState::new();
    let s = poll::imap(&mut c, "INBOX", store, &mut state, policy, |_| {}).unwrap();
    c.logout().unwrap();
    s
}

fn stored_bodies(store: &MaildirStore) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = store
        .messages()
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    v
}

fn seed_bodies(user: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = common::dovecot()
        .inbox_messages(user)
        .into_iter()
        .map(|m| m.bytes_crlf)
        .collect();
    v.sort();
    v
}

#[test]
fn imap_leave_mode_twice_stores_once_and_keeps_server() {
    let user = "t06";
    let want = seed_bodies(user);
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s1 = imap_poll(user, &mut store, &Policy::default());
    assert_eq!((s1.new, s1.stored, s1.deleted), (7, 7, 0));
    // Reopen the store (reboot): the state comes back from disk.
    let mut store = MaildirStore::open(store.root()).unwrap();
    let s2 = imap_poll(user, &mut store, &Policy::default());
    assert_eq!((s2.new, s2.stored), (0, 0));
    assert_eq!(stored_bodies(&store), want);
    assert_eq!(exists(user), 7);
    // BODY.PEEK: the seeded flags are untouched.
    let after: Vec<String> = common::dovecot()
        .inbox_messages(user)
        .iter()
        .map(|m| m.maildir_flags())
        .collect();
    let seed: Vec<String> = common::dovecot()
        .seed_inbox()
        .iter()
        .map(|m| m.maildir_flags())
        .collect();
    assert_eq!(after, seed);
}

#[test]
fn imap_delete_mode_empties_inbox_after_store() {
    let user = "t07";
    let want = seed_bodies(user);
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s = imap_poll(
        user,
        &mut store,
        &Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        },
    );
    assert_eq!((s.stored, s.deleted), (7, 7));
    assert_eq!(stored_bodies(&store), want);
    assert_eq!(exists(user), 0);
}

#[test]
fn pop3_max_size_skips_big_and_delete_keeps_it() {
    let user = "t08";
    let d = common::dovecot();
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let policy = Policy {
        after_store: AfterStore::Delete,
        max_size: Some(1 << 20),
        ..Policy::default()
    };
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let tcp = TcpStream::connect(d.pop3_addr()).unwrap();
    let mut c = embedded_mail::pop3::Client::connect(FromStd::new(tcp), &mut rx, &mut tx).unwrap();
    c.capabilities().unwrap();
    c.login(user, &d.password).unwrap();
    let mut state: SyncState<32> = SyncState::new();
    let (s, _) = poll::pop3(c, &mut store, &mut state, &policy, |_| {}).unwrap();
    assert_eq!((s.stored, s.skipped, s.deleted), (6, 1, 6));
    // Only the 5 MiB message is left on the server.
    let left = d.inbox_messages(user);
    assert_eq!(left.len(), 1);
    assert!(left[0].bytes_crlf.len() > 5_000_000);
    assert_eq!(exists(user), 1);
}
