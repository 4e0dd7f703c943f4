//! Cut-at-every-byte: a full poll through a connection that fails after k
//! bytes (both directions counted), for every k, then a clean poll. After
//! the cut the server lacks only committed messages; after the clean poll
//! the store holds every message exactly once and the server holds what
//! the policy leaves there.

mod poll_fake;

use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use poll_fake::{mailbox, small_messages, Proto, Server, Shared};

type Mem = MemoryStore<8192, 16, 1024>;

fn pop3_poll(
    mbox: &Shared,
    store: &mut Mem,
    policy: &Policy<'_>,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    pop3_poll_on(Proto::Pop3, mbox, store, policy, cut, asynch)
}

/// The same against a POP3 server that offers PIPELINING: the poll reads
/// CAPA and streams (UIDL n + RETR n in a window) where it may.
fn pop3_pipelining_poll(
    mbox: &Shared,
    store: &mut Mem,
    policy: &Policy<'_>,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    pop3_poll_on(Proto::Pop3Pipelining, mbox, store, policy, cut, asynch)
}

/// The same against a POP3 server that refuses UIDL.
fn pop3_no_uidl_poll(
    mbox: &Shared,
    store: &mut Mem,
    policy: &Policy<'_>,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    pop3_poll_on(Proto::Pop3NoUidl, mbox, store, policy, cut, asynch)
}

fn pop3_poll_on(
    proto: Proto,
    mbox: &Shared,
    store: &mut Mem,
    policy: &Policy<'_>,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    let server = Server::new(mbox.clone(), proto, cut);
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut state: SyncState<16> = SyncState::new();
    if asynch {
        embedded_mail::store::block_on(async {
            let mut c = embedded_mail::pop3::asynch::Client::connect(server, &mut rx, &mut tx)
                .await
                .map_err(|e| e.to_string())?;
            if proto == Proto::Pop3Pipelining {
                c.capa().await.map_err(|e| e.to_string())?;
            }
            c.login("u", "p").await.map_err(|e| e.to_string())?;
            let _summary = poll::asynch::pop3(&mut c, &mut *store, &mut state, policy, |_| {})
                .await
                .map_err(|e| e.to_string())?;
            let s = c.into_parts().transport;
            Ok(s.traffic)
        })
    } else {
        let mut c = embedded_mail::pop3::Client::connect(server, &mut rx, &mut tx)
            .map_err(|e| e.to_string())?;
        if proto == Proto::Pop3Pipelining {
            c.capa().map_err(|e| e.to_string())?;
        }
        c.login("u", "p").map_err(|e| e.to_string())?;
        let _summary =
            poll::pop3(&mut c, store, &mut state, policy, |_| {}).map_err(|e| e.to_string())?;
        let s = c.into_parts().transport;
        Ok(s.traffic)
    }
}

fn imap_poll(
    mbox: &Shared,
    store: &mut Mem,
    policy: &Policy<'_>,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    let server = Server::new(mbox.clone(), Proto::Imap, cut);
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
    let mut state: SyncState<16> = SyncState::new();
    if asynch {
        embedded_mail::store::block_on(async {
            let mut c = embedded_mail::imap::asynch::Client::connect(server, &mut rx, &mut tx)
                .await
                .map_err(|e| e.to_string())?;
            c.login("u", "p").await.map_err(|e| e.to_string())?;
            poll::asynch::imap(&mut c, "INBOX", &mut *store, &mut state, policy, |_| {})
                .await
                .map_err(|e| e.to_string())?;
            let s = c.logout().await.map_err(|e| e.to_string())?;
            Ok(s.traffic)
        })
    } else {
        let mut c = embedded_mail::imap::Client::connect(server, &mut rx, &mut tx)
            .map_err(|e| e.to_string())?;
        c.login("u", "p").map_err(|e| e.to_string())?;
        poll::imap(&mut c, "INBOX", store, &mut state, policy, |_| {})
            .map_err(|e| e.to_string())?;
        let s = c.logout().map_err(|e| e.to_string())?;
        Ok(s.traffic)
    }
}

fn stored(store: &Mem) -> Vec<Vec<u8>> {
    store.messages().map(|(_, b)| b.to_vec()).collect()
}

fn on_server(mbox: &Shared) -> Vec<Vec<u8>> {
    mbox.borrow().msgs.iter().map(|m| m.bytes.clone()).collect()
}

fn check_once(all: &[Vec<u8>], store: &Mem, k: usize) {
    let got = stored(store);
    for m in all {
        assert_eq!(
            got.iter().filter(|g| *g == m).count(),
            1,
            "k={k}: store must hold each message once"
        );
    }
    assert_eq!(got.len(), all.len(), "k={k}");
}

fn check_no_loss(all: &[Vec<u8>], mbox: &Shared, store: &Mem, k: usize) {
    let server = on_server(mbox);
    let got = stored(store);
    for m in all {
        assert!(
            server.contains(m) || got.contains(m),
            "k={k}: a message is neither on the server nor stored"
        );
    }
    for g in &got {
        assert_eq!(
            got.iter().filter(|x| *x == g).count(),
            1,
            "k={k}: duplicate in store"
        );
    }
}

