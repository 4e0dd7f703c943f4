//! Where polled messages go: the [`MessageStore`] trait (blocking) and
//! [`asynch::MessageStore`] (async), with three implementations:
//!
//! | store | feature | for |
//! |---|---|---|
//! | [`memory::MemoryStore`] | — | tests, RAM-only firmware; fixed capacity |
//! | `maildir::MaildirStore` | `std` | hosts: `tmp/` → fsync → rename into `new/` |
//! | `flash::FlashStore` | `flash` | NOR flash through sequential-storage |
//!
//! `parts::PartStore` (feature `mime`) wraps one of them to store only
//! the selected MIME parts of each message, decoded.
//!
//! A message is written as `begin(key)`, any number of `write(chunk)`,
//! then `commit()` (or `abort()`). Only a successful `commit` makes the
//! message visible, and it is durable when `commit` returns: the poll
//! deletes a message on the server only after that. `contains(key)` tells
//! whether a committed message with that key is still in the store, so a
//! poll cut between commit and the saving of its sync state does not store
//! the message twice.
//!
//! The store also keeps the poll's sync state (a small blob, see
//! [`crate::poll::SyncState`]) through [`MessageStore::save_state`] and
//! [`MessageStore::load_state`], so one object holds everything that must
//! survive a reboot.
//!
//! A store may also keep the POP3 *seen set* (which messages left on the
//! server are stored already) itself, so that the poll's RAM does not grow
//! with the mailbox: [`MessageStore::keeps_seen`] says so, and the
//! `seen_*` methods hold it. The Maildir store keeps it in a file of its
//! own, the flash store (opened with `FlashStore::open_with_seen`) in a
//! range of its own; the memory store does not, and the poll then uses
//! the RAM seen set of [`crate::poll::SyncState`]. The default methods
//! keep nothing. The poll calls them so:
//!
//! ```text
//! seen_begin()               a listing starts (nothing found yet)
//! seen_find(&mut queries)    for each listed key: found? (and marked present)
//! seen_insert(key, at, h)    a message was stored (or found stored)
//! seen_prune()               the listing was complete: forget what was not found
//! save_state(..)             makes every insert so far durable
//! ```

pub mod memory;

#[cfg(feature = "std")]
pub mod maildir;

#[cfg(feature = "flash")]
pub mod flash;

#[cfg(feature = "mime")]
pub mod parts;

use core::fmt;

/// A message's identity in the store: a 64-bit hash of its POP3 UIDL or of
/// its IMAP identity (see [`crate::poll`]). Never 0.
pub type MessageKey = u64;

/// 64-bit FNV-1a, the hash behind every [`MessageKey`]. Returns 1 instead
/// of 0 (0 marks an empty slot).
pub fn key_of(parts: &[&[u8]]) -> MessageKey {
    let mut h = Fnv::new();
    for p in parts {
        h.write(p);
        // A separator so ("ab","c") and ("a","bc") differ.
        h.write(&[0xff]);
    }
    h.finish()
}

/// A streaming 64-bit FNV-1a hasher.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Fnv {
    /// A fresh hasher.
    pub const fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Mixes in bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash (never 0).
    pub fn finish(&self) -> u64 {
        if self.0 == 0 {
            1
        } else {
            self.0
        }
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

/// What went wrong in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError<E> {
    /// Not enough free space for the message (nothing of it is visible).
    Full {
        /// Bytes the message needs (at least).
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// `write`/`commit` without `begin`, or `begin` twice.
    WrongState,
    /// The state blob does not fit the store's state area.
    StateTooLarge,
    /// The store's seen set has no room to remember one more message
    /// (`remembered` are remembered, all still on the server). The poll
    /// stops before it deletes anything; give the seen set more room or
    /// delete mail on the server.
    SeenFull {
        /// Messages remembered now.
        remembered: u64,
    },
    /// The underlying medium failed.
    Io(E),
}

impl<E: fmt::Debug> fmt::Display for StoreError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Full { needed, free } => {
                write!(f, "store full: {needed} bytes needed, {free} free")
            }
            StoreError::WrongState => f.write_str("store used out of order"),
            StoreError::StateTooLarge => f.write_str("sync state does not fit the store"),
            StoreError::SeenFull { remembered } => write!(
                f,
                "seen set full: {remembered} messages remembered (all still on the server), no room for more: give it more room or delete mail on the server"
            ),
            StoreError::Io(e) => write!(f, "store I/O error: {e:?}"),
        }
    }
}

/// One lookup in a store's seen set (see [`MessageStore::seen_find`]):
/// `key` goes in, the rest comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeenQuery {
    /// The message key looked for.
    pub key: MessageKey,
    /// Set when the seen set holds `key`.
    pub found: bool,
    /// Only its header was stored (valid when `found`).
    pub headers_only: bool,
    /// When it was stored, in the poll's clock (valid when `found`).
    pub stored_at: u32,
}

impl SeenQuery {
    /// A query for `key`, not found yet.
    pub const fn new(key: MessageKey) -> Self {
        SeenQuery {
            key,
            found: false,
            headers_only: false,
            stored_at: 0,
        }
    }
}

