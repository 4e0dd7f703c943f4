//! The async poll (feature `async`): the same engine as the blocking
//! [`crate::poll::pop3`] and [`crate::poll::imap`], over the async clients
//! and [`crate::store::asynch::MessageStore`].

use super::engine::{self, io::AsyncStore};
use super::{Policy, PollError, Progress, Summary, SyncState};
use crate::store::asynch::MessageStore;
use embedded_io_async::{Read, Write};

/// Polls a POP3 maildrop: the async twin of [`crate::poll::pop3`].
#[cfg(feature = "pop3")]
pub async fn pop3<T, S, const N: usize>(
    client: &mut crate::pop3::asynch::Client<'_, T>,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, PollError<T::Error, S::Error>>
where
    T: Read + Write,
    S: MessageStore,
{
    let mut store = AsyncStore(store);
    let (summary, quit_sent) =
        engine::pop3::run(client, &mut store, state, policy, &mut progress).await?;
    if quit_sent {
        client.finish_quit().await?;
    } else {
        client.quit_in_place().await?;
    }
    Ok(summary)
}

/// Logs in as [`pop3`] wants a client (CAPA, `UTF8` when offered and
/// [`Policy::pop3_utf8`] is set, then USER/PASS): the async twin of
/// [`crate::poll::pop3_login`].
#[cfg(feature = "pop3")]
pub async fn pop3_login<T: Read + Write>(
    client: &mut crate::pop3::asynch::Client<'_, T>,
    user: &str,
    password: &str,
    policy: &Policy<'_>,
) -> Result<(), crate::Error<T::Error>> {
    engine::pop3::login(client, user, password, policy).await
}

/// Polls one IMAP mailbox: the async twin of [`crate::poll::imap`].
#[cfg(feature = "imap")]
pub async fn imap<T, S, const N: usize>(
    client: &mut crate::imap::asynch::Client<'_, T>,
    mailbox: &str,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, PollError<T::Error, S::Error>>
where
    T: Read + Write,
    S: MessageStore,
{
    engine::imap::run(
        client,
        mailbox,
        &mut AsyncStore(store),
        state,
        policy,
        &mut progress,
    )
    .await
}

/// The async watch (see [`crate::poll::watch`]): the same loop as the
/// blocking one, every wait bounded by the caller's [`watch::Timer`].
pub mod watch {
    #[cfg(feature = "imap")]
    use super::super::engine::io::AsyncStore;
    use super::super::engine::{self, io::AsyncTimer};
    use super::super::watch::{Next, WatchPolicy};
    use super::super::Summary;
    #[cfg(feature = "imap")]
    use super::{MessageStore, Policy, PollError, Progress, Read, SyncState, Write};

    /// The caller's clock and timer for the async watch (no executor is
    /// assumed: with embassy, `now_ms` is `Instant::now().as_millis()`
    /// and `sleep_until` is `Timer::at(Instant::from_millis(at)).await`).
    #[allow(async_fn_in_trait)]
    pub trait Timer {
        /// Milliseconds since any fixed point; never goes back.
        fn now_ms(&self) -> u64;
        /// Returns once `now_ms() >= at` (at once if it already is). It is
        /// dropped unfinished when what it bounds ends first.
        async fn sleep_until(&mut self, at: u64);
    }

    /// Watches one IMAP mailbox: the async twin of
    /// [`crate::poll::watch::imap`]. Every wait (IDLE, DONE's and NOOP's
    /// answers) is bounded by `timer`, so the transport needs no read
    /// timeout, but its read must be cancel-safe.
    #[cfg(feature = "imap")]
    #[allow(clippy::too_many_arguments)] // the poll's five, plus the watch's three
    pub async fn imap<T, S, K, const N: usize>(
        client: &mut crate::imap::asynch::Client<'_, T>,
        mailbox: &str,
        store: &mut S,
        state: &mut SyncState<N>,
        policy: &Policy<'_>,
        watch: &WatchPolicy,
        timer: &mut K,
        mut progress: impl FnMut(Progress),
        mut on_poll: impl FnMut(&Summary) -> Next,
    ) -> Result<u32, PollError<T::Error, S::Error>>
    where
        T: Read + Write,
        S: MessageStore,
        K: Timer,
    {
        let mut store = AsyncStore(store);
        engine::watch::imap(
            client,
            &mut AsyncTimer(timer),
            watch,
            async |c: &mut crate::imap::asynch::Client<'_, T>| {
                engine::imap::run(c, mailbox, &mut store, state, policy, &mut progress).await
            },
            &mut on_poll,
        )
        .await
    }

    /// Watches a POP3 maildrop by polling at an interval: the async twin
    /// of [`crate::poll::watch::pop3`]; `poll` runs one whole session.
    pub async fn pop3<K: Timer, E>(
        watch: &WatchPolicy,
        timer: &mut K,
        poll: impl AsyncFnMut() -> Result<Summary, E>,
        mut on_poll: impl FnMut(&Summary) -> Next,
    ) -> Result<u32, E> {
        engine::watch::interval(&mut AsyncTimer(timer), watch, poll, &mut on_poll).await
    }
}
