//! The POP3 poll, written once as async code over [`Pop3Io`] and
//! [`StoreIo`] (see [`super`]): the blocking poll runs it to completion
//! at once, the async poll awaits it.

use super::io::{Pop3Io, StoreIo};
use super::seen;
use crate::error::Error;
use crate::poll::batch::{Batch, Listed, Plan};
use crate::poll::window::{Answer, Pop3Stream, Send, GROUP};
use crate::poll::{
    AfterStore, Fetch, HeaderKey, Planner, Policy, PollError, Progress, Seen, Summary, SyncState,
    BATCH,
};
use crate::pop3::Command;
use crate::store::{key_of, MessageKey, SeenQuery};

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
    let caps = match client.capa().await {
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
/// (or `TOP n 0` for headers-only) commands go out in one coalesced
/// write, so the bodies stream back to back; without it, one command
/// at a time. Each body is committed as it ends and remembered in the
/// seen set.
async fn fetch_batch<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    batch: &mut Batch,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    let wanted = |e: &&crate::poll::batch::Entry| matches!(e.plan, Plan::Full | Plan::Headers);
    // With PIPELINING the whole batch goes out at once, so a batch costs
    // one round trip; without it, one command at a time.
    let request = |e: &crate::poll::batch::Entry| match e.plan {
        Plan::Full => Command::Retr(e.id),
        _ => Command::Top {
            msg: e.id,
            lines: 0,
        },
    };
    let count = batch.entries().iter().filter(wanted).count();
    if client.capabilities().pipelining
        && client
            .submit_iter(batch.entries().iter().filter(wanted).map(request))
            .await?
            != count
    {
        return Err(PollError::Mail(Error::Broken));
    }
    // By index: the batch records each commit as it goes.
    for i in 0..batch.entries().len() {
        let Some(e) = batch.entries().get(i).copied() else {
            break;
        };
        if !wanted(&&e) {
            continue;
        }
        if !client.capabilities().pipelining {
            client.submit_iter([request(&e)]).await?;
        }
        let full = e.plan == Plan::Full;
        let written = store_body(client, store, e.key, (e.id, e.size), full, progress).await?;
        batch.committed(e.id, written, plan);
        progress(Progress::Stored {
            id: e.id,
            bytes: written,
            headers_only: !full,
        });
        seen::insert(store, state, e.key, plan.policy.now, !full).await?;
    }
    batch.fetch_done(plan);
    Ok(())
}

/// The keys of the group of the stream being answered: its `UIDL n`
/// answers all come before its bodies, so the group is looked up in the
/// seen set once, at its first body.
struct Group {
    first: u32,
    queries: heapless::Vec<SeenQuery, { GROUP as usize }>,
    looked_up: bool,
}

impl Group {
    /// The query of message `msg` of this group.
    fn query(&self, msg: u32) -> Option<SeenQuery> {
        let i = msg.checked_sub(self.first)? as usize;
        self.queries.get(i).copied()
    }
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
    (count, plan): (u32, &mut Planner<'_>),
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    let deletes = plan.policy.after_store != AfterStore::Keep;
    let mut window = Pop3Stream::new(count, usize::from(plan.policy.pipeline), deletes);
    seen::begin(store, state).await?;
    let mut group = Group {
        first: 1,
        queries: heapless::Vec::new(),
        looked_up: true,
    };
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
                let id = client.read_unique_id(msg).await?;
                if group.looked_up {
                    // The previous group's bodies are all in.
                    group.first = msg;
                    group.queries.clear();
                    group.looked_up = false;
                }
                let _ = group.queries.push(SeenQuery::new(key_of(&[id.as_slice()])));
            }
            Answer::Body(msg) => {
                if !group.looked_up {
                    seen::find(store, state, &mut group.queries).await?;
                    group.looked_up = true;
                }
                let q = group.query(msg).unwrap_or_default();
                let due = settle_body(client, store, state, plan, (msg, q), progress).await?;
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
    seen::prune(store, state).await?;
    store.save_state(state).await?;
    Ok(window.quit_sent())
}

/// A body of the stream is on the wire: stores and commits it, or, when
/// the seen set (`q`, looked up) or the store already holds it (stored
/// before a cut), reads and drops it. Returns whether the policy deletes
/// it.
async fn settle_body<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    plan: &mut Planner<'_>,
    (msg, q): (u32, SeenQuery),
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    let now = plan.policy.now;
    let key = q.key;
    if let Some(seen) = seen::entry(&q) {
        while client.body_chunk().await?.is_some() {}
        return Ok(plan.delete_seen(&seen));
    }
    plan.summary.new += 1;
    if store.contains(key).await? {
        // Committed before a cut, seen set not saved.
        while client.body_chunk().await?.is_some() {}
        plan.summary.skipped += 1;
        progress(Progress::Skipped { id: msg, size: 0 });
        seen::insert(store, state, key, now, false).await?;
        return Ok(plan.delete_after_store(Fetch::Full));
    }
    let written = store_body(client, store, key, (msg, 0), true, progress).await?;
    plan.stored(written);
    progress(Progress::Stored {
        id: msg,
        bytes: written,
        headers_only: false,
    });
    seen::insert(store, state, key, now, false).await?;
    Ok(plan.delete_after_store(Fetch::Full))
}