/// A value persisted by a store as one blob: the poll's sync state.
pub trait StateBlob {
    /// Writes the encoding into `out`; `None` if it does not fit.
    fn encode(&self, out: &mut [u8]) -> Option<usize>;
    /// Replaces `self` with the decoding of `bytes`; false if they are
    /// not a valid encoding (then `self` is reset to empty).
    fn decode(&mut self, bytes: &[u8]) -> bool;
}

/// A blocking message store. See the [module docs](self).
pub trait MessageStore {
    /// The medium's error.
    type Error: fmt::Debug;

    /// Starts a message. `size_hint` (the server's announced size) lets a
    /// store refuse with [`StoreError::Full`] before any byte is written.
    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Self::Error>>;
    /// Appends bytes to the message begun last.
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>>;
    /// Makes the message visible and durable. A store may defer the last
    /// step of durability (the Maildir store's directory sync) to the next
    /// [`save_state`](Self::save_state), which must then complete it
    /// first: the poll deletes a message on the server only after its
    /// commit and the following `save_state` both returned `Ok`.
    fn commit(&mut self) -> Result<(), StoreError<Self::Error>>;
    /// Drops the message begun last; nothing of it becomes visible.
    fn abort(&mut self) -> Result<(), StoreError<Self::Error>>;
    /// True when a committed message with `key` is in the store.
    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>>;
    /// Total bytes the store can hold (message bytes, before overhead).
    fn capacity(&self) -> u64;
    /// Bytes free now (an estimate where the medium has per-item overhead).
    fn free(&mut self) -> Result<u64, StoreError<Self::Error>>;
    /// Persists the sync state durably.
    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>>;
    /// Loads the sync state; `Ok(false)` when none was saved.
    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>>;

    /// True when the store keeps the POP3 seen set itself (the `seen_*`
    /// methods below); false (the default) makes the poll use the RAM seen
    /// set of [`crate::poll::SyncState`].
    fn keeps_seen(&self) -> bool {
        false
    }
    /// How many messages the seen set remembers.
    fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(0)
    }
    /// A listing of the server starts: nothing is marked found yet.
    fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        Ok(())
    }
    /// Looks up every query's key (the listing's keys, a group at a time,
    /// in listing order), fills in what is remembered of it and marks it
    /// present on the server for [`seen_prune`](Self::seen_prune).
    fn seen_find(&mut self, queries: &mut [SeenQuery]) -> Result<(), StoreError<Self::Error>> {
        let _ = queries;
        Ok(())
    }
    /// Remembers `key` (stored at `stored_at`, perhaps headers only). The
    /// insert is durable once [`save_state`](Self::save_state) returns.
    /// [`StoreError::Full`] when there is no room left for it.
    fn seen_insert(
        &mut self,
        key: MessageKey,
        stored_at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>> {
        let _ = (key, stored_at, headers_only);
        Ok(())
    }
    /// The listing since [`seen_begin`](Self::seen_begin) was complete:
    /// forgets every remembered key it did not find (nor insert). Returns
    /// how many were forgotten. Durable when it returns.
    fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(0)
    }
}

impl<S: MessageStore + ?Sized> MessageStore for &mut S {
    type Error = S::Error;
    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Self::Error>> {
        (**self).begin(key, size_hint)
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        (**self).write(chunk)
    }
    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        (**self).commit()
    }
    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        (**self).abort()
    }
    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        (**self).contains(key)
    }
    fn capacity(&self) -> u64 {
        (**self).capacity()
    }
    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        (**self).free()
    }
    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        (**self).save_state(state)
    }
    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        (**self).load_state(state)
    }
    fn keeps_seen(&self) -> bool {
        (**self).keeps_seen()
    }
    fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        (**self).seen_len()
    }
    fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        (**self).seen_begin()
    }
    fn seen_find(&mut self, queries: &mut [SeenQuery]) -> Result<(), StoreError<Self::Error>> {
        (**self).seen_find(queries)
    }
    fn seen_insert(
        &mut self,
        key: MessageKey,
        stored_at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>> {
        (**self).seen_insert(key, stored_at, headers_only)
    }
    fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        (**self).seen_prune()
    }
}

/// The async message store (feature `async`), for stores on async media
/// such as `flash::FlashStore`.
#[cfg(feature = "async")]
pub mod asynch {
    pub use super::{MessageKey, SeenQuery, StateBlob, StoreError};

