//! The blocking poll (see [`crate::poll`]): the engine run to completion
//! over blocking clients and stores, whose operations never wait.

use super::engine::{self, io::SyncStore};
use super::{Policy, PollError, Progress, Summary, SyncState};
use crate::store::{block_on, MessageStore};
use embedded_io::{Read, Write};

/// Polls a POP3 maildrop: see [the module docs](crate::poll).
///
/// `client` is logged in (TRANSACTION state; read its capabilities first,
/// so the poll knows it may pipeline). The sync state is loaded from
/// `store` into `state` (the caller provides its memory); the seen set is
/// the store's when it keeps one
/// ([`crate::store::MessageStore::keeps_seen`]), else the RAM set in
/// `state`. With PIPELINING and UIDL and no limits, in delete mode or
/// while nothing is remembered, every message streams through one window
/// of pipelined `UIDL n` + `RETR n` commands; otherwise the maildrop is
/// listed once (one `UIDL`), then per batch of up to
/// [`super::BATCH`] new messages: `UIDL n` + `LIST n`, the RETRs
/// pipelined when the server offers PIPELINING. The sync state is saved
/// after a batch's commits and before its DELEs. The
/// poll ends with QUIT (which performs the deletions): the client is then
/// closed; take the transport back with `client.into_parts()`. On error
/// the connection is left without QUIT, so the server deletes nothing of
/// this session, and `client.last_refusal()` holds the server's words if
/// it refused something. Both polls borrow the client the same way
/// ([`imap`] leaves the IMAP session selected for more work).
///
/// A server that refuses UIDL is polled in delete mode only
/// ([`super::AfterStore::Delete`]; otherwise [`PollError::NeedsUidl`]):
/// see [the module docs](crate::poll).
#[cfg(feature = "pop3")]
pub fn pop3<T, S, const N: usize>(
    client: &mut crate::pop3::Client<'_, T>,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, PollError<T::Error, S::Error>>
where
    T: Read + Write,
    S: MessageStore,
{
    let mut store = SyncStore(store);
    let run = engine::pop3::run(client, &mut store, state, policy, &mut progress);
    let (summary, quit_sent) = block_on(run)?;
    if quit_sent {
        client.finish_quit()?;
    } else {
        client.quit_in_place()?;
    }
    Ok(summary)
}

/// Logs in as [`pop3`] wants a client: `CAPA` (so the poll knows UIDL,
/// TOP and PIPELINING), then `UTF8` (RFC 6856, which allows it only
/// before the login) when the server offers it and
/// [`Policy::pop3_utf8`] is set, then USER/PASS (pipelined where
/// offered). A server that refuses CAPA or UTF8 is logged in all the
/// same.
///
/// `client` has read the greeting ([`crate::pop3::Client::connect`]).
#[cfg(feature = "pop3")]
pub fn pop3_login<T: Read + Write>(
    client: &mut crate::pop3::Client<'_, T>,
    user: &str,
    password: &str,
    policy: &Policy<'_>,
) -> Result<(), crate::Error<T::Error>> {
    block_on(engine::pop3::login(client, user, password, policy))
}

/// Polls one IMAP mailbox: see [the module docs](crate::poll).
///
/// `client` is logged in; the mailbox is SELECTed (EXAMINEd when the
/// policy changes nothing on the server) and stays selected. Without
/// limits, every new message comes in one `UID FETCH last+1:*` and each
/// body is committed as it ends; otherwise per batch of up to
/// [`super::BATCH`] new messages: one listing, one pipelined body fetch.
/// The sync state is saved once per batch, after its commits and before
/// its deletions, which go out in one pipelined write. Without UIDPLUS, a
/// delete uses plain EXPUNGE, which also removes messages another client
/// marked `\Deleted`.
#[cfg(feature = "imap")]
pub fn imap<T, S, const N: usize>(
    client: &mut crate::imap::Client<'_, T>,
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
    block_on(engine::imap::run(
        client,
        mailbox,
        &mut SyncStore(store),
        state,
        policy,
        &mut progress,
    ))
}
