//! What the poll engine needs of a client and a store, as async traits,
//! implemented for the blocking and the async clients and stores alike.
//!
//! The engine is written once, as plain async Rust over these traits. The
//! blocking poll runs it with [`crate::store::block_on`]: over a blocking
//! client and store every `.await` is ready at once, so the future
//! completes in its first poll and never spins.

#![allow(async_fn_in_trait)]

use crate::error::Error;
#[cfg(feature = "pop3")]
use crate::store::SeenQuery;
use crate::store::{MessageKey, StateBlob, StoreError};

/// The store operations of a poll.
pub(crate) trait StoreIo {
    /// The medium's error.
    type Error;
    async fn begin(&mut self, key: MessageKey, size: u64) -> Result<(), StoreError<Self::Error>>;
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>>;
    async fn commit(&mut self) -> Result<(), StoreError<Self::Error>>;
    async fn abort(&mut self) -> Result<(), StoreError<Self::Error>>;
    async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>>;
    async fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>>;
    async fn load_state(
        &mut self,
        state: &mut dyn StateBlob,
    ) -> Result<bool, StoreError<Self::Error>>;
    #[cfg(feature = "pop3")]
    fn keeps_seen(&self) -> bool;
    #[cfg(feature = "pop3")]
    async fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>>;
    #[cfg(feature = "pop3")]
    async fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>>;
    #[cfg(feature = "pop3")]
    async fn seen_find(&mut self, q: &mut [SeenQuery]) -> Result<(), StoreError<Self::Error>>;
    /// [`Self::seen_find`] without waiting, where the store never waits (a
    /// blocking store); `None` for an async store.
    #[cfg(feature = "pop3")]
    fn seen_find_now(&mut self, q: &mut [SeenQuery])
        -> Option<Result<(), StoreError<Self::Error>>>;
    #[cfg(feature = "pop3")]
    async fn seen_insert(
        &mut self,
        key: MessageKey,
        at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>>;
    #[cfg(feature = "pop3")]
    async fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>>;
}

/// A blocking [`crate::store::MessageStore`] seen by the engine.
pub(crate) struct SyncStore<'s, S>(pub &'s mut S);

impl<S: crate::store::MessageStore> StoreIo for SyncStore<'_, S> {
    type Error = S::Error;
    async fn begin(&mut self, key: MessageKey, size: u64) -> Result<(), StoreError<S::Error>> {
        self.0.begin(key, size)
    }
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<S::Error>> {
        self.0.write(chunk)
    }
    async fn commit(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.commit()
    }
    async fn abort(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.abort()
    }
    async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<S::Error>> {
        self.0.contains(key)
    }
    async fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<S::Error>> {
        self.0.save_state(state)
    }
    async fn load_state(
        &mut self,
        state: &mut dyn StateBlob,
    ) -> Result<bool, StoreError<S::Error>> {
        self.0.load_state(state)
    }
    #[cfg(feature = "pop3")]
    fn keeps_seen(&self) -> bool {
        self.0.keeps_seen()
    }
    #[cfg(feature = "pop3")]
    async fn seen_len(&mut self) -> Result<u64, StoreError<S::Error>> {
        self.0.seen_len()
    }
    #[cfg(feature = "pop3")]
    async fn seen_begin(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.seen_begin()
    }
    #[cfg(feature = "pop3")]
    async fn seen_find(&mut self, q: &mut [SeenQuery]) -> Result<(), StoreError<S::Error>> {
        self.0.seen_find(q)
    }
    #[cfg(feature = "pop3")]
    fn seen_find_now(&mut self, q: &mut [SeenQuery]) -> Option<Result<(), StoreError<S::Error>>> {
        Some(self.0.seen_find(q))
    }
    #[cfg(feature = "pop3")]
    async fn seen_insert(
        &mut self,
        key: MessageKey,
        at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<S::Error>> {
        self.0.seen_insert(key, at, headers_only)
    }
    #[cfg(feature = "pop3")]
    async fn seen_prune(&mut self) -> Result<u64, StoreError<S::Error>> {
        self.0.seen_prune()
    }
}

/// An async [`crate::store::asynch::MessageStore`] seen by the engine.
#[cfg(feature = "async")]
pub(crate) struct AsyncStore<'s, S>(pub &'s mut S);