    /// The async twin of [`super::MessageStore`]; same contract.
    #[allow(async_fn_in_trait)]
    pub trait MessageStore {
        /// The medium's error.
        type Error: core::fmt::Debug;
        /// See [`super::MessageStore::begin`].
        async fn begin(
            &mut self,
            key: MessageKey,
            size_hint: u64,
        ) -> Result<(), StoreError<Self::Error>>;
        /// See [`super::MessageStore::write`].
        async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>>;
        /// See [`super::MessageStore::commit`].
        async fn commit(&mut self) -> Result<(), StoreError<Self::Error>>;
        /// See [`super::MessageStore::abort`].
        async fn abort(&mut self) -> Result<(), StoreError<Self::Error>>;
        /// See [`super::MessageStore::contains`].
        async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>>;
        /// See [`super::MessageStore::capacity`].
        fn capacity(&self) -> u64;
        /// See [`super::MessageStore::free`].
        async fn free(&mut self) -> Result<u64, StoreError<Self::Error>>;
        /// See [`super::MessageStore::save_state`].
        async fn save_state(
            &mut self,
            state: &dyn StateBlob,
        ) -> Result<(), StoreError<Self::Error>>;
        /// See [`super::MessageStore::load_state`].
        async fn load_state(
            &mut self,
            state: &mut dyn StateBlob,
        ) -> Result<bool, StoreError<Self::Error>>;
        /// See [`super::MessageStore::keeps_seen`].
        fn keeps_seen(&self) -> bool {
            false
        }
        /// See [`super::MessageStore::seen_len`].
        async fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
            Ok(0)
        }
        /// See [`super::MessageStore::seen_begin`].
        async fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
            Ok(())
        }
        /// See [`super::MessageStore::seen_find`].
        async fn seen_find(
            &mut self,
            queries: &mut [SeenQuery],
        ) -> Result<(), StoreError<Self::Error>> {
            let _ = queries;
            Ok(())
        }
        /// See [`super::MessageStore::seen_insert`].
        async fn seen_insert(
            &mut self,
            key: MessageKey,
            stored_at: u32,
            headers_only: bool,
        ) -> Result<(), StoreError<Self::Error>> {
            let _ = (key, stored_at, headers_only);
            Ok(())
        }
        /// See [`super::MessageStore::seen_prune`].
        async fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
            Ok(0)
        }
    }

    impl<S: MessageStore + ?Sized> MessageStore for &mut S {
        type Error = S::Error;
        async fn begin(
            &mut self,
            key: MessageKey,
            size_hint: u64,
        ) -> Result<(), StoreError<Self::Error>> {
            (**self).begin(key, size_hint).await
        }
        async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
            (**self).write(chunk).await
        }
        async fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
            (**self).commit().await
        }
        async fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
            (**self).abort().await
        }
        async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
            (**self).contains(key).await
        }
        fn capacity(&self) -> u64 {
            (**self).capacity()
        }
        async fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
            (**self).free().await
        }
        async fn save_state(
            &mut self,
            state: &dyn StateBlob,
        ) -> Result<(), StoreError<Self::Error>> {
            (**self).save_state(state).await
        }
        async fn load_state(
            &mut self,
            state: &mut dyn StateBlob,
        ) -> Result<bool, StoreError<Self::Error>> {
            (**self).load_state(state).await
        }
        fn keeps_seen(&self) -> bool {
            (**self).keeps_seen()
        }
        async fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
            (**self).seen_len().await
        }
        async fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
            (**self).seen_begin().await
        }
        async fn seen_find(
            &mut self,
            queries: &mut [SeenQuery],
        ) -> Result<(), StoreError<Self::Error>> {
            (**self).seen_find(queries).await
        }
        async fn seen_insert(
            &mut self,
            key: MessageKey,
            stored_at: u32,
            headers_only: bool,
        ) -> Result<(), StoreError<Self::Error>> {
            (**self).seen_insert(key, stored_at, headers_only).await
        }
        async fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
            (**self).seen_prune().await
        }
    }
}

/// Runs a future whose I/O never waits (a blocking flash driver behind an
/// async trait, e.g. `embassy_embedded_hal::adapter::BlockingAsync`) to
/// completion by polling it with a no-op waker. Spins if the future does
/// wait: use it only over media that are always ready.
pub fn block_on<F: core::future::Future>(fut: F) -> F::Output {
    let mut fut = core::pin::pin!(fut);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A blocking [`MessageStore`] over an async one, through [`block_on`]:
/// how blocking firmware uses `flash::FlashStore`.
#[cfg(feature = "async")]
#[derive(Debug)]
pub struct Blocking<S>(pub S);

#[cfg(feature = "async")]
impl<S: asynch::MessageStore> MessageStore for Blocking<S> {
    type Error = S::Error;
    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.begin(key, size_hint))
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.write(chunk))
    }
    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.commit())
    }
    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.abort())
    }
    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        block_on(self.0.contains(key))
    }
    fn capacity(&self) -> u64 {
        self.0.capacity()
    }
    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        block_on(self.0.free())
    }
    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.save_state(state))
    }
    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        block_on(self.0.load_state(state))
    }
    fn keeps_seen(&self) -> bool {
        self.0.keeps_seen()
    }
    fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        block_on(self.0.seen_len())
    }
    fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.seen_begin())
    }
    fn seen_find(&mut self, queries: &mut [SeenQuery]) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.seen_find(queries))
    }
    fn seen_insert(
        &mut self,
        key: MessageKey,
        stored_at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>> {
        block_on(self.0.seen_insert(key, stored_at, headers_only))
    }
    fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        block_on(self.0.seen_prune())
    }
}
