//! The flash store under power loss: a NOR flash mock that dies at the
//! N-th write (that write lands half done), for every N over a POP3 poll
//! in delete mode; after "reboot" (a new store on the same bits) no
//! partial message is visible, nothing deleted on the server is missing,
//! and a clean poll leaves each message stored exactly once. Plus the
//! reboot test: two polls with the state reloaded from flash in between.
#![cfg(feature = "flash")]

mod poll_fake;

use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::asynch::MessageStore;
use embedded_mail::store::block_on;
use embedded_mail::store::flash::FlashStore;
use embedded_storage_async::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use poll_fake::{mailbox, small_messages, Proto, Server, Shared};

const PAGE: usize = 512;
const PAGES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PowerLost;
impl NorFlashError for PowerLost {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

struct MockFlash {
    mem: Vec<u8>,
    writes: usize,
    fail_at: Option<usize>,
    dead: bool,
}

impl MockFlash {
    fn new(mem: Vec<u8>, fail_at: Option<usize>) -> Self {
        MockFlash {
            mem,
            writes: 0,
            fail_at,
            dead: false,
        }
    }
}

impl ErrorType for MockFlash {
    type Error = PowerLost;
}
impl ReadNorFlash for MockFlash {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PowerLost> {
        if self.dead {
            return Err(PowerLost);
        }
        let o = offset as usize;
        bytes.copy_from_slice(&self.mem[o..o + bytes.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}
impl NorFlash for MockFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;
    async fn erase(&mut self, from: u32, to: u32) -> Result<(), PowerLost> {
        if self.dead {
            return Err(PowerLost);
        }
        self.writes += 1;
        if Some(self.writes) == self.fail_at {
            // Half erased.
            let mid = (from as usize + to as usize) / 2;
            self.mem[from as usize..mid].fill(0xff);
            self.dead = true;
            return Err(PowerLost);
        }
        self.mem[from as usize..to as usize].fill(0xff);
        Ok(())
    }
    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), PowerLost> {
        if self.dead {
            return Err(PowerLost);
        }
        self.writes += 1;
        let o = offset as usize;
        let n = if Some(self.writes) == self.fail_at {
            bytes.len() / 2
        } else {
            bytes.len()
        };
        for (d, s) in self.mem[o..o + n].iter_mut().zip(bytes) {
            *d &= *s;
        }
        if n < bytes.len() || Some(self.writes) == self.fail_at {
            self.dead = true;
            return Err(PowerLost);
        }
        Ok(())
    }
}
impl MultiwriteNorFlash for MockFlash {}

const MSG_RANGE: core::ops::Range<u32> = 0..(8 * PAGE as u32);
const STATE_RANGE: core::ops::Range<u32> = (8 * PAGE as u32)..(PAGES * PAGE) as u32;

/// One POP3 poll (async client, async flash store) with a flash that
/// dies at write `fail_at`; returns the flash bits and the write count.
fn poll_once(
    mem: Vec<u8>,
    mbox: &Shared,
    policy: &Policy<'_>,
    fail_at: Option<usize>,
) -> (Vec<u8>, usize, bool) {
    block_on(async {
        let flash = MockFlash::new(mem, fail_at);
        let mut buf = [0u8; 384];
        let mut store = match FlashStore::open(flash, MSG_RANGE, STATE_RANGE, &mut buf).await {
            Ok(s) => s,
            Err(e) => panic!("open: {e:?}"),
        };
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let server = Server::new(mbox.clone(), Proto::Pop3, None);
        let mut c = embedded_mail::pop3::asynch::Client::connect(server, &mut rx, &mut tx)
            .await
            .unwrap();
        c.login("u", "p").await.unwrap();
        let mut state: SyncState<8> = SyncState::new();
        let ok = poll::asynch::pop3(&mut c, &mut store, &mut state, policy, |_| {})
            .await
            .is_ok();
        let flash = store.into_inner();
        (flash.mem, flash.writes, ok)
    })
}

/// Every committed message read back from the flash bits.
fn read_back(mem: Vec<u8>) -> Vec<Vec<u8>> {
    block_on(async {
        let mut buf = [0u8; 384];
        let mut store =
            FlashStore::open(MockFlash::new(mem, None), MSG_RANGE, STATE_RANGE, &mut buf)
                .await
                .expect("reopen after power loss");
        let mut infos = Vec::new();
        store.messages(|m| infos.push(m)).await.unwrap();
        let mut out = Vec::new();
        for m in infos {
            let mut bytes = Vec::new();
            let n = store
                .read(m.id, |c| bytes.extend_from_slice(c))
                .await
                .unwrap();
            assert_eq!(n, Some(bytes.len() as u64));
            out.push(bytes);
        }
        out
    })
}

#[test]
fn power_loss_at_every_write() {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let policy = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    let blank = vec![0xffu8; PAGES * PAGE];
    let mbox = mailbox(&bodies);
    let (mem, writes, ok) = poll_once(blank.clone(), &mbox, &policy, None);
    assert!(ok);
    assert_eq!(read_back(mem), all);
    assert!(writes > 10, "only {writes} writes");
    eprintln!("power loss: {writes} flash writes/erases in the poll");
    for n in 1..=writes {
        let mbox = mailbox(&bodies);
        let (mem, _, ok) = poll_once(blank.clone(), &mbox, &policy, Some(n));
        assert!(!ok, "n={n}: poll succeeded on a dead flash");
        // Reboot: only whole messages, none lost.
        let stored = read_back(mem.clone());
        for s in &stored {
            assert!(
                all.contains(s),
                "n={n}: a partial or foreign message is visible"
            );
            assert_eq!(
                stored.iter().filter(|x| *x == s).count(),
                1,
                "n={n}: duplicate"
            );
        }
        let server: Vec<Vec<u8>> = mbox.borrow().msgs.iter().map(|m| m.bytes.clone()).collect();
        for m in &all {
            assert!(
                server.contains(m) || stored.contains(m),
                "n={n}: message lost"
            );
        }
        // A clean poll after the reboot.
        let (mem, _, ok) = poll_once(mem, &mbox, &policy, None);
        assert!(ok, "n={n}: clean poll failed");
        assert_eq!(read_back(mem), all, "n={n}: store after the clean poll");
        assert!(mbox.borrow().msgs.is_empty(), "n={n}: server not emptied");
    }
}

#[test]
fn reboot_between_polls_stores_nothing_twice() {
    let all = small_messages();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let keep = Policy::default();
    let (mem, w1, ok) = poll_once(vec![0xffu8; PAGES * PAGE], &mbox, &keep, None);
    assert!(ok && w1 > 0);
    // Reboot: a new store on the same bits reloads the seen set.
    let (mem, _, ok) = poll_once(mem, &mbox, &keep, None);
    assert!(ok);
    assert_eq!(read_back(mem.clone()), all);
    assert_eq!(
        mbox.borrow().msgs.len(),
        all.len(),
        "leave mode keeps the server"
    );
    // One new message arrives; only it is stored.
    let extra = b"From: d@example.org\r\nSubject: four\r\n\r\nnew\r\n".to_vec();
    mbox.borrow_mut().msgs.push(poll_fake::Msg {
        uid: 4,
        uidl: "uidl-004".into(),
        bytes: extra.clone(),
        deleted: false,
        seen: false,
    });
    let (mem, _, ok) = poll_once(mem, &mbox, &keep, None);
    assert!(ok);
    let mut want = all.clone();
    want.push(extra);
    assert_eq!(read_back(mem), want);
}

#[test]
fn flash_store_full_is_clear_and_deletes_nothing() {
    // A 5-message mailbox of 1.5 KiB each does not fit 8 pages of 512 B.
    let big: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("Subject: {i}\r\n\r\n{}\r\n", "x".repeat(1500)).into_bytes())
        .collect();
    let bodies: Vec<&[u8]> = big.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let policy = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    let r = block_on(async {
        let mut buf = [0u8; 384];
        let mut store = FlashStore::open(
            MockFlash::new(vec![0xff; PAGES * PAGE], None),
            MSG_RANGE,
            STATE_RANGE,
            &mut buf,
        )
        .await
        .unwrap();
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let mut c = embedded_mail::pop3::asynch::Client::connect(
            Server::new(mbox.clone(), Proto::Pop3, None),
            &mut rx,
            &mut tx,
        )
        .await
        .unwrap();
        c.login("u", "p").await.unwrap();
        let mut state: SyncState<8> = SyncState::new();
        let r = poll::asynch::pop3(&mut c, &mut store, &mut state, &policy, |_| {})
            .await
            .map(|_| ());
        let cap = store.capacity();
        (r, cap)
    });
    assert!(
        matches!(
            r.0,
            Err(poll::PollError::Store(
                embedded_mail::store::StoreError::Full { .. }
            ))
        ),
        "{:?}",
        r.0
    );
    // No QUIT was sent: the server still holds everything.
    assert_eq!(mbox.borrow().msgs.len(), 5);
    assert_eq!(r.1, 8 * PAGE as u64);
}

// ---- the seen set on flash (FlashStore::open_with_seen) -------------------

/// Where a flash with a seen set puts what.
#[derive(Clone)]
struct Layout {
    msgs: core::ops::Range<u32>,
    state: core::ops::Range<u32>,
    seen: core::ops::Range<u32>,
}

impl Layout {
    /// `m` pages of messages, 2 of state, `s` (even) of seen set.
    fn new(m: u32, s: u32) -> Self {
        let p = PAGE as u32;
        Layout {
            msgs: 0..m * p,
            state: m * p..(m + 2) * p,
            seen: (m + 2) * p..(m + 2 + s) * p,
        }
    }
    fn blank(&self) -> Vec<u8> {
        vec![0xff; self.seen.end as usize]
    }
}

type Outcome = Result<poll::Summary, String>;

/// One POP3 poll over a flash store that keeps the seen set (RAM seen set
/// of 8, far fewer than the messages remembered), with a flash that dies
/// at write `fail_at`; `hand_on` removes every stored message afterwards
/// (the firmware passed them on), so only the seen set knows them.
fn poll_seen(
    mem: Vec<u8>,
    l: &Layout,
    (mbox, proto): (&Shared, Proto),
    policy: &Policy<'_>,
    fail_at: Option<usize>,
    hand_on: bool,
) -> (Vec<u8>, usize, Outcome) {
    block_on(async {
        let flash = MockFlash::new(mem, fail_at);
        let mut buf = [0u8; 384];
        let mut store = match FlashStore::open_with_seen(
            flash,
            l.msgs.clone(),
            l.state.clone(),
            l.seen.clone(),
            &mut buf,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                // Power lost while opening (erasing a leftover half).
                assert!(fail_at.is_some(), "open: {e:?}");
                return (Vec::new(), 0, Err(format!("open: {e:?}")));
            }
        };
        let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
        let server = Server::new(mbox.clone(), proto, None);
        let mut c = embedded_mail::pop3::asynch::Client::connect(server, &mut rx, &mut tx)
            .await
            .unwrap();
        c.login("u", "p").await.unwrap();
        let mut state: SyncState<8> = SyncState::new();
        let r = poll::asynch::pop3(&mut c, &mut store, &mut state, policy, |_| {})
            .await
            .map_err(|e| format!("{e}"));
        if hand_on && r.is_ok() {
            while store.remove_oldest().await.unwrap().is_some() {}
        }
        let flash = store.into_inner();
        (flash.mem, flash.writes, r)
    })
}