#[cfg(feature = "async")]
impl<S: crate::store::asynch::MessageStore> StoreIo for AsyncStore<'_, S> {
    type Error = S::Error;
    async fn begin(&mut self, key: MessageKey, size: u64) -> Result<(), StoreError<S::Error>> {
        self.0.begin(key, size).await
    }
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<S::Error>> {
        self.0.write(chunk).await
    }
    async fn commit(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.commit().await
    }
    async fn abort(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.abort().await
    }
    async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<S::Error>> {
        self.0.contains(key).await
    }
    async fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<S::Error>> {
        self.0.save_state(state).await
    }
    async fn load_state(
        &mut self,
        state: &mut dyn StateBlob,
    ) -> Result<bool, StoreError<S::Error>> {
        self.0.load_state(state).await
    }
    #[cfg(feature = "pop3")]
    fn keeps_seen(&self) -> bool {
        self.0.keeps_seen()
    }
    #[cfg(feature = "pop3")]
    async fn seen_len(&mut self) -> Result<u64, StoreError<S::Error>> {
        self.0.seen_len().await
    }
    #[cfg(feature = "pop3")]
    async fn seen_begin(&mut self) -> Result<(), StoreError<S::Error>> {
        self.0.seen_begin().await
    }
    #[cfg(feature = "pop3")]
    async fn seen_find(&mut self, q: &mut [SeenQuery]) -> Result<(), StoreError<S::Error>> {
        self.0.seen_find(q).await
    }
    #[cfg(feature = "pop3")]
    fn seen_find_now(&mut self, _: &mut [SeenQuery]) -> Option<Result<(), StoreError<S::Error>>> {
        None
    }
    #[cfg(feature = "pop3")]
    async fn seen_insert(
        &mut self,
        key: MessageKey,
        at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<S::Error>> {
        self.0.seen_insert(key, at, headers_only).await
    }
    #[cfg(feature = "pop3")]
    async fn seen_prune(&mut self) -> Result<u64, StoreError<S::Error>> {
        self.0.seen_prune().await
    }
}

/// The POP3 client operations of a poll.
#[cfg(feature = "pop3")]
pub(crate) trait Pop3Io {
    /// The transport's error.
    type Error;
    fn capabilities(&self) -> &crate::pop3::Capabilities;
    async fn capa(&mut self) -> Result<crate::pop3::Capabilities, Error<Self::Error>>;
    async fn enable_utf8(&mut self) -> Result<(), Error<Self::Error>>;
    async fn login(&mut self, user: &str, password: &str) -> Result<(), Error<Self::Error>>;
    async fn stat(&mut self) -> Result<crate::pop3::Stat, Error<Self::Error>>;
    async fn list(&mut self, each: impl FnMut(u32, u64)) -> Result<(), Error<Self::Error>>;
    async fn uidl(&mut self, each: impl FnMut(u32, &[u8])) -> Result<(), Error<Self::Error>>;
    async fn list_one(&mut self, msg: u32) -> Result<u64, Error<Self::Error>>;
    async fn submit_iter<'c>(
        &mut self,
        cmds: impl IntoIterator<Item = crate::pop3::Command<'c>>,
    ) -> Result<usize, Error<Self::Error>>;
    async fn body_chunk(&mut self) -> Result<Option<&[u8]>, Error<Self::Error>>;
    /// The answer of a pipelined `UIDL msg`, which must name `msg`.
    async fn read_unique_id(
        &mut self,
        msg: u32,
    ) -> Result<crate::pop3::UniqueId, Error<Self::Error>>;
    async fn read_size(&mut self) -> Result<u64, Error<Self::Error>>;
    async fn read_status(&mut self) -> Result<(), Error<Self::Error>>;
    async fn delete_many(&mut self, msgs: &[u32]) -> Result<(), Error<Self::Error>>;
}

/// The caller's clock and timer, as the watch sees it
/// ([`crate::poll::watch::Clock`], [`crate::poll::asynch::watch::Timer`]).
pub(crate) trait TimerIo {
    /// Monotonic milliseconds.
    fn now_ms(&self) -> u64;
    /// Returns once `now_ms() >= at`.
    async fn sleep_until(&mut self, at: u64);
}

/// A blocking [`crate::poll::watch::Clock`] seen by the engine: its sleep
/// blocks, so the future is ready when first polled.
pub(crate) struct SyncClock<'k, K>(pub &'k mut K);

impl<K: crate::poll::watch::Clock> TimerIo for SyncClock<'_, K> {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
    async fn sleep_until(&mut self, at: u64) {
        let now = self.0.now_ms();
        if at > now {
            self.0.sleep_ms(at - now);
        }
    }
}

/// An async [`crate::poll::asynch::watch::Timer`] seen by the engine.
#[cfg(feature = "async")]
pub(crate) struct AsyncTimer<'k, K>(pub &'k mut K);

#[cfg(feature = "async")]
impl<K: crate::poll::asynch::watch::Timer> TimerIo for AsyncTimer<'_, K> {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
    async fn sleep_until(&mut self, at: u64) {
        self.0.sleep_until(at).await
    }
}

