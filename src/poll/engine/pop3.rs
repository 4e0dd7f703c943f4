//! The POP3 poll, written once as async code over [`Pop3Io`] and
//! [`StoreIo`] (see [`super`]): the blocking poll runs it to completion
//! at once, the async poll awaits it.

use super::io::{Pop3Io, StoreIo};
use crate::error::Error;
use crate::poll::batch::{Batch, Listed, Plan};
use crate::poll::window::{Answer, Pop3Stream, Send, GROUP};
use crate::poll::{
    AfterStore, Fetch, HeaderKey, Planner, Policy, PollError, Progress, Seen, Summary, SyncState,
    BATCH,
};
use crate::pop3::Command;
use crate::store::{key_of, MessageKey};

/// Streams the body the client is reading into the store under `key`
/// and commits it; on any failure the entry is aborted. `id` and `size`
/// are the message's number and listed size (for progress); only a full
/// message passes its size on as the store's hint. Returns the bytes.
/// The poll's login (see [`crate::poll::pop3_login`]): CAPA, then `UTF8`
/// when offered and wanted, then USER/PASS. A refused CAPA (a server
/// without RFC 2449) or a refused UTF8 leaves the session as it was and
/// the login goes on.
pub(crate) async fn login<C: Pop3Io>(
    client: &mut C,
    user: &str,
    password: &str,
    policy: &Policy<'_>,
) -> Result<(), Error<C::Error>> {
    let caps = match client.capabilities().await {
        Ok(caps) => Some(caps),
        Err(Error::Refused(_)) => None,
        Err(e) => return Err(e),
    };
    if policy.pop3_utf8 && caps.is_some_and(|c| c.utf8) {
        match client.enable_utf8().await {
            Ok(()) | Err(Error::Refused(_)) => {}
            Err(e) => return Err(e),
        }
    }
    client.login(user, password).await
}