/// Every committed message read back (store opened with its seen set).
fn read_back_seen(mem: Vec<u8>, l: &Layout) -> Vec<Vec<u8>> {
    block_on(async {
        let mut buf = [0u8; 384];
        let mut store = FlashStore::open_with_seen(
            MockFlash::new(mem, None),
            l.msgs.clone(),
            l.state.clone(),
            l.seen.clone(),
            &mut buf,
        )
        .await
        .expect("reopen after power loss");
        let mut out = Vec::new();
        let mut infos = Vec::new();
        store.messages(|m| infos.push(m)).await.unwrap();
        for m in infos {
            let mut bytes = Vec::new();
            store
                .read(m.id, |c| bytes.extend_from_slice(c))
                .await
                .unwrap();
            out.push(bytes);
        }
        out
    })
}

fn numbered(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes())
        .collect()
}

/// Leave mode, messages handed on after each poll: only the seen set on
/// flash keeps them from being fetched again. Far more than the RAM seen
/// set (8) holds, over the pipelined stream and the listing path.
#[test]
fn seen_set_on_flash_outgrows_ram_and_prunes() {
    for proto in [Proto::Pop3, Proto::Pop3Pipelining] {
        let l = Layout::new(64, 24);
        let all = numbered(300);
        let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
        let mbox = mailbox(&bodies);
        let keep = Policy::default();
        let (mem, _, r) = poll_seen(l.blank(), &l, (&mbox, proto), &keep, None, true);
        assert_eq!(r.unwrap().stored, 300);
        // Nothing new: nothing stored, though the store is empty now.
        let (mem, _, r) = poll_seen(mem, &l, (&mbox, proto), &keep, None, true);
        assert_eq!(r.unwrap().stored, 0);
        // 200 deleted on the server by another client, 2 new: only the
        // new ones are stored, and the seen set forgets the 200.
        mbox.borrow_mut().msgs.drain(50..250);
        for i in 0..2 {
            mbox.borrow_mut().msgs.push(poll_fake::Msg {
                uid: 400 + i,
                uidl: format!("new-{i}"),
                bytes: format!("Subject: new {i}\r\n\r\nx\r\n").into_bytes(),
                deleted: false,
                seen: false,
            });
        }
        let (mem, _, r) = poll_seen(mem, &l, (&mbox, proto), &keep, None, false);
        assert_eq!(r.unwrap().stored, 2);
        let remembered = block_on(async {
            let mut buf = [0u8; 384];
            let mut s = FlashStore::open_with_seen(
                MockFlash::new(mem.clone(), None),
                l.msgs.clone(),
                l.state.clone(),
                l.seen.clone(),
                &mut buf,
            )
            .await
            .unwrap();
            s.seen_len().await.unwrap()
        });
        assert_eq!(remembered, 102, "pruned to what the server lists");
        let (_, _, r) = poll_seen(mem, &l, (&mbox, proto), &keep, None, false);
        assert_eq!(r.unwrap().stored, 0);
    }
}

