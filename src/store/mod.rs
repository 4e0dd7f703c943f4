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
            StoreError::Io(e) => write!(f, "store I/O error: {e:?}"),
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
}

/// The async message store (feature `async`), for stores on async media
/// such as `flash::FlashStore`.
#[cfg(feature = "async")]
pub mod asynch {
    pub use super::{MessageKey, StateBlob, StoreError};

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
}