async fn store_body<C: Pop3Io, S: StoreIo>(
    client: &mut C,
    store: &mut S,
    key: MessageKey,
    (id, size): (u32, u64),
    full: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, PollError<C::Error, S::Error>> {
    store.begin(key, if full { size } else { 0 }).await?;
    let mut written = 0u64;
    loop {
        let failed = match client.body_chunk().await {
            Ok(None) => break,
            Ok(Some(chunk)) => match store.write(chunk).await {
                Ok(()) => {
                    written += chunk.len() as u64;
                    progress(Progress::Receiving {
                        id,
                        received: written,
                        size,
                    });
                    continue;
                }
                Err(e) => PollError::Store(e),
            },
            Err(e) => PollError::Mail(e),
        };
        let _ = store.abort().await;
        return Err(failed);
    }
    store.commit().await?;
    Ok(written)
}

/// Sends `cmd` (TOP or RETR) and feeds its answer into `key`.
async fn header_key<C: Pop3Io>(
    client: &mut C,
    cmd: Command<'_>,
    key: &mut HeaderKey,
) -> Result<(), Error<C::Error>> {
    client.submit_iter([cmd]).await?;
    while let Some(chunk) = client.body_chunk().await? {
        key.feed(chunk);
    }
    Ok(())
}

/// POP3 without UIDL, delete mode only: every message present is
/// new (the stored ones were deleted), keyed by [`HeaderKey`] over
/// its header (`TOP n 0`, or `RETR` when TOP is refused), so one
/// committed before a cut that lost the QUIT is found in the store
/// and only deleted. RETR → commit → DELE; the caller QUITs.
async fn no_uidl<C: Pop3Io, S: StoreIo>(
    client: &mut C,
    store: &mut S,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    // Message numbers are stable within a session.
    let mut after_msg = 0u32;
    loop {
        let mut new: heapless::Vec<(u32, u64), BATCH> = heapless::Vec::new();
        let mut more = false;
        client
            .list(|msg, size| {
                if msg > after_msg && new.push((msg, size)).is_err() {
                    more = true;
                }
            })
            .await?;
        let mut stop = false;
        for (i, &(msg, size)) in new.iter().enumerate() {
            after_msg = msg;
            plan.summary.new += 1;
            let how = plan.fetch(size);
            match how {
                Fetch::Skip => {
                    plan.summary.skipped += 1;
                    progress(Progress::Skipped { id: msg, size });
                    continue;
                }
                Fetch::Stop => {
                    plan.summary.skipped += (new.len() - i) as u32;
                    stop = true;
                    break;
                }
                Fetch::Full | Fetch::HeadersOnly => {}
            }
            let full = how == Fetch::Full;
            let mut hk = HeaderKey::new();
            let has_top = match header_key(client, Command::Top { msg, lines: 0 }, &mut hk).await {
                Ok(()) => true,
                Err(Error::Refused(_)) => {
                    hk = HeaderKey::new();
                    header_key(client, Command::Retr(msg), &mut hk).await?;
                    false
                }
                Err(e) => return Err(e.into()),
            };
            let key = hk.key(size, !full);
            if (!full && !has_top) || store.contains(key).await? {
                // Stored before a cut lost the QUIT (deleted now),
                // or headers-only without TOP (left alone).
                plan.summary.skipped += 1;
                progress(Progress::Skipped { id: msg, size });
                if plan.delete_after_store(how) {
                    client.delete_many(&[msg]).await?;
                    plan.summary.deleted += 1;
                    progress(Progress::Deleted { id: msg });
                }
                continue;
            }
            client
                .submit_iter([if full {
                    Command::Retr(msg)
                } else {
                    Command::Top { msg, lines: 0 }
                }])
                .await?;
            let written = store_body(client, store, key, (msg, size), full, progress).await?;
            plan.stored(written);
            progress(Progress::Stored {
                id: msg,
                bytes: written,
                headers_only: !full,
            });
            if plan.delete_after_store(how) {
                client.delete_many(&[msg]).await?;
                plan.summary.deleted += 1;
                progress(Progress::Deleted { id: msg });
            }
        }
        if stop || !more {
            return Ok(());
        }
    }
}

/// Retrieves the bodies a batch asks for: with PIPELINING, RETR
/// (or `TOP n 0` for headers-only) commands go out in coalesced
/// writes and the window is topped up whenever half of it has
/// arrived, so the bodies stream back to back; without it, one
/// command at a time. Each body is committed as it ends.
async fn fetch_batch<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    batch: &mut Batch,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    let mut todo: heapless::Vec<crate::poll::batch::Entry, BATCH> = heapless::Vec::new();
    for e in batch
        .entries()
        .iter()
        .filter(|e| matches!(e.plan, Plan::Full | Plan::Headers))
    {
        let _ = todo.push(*e);
    }
    // With PIPELINING the whole batch goes out at once, so a batch costs
    // one round trip; without it, one command at a time.
    let request = |e: &crate::poll::batch::Entry| match e.plan {
        Plan::Full => Command::Retr(e.id),
        _ => Command::Top {
            msg: e.id,
            lines: 0,
        },
    };
    if client.caps().pipelining && client.submit_iter(todo.iter().map(request)).await? != todo.len()
    {
        return Err(PollError::Mail(Error::Broken));
    }
    for e in todo.iter() {
        if !client.caps().pipelining {
            client.submit_iter([request(e)]).await?;
        }
        let full = e.plan == Plan::Full;
        let written = store_body(client, store, e.key, (e.id, e.size), full, progress).await?;
        batch.committed(e.id, written, plan);
        progress(Progress::Stored {
            id: e.id,
            bytes: written,
            headers_only: !full,
        });
        if state.insert(e.key, plan.policy.now, !full).is_err() {
            return Err(PollError::SeenSetFull { capacity: N });
        }
    }
    batch.fetch_done(plan);
    Ok(())
}