/// Runs of new message numbers kept by a listing pass (more start
/// another pass from where they ran out).
const RUNS: usize = 16;
/// Runs of due (remembered) messages kept by the listing pass (what does
/// not fit is deleted by a later poll).
const DUE_RUNS: usize = 8;

type Runs = heapless::Vec<(u32, u32), RUNS>;

/// Adds `msg` (ascending) to `runs`; false when a new run is needed and
/// there is no room.
fn push_run<const R: usize>(runs: &mut heapless::Vec<(u32, u32), R>, msg: u32) -> bool {
    match runs.last_mut() {
        Some((_, last)) if last.checked_add(1) == Some(msg) => {
            *last = msg;
            true
        }
        _ => runs.push((msg, msg)).is_ok(),
    }
}

/// What one listing pass found.
#[derive(Default)]
struct Listing {
    /// Messages not in the seen set, as runs.
    new: Runs,
    /// More new messages from here on than `new` had room for: a later
    /// pass lists from this message.
    resume: Option<u32>,
    /// Remembered messages the policy deletes now, as runs (those past
    /// the room are deleted by a later poll).
    due: heapless::Vec<(u32, u32), DUE_RUNS>,
    /// The first remembered whole messages (for the quota guard).
    olds: heapless::Vec<u32, BATCH>,
}

