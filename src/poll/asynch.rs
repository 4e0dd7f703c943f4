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
    mut client: crate::pop3::asynch::Client<'_, T>,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    mut progress: impl FnMut(Progress),
) -> Result<(Summary, T), PollError<T::Error, S::Error>>
where
    T: Read + Write,
    S: MessageStore,
{
    let mut store = AsyncStore(store);
    let (summary, quit_sent) =
        engine::pop3::run(&mut client, &mut store, state, policy, &mut progress).await?;
    let transport = if quit_sent {
        client.finish_quit().await?
    } else {
        client.quit().await?
    };
    Ok((summary, transport))
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