/// The POP3 streaming pass (PIPELINING and UIDL offered, no limits or
/// caps, and delete mode or an empty seen set): every message of the
/// maildrop is asked for in groups of pipelined `UIDL n` + `RETR n`, as
/// many in flight as [`Policy::pipeline`] allows, so nothing waits for a
/// listing. What goes out and when is the [`Pop3Stream`] plan's: each
/// body is committed as it ends; the state is saved after 32, then 64,
/// 128, … commits, and their DELEs then join the pipeline. A message
/// the seen set or the store already holds (stored before a cut) is read
/// and dropped, then deleted if due.
async fn stream<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    let count = client.stat().await?.count;
    let deletes = plan.policy.after_store != AfterStore::Keep;
    let mut window = Pop3Stream::new(count, usize::from(plan.policy.pipeline), deletes);
    state.begin_listing();
    // One group's keys: its UIDL answers all come before its bodies.
    let mut keys = [MessageKey::default(); GROUP as usize];
    let slot = |msg: u32| (msg % GROUP) as usize;
    loop {
        if window.must_save() {
            store.save_state(state).await?;
            window.saved();
        }
        while let Some(send) = window.next_send() {
            let sent = match send {
                Send::Deles(n) => {
                    client
                        .submit_iter(window.deles(n).map(Command::Dele))
                        .await?
                }
                Send::Group { first, count } => {
                    let msgs = first..first + count;
                    let uidls = msgs.clone().map(|n| Command::Uidl(Some(n)));
                    client
                        .submit_iter(uidls.chain(msgs.map(Command::Retr)))
                        .await?
                }
                Send::Quit => client.submit_iter([Command::Quit]).await?,
            };
            if sent != send.commands() as usize {
                // The plan keeps within the session's limits: cannot happen.
                return Err(PollError::Mail(Error::Broken));
            }
            window.sent(send);
        }
        let Some(answer) = window.next_answer() else {
            break;
        };
        match answer {
            Answer::UniqueId(msg) => {
                let id = client.read_unique_id().await?;
                if let Some(k) = keys.get_mut(slot(msg)) {
                    *k = key_of(&[id.as_slice()]);
                }
            }
            Answer::Body(msg) => {
                let key = keys.get(slot(msg)).copied().unwrap_or_default();
                let due = settle_body(client, store, state, plan, (msg, key), progress).await?;
                window.settled(msg, due);
            }
            Answer::Deleted(msg) => {
                client.read_status().await?;
                plan.summary.deleted += 1;
                progress(Progress::Deleted { id: msg });
            }
        }
    }
    // Every message was listed (UIDL n): entries of messages gone from
    // the server are dropped. (QUIT may be out already: in keep mode it
    // deletes nothing; in delete mode every commit it completes was saved.)
    state.prune_unmarked();
    store.save_state(state).await?;
    Ok(window.quit_sent())
}

/// A body of the stream is on the wire: stores and commits it, or, when
/// the seen set or the store already holds it (stored before a cut),
/// reads and drops it. Returns whether the policy deletes it.
async fn settle_body<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    plan: &mut Planner<'_>,
    (msg, key): (u32, MessageKey),
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    let now = plan.policy.now;
    let known = match state.mark(key) {
        Some(seen) => Some((seen, false)),
        // Committed before a cut, seen state not saved.
        None if store.contains(key).await? => Some((
            Seen {
                key,
                stored_at: now,
                headers_only: false,
            },
            true,
        )),
        None => None,
    };
    plan.summary.new += u32::from(known.is_none_or(|(_, new)| new));
    let Some((seen, new)) = known else {
        let written = store_body(client, store, key, (msg, 0), true, progress).await?;
        plan.stored(written);
        progress(Progress::Stored {
            id: msg,
            bytes: written,
            headers_only: false,
        });
        if state.insert(key, now, false).is_err() {
            return Err(PollError::SeenSetFull { capacity: N });
        }
        return Ok(plan.delete_after_store(Fetch::Full));
    };
    while client.body_chunk().await?.is_some() {}
    if new {
        plan.summary.skipped += 1;
        progress(Progress::Skipped { id: msg, size: 0 });
    }
    if state
        .insert(key, seen.stored_at, seen.headers_only)
        .is_err()
    {
        return Err(PollError::SeenSetFull { capacity: N });
    }
    Ok(plan.delete_seen(&seen))
}

