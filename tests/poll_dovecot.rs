//! Poll policies against the seeded Dovecot, the server state checked
//! through a second connection. Users t06..t08, t09..t18 and s01..s03
//! (one per test that changes a mailbox).

mod common;

use embedded_io_adapters::std::FromStd;
use embedded_mail::poll::{self, AfterStore, Oversize, Policy, SyncState};
use embedded_mail::store::maildir::MaildirStore;
use std::net::TcpStream;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("poll-dovecot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
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
    assert_eq!(common::inbox_len(user), 7);
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
    assert_eq!(common::inbox_len(user), 0);
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
    c.capa().unwrap();
    c.login(user, &d.password).unwrap();
    let mut state: SyncState<32> = SyncState::new();
    let s = poll::pop3(&mut c, &mut store, &mut state, &policy, |_| {}).unwrap();
    assert_eq!((s.stored, s.skipped, s.deleted), (6, 1, 6));
    // Only the 5 MiB message is left on the server.
    let left = d.inbox_messages(user);
    assert_eq!(left.len(), 1);
    assert!(left[0].bytes_crlf.len() > 5_000_000);
    assert_eq!(common::inbox_len(user), 1);
}

fn pop3_poll(user: &str, store: &mut MaildirStore, policy: &Policy<'_>) -> poll::Summary {
    let d = common::dovecot();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let tcp = TcpStream::connect(d.pop3_addr()).unwrap();
    let mut c = embedded_mail::pop3::Client::connect(FromStd::new(tcp), &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    c.login(user, &d.password).unwrap();
    let mut state: SyncState<32> = SyncState::new();
    poll::pop3(&mut c, store, &mut state, policy, |_| {}).unwrap()
}

/// UIDs in `user`'s INBOX, through a second IMAP connection.
fn uids(user: &str) -> Vec<u32> {
    uids_in(user, "INBOX")
}

fn uids_in(user: &str, mailbox: &str) -> Vec<u32> {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    c.imap("b", &format!("EXAMINE {mailbox}"));
    let (untagged, done) = c.imap("c", "UID SEARCH ALL");
    assert!(done.starts_with("c OK"), "{done}");
    let mut v: Vec<u32> = untagged
        .iter()
        .filter_map(|l| l.strip_prefix("* SEARCH"))
        .flat_map(|l| l.split_whitespace().map(|n| n.parse().unwrap()))
        .collect();
    v.sort();
    v
}

/// The seeded message bodies by UID (1-based), as IMAP BODY[] returns them.
fn seed_by_uid() -> Vec<Vec<u8>> {
    common::dovecot()
        .seed_inbox()
        .into_iter()
        .map(|m| m.bytes_crlf)
        .collect()
}

fn header_of(m: &[u8]) -> Vec<u8> {
    let end = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    m[..end].to_vec()
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

/// The seeded UID 2 is the ~5 MiB one; every other message is < 100 KiB.
const BIG_UID: usize = 2;

fn headers_only_policy() -> Policy<'static> {
    Policy {
        after_store: AfterStore::Delete,
        max_size: Some(1 << 20),
        oversize: Oversize::HeadersOnly,
        ..Policy::default()
    }
}

#[test]
fn imap_headers_only_above_max_size_stores_header_and_leaves_message() {
    let user = "t09";
    let seed = seed_by_uid();
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s = imap_poll(user, &mut store, &headers_only_policy());
    assert_eq!((s.new, s.stored, s.deleted), (7, 7, 6));
    let mut want: Vec<Vec<u8>> = seed.clone();
    want[BIG_UID - 1] = header_of(&seed[BIG_UID - 1]);
    assert_eq!(stored_bodies(&store), sorted(want.clone()));
    assert_eq!(uids(user), vec![BIG_UID as u32]);
    // The next poll neither fetches it again nor deletes it.
    let s = imap_poll(user, &mut store, &headers_only_policy());
    assert_eq!((s.stored, s.deleted), (0, 0));
    assert_eq!(stored_bodies(&store), sorted(want));
    assert_eq!(uids(user), vec![BIG_UID as u32]);
    // BODY.PEEK[HEADER]: the message left behind is still unread.
    let left = common::dovecot().inbox_messages(user);
    assert!(!left[0].maildir_flags().contains('S'));
}

#[test]
fn pop3_headers_only_above_max_size_stores_top_0_and_leaves_message() {
    let user = "t10";
    let seed = common::dovecot().seed_inbox();
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s = pop3_poll(user, &mut store, &headers_only_policy());
    assert_eq!((s.new, s.stored, s.deleted), (7, 7, 6));
    let mut want: Vec<Vec<u8>> = seed.iter().map(|m| m.pop3_retr_bytes()).collect();
    want[BIG_UID - 1] = header_of(&seed[BIG_UID - 1].bytes_crlf);
    assert_eq!(stored_bodies(&store), sorted(want.clone()));
    assert_eq!(uids(user), vec![BIG_UID as u32]);
    let s = pop3_poll(user, &mut store, &headers_only_policy());
    assert_eq!((s.new, s.stored, s.deleted), (0, 0, 0));
    assert_eq!(stored_bodies(&store), sorted(want));
    assert_eq!(uids(user), vec![BIG_UID as u32]);
}

#[test]
fn imap_max_messages_cap_spreads_over_polls_without_duplicates() {
    let user = "t11";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let policy = Policy {
        max_messages: Some(3),
        ..Policy::default()
    };
    let counts: Vec<u32> = (0..4)
        .map(|_| imap_poll(user, &mut store, &policy).stored)
        .collect();
    assert_eq!(counts, vec![3, 3, 1, 0]);
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
    assert_eq!(uids(user), (1..=7).collect::<Vec<u32>>());
}

#[test]
fn pop3_max_bytes_cap_spreads_over_polls_without_duplicates() {
    let user = "t12";
    let seed = common::dovecot().seed_inbox();
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    // Room for UIDs 1 and 2 (the 5 MiB one), not for 3.
    let two: u64 = seed[..2].iter().map(|m| m.bytes_crlf.len() as u64).sum();
    let policy = Policy {
        after_store: AfterStore::Delete,
        max_bytes: Some(two + 10),
        ..Policy::default()
    };
    let s = pop3_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (2, 2));
    assert_eq!(uids(user), (3..=7).collect::<Vec<u32>>());
    let s = pop3_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (5, 5));
    assert_eq!(uids(user), Vec::<u32>::new());
    let want: Vec<Vec<u8>> = seed.iter().map(|m| m.pop3_retr_bytes()).collect();
    assert_eq!(stored_bodies(&store), sorted(want));
}

