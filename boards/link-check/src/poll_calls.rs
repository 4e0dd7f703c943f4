//! The mailbox poll (feature `poll`): the blocking `poll::pop3` and
//! `poll::imap` into a `store::memory::MemoryStore`, and the async
//! `poll::asynch::{pop3, imap}` into a `store::flash::FlashStore` on a
//! RAM-backed NOR flash ([`RamFlash`]), each over the canned poll dialogues
//! of `script.rs` (`POLL_POP3` in delete mode, `POLL_IMAP` leaving mail on
//! the server). No allocator: the stores, the sync state and the buffers
//! are on the stack, the flash's bits in a static (host tests: on the
//! stack, so that parallel tests do not share them).

use crate::calls::{SECRET, USER};
use crate::script;
use crate::transport::Dummy;
use core::hint::black_box;
use core::sync::atomic::{AtomicU8, Ordering};
use embedded_mail::poll::{self, AfterStore, Policy, Summary, SyncState};
use embedded_mail::store::flash::FlashStore;
use embedded_mail::store::memory::MemoryStore;
use embedded_storage_async::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Erase page of the RAM flash.
pub const PAGE: usize = 1024;
/// Pages of the RAM flash: two for the message queue, two for the state.
pub const PAGES: usize = 4;
/// Bytes of the RAM flash (in `.bss` on the targets).
pub const FLASH_BYTES: usize = PAGE * PAGES;
/// Seen-set capacity of the sync state.
pub const SEEN: usize = 16;

/// What one poll did: enough for `black_box` and the host test.
#[derive(Debug, Default, Clone, Copy)]
pub struct PollReport {
    /// The poll returned `Ok`.
    pub ok: bool,
    /// Where it failed, if it did.
    pub failed: Option<&'static str>,
    /// The poll's summary.
    pub summary: Summary,
    /// Messages the store holds afterwards.
    pub in_store: u32,
    /// Server bytes left unread.
    pub leftover: u32,
    /// Progress callbacks seen.
    pub progress: u32,
}

/// A NOR flash in RAM: bytes that erase to 0xFF and that writes can only
/// clear (AND), as real NOR does. Atomics, so a `static` needs no
/// `unsafe`; a single-core firmware, so relaxed ordering suffices.
pub struct RamFlash<'m> {
    mem: &'m [AtomicU8],
}

impl<'m> RamFlash<'m> {
    /// A flash over `mem`, erased.
    pub fn new(mem: &'m [AtomicU8]) -> Self {
        for b in mem {
            b.store(0xff, Ordering::Relaxed);
        }
        RamFlash { mem }
    }

    fn range(&self, from: u32, len: usize) -> Result<&'m [AtomicU8], OutOfBounds> {
        let from = from as usize;
        self.mem
            .get(from..from.checked_add(len).ok_or(OutOfBounds)?)
            .ok_or(OutOfBounds)
    }
}

/// An access outside the flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl ErrorType for RamFlash<'_> {
    type Error = OutOfBounds;
}

