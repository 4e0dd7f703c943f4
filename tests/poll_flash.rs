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