/// The seen set's half holds 32 entries here: a 40-message first poll
/// stops with a clear error and deletes nothing (delete mode: no QUIT).
#[test]
fn seen_set_full_on_flash_is_clear_and_deletes_nothing() {
    let l = Layout::new(64, 2);
    let all = numbered(40);
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    for (proto, after) in [
        (Proto::Pop3, AfterStore::Delete),
        (Proto::Pop3Pipelining, AfterStore::Delete),
        (Proto::Pop3Pipelining, AfterStore::Keep),
    ] {
        let mbox = mailbox(&bodies);
        let policy = Policy {
            after_store: after,
            ..Policy::default()
        };
        let (_, _, r) = poll_seen(l.blank(), &l, (&mbox, proto), &policy, None, false);
        let e = r.unwrap_err();
        assert!(e.contains("seen set full"), "{e}");
        assert_eq!(mbox.borrow().msgs.len(), 40, "nothing deleted");
    }
}

/// Power lost at every flash write of a leave-mode poll that prunes the
/// seen set (messages deleted by another client) and stores new ones,
/// with every earlier message handed on: after the reboot, a clean poll
/// stores each new message once and nothing old again.
#[test]
fn power_loss_at_every_write_keeps_the_seen_set() {
    let l = Layout::new(24, 4);
    let all = numbered(12);
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let keep = Policy::default();
    let setup = || {
        let mbox = mailbox(&bodies);
        let (mem, _, r) = poll_seen(l.blank(), &l, (&mbox, Proto::Pop3), &keep, None, true);
        assert_eq!(r.unwrap().stored, 12);
        mbox.borrow_mut().msgs.drain(3..6);
        for i in 0..3u32 {
            mbox.borrow_mut().msgs.push(poll_fake::Msg {
                uid: 100 + i,
                uidl: format!("new-{i}"),
                bytes: format!("Subject: new {i}\r\n\r\nx\r\n").into_bytes(),
                deleted: false,
                seen: false,
            });
        }
        (mem, mbox)
    };
    let new: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("Subject: new {i}\r\n\r\nx\r\n").into_bytes())
        .collect();
    let (mem0, mbox) = setup();
    let (mem, writes, r) = poll_seen(mem0.clone(), &l, (&mbox, Proto::Pop3), &keep, None, false);
    assert_eq!(r.unwrap().stored, 3);
    assert_eq!(read_back_seen(mem, &l), new);
    eprintln!("seen set power loss: {writes} flash writes/erases in the poll");
    for n in 1..=writes {
        let (mem, _, r) = poll_seen(
            mem0.clone(),
            &l,
            (&mbox, Proto::Pop3),
            &keep,
            Some(n),
            false,
        );
        assert!(r.is_err(), "n={n}: poll succeeded on a dead flash");
        let mem = if mem.is_empty() { mem0.clone() } else { mem };
        let (mem, _, r) = poll_seen(mem, &l, (&mbox, Proto::Pop3), &keep, None, false);
        r.unwrap_or_else(|e| panic!("n={n}: clean poll: {e}"));
        let stored = read_back_seen(mem.clone(), &l);
        assert_eq!(stored, new, "n={n}: each new message once, no old one");
        let (_, _, r) = poll_seen(mem, &l, (&mbox, Proto::Pop3), &keep, None, false);
        assert_eq!(r.unwrap().stored, 0, "n={n}: a third poll stores nothing");
        assert_eq!(mbox.borrow().msgs.len(), 12, "n={n}: leave mode");
    }
}