/// The listing pass: `UIDL n` for every message from `from` to `count`,
/// pipelined (up to [`Policy::pipeline`] in flight; one at a time without
/// PIPELINING), each group of answers looked up in the seen set at once.
/// Reads each unique id once: a poll lists the maildrop once (a pass
/// from `resume` only lists what an earlier one had no room to keep).
/// `Ok(None)`: the server refused UIDL (first command; nothing else is in
/// flight then).
async fn listing<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    plan: &Planner<'_>,
    (from, count): (u32, u32),
) -> Result<Option<Listing>, PollError<C::Error, S::Error>> {
    let mut out = Listing::default();
    let limit = if client.capabilities().pipelining {
        u32::from(plan.policy.pipeline).clamp(1, crate::pop3::MAX_IN_FLIGHT as u32)
    } else {
        1
    };
    // Without UIDL in CAPA, ask for one first: a server without it
    // answers -ERR once, not for a whole pipeline.
    let mut room = if client.capabilities().uidl { limit } else { 1 };
    let (mut next, mut answered) = (from, from);
    let mut queries: heapless::Vec<SeenQuery, { GROUP as usize }> = heapless::Vec::new();
    while answered <= count {
        let in_flight = next - answered;
        if in_flight < room && next <= count {
            let n = (room - in_flight).min(count + 1 - next);
            let sent = client
                .submit_iter((next..next + n).map(|m| Command::Uidl(Some(m))))
                .await? as u32;
            if sent == 0 {
                return Err(PollError::Mail(Error::Broken));
            }
            next += sent;
        }
        // Read a group (or what is in flight), then look it up at once.
        let first = answered;
        let group = (next - answered).min(GROUP);
        queries.clear();
        for _ in 0..group {
            match client.read_unique_id(answered).await {
                Ok(id) => {
                    let _ = queries.push(SeenQuery::new(key_of(&[id.as_slice()])));
                }
                Err(Error::Refused(_)) if answered == from && next == from + 1 => {
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
            answered += 1;
        }
        room = limit;
        seen::find(store, state, &mut queries).await?;
        out.classify(plan, (first..).zip(queries.iter()));
    }
    Ok(Some(out))
}

impl Listing {
    /// Takes a group of looked-up messages, in listing order.
    fn classify<'q>(
        &mut self,
        plan: &Planner<'_>,
        group: impl Iterator<Item = (u32, &'q SeenQuery)>,
    ) {
        for (msg, q) in group {
            match seen::entry(q) {
                Some(seen) if plan.delete_seen(&seen) => {
                    // No room: the next poll deletes it.
                    let _ = push_run(&mut self.due, msg);
                }
                Some(seen) if !seen.headers_only => {
                    let _ = self.olds.push(msg);
                }
                None if self.resume.is_none() && !push_run(&mut self.new, msg) => {
                    self.resume = Some(msg);
                }
                _ => {}
            }
        }
    }
}

/// The listing pass as one plain `UIDL` command (one round trip, the
/// bytes of one listing), for a seen set that answers without waiting
/// (the RAM one, or a blocking store's): each group of 32 entries is
/// looked up as it is read. Messages before `from` are skipped.
/// `Ok(None)`: the server refused UIDL.
async fn listing_now<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    plan: &Planner<'_>,
    from: u32,
) -> Result<Option<Listing>, PollError<C::Error, S::Error>> {
    type Group = heapless::Vec<(u32, SeenQuery), { GROUP as usize }>;
    /// Looks a group up and classifies it; the first store error is kept.
    fn flush<S: StoreIo, const N: usize>(
        (store, state, plan): (&mut S, &mut SyncState<N>, &Planner<'_>),
        group: &mut Group,
        out: &mut Listing,
        failed: &mut Option<crate::store::StoreError<S::Error>>,
    ) {
        let mut q: heapless::Vec<SeenQuery, { GROUP as usize }> =
            group.iter().map(|e| e.1).collect();
        match seen::find_now(store, state, &mut q) {
            Some(Ok(())) => out.classify(plan, group.iter().map(|e| e.0).zip(q.iter())),
            Some(Err(e)) if failed.is_none() => *failed = Some(e),
            None if failed.is_none() => *failed = Some(crate::store::StoreError::WrongState),
            _ => {}
        }
        group.clear();
    }
    let mut out = Listing::default();
    let mut group = Group::new();
    let mut failed = None;
    let listed = client
        .uidl(|msg, uid| {
            if msg < from {
                return;
            }
            let _ = group.push((msg, SeenQuery::new(key_of(&[uid]))));
            if group.is_full() {
                flush((store, state, plan), &mut group, &mut out, &mut failed);
            }
        })
        .await;
    match listed {
        Ok(()) => {}
        Err(Error::Refused(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    flush((store, state, plan), &mut group, &mut out, &mut failed);
    if let Some(e) = failed {
        return Err(PollError::Store(e));
    }
    Ok(Some(out))
}

/// The new messages of `runs`, a batch of up to [`BATCH`] at a time:
/// `UIDL n` and `LIST n` for each (pipelined: one round trip), then the
/// [`Batch`] plan, its bodies, one save of the sync state, its DELEs.
/// Returns false when a cap stopped the poll.
async fn fetch_new<C: Pop3Io, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    runs: &Runs,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    let policy = plan.policy;
    let mut msgs = runs.iter().flat_map(|&(a, b)| a..=b);
    loop {
        let mut ids: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for m in msgs.by_ref() {
            if ids.push(m).is_err() {
                break;
            }
            if ids.is_full() {
                break;
            }
        }
        if ids.is_empty() {
            return Ok(true);
        }
        let mut keys = [MessageKey::default(); BATCH];
        let pipelined = client.capabilities().pipelining;
        if pipelined {
            let uidls = ids.iter().map(|&m| Command::Uidl(Some(m)));
            let lists = ids.iter().map(|&m| Command::List(Some(m)));
            if client.submit_iter(uidls.chain(lists)).await? != 2 * ids.len() {
                return Err(PollError::Mail(Error::Broken));
            }
            for (k, &msg) in keys.iter_mut().zip(ids.iter()) {
                *k = key_of(&[client.read_unique_id(msg).await?.as_slice()]);
            }
        }
        let mut batch = Batch::new();
        for (&msg, key) in ids.iter().zip(keys.iter_mut()) {
            // The sizes' answers follow the keys' (pipelined), or each
            // pair is asked in turn.
            if !pipelined {
                client.submit_iter([Command::Uidl(Some(msg))]).await?;
                *key = key_of(&[client.read_unique_id(msg).await?.as_slice()]);
                client.submit_iter([Command::List(Some(msg))]).await?;
            }
            let (key, size) = (*key, client.read_size().await?);
            // Committed before a cut, seen set not saved.
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
            match batch.add(plan, m, known) {
                Some(Plan::Known { .. }) => {
                    seen::insert(store, state, key, policy.now, false).await?;
                    progress(Progress::Skipped { id: msg, size });
                }
                Some(Plan::Skip | Plan::Later) => progress(Progress::Skipped { id: msg, size }),
                _ => {}
            }
        }
        let fetches = batch.to_fetch(false).chain(batch.to_fetch(true)).count();
        if !store.keeps_seen() && fetches > 0 && state.seen().len() + fetches > N {
            return Err(PollError::SeenSetFull { capacity: N });
        }
        fetch_batch(client, store, state, &mut batch, plan, progress).await?;
        // Once per batch, after its commits and before its DELEs.
        store.save_state(state).await?;
        let mut due: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for id in batch.deletions(plan) {
            let _ = due.push(id);
        }
        client.delete_many(&due).await?;
        plan.summary.deleted += due.len() as u32;
        for &m in due.iter() {
            progress(Progress::Deleted { id: m });
        }
        if batch.stopped() {
            return Ok(false);
        }
    }
}

/// The POP3 poll (see [`crate::poll::pop3`]) up to its QUIT; returns
/// whether QUIT was sent already (its answer is the caller's to read).
///
/// `client` is logged in (TRANSACTION state). The sync state is
/// loaded from `store` into `state` (the caller provides its
/// memory); the seen set is the store's when it keeps one, else the
/// RAM one in `state`. Without limits, in delete mode or while
/// nothing is remembered, every message streams (see [`stream`]).
/// Otherwise the maildrop is listed once ([`listing_now`], or
/// [`listing`] for an async store that keeps the seen set; looked up a
/// group at a time, which forgets what is gone from the server), due messages are deleted, and the new ones are
/// fetched in batches of up to [`BATCH`]: `UIDL n` + `LIST n`, the
/// RETRs, one save of the sync state, the DELEs. The poll ends with
/// QUIT (which performs the deletions); on error the connection is
/// left without QUIT, so the server deletes nothing of this session.
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
    seen::adopt(store, state).await?;
    let stat = client.stat().await?;
    // Without limits or caps, and when nothing known needs to be
    // skipped without fetching (delete mode, or nothing remembered),
    // every message streams in one window; otherwise one listing, then
    // batches of the new messages.
    let streamable = client.capabilities().pipelining
        && client.capabilities().uidl
        && policy.max_size.is_none()
        && policy.max_messages.is_none()
        && policy.max_bytes.is_none()
        && policy.quota_guard.is_none()
        && policy.delete_older_than.is_none()
        && (policy.after_store != AfterStore::Keep || seen::is_empty(store, state).await?);
    if streamable {
        let quit_sent = stream(client, store, state, (stat.count, &mut plan), progress).await?;
        return Ok((plan.summary, quit_sent));
    }
    let mut usage = policy.quota_guard.map(|_| stat.size);
    seen::begin(store, state).await?;
    // A seen set that answers without waiting is looked up while a plain
    // UIDL listing streams in; an async store's, a group of pipelined
    // `UIDL n` at a time.
    let now = seen::find_now(store, state, &mut []).is_some();
    let first = if now {
        listing_now(client, store, state, &plan, 1).await?
    } else {
        listing(client, store, state, &plan, (1, stat.count)).await?
    };
    let Some(mut found) = first else {
        if policy.after_store != AfterStore::Delete {
            return Err(PollError::NeedsUidl);
        }
        no_uidl(client, store, &mut plan, progress).await?;
        // Commits complete their durability here, before the QUIT
        // that performs the DELEs.
        store.save_state(state).await?;
        return Ok((plan.summary, false));
    };
    // A complete listing before any DELE of this session: entries of
    // messages gone from the server are dropped.
    if seen::prune(store, state).await? > 0 {
        store.save_state(state).await?;
    }
    loop {
        // Already stored and due: delete first (frees the server).
        for &(a, b) in found.due.iter() {
            let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
            for m in a..=b {
                if dels.push(m).is_err() {
                    client.delete_many(&dels).await?;
                    dels.clear();
                    let _ = dels.push(m);
                }
                plan.summary.deleted += 1;
                progress(Progress::Deleted { id: m });
            }
            client.delete_many(&dels).await?;
        }
        // Quota guard: delete stored messages, oldest first.
        if let (Some(limit), Some(used)) = (policy.quota_guard, usage.as_mut()) {
            for &m in found.olds.iter() {
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
        usage = None;
        if !fetch_new(client, store, state, &found.new, &mut plan, progress).await? {
            break;
        }
        // More new messages than one listing had room to keep: list
        // the rest (no pruning: this pass is not complete).
        let Some(from) = found.resume else { break };
        let more = if now {
            listing_now(client, store, state, &plan, from).await?
        } else {
            listing(client, store, state, &plan, (from, stat.count)).await?
        };
        found = match more {
            Some(f) => Listing {
                due: heapless::Vec::new(),
                olds: heapless::Vec::new(),
                ..f
            },
            None => return Err(PollError::NeedsUidl),
        };
    }
    Ok((plan.summary, false))
}