const DAY: u32 = 86_400;

fn older_policy(now: u32) -> Policy<'static> {
    Policy {
        delete_older_than: Some(3 * DAY),
        now,
        ..Policy::default()
    }
}

#[test]
fn imap_older_than_deletes_stored_messages_once_old() {
    let user = "t13";
    let t0 = 1_800_000_000;
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s = imap_poll(user, &mut store, &older_policy(t0));
    assert_eq!((s.stored, s.deleted), (7, 0));
    let s = imap_poll(user, &mut store, &older_policy(t0 + 3 * DAY - 1));
    assert_eq!((s.stored, s.deleted), (0, 0));
    assert_eq!(uids(user).len(), 7);
    let s = imap_poll(user, &mut store, &older_policy(t0 + 3 * DAY));
    assert_eq!((s.stored, s.deleted), (0, 7));
    assert_eq!(uids(user), Vec::<u32>::new());
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
}

#[test]
fn pop3_older_than_deletes_stored_messages_once_old() {
    let user = "t14";
    let t0 = 1_800_000_000;
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let s = pop3_poll(user, &mut store, &older_policy(t0));
    assert_eq!((s.stored, s.deleted), (7, 0));
    let s = pop3_poll(user, &mut store, &older_policy(t0 + DAY));
    assert_eq!((s.stored, s.deleted), (0, 0));
    assert_eq!(uids(user).len(), 7);
    let s = pop3_poll(user, &mut store, &older_policy(t0 + 4 * DAY));
    assert_eq!((s.stored, s.deleted), (0, 7));
    assert_eq!(uids(user), Vec::<u32>::new());
    assert_eq!(stored_bodies(&store).len(), 7);
}

#[test]
fn imap_quota_guard_deletes_oldest_stored_until_under() {
    let user = "t15";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    // The seeded INBOX uses ~5.2 MiB: over 1 MiB until UID 2 (5 MiB) goes.
    let policy = Policy {
        quota_guard: Some(1 << 20),
        ..Policy::default()
    };
    let s = imap_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (7, 2));
    assert_eq!(uids(user), (3..=7).collect::<Vec<u32>>());
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
    // Under the threshold now: nothing more goes.
    let s = imap_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (0, 0));
    assert_eq!(uids(user), (3..=7).collect::<Vec<u32>>());
}