impl ReadNorFlash for RamFlash<'_> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        let src = self.range(offset, bytes.len())?;
        for (d, s) in bytes.iter_mut().zip(src) {
            *d = s.load(Ordering::Relaxed);
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for RamFlash<'_> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
        let len = to.checked_sub(from).ok_or(OutOfBounds)? as usize;
        for b in self.range(from, len)? {
            b.store(0xff, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
        for (d, s) in self.range(offset, bytes.len())?.iter().zip(bytes) {
            d.store(d.load(Ordering::Relaxed) & *s, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Writing a word twice only clears bits further, as NOR allows.
impl MultiwriteNorFlash for RamFlash<'_> {}

const MSG_RANGE: core::ops::Range<u32> = 0..(2 * PAGE as u32);
const STATE_RANGE: core::ops::Range<u32> = (2 * PAGE as u32)..(PAGES * PAGE) as u32;

/// The RAM flash's bits on the targets: zero-initialised (`.bss`),
/// erased by [`RamFlash::new`].
#[cfg(not(test))]
static FLASH_MEM: [AtomicU8; FLASH_BYTES] = [const { AtomicU8::new(0) }; FLASH_BYTES];

fn pop3_policy() -> Policy<'static> {
    black_box(Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    })
}

fn imap_policy() -> Policy<'static> {
    black_box(Policy::default())
}

fn finish<E>(r: &mut PollReport, call: &'static str, res: Result<Summary, E>) {
    match res {
        Ok(s) => {
            r.ok = true;
            r.summary = s;
        }
        Err(_) => r.failed = Some(call),
    }
}

/// The blocking polls into a `MemoryStore`.
#[cfg(feature = "blocking")]
pub mod blocking {
    use super::*;
    #[cfg(feature = "imap")]
    use embedded_mail::imap;
    #[cfg(feature = "pop3")]
    use embedded_mail::pop3;

    /// POP3 poll (delete mode) into RAM.
    #[cfg(feature = "pop3")]
    #[inline(never)]
    pub fn pop3(r: &mut PollReport) {
        let mut rx = [0u8; 512];
        let mut tx = [0u8; 256];
        let mut store: MemoryStore<512, 4, 256> = MemoryStore::new();
        let mut state: SyncState<SEEN> = SyncState::new();
        let mut c = match pop3::Client::connect(Dummy::new(script::POLL_POP3), &mut rx, &mut tx) {
            Ok(c) => c,
            Err(_) => return r.failed = Some("pop3 connect"),
        };
        if c.login(black_box(USER), black_box(SECRET)).is_err() {
            return r.failed = Some("pop3 login");
        }
        let mut n = 0u32;
        let res = poll::pop3(&mut c, &mut store, &mut state, &pop3_policy(), |_| n += 1);
        r.leftover += u32::from(!c.into_parts().transport.exhausted());
        finish(r, "poll::pop3", res);
        r.progress = n;
        r.in_store = store.len() as u32;
    }

    /// IMAP poll (leave on server) into RAM.
    #[cfg(feature = "imap")]
    #[inline(never)]
    pub fn imap(r: &mut PollReport) {
        let mut rx = [0u8; 1024];
        let mut tx = [0u8; 256];
        let mut store: MemoryStore<512, 4, 256> = MemoryStore::new();
        let mut state: SyncState<SEEN> = SyncState::new();
        let mut c = match imap::Client::connect(Dummy::new(script::POLL_IMAP), &mut rx, &mut tx) {
            Ok(c) => c,
            Err(_) => return r.failed = Some("imap connect"),
        };
        if c.login(black_box(USER), black_box(SECRET)).is_err() {
            return r.failed = Some("imap login");
        }
        let mut n = 0u32;
        let res = poll::imap(
            &mut c,
            black_box("INBOX"),
            &mut store,
            &mut state,
            &imap_policy(),
            |_| n += 1,
        );
        finish(r, "poll::imap", res);
        match c.logout() {
            Ok(t) => r.leftover += u32::from(!t.exhausted()),
            Err(_) => r.failed = r.failed.or(Some("imap logout")),
        }
        r.progress = n;
        r.in_store = store.len() as u32;
    }
}

/// The async polls into a `FlashStore` on the RAM flash.
#[cfg(feature = "async")]
pub mod asynch {
    use super::*;
    #[cfg(feature = "imap")]
    use embedded_mail::imap;
    #[cfg(feature = "pop3")]
    use embedded_mail::pop3;

    /// Messages committed in the flash store.
    async fn count(store: &mut FlashStore<'_, RamFlash<'_>>) -> u32 {
        let mut n = 0u32;
        let _ = store.messages(|_| n += 1).await;
        n
    }

    /// POP3 poll (delete mode) into flash.
    #[cfg(feature = "pop3")]
    #[inline(never)]
    pub async fn pop3(r: &mut PollReport) {
        #[cfg(test)]
        let mem = [const { AtomicU8::new(0) }; FLASH_BYTES];
        #[cfg(not(test))]
        let mem = &FLASH_MEM;
        let mut buf = [0u8; 512];
        let flash = RamFlash::new(&mem[..]);
        let mut store = match FlashStore::open(flash, MSG_RANGE, STATE_RANGE, &mut buf).await {
            Ok(s) => s,
            Err(_) => return r.failed = Some("FlashStore::open"),
        };
        let mut state: SyncState<SEEN> = SyncState::new();
        let mut rx = [0u8; 512];
        let mut tx = [0u8; 256];
        let connected =
            pop3::asynch::Client::connect(Dummy::new(script::POLL_POP3), &mut rx, &mut tx).await;
        let Ok(mut c) = connected else {
            return r.failed = Some("pop3 connect");
        };
        if c.login(black_box(USER), black_box(SECRET)).await.is_err() {
            return r.failed = Some("pop3 login");
        }
        let mut n = 0u32;
        let res =
            poll::asynch::pop3(&mut c, &mut store, &mut state, &pop3_policy(), |_| n += 1).await;
        r.leftover += u32::from(!c.into_parts().transport.exhausted());
        finish(r, "poll::asynch::pop3", res);
        r.progress = n;
        r.in_store = count(&mut store).await;
    }

    /// IMAP poll (leave on server) into flash.
    #[cfg(feature = "imap")]
    #[inline(never)]
    pub async fn imap(r: &mut PollReport) {
        #[cfg(test)]
        let mem = [const { AtomicU8::new(0) }; FLASH_BYTES];
        #[cfg(not(test))]
        let mem = &FLASH_MEM;
        let mut buf = [0u8; 512];
        let flash = RamFlash::new(&mem[..]);
        let mut store = match FlashStore::open(flash, MSG_RANGE, STATE_RANGE, &mut buf).await {
            Ok(s) => s,
            Err(_) => return r.failed = Some("FlashStore::open"),
        };
        let mut state: SyncState<SEEN> = SyncState::new();
        let mut rx = [0u8; 1024];
        let mut tx = [0u8; 256];
        let connected =
            imap::asynch::Client::connect(Dummy::new(script::POLL_IMAP), &mut rx, &mut tx).await;
        let Ok(mut c) = connected else {
            return r.failed = Some("imap connect");
        };
        if c.login(black_box(USER), black_box(SECRET)).await.is_err() {
            return r.failed = Some("imap login");
        }
        let mut n = 0u32;
        let res = poll::asynch::imap(
            &mut c,
            black_box("INBOX"),
            &mut store,
            &mut state,
            &imap_policy(),
            |_| n += 1,
        )
        .await;
        finish(r, "poll::asynch::imap", res);
        match c.logout().await {
            Ok(t) => r.leftover += u32::from(!t.exhausted()),
            Err(_) => r.failed = r.failed.or(Some("imap logout")),
        }
        r.progress = n;
        r.in_store = count(&mut store).await;
    }
}