type PollFn = fn(&Shared, &mut Mem, &Policy<'_>, Option<usize>, bool) -> Result<usize, String>;

fn every_cut(poll_fn: PollFn, policy: Policy<'_>, leaves: bool) {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    // The uncut poll, for its length.
    let mbox = mailbox(&bodies);
    let mut store = Box::new(Mem::new());
    let total = poll_fn(&mbox, &mut store, &policy, None, false).expect("clean poll");
    check_once(&all, &store, usize::MAX);
    assert!(total > 300, "transcript too short: {total}");
    for k in 0..=total {
        let asynch = k % 3 == 1;
        let mbox = mailbox(&bodies);
        let mut store = Box::new(Mem::new());
        let r = poll_fn(&mbox, &mut store, &policy, Some(k), asynch);
        if k < total {
            assert!(r.is_err(), "k={k}: poll through a cut connection succeeded");
        }
        check_no_loss(&all, &mbox, &store, k);
        // Reopening a store drops a message begun but never committed.
        embedded_mail::store::MessageStore::abort(&mut *store).unwrap();
        poll_fn(&mbox, &mut store, &policy, None, asynch)
            .unwrap_or_else(|e| panic!("k={k}: clean poll: {e}"));
        check_once(&all, &store, k);
        let server = on_server(&mbox);
        if leaves {
            assert_eq!(server, all, "k={k}: leave mode changed the server");
        } else {
            assert!(
                server.is_empty(),
                "k={k}: server still holds {} messages",
                server.len()
            );
        }
        // A third poll stores nothing.
        poll_fn(&mbox, &mut store, &policy, None, false).unwrap();
        check_once(&all, &store, k);
    }
}

#[test]
fn pop3_delete_mode_cut_at_every_byte() {
    every_cut(
        pop3_poll,
        Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        },
        false,
    );
}

#[test]
fn pop3_streaming_delete_mode_cut_at_every_byte() {
    every_cut(
        pop3_pipelining_poll,
        Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        },
        false,
    );
}

#[test]
fn pop3_streaming_first_poll_leave_mode_cut_at_every_byte() {
    every_cut(pop3_pipelining_poll, Policy::default(), true);
}

#[test]
fn pop3_leave_mode_cut_at_every_byte() {
    every_cut(pop3_poll, Policy::default(), true);
}

#[test]
fn imap_delete_mode_cut_at_every_byte() {
    every_cut(
        imap_poll,
        Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        },
        false,
    );
}

/// With a size limit the IMAP poll lists, then fetches a batch's bodies in
/// one request and deletes them in one write (the batch path).
#[test]
fn imap_batches_delete_mode_cut_at_every_byte() {
    every_cut(
        imap_poll,
        Policy {
            after_store: AfterStore::Delete,
            max_size: Some(1 << 20),
            ..Policy::default()
        },
        false,
    );
}

#[test]
fn imap_batches_leave_mode_cut_at_every_byte() {
    every_cut(
        imap_poll,
        Policy {
            max_size: Some(1 << 20),
            ..Policy::default()
        },
        true,
    );
}

#[test]
fn imap_leave_mode_cut_at_every_byte() {
    every_cut(imap_poll, Policy::default(), true);
}

#[test]
fn imap_move_mode_cut_at_every_byte() {
    every_cut(
        imap_poll,
        Policy {
            after_store: AfterStore::MoveTo("Archive"),
            ..Policy::default()
        },
        false,
    );
}

#[test]
fn pop3_without_uidl_delete_mode_cut_at_every_byte() {
    every_cut(
        pop3_no_uidl_poll,
        Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        },
        false,
    );
}

#[test]
fn pop3_without_uidl_keep_and_move_modes_need_uidl() {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    for policy in [
        Policy::default(),
        Policy {
            after_store: AfterStore::MoveTo("Archive"),
            ..Policy::default()
        },
    ] {
        let mbox = mailbox(&bodies);
        let mut store = Box::new(Mem::new());
        let e = pop3_no_uidl_poll(&mbox, &mut store, &policy, None, false).unwrap_err();
        assert!(e.contains("no UIDL") && e.contains("delete mode"), "{e}");
        assert!(stored(&store).is_empty());
        assert_eq!(on_server(&mbox), all);
    }
}

#[test]
fn pop3_without_uidl_headers_only_stored_once_and_left() {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let mut store = Box::new(Mem::new());
    // Message 2 is the largest: only its header is stored, it stays.
    let policy = Policy {
        after_store: AfterStore::Delete,
        max_size: Some(all[1].len() as u64 - 1),
        oversize: poll::Oversize::HeadersOnly,
        ..Policy::default()
    };
    assert!(all.iter().filter(|m| m.len() > all[1].len() - 1).count() == 1);
    for _ in 0..2 {
        pop3_no_uidl_poll(&mbox, &mut store, &policy, None, false).unwrap();
        let header_end = all[1].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut want = vec![
            all[0].clone(),
            all[2].clone(),
            all[1][..header_end].to_vec(),
        ];
        let mut got = stored(&store);
        want.sort();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(on_server(&mbox), vec![all[1].clone()]);
    }
}

#[test]
fn pop3_quota_guard_by_stat_deletes_oldest_stored() {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let mut store = Box::new(Mem::new());
    let total: usize = all.iter().map(|m| m.len()).sum();
    // One byte under the maildrop's size: deleting the oldest is enough.
    let policy = Policy {
        quota_guard: Some(total as u64 - 1),
        ..Policy::default()
    };
    let mut polls = Vec::new();
    for _ in 0..3 {
        pop3_poll(&mbox, &mut store, &policy, None, false).unwrap();
        polls.push(on_server(&mbox).len());
    }
    check_once(&all, &store, 0);
    // The guard runs over the listing's already-stored messages, so it
    // acts from the second poll on (IMAP's acts in the storing poll).
    assert_eq!(polls, vec![3, 2, 2]);
    assert_eq!(on_server(&mbox), all[1..].to_vec());
}