#[test]
fn imap_quota_guard_never_deletes_what_is_not_stored() {
    let user = "t16";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let capped = Policy {
        quota_guard: Some(1 << 20),
        max_messages: Some(1),
        ..Policy::default()
    };
    // Only UID 1 is stored: it goes; UID 2 (the 5 MiB one) stays although
    // the usage is still above the threshold.
    let s = imap_poll(user, &mut store, &capped);
    assert_eq!((s.stored, s.deleted), (1, 1));
    assert_eq!(uids(user), (2..=7).collect::<Vec<u32>>());
    let s = imap_poll(
        user,
        &mut store,
        &Policy {
            max_messages: None,
            ..capped
        },
    );
    assert_eq!((s.stored, s.deleted), (6, 1));
    assert_eq!(uids(user), (3..=7).collect::<Vec<u32>>());
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
}

#[test]
fn imap_set_seen_flags_stored_messages_and_keeps_them() {
    let user = "t17";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let policy = Policy {
        set_seen: true,
        ..Policy::default()
    };
    let s = imap_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (7, 0));
    let msgs = common::dovecot().inbox_messages(user);
    assert_eq!(msgs.len(), 7);
    for m in &msgs {
        assert!(m.maildir_flags().contains('S'), "UID {} not \\Seen", m.uid);
    }
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
}

#[test]
fn imap_move_to_folder_after_store() {
    let user = "t18";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    let before = uids_in(user, "Archive").len();
    let policy = Policy {
        after_store: AfterStore::MoveTo("Archive"),
        ..Policy::default()
    };
    let s = imap_poll(user, &mut store, &policy);
    assert_eq!((s.stored, s.deleted), (7, 7));
    assert_eq!(uids(user), Vec::<u32>::new());
    assert_eq!(uids_in(user, "Archive").len(), before + 7);
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
    let s = imap_poll(user, &mut store, &policy);
    assert_eq!((s.new, s.stored), (0, 0));
}

#[test]
fn imap_max_bytes_below_one_message_still_progresses() {
    let user = "t19";
    let mut store = MaildirStore::open(tmp(user)).unwrap();
    // UID 2 alone is ~5 MiB, above the 1 MiB per-poll cap: a poll that
    // starts with it fetches it anyway rather than stop there forever.
    let policy = Policy {
        max_bytes: Some(1 << 20),
        ..Policy::default()
    };
    let counts: Vec<u32> = (0..4)
        .map(|_| imap_poll(user, &mut store, &policy).stored)
        .collect();
    assert_eq!(counts, vec![1, 1, 5, 0]);
    assert_eq!(stored_bodies(&store), sorted(seed_by_uid()));
    assert_eq!(uids(user), (1..=7).collect::<Vec<u32>>());
}

/// Empties `user`'s INBOX and appends `bodies` (pipelined, LITERAL+),
/// through a second connection; returns the INBOX's message count.
fn fill(user: &str, bodies: &[Vec<u8>], empty_first: bool) -> usize {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    c.imap("b", "SELECT INBOX");
    if empty_first {
        c.imap("c", "STORE 1:* +FLAGS.SILENT (\\Deleted)");
        c.imap("d", "EXPUNGE");
    }
    let mut out = String::new();
    for (i, b) in bodies.iter().enumerate() {
        out.push_str(&format!("f{i} APPEND INBOX {{{}+}}\r\n", b.len()));
        out.push_str(std::str::from_utf8(b).unwrap());
        out.push_str("\r\n");
    }
    if !out.is_empty() {
        // The last line end is added by `send`.
        out.truncate(out.len() - 2);
        c.send(&out);
    }
    let mut ok = 0;
    while ok < bodies.len() {
        let line = c.read_line();
        if line.starts_with('f') {
            assert!(line.contains(" OK"), "APPEND: {line}");
            ok += 1;
        }
    }
    c.imap("g", "LOGOUT");
    common::inbox_len(user)
}

fn small(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!("Message-ID: <{tag}-{i}@example>\r\nSubject: {tag} {i}\r\n\r\nbody {i}\r\n")
                .into_bytes()
        })
        .collect()
}

