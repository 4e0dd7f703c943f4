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

// ---- the seen set kept by the store (flash), cut at every byte -----------

#[cfg(feature = "flash")]
mod seen_in_store {
    use super::*;
    use embedded_mail::store::flash::FlashStore;
    use embedded_mail::store::{asynch::MessageStore as _, block_on, Blocking};
    use embedded_storage_async::nor_flash::{
        ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
    };

    const PAGE: usize = 512;

    /// NOR flash in RAM.
    struct Ram(Vec<u8>);

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Never;
    impl NorFlashError for Never {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::Other
        }
    }
    impl ErrorType for Ram {
        type Error = Never;
    }
    impl ReadNorFlash for Ram {
        const READ_SIZE: usize = 1;
        async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Never> {
            let o = offset as usize;
            bytes.copy_from_slice(&self.0[o..o + bytes.len()]);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.0.len()
        }
    }
    impl NorFlash for Ram {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = PAGE;
        async fn erase(&mut self, from: u32, to: u32) -> Result<(), Never> {
            self.0[from as usize..to as usize].fill(0xff);
            Ok(())
        }
        async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Never> {
            let o = offset as usize;
            for (d, s) in self.0[o..o + bytes.len()].iter_mut().zip(bytes) {
                *d &= *s;
            }
            Ok(())
        }
    }
    impl MultiwriteNorFlash for Ram {}

    const P: u32 = PAGE as u32;
    const MSGS: core::ops::Range<u32> = 0..16 * P;
    const STATE: core::ops::Range<u32> = 16 * P..18 * P;
    const SEEN: core::ops::Range<u32> = 18 * P..22 * P;

    /// One poll on the flash bits `mem` through a connection cut after
    /// `cut` bytes; the store is reopened (a reboot) for each poll.
    /// Returns the bits, the bytes moved, and the stored message bodies.
    fn poll(
        mem: Vec<u8>,
        (mbox, proto): (&Shared, Proto),
        policy: &Policy<'_>,
        cut: Option<usize>,
        asynch: bool,
    ) -> (Vec<u8>, Result<usize, String>, Vec<Vec<u8>>) {
        let mut buf = [0u8; 240];
        let store = block_on(FlashStore::open_with_seen(
            Ram(mem),
            MSGS,
            STATE,
            SEEN,
            &mut buf,
        ))
        .unwrap_or_else(|e| panic!("open: {e:?}"));
        let server = Server::new(mbox.clone(), proto, cut);
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        // Far fewer than the messages the store remembers.
        let mut state: SyncState<2> = SyncState::new();
        let mut store = Blocking(store);
        let r = if asynch {
            block_on(async {
                let mut c = embedded_mail::pop3::asynch::Client::connect(server, &mut rx, &mut tx)
                    .await
                    .map_err(|e| e.to_string())?;
                if proto == Proto::Pop3Pipelining {
                    c.capa().await.map_err(|e| e.to_string())?;
                }
                c.login("u", "p").await.map_err(|e| e.to_string())?;
                let _summary = poll::asynch::pop3(&mut c, &mut store.0, &mut state, policy, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                let s = c.into_parts().transport;
                Ok(s.traffic)
            })
        } else {
            (|| {
                let mut c = embedded_mail::pop3::Client::connect(server, &mut rx, &mut tx)
                    .map_err(|e| e.to_string())?;
                if proto == Proto::Pop3Pipelining {
                    c.capa().map_err(|e| e.to_string())?;
                }
                c.login("u", "p").map_err(|e| e.to_string())?;
                let _summary = poll::pop3(&mut c, &mut store, &mut state, policy, |_| {})
                    .map_err(|e| e.to_string())?;
                let s = c.into_parts().transport;
                Ok(s.traffic)
            })()
        };
        let mut store = store.0;
        // A message begun but never committed is dropped, as on reopen.
        block_on(store.abort()).unwrap();
        let mut bodies = Vec::new();
        let mut cur = Vec::new();
        block_on(store.read_all(|ev| match ev {
            embedded_mail::store::flash::ReadEvent::Begin(_) => cur.clear(),
            embedded_mail::store::flash::ReadEvent::Data(d) => cur.extend_from_slice(d),
            embedded_mail::store::flash::ReadEvent::End(_) => bodies.push(std::mem::take(&mut cur)),
            embedded_mail::store::flash::ReadEvent::Damaged(_) => panic!("damaged"),
        }))
        .unwrap();
        (store.into_inner().0, r, bodies)
    }

    /// Hands every stored message on (removes it from the store).
    fn hand_on(mem: Vec<u8>) -> Vec<u8> {
        let mut buf = [0u8; 240];
        let mut store = block_on(FlashStore::open_with_seen(
            Ram(mem),
            MSGS,
            STATE,
            SEEN,
            &mut buf,
        ))
        .unwrap_or_else(|e| panic!("open: {e:?}"));
        while block_on(store.remove_oldest()).unwrap().is_some() {}
        store.into_inner().0
    }

    fn msg(uid: u32, text: &str) -> poll_fake::Msg {
        poll_fake::Msg {
            uid,
            uidl: format!("late-{uid}"),
            bytes: format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes(),
            deleted: false,
            seen: false,
        }
    }

    /// Six messages polled and handed on; then one is deleted on the
    /// server by another client and two arrive. That poll is cut at every
    /// byte, and a clean poll follows: the store gets each new message
    /// exactly once and no old one again (only the seen set on flash
    /// remembers them), the server keeps (or, in delete mode, loses) what
    /// the policy says, and a third poll stores nothing.
    fn every_cut_with_seen_set(proto: Proto, policy: Policy<'_>) {
        let mut all = small_messages();
        all.extend((4..=6).map(|i| format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes()));
        let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
        let keep = Policy::default();
        let setup = || {
            let mbox = mailbox(&bodies);
            let blank = vec![0xffu8; SEEN.end as usize];
            let (mem, r, got) = poll(blank, (&mbox, proto), &keep, None, false);
            r.expect("first poll");
            assert_eq!(got, all);
            let mem = hand_on(mem);
            mbox.borrow_mut().msgs.remove(1);
            mbox.borrow_mut().msgs.push(msg(7, "seven"));
            mbox.borrow_mut().msgs.push(msg(8, "eight"));
            (mem, mbox)
        };
        let new: Vec<Vec<u8>> = vec![msg(7, "seven").bytes, msg(8, "eight").bytes];
        let (mem0, mbox) = setup();
        let (_, total, got) = poll(mem0.clone(), (&mbox, proto), &policy, None, false);
        let total = total.expect("uncut poll");
        assert!(total > 300, "transcript too short: {total}");
        assert_eq!(got, new);
        let deletes = policy.after_store != AfterStore::Keep;
        for k in 0..=total {
            let asynch = k % 3 == 1;
            let (_, mbox) = setup();
            let (mem, r, _) = poll(mem0.clone(), (&mbox, proto), &policy, Some(k), asynch);
            if k < total {
                assert!(r.is_err(), "k={k}: poll through a cut connection succeeded");
            }
            let (mem, r, got) = poll(mem, (&mbox, proto), &policy, None, asynch);
            r.unwrap_or_else(|e| panic!("k={k}: clean poll: {e}"));
            assert_eq!(got, new, "k={k}: each new message once, no old one");
            let left = on_server(&mbox).len();
            assert_eq!(left, if deletes { 0 } else { 7 }, "k={k}: server");
            let (_, r, got) = poll(mem, (&mbox, proto), &policy, None, false);
            r.unwrap();
            assert_eq!(got, new, "k={k}: a third poll stores nothing");
        }
    }

    #[test]
    fn pop3_leave_mode_seen_set_in_the_store_cut_at_every_byte() {
        every_cut_with_seen_set(Proto::Pop3, Policy::default());
        every_cut_with_seen_set(Proto::Pop3Pipelining, Policy::default());
    }

    #[test]
    fn pop3_delete_mode_seen_set_in_the_store_cut_at_every_byte() {
        let delete = Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        };
        every_cut_with_seen_set(Proto::Pop3, delete);
        every_cut_with_seen_set(Proto::Pop3Pipelining, delete);
    }
}