/// The IMAP client operations of a poll and of the watch.
#[cfg(feature = "imap")]
pub(crate) trait ImapIo {
    /// The transport's error.
    type Error: embedded_io::Error;
    fn capabilities(&self) -> &crate::imap::Capabilities;
    fn tx_capacity(&self) -> usize;
    /// The selected mailbox's state, as the session tracked it.
    fn mailbox(&self) -> crate::imap::MailboxState;
    async fn fetch(
        &mut self,
        set: crate::imap::SequenceSet<'_>,
        items: crate::imap::FetchItems<'_>,
        each: impl FnMut(crate::imap::Event<'_>),
    ) -> Result<(), Error<Self::Error>>;
    async fn submit_all(
        &mut self,
        cmds: &[crate::imap::Command<'_>],
        tags: &mut heapless::Vec<u32, { crate::imap::MAX_IN_FLIGHT }>,
    ) -> Result<(), Error<Self::Error>>;
    async fn next_event(&mut self) -> Result<crate::imap::Event<'_>, Error<Self::Error>>;
    async fn complete(&mut self, tag: u32) -> Result<(), Error<Self::Error>>;
    async fn move_uids(
        &mut self,
        set: crate::imap::SequenceSet<'_>,
        mailbox: &str,
    ) -> Result<(), Error<Self::Error>>;
    async fn get_quota_root(
        &mut self,
        mailbox: &str,
    ) -> Result<crate::imap::QuotaInfo, Error<Self::Error>>;
    /// The server offers IDLE.
    fn idle_offered(&self) -> bool;
    /// Sends IDLE; returns its tag for [`Self::idle_confirmed`].
    async fn idle_submit(&mut self) -> Result<u32, Error<Self::Error>>;
    /// Reads to IDLE's continuation; again after a timed-out read.
    async fn idle_confirmed(&mut self, tag: u32) -> Result<(), Error<Self::Error>>;
    /// The next event while idling, as the watch hears it.
    async fn idle_next(&mut self) -> Result<crate::poll::watch::Heard, Error<Self::Error>>;
    /// Sends DONE; returns IDLE's tag for [`Self::complete`].
    async fn idle_done_submit(&mut self) -> Result<u32, Error<Self::Error>>;
    /// Sends NOOP; returns its tag for [`Self::complete`].
    async fn noop_submit(&mut self) -> Result<u32, Error<Self::Error>>;
}

/// Implements [`Pop3Io`] for a POP3 client type; `$($await)*` is empty for
/// the blocking one. Only forwarding: no logic lives here.
#[cfg(feature = "pop3")]
macro_rules! pop3_io {
    ($client:ty, $read:path, $write:path, $($await:tt)*) => {
        impl<T: $read + $write> Pop3Io for $client {
            type Error = T::Error;
            fn capabilities(&self) -> &crate::pop3::Capabilities {
                <$client>::capabilities(self)
            }
            async fn capa(&mut self) -> Result<crate::pop3::Capabilities, Error<T::Error>> {
                <$client>::capa(self)$($await)*
            }
            async fn enable_utf8(&mut self) -> Result<(), Error<T::Error>> {
                <$client>::enable_utf8(self)$($await)*
            }
            async fn login(&mut self, user: &str, password: &str) -> Result<(), Error<T::Error>> {
                <$client>::login(self, user, password)$($await)*
            }
            async fn stat(&mut self) -> Result<crate::pop3::Stat, Error<T::Error>> {
                <$client>::stat(self)$($await)*
            }
            async fn list(&mut self, each: impl FnMut(u32, u64)) -> Result<(), Error<T::Error>> {
                <$client>::list(self, each)$($await)*
            }
            async fn uidl(&mut self, each: impl FnMut(u32, &[u8])) -> Result<(), Error<T::Error>> {
                <$client>::uidl(self, each)$($await)*
            }
            async fn list_one(&mut self, msg: u32) -> Result<u64, Error<T::Error>> {
                <$client>::list_one(self, msg)$($await)*
            }
            async fn submit_iter<'c>(
                &mut self,
                cmds: impl IntoIterator<Item = crate::pop3::Command<'c>>,
            ) -> Result<usize, Error<T::Error>> {
                <$client>::submit_iter(self, cmds)$($await)*
            }
            async fn body_chunk(&mut self) -> Result<Option<&[u8]>, Error<T::Error>> {
                <$client>::body_chunk(self)$($await)*
            }
            async fn read_unique_id(
                &mut self,
                msg: u32,
            ) -> Result<crate::pop3::UniqueId, Error<T::Error>> {
                <$client>::read_unique_id_of(self, msg)$($await)*
            }
            async fn read_size(&mut self) -> Result<u64, Error<T::Error>> {
                <$client>::read_size(self)$($await)*
            }
            async fn read_status(&mut self) -> Result<(), Error<T::Error>> {
                <$client>::read_status(self)$($await)*
            }
            async fn delete_many(&mut self, msgs: &[u32]) -> Result<(), Error<T::Error>> {
                <$client>::delete_many(self, msgs)$($await)*
            }
        }
    };
}

#[cfg(feature = "pop3")]
pop3_io!(
    crate::pop3::Client<'_, T>,
    embedded_io::Read,
    embedded_io::Write,
);
#[cfg(all(feature = "pop3", feature = "async"))]
pop3_io!(crate::pop3::asynch::Client<'_, T>, embedded_io_async::Read, embedded_io_async::Write, .await);

/// Implements [`ImapIo`] for an IMAP client type; `$($await)*` is empty for
/// the blocking one. Only forwarding: no logic lives here.
#[cfg(feature = "imap")]
macro_rules! imap_io {
    ($client:ty, $read:path, $write:path, $($await:tt)*) => {
        impl<T: $read + $write> ImapIo for $client {
            type Error = T::Error;
            fn capabilities(&self) -> &crate::imap::Capabilities {
                <$client>::capabilities(self)
            }
            fn tx_capacity(&self) -> usize {
                <$client>::tx_capacity(self)
            }
            fn mailbox(&self) -> crate::imap::MailboxState {
                *<$client>::session(self).mailbox()
            }
            async fn fetch(
                &mut self,
                set: crate::imap::SequenceSet<'_>,
                items: crate::imap::FetchItems<'_>,
                each: impl FnMut(crate::imap::Event<'_>),
            ) -> Result<(), Error<T::Error>> {
                <$client>::uid_fetch(self, set, items, each)$($await)*
            }
            async fn submit_all(
                &mut self,
                cmds: &[crate::imap::Command<'_>],
                tags: &mut heapless::Vec<u32, { crate::imap::MAX_IN_FLIGHT }>,
            ) -> Result<(), Error<T::Error>> {
                <$client>::submit_all(self, cmds, tags)$($await)*
            }
            async fn next_event(&mut self) -> Result<crate::imap::Event<'_>, Error<T::Error>> {
                <$client>::next_event(self)$($await)*
            }
            async fn complete(&mut self, tag: u32) -> Result<(), Error<T::Error>> {
                <$client>::complete(self, tag, |_| {})$($await)*.map(|_| ())
            }
            async fn move_uids(&mut self, set: crate::imap::SequenceSet<'_>, mailbox: &str) -> Result<(), Error<T::Error>> {
                <$client>::move_uids(self, set, mailbox)$($await)*.map(|_| ())
            }
            async fn get_quota_root(&mut self, mailbox: &str) -> Result<crate::imap::QuotaInfo, Error<T::Error>> {
                <$client>::get_quota_root(self, mailbox)$($await)*
            }
            fn idle_offered(&self) -> bool {
                <$client>::capabilities(self).idle
            }
            async fn idle_submit(&mut self) -> Result<u32, Error<T::Error>> {
                if !<$client>::capabilities(self).idle {
                    return Err(Error::NotSupported("IDLE"));
                }
                <$client>::submit(self, &crate::imap::Command::Idle)$($await)*
            }
            async fn idle_confirmed(&mut self, tag: u32) -> Result<(), Error<T::Error>> {
                <$client>::idle_confirmed(self, tag)$($await)*
            }
            async fn idle_next(&mut self) -> Result<crate::poll::watch::Heard, Error<T::Error>> {
                let mut heard = crate::poll::watch::Heard::Other;
                <$client>::idle_wait(self, |ev| {
                    heard = crate::poll::watch::Heard::of(&ev);
                    false
                })$($await)*?;
                Ok(heard)
            }
            async fn idle_done_submit(&mut self) -> Result<u32, Error<T::Error>> {
                <$client>::idle_done_submit(self)$($await)*
            }
            async fn noop_submit(&mut self) -> Result<u32, Error<T::Error>> {
                <$client>::submit(self, &crate::imap::Command::Noop)$($await)*
            }
        }
    };
}

#[cfg(feature = "imap")]
imap_io!(
    crate::imap::Client<'_, T>,
    embedded_io::Read,
    embedded_io::Write,
);
#[cfg(all(feature = "imap", feature = "async"))]
imap_io!(crate::imap::asynch::Client<'_, T>, embedded_io_async::Read, embedded_io_async::Write, .await);