/// The POP3 poll (see [`crate::poll::pop3`]) up to its QUIT; returns
/// whether QUIT was sent already (its answer is the caller's to read).
///
/// `client` is logged in (TRANSACTION state). The sync state is
/// loaded from `store` into `state` (the caller provides its
/// memory). Per batch of up to [`BATCH`] new messages: the UIDL
/// listing, one LIST for the sizes, the RETRs pipelined when the
/// server offers PIPELINING, one save of the sync state after the
/// batch's commits, then its DELEs pipelined. The poll ends with
/// QUIT (which performs the deletions); the transport is handed
/// back. On error the connection is left without QUIT, so the
/// server deletes nothing of this session.
///
/// A server that refuses UIDL is polled in delete mode only
/// ([`AfterStore::Delete`]; otherwise [`PollError::NeedsUidl`]):
/// see [the module docs](crate::poll).
pub(crate) async fn run<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Summary, bool), PollError<C::Error, S::Error>> {
    let mut plan = Planner::new(*policy);
    if !store.load_state(state).await? {
        state.clear();
    }
    let mut usage = match policy.quota_guard {
        Some(_) => Some(client.stat().await?.size),
        None => None,
    };
    // Without limits or caps, and when nothing known needs to be
    // skipped without fetching (delete mode, or a first poll), every
    // message streams in one window; otherwise passes of batches.
    let streamable = client.caps().pipelining
        && client.caps().uidl
        && policy.max_size.is_none()
        && policy.max_messages.is_none()
        && policy.max_bytes.is_none()
        && policy.quota_guard.is_none()
        && policy.delete_older_than.is_none()
        && (policy.after_store != AfterStore::Keep || state.seen().is_empty());
    if streamable {
        let quit_sent = stream(client, store, state, &mut plan, progress).await?;
        return Ok((plan.summary, quit_sent));
    }
    let mut first = true;
    // Message numbers are stable within a session: each pass
    // looks only past the new messages handled by earlier ones.
    let mut after_msg = 0u32;
    loop {
        let mut new: heapless::Vec<(u32, MessageKey), BATCH> = heapless::Vec::new();
        let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        let mut olds: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        let mut more = false;
        state.begin_listing();
        let listed = client
            .uidl(|msg, uid| {
                let key = key_of(&[uid]);
                let overflow = match state.mark(key) {
                    Some(seen) if plan.delete_seen(&seen) => dels.push(msg).is_err(),
                    Some(seen) => {
                        if !seen.headers_only {
                            let _ = olds.push(msg);
                        }
                        false
                    }
                    None if msg > after_msg => new.push((msg, key)).is_err(),
                    None => false,
                };
                more |= overflow;
            })
            .await;
        match listed {
            Ok(()) => {}
            Err(Error::Refused(_)) if first && policy.after_store == AfterStore::Delete => {
                no_uidl(client, store, &mut plan, progress).await?;
                // Commits complete their durability here, before
                // the QUIT that performs the DELEs.
                store.save_state(state).await?;
                return Ok((plan.summary, false));
            }
            Err(Error::Refused(_)) => return Err(PollError::NeedsUidl),
            Err(e) => return Err(e.into()),
        }
        // A complete listing before any DELE of this session:
        // entries of messages gone from the server are dropped.
        if first {
            first = false;
            if state.prune_unmarked() > 0 {
                store.save_state(state).await?;
            }
        }
        // Already stored and due: delete first (frees the server).
        client.delete_many(&dels).await?;
        plan.summary.deleted += dels.len() as u32;
        for &m in dels.iter() {
            progress(Progress::Deleted { id: m });
        }
        let mut batch = Batch::new();
        if !new.is_empty() {
            let mut sizes = [0u64; BATCH];
            client
                .list(|msg, size| {
                    if let Ok(i) = new.binary_search_by_key(&msg, |e| e.0) {
                        if let Some(s) = sizes.get_mut(i) {
                            *s = size;
                        }
                    }
                })
                .await?;
            for (&(msg, key), &size) in new.iter().zip(sizes.iter()) {
                after_msg = msg;
                // Committed before a cut, seen state not saved.
                let known = if store.contains(key).await? {
                    Some(Seen {
                        key,
                        stored_at: policy.now,
                        headers_only: false,
                    })
                } else {
                    None
                };
                let m = Listed {
                    id: msg,
                    seq: 0,
                    size,
                    key,
                    flagged_deleted: false,
                };
                match batch.add(&mut plan, m, known) {
                    Some(Plan::Known { .. }) => {
                        if state.insert(key, policy.now, false).is_err() {
                            return Err(PollError::SeenSetFull { capacity: N });
                        }
                        progress(Progress::Skipped { id: msg, size });
                    }
                    Some(Plan::Skip | Plan::Later) => progress(Progress::Skipped { id: msg, size }),
                    _ => {}
                }
            }
        }
        if batch
            .to_fetch(false)
            .chain(batch.to_fetch(true))
            .next()
            .is_some()
            && state.seen().len() >= N
        {
            return Err(PollError::SeenSetFull { capacity: N });
        }
        fetch_batch(client, store, state, &mut batch, &mut plan, progress).await?;
        // Once per batch, after its commits and before its DELEs.
        store.save_state(state).await?;
        let mut due: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for id in batch.deletions(&plan) {
            let _ = due.push(id);
        }
        client.delete_many(&due).await?;
        plan.summary.deleted += due.len() as u32;
        for &m in due.iter() {
            progress(Progress::Deleted { id: m });
        }
        // Quota guard: delete stored messages, oldest first.
        if let (Some(limit), Some(used)) = (policy.quota_guard, usage.as_mut()) {
            for &m in olds.iter() {
                if *used <= limit {
                    break;
                }
                let size = client.list_one(m).await?;
                client.delete_many(&[m]).await?;
                *used = used.saturating_sub(size);
                plan.summary.deleted += 1;
                progress(Progress::Deleted { id: m });
            }
        }
        if batch.stopped() || !more {
            break;
        }
    }
    Ok((plan.summary, false))
}