/// Leave mode on a box of 1 100 messages with a RAM seen set of 8: the
/// Maildir store keeps the seen set, so the first poll stores all, the
/// second nothing; 600 deleted on the server by another client and 2 new
/// ones: only the 2 are stored and the seen set forgets the 600.
#[test]
fn pop3_leave_mode_seen_set_in_the_store_outgrows_ram_and_prunes() {
    use embedded_mail::store::MessageStore;
    let user = "s01";
    assert_eq!(fill(user, &small("big-box", 1100), true), 1100);
    let dir = tmp(user);
    let poll = |store: &mut MaildirStore| {
        let d = common::dovecot();
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
        let tcp = TcpStream::connect(d.pop3_addr()).unwrap();
        let mut c =
            embedded_mail::pop3::Client::connect(FromStd::new(tcp), &mut rx, &mut tx).unwrap();
        c.capa().unwrap();
        c.login(user, &d.password).unwrap();
        let mut state: SyncState<8> = SyncState::new();
        poll::pop3(&mut c, store, &mut state, &Policy::default(), |_| {}).unwrap()
    };
    let mut store = MaildirStore::open(&dir).unwrap();
    assert_eq!(poll(&mut store).stored, 1100);
    // Reboot: a new store on the same directory.
    let mut store = MaildirStore::open(&dir).unwrap();
    assert_eq!(store.seen_len().unwrap(), 1100);
    let s = poll(&mut store);
    assert_eq!((s.new, s.stored), (0, 0));
    // Another client deletes 600; 2 arrive.
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    c.imap("b", "SELECT INBOX");
    c.imap("c", "STORE 101:700 +FLAGS.SILENT (\\Deleted)");
    c.imap("d", "EXPUNGE");
    c.imap("e", "LOGOUT");
    assert_eq!(fill(user, &small("late", 2), false), 502);
    let mut store = MaildirStore::open(&dir).unwrap();
    let s = poll(&mut store);
    assert_eq!((s.new, s.stored), (2, 2));
    assert_eq!(
        store.seen_len().unwrap(),
        502,
        "pruned to the server's list"
    );
    assert_eq!(poll(&mut store).stored, 0);
    assert_eq!(store.messages().unwrap().len(), 1102);
    assert_eq!(common::inbox_len(user), 502, "leave mode");
}

/// A message skipped for its size is remembered as skipped, in both
/// protocols: a later poll without the limit fetches it (never twice),
/// and delete mode never deletes it unstored.
#[test]
fn a_lifted_size_limit_fetches_the_skipped_message_in_both_protocols() {
    for (user, imap) in [("s02", false), ("s03", true)] {
        // As each protocol delivers them (sizes and digests, not bytes,
        // so a failure does not print megabytes).
        let digest = |v: Vec<Vec<u8>>| {
            let mut d: Vec<(usize, u64)> = v
                .iter()
                .map(|m| (m.len(), embedded_mail::store::key_of(&[m])))
                .collect();
            d.sort();
            d
        };
        let want = digest(
            common::dovecot()
                .inbox_messages(user)
                .iter()
                .map(|m| {
                    if imap {
                        m.bytes_crlf.clone()
                    } else {
                        m.pop3_retr_bytes()
                    }
                })
                .collect(),
        );
        let mut store = MaildirStore::open(tmp(user)).unwrap();
        let poll = |store: &mut MaildirStore, policy: &Policy<'_>| {
            if imap {
                imap_poll(user, store, policy)
            } else {
                pop3_poll(user, store, policy)
            }
        };
        let limited = Policy {
            max_size: Some(1 << 20),
            ..Policy::default()
        };
        let s = poll(&mut store, &limited);
        assert_eq!((s.stored, s.skipped), (6, 1), "{user}: first poll");
        // Still limited: nothing new, the big one still skipped.
        let s = poll(&mut store, &limited);
        assert_eq!(s.stored, 0, "{user}: second poll");
        // Delete mode with the limit: the stored six go, the big one stays.
        let delete_limited = Policy {
            after_store: AfterStore::Delete,
            ..limited
        };
        let s = poll(&mut store, &delete_limited);
        assert_eq!((s.stored, s.deleted), (0, 6), "{user}: delete, limited");
        assert_eq!(common::inbox_len(user), 1, "{user}: the big one stays");
        // The limit lifted: the big one is fetched, then deleted.
        let delete = Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        };
        let s = poll(&mut store, &delete);
        assert_eq!((s.stored, s.deleted), (1, 1), "{user}: limit lifted");
        assert_eq!(common::inbox_len(user), 0, "{user}");
        assert_eq!(
            digest(stored_bodies(&store)),
            want,
            "{user}: each message once"
        );
    }
}
