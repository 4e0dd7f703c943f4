//! The IMAP poll, written once as async code over [`ImapIo`] and
//! [`StoreIo`] (see [`super`]).

use super::io::{ImapIo, StoreIo};
use crate::error::Error;
use crate::poll::batch::{Batch, Listed, Plan};
use crate::poll::doomed::Doomed;
use crate::poll::{
    AfterStore, Fetch, ImapCursor, Planner, Policy, PollError, Progress, Seen, Summary, SyncState,
    BATCH,
};
use crate::store::key_of;

/// UIDs asked for per FETCH while looking for messages: a few
/// batches' worth, so a dense window fills a batch in one round trip.
const WINDOW: u32 = 4 * BATCH as u32;

/// `UID FETCH set (UID FLAGS RFC822.SIZE INTERNALDATE
/// BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`: the (up to BATCH)
/// lowest UIDs ≥ `min_uid`, ascending, and whether more exist.
///
/// Servers may split one message's data over several FETCH
/// responses: parts are merged by sequence number (see
/// [`crate::poll::Partial`]). A listing that ends in `NO` keeps
/// what it listed; the refusal is returned beside it.
async fn candidates<C: ImapIo>(
    client: &mut C,
    set: crate::imap::SequenceSet<'_>,
    min_uid: u32,
    validity: u32,
) -> Result<(heapless::Vec<Listed, BATCH>, bool, Option<crate::Refusal>), Error<C::Error>> {
    use crate::imap::{BodyRequest, FetchItems, GenericEvent, Section};
    use crate::poll::Partial;
    let items = FetchItems {
        uid: true,
        flags: true,
        size: true,
        internal_date: true,
        body: Some(BodyRequest::peek(Section::HeaderFields("MESSAGE-ID"))),
        ..FetchItems::default()
    };
    // A little more than a batch: room for parts of messages a
    // server splits over responses before the lowest UIDs are picked.
    let mut parts: heapless::Vec<Partial, { BATCH + 8 }> = heapless::Vec::new();
    let mut more = false;
    let mut cur = Partial::default();
    let result = client
        .fetch(set, items, |e| match e {
            _ if cur.item(&e) => {}
            GenericEvent::FetchStart { seq } => cur = Partial::new(seq),
            GenericEvent::BodyChunk(b) => cur.message_id(b),
            GenericEvent::FetchEnd => {
                if let Some(p) = parts.iter_mut().find(|p| p.seq == cur.seq) {
                    p.merge(&cur);
                } else if let Err(p) = parts.push(cur) {
                    more = true;
                    // Keep the lowest UIDs whatever the order.
                    if let Some(max) = parts.iter_mut().max_by_key(|x| x.uid) {
                        if p.uid < max.uid {
                            *max = p;
                        }
                    }
                }
            }
            _ => {}
        })
        .await;
    let refusal = match result {
        Ok(()) => None,
        Err(Error::Refused(r)) => Some(r),
        Err(e) => return Err(e),
    };
    parts.sort_unstable_by_key(|p| p.uid);
    let mut out: heapless::Vec<Listed, BATCH> = heapless::Vec::new();
    for p in parts.iter().filter(|p| p.uid >= min_uid && p.uid != 0) {
        let c = Listed {
            id: p.uid,
            seq: p.seq,
            size: u64::from(p.size.unwrap_or(0)),
            key: p.key(validity),
            flagged_deleted: p.deleted,
        };
        if out.push(c).is_err() {
            more = true;
            break;
        }
    }
    Ok((out, more, refusal))
}

/// Runs of UIDs as IMAP ranges, and the groups of them that fit
/// one command each (`overhead` is the rest of the command).
fn run_sets(
    runs: &[(u32, u32)],
    tx_capacity: usize,
    overhead: usize,
) -> (
    heapless::Vec<crate::imap::SeqRange, BATCH>,
    heapless::Vec<core::ops::Range<u8>, BATCH>,
) {
    use crate::imap::SeqRange;
    let groups = crate::poll::batch::set_groups(runs, tx_capacity.saturating_sub(overhead));
    let ranges = runs
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                SeqRange::one(lo)
            } else {
                SeqRange::range(lo, hi)
            }
        })
        .collect();
    (ranges, groups)
}

/// Deletes (or moves) stored messages on the IMAP server, given as
/// runs of UIDs, in one pipelined write per command-buffer-full:
/// `UID STORE +FLAGS.SILENT (\Deleted)` and `UID EXPUNGE` (plain
/// EXPUNGE without UIDPLUS), or `UID MOVE` (MOVE falls back to
/// COPY + delete); `Keep` deletes too (older than N, quota).
/// Returns how many messages.
async fn delete_runs<C: ImapIo>(
    client: &mut C,
    runs: &[(u32, u32)],
    after: AfterStore<'_>,
) -> Result<u32, Error<C::Error>> {
    use crate::imap::SequenceSet;
    if let (AfterStore::MoveTo(folder), false) = (after, client.capabilities().move_) {
        // COPY + delete, each waited for (see `move_uids`).
        let (ranges, groups) = run_sets(runs, client.tx_capacity(), 32 + 2 * folder.len());
        for g in groups.iter() {
            let set = SequenceSet::List(
                ranges
                    .get(usize::from(g.start)..usize::from(g.end))
                    .unwrap_or(&[]),
            );
            client.move_uids(set, folder).await?;
        }
    } else {
        let mut tags = heapless::Vec::new();
        submit_deletions(client, runs, after, &mut tags).await?;
        for &tag in tags.iter() {
            client.complete(tag).await?;
        }
    }
    Ok(runs.iter().map(|&(lo, hi)| hi.saturating_sub(lo) + 1).sum())
}

/// Sends the deletion (or move, with the MOVE capability) of runs of
/// UIDs without waiting for the answers, in one write per
/// command-buffer-full: `UID STORE +FLAGS.SILENT (\Deleted)` and `UID
/// EXPUNGE` (plain EXPUNGE without UIDPLUS), or `UID MOVE`. Pushes the
/// commands' tags.
async fn submit_deletions<C: ImapIo>(
    client: &mut C,
    runs: &[(u32, u32)],
    after: AfterStore<'_>,
    tags: &mut heapless::Vec<u32, { crate::imap::MAX_IN_FLIGHT }>,
) -> Result<(), Error<C::Error>> {
    use crate::imap::{Command, SequenceSet, StoreOp};
    let overhead = match after {
        AfterStore::MoveTo(folder) => 32 + 2 * folder.len(),
        _ => 48,
    };
    let (ranges, groups) = run_sets(runs, client.tx_capacity(), overhead);
    for g in groups.iter() {
        let set = SequenceSet::List(
            ranges
                .get(usize::from(g.start)..usize::from(g.end))
                .unwrap_or(&[]),
        );
        if let AfterStore::MoveTo(mailbox) = after {
            client
                .submit_all(
                    &[Command::Move {
                        set,
                        uid: true,
                        mailbox,
                    }],
                    tags,
                )
                .await?;
            continue;
        }
        let flag = Command::Store {
            set,
            uid: true,
            op: StoreOp::Add,
            silent: true,
            flags: &["\\Deleted"],
        };
        let expunge = if client.capabilities().uidplus {
            Command::UidExpunge(set)
        } else {
            Command::Expunge
        };
        client.submit_all(&[flag, expunge], tags).await?;
    }
    Ok(())
}

/// `UID STORE set +FLAGS.SILENT (\Seen)` for runs of UIDs.
async fn flag_seen_runs<C: ImapIo>(
    client: &mut C,
    runs: &[(u32, u32)],
) -> Result<(), Error<C::Error>> {
    use crate::imap::{Command, SequenceSet, StoreOp};
    let (ranges, groups) = run_sets(runs, client.tx_capacity(), 48);
    for g in groups.iter() {
        let set = SequenceSet::List(
            ranges
                .get(usize::from(g.start)..usize::from(g.end))
                .unwrap_or(&[]),
        );
        let mut tags = heapless::Vec::new();
        let flag = Command::Store {
            set,
            uid: true,
            op: StoreOp::Add,
            silent: true,
            flags: &["\\Seen"],
        };
        client.submit_all(&[flag], &mut tags).await?;
        for &tag in tags.iter() {
            client.complete(tag).await?;
        }
    }
    Ok(())
}

/// Fetches the bodies a batch asks for in one pipelined request
/// (`UID FETCH set (UID BODY.PEEK[])`, and `BODY.PEEK[HEADER]` for
/// headers-only ones), streaming each literal into the store and
/// committing it as it ends, matched to its message by UID (or
/// sequence number when the UID comes after the body). Returns the
/// refusal if the server refused a fetch: the messages it did not
/// send stay open (the next poll asks again) instead of gone.
#[allow(clippy::too_many_arguments)]
async fn fetch_batch<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    batch: &mut Batch,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<crate::Refusal>, PollError<C::Error, S::Error>> {
    use crate::imap::{BodyRequest, Command, FetchItems, GenericEvent, Section, SequenceSet};
    // "A0001 UID FETCH  (UID BODY.PEEK[HEADER])\r\n"
    const OVERHEAD: usize = 48;
    let cap = client.tx_capacity();
    let runs = crate::poll::batch::runs;
    let (full, full_groups) = run_sets(&runs(batch.to_fetch(false)), cap, OVERHEAD);
    let (heads, head_groups) = run_sets(&runs(batch.to_fetch(true)), cap, OVERHEAD);
    fn request<'r>(ranges: &'r [crate::imap::SeqRange], section: Section<'r>) -> Command<'r> {
        let body = Some(BodyRequest::peek(section));
        Command::Fetch {
            set: SequenceSet::List(ranges),
            uid: true,
            items: FetchItems {
                uid: true,
                body,
                ..FetchItems::default()
            },
        }
    }
    let mut cmds: heapless::Vec<Command<'_>, { crate::imap::MAX_IN_FLIGHT }> = heapless::Vec::new();
    let parts = full_groups
        .iter()
        .map(|g| (&full, g, Section::Full))
        .chain(head_groups.iter().map(|g| (&heads, g, Section::Header)));
    for (ranges, g, section) in parts {
        if let Some(r) = ranges.get(usize::from(g.start)..usize::from(g.end)) {
            if cmds.push(request(r, section)).is_err() {
                return Err(PollError::Mail(Error::BufferTooSmall {
                    needed: OVERHEAD + 24,
                    available: cap,
                }));
            }
        }
    }
    if cmds.is_empty() {
        return Ok(None);
    }
    let mut tags = heapless::Vec::new();
    client.submit_all(&cmds, &mut tags).await?;
    let (mut seq, mut uid) = (0u32, None);
    let mut open: Option<(crate::poll::batch::Entry, u64)> = None;
    let mut receiving = false;
    let mut refused = None;
    while !tags.is_empty() {
        match client.next_event().await? {
            GenericEvent::FetchStart { seq: s } => {
                (seq, uid) = (s, None);
                receiving = false;
            }
            GenericEvent::Uid(u) => uid = Some(u),
            GenericEvent::BodyStart { .. } => {
                // One body per response: a second one is not ours.
                receiving = false;
                if open.is_none() {
                    if let Some(e) = batch.target(seq, uid) {
                        let size = if e.plan == Plan::Full { e.size } else { 0 };
                        store.begin(e.key, size).await?;
                        open = Some((e, 0));
                        receiving = true;
                    }
                }
            }
            GenericEvent::BodyEnd => receiving = false,
            GenericEvent::BodyChunk(chunk) if receiving => {
                if let Some((e, written)) = open.as_mut() {
                    if let Err(err) = store.write(chunk).await {
                        let _ = store.abort().await;
                        return Err(PollError::Store(err));
                    }
                    *written += chunk.len() as u64;
                    progress(Progress::Receiving {
                        id: e.id,
                        received: *written,
                        size: e.size,
                    });
                }
            }
            GenericEvent::FetchEnd => {
                if let Some((e, written)) = open.take() {
                    // The UID, when the response carried one, must
                    // be the message the body was started for.
                    if uid.is_none_or(|u| u == e.id) {
                        store.commit().await?;
                        let headers_only = e.plan == Plan::Headers;
                        batch.committed(e.id, written, plan);
                        state.insert_evicting(e.key, plan.policy.now, headers_only);
                        progress(Progress::Stored {
                            id: e.id,
                            bytes: written,
                            headers_only,
                        });
                    } else {
                        store.abort().await?;
                    }
                }
            }
            GenericEvent::Expunge(n) => batch.expunged(n, plan),
            GenericEvent::Done { tag, .. } => tags.retain(|&t| t != tag),
            GenericEvent::Refused { tag, refusal, .. } => {
                tags.retain(|&t| t != tag);
                refused = Some(refusal);
            }
            GenericEvent::Bye { refusal } => return Err(PollError::Mail(Error::Refused(refusal))),
            _ => {}
        }
    }
    if open.is_some() {
        store.abort().await?;
    }
    if refused.is_none() {
        batch.fetch_done(plan);
    }
    Ok(refused)
}

/// Case-insensitive: does `hay` contain `needle`?
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Deletions the stream sent while it ran: their runs (for the summary
/// and progress once the stream ends) and the tags still unanswered.
#[derive(Default)]
struct Flushed {
    runs: heapless::Vec<(u32, u32), { crate::poll::doomed::RUNS }>,
    tags: heapless::Vec<u32, { crate::imap::MAX_IN_FLIGHT }>,
}

impl Flushed {
    /// Room for a flush of `runs` runs: to remember them, and for two
    /// commands each beside the stream's own request.
    fn has_room(&self, runs: usize) -> bool {
        self.runs.len() + runs <= crate::poll::doomed::RUNS
            && self.tags.len() + 2 * runs < crate::imap::MAX_IN_FLIGHT
    }

    async fn send<C: ImapIo>(
        &mut self,
        client: &mut C,
        runs: heapless::Vec<(u32, u32), { crate::poll::doomed::RUNS }>,
        after: AfterStore<'_>,
    ) -> Result<(), Error<C::Error>> {
        submit_deletions(client, &runs, after, &mut self.tags).await?;
        for (lo, hi) in runs {
            match self.runs.last_mut() {
                Some((_, last)) if last.checked_add(1) == Some(lo) => *last = hi,
                _ => {
                    let _ = self.runs.push((lo, hi));
                }
            }
        }
        Ok(())
    }

    fn in_flight(&self) -> bool {
        !self.tags.is_empty()
    }

    fn waits_for(&self, tag: u32) -> bool {
        self.tags.contains(&tag)
    }

    fn done(&mut self, tag: u32) {
        self.tags.retain(|&t| t != tag);
    }
}

/// The streaming pass's request: `UID FETCH from:* (UID RFC822.SIZE
/// INTERNALDATE FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[])`.
fn stream_command(from: u32) -> crate::imap::Command<'static> {
    use crate::imap::{BodyRequest, Command, FetchItems, Section, SeqRange, SequenceSet};
    let items = FetchItems {
        uid: true,
        flags: true,
        size: true,
        internal_date: true,
        body: Some(BodyRequest::peek(Section::HeaderFields("MESSAGE-ID"))),
        // The second body item rides in the same command.
        second_body: Some(BodyRequest::peek(Section::Full)),
        ..FetchItems::default()
    };
    Command::Fetch {
        set: SequenceSet::Range(SeqRange::from(from)),
        uid: true,
        items,
    }
}

/// SELECT (or EXAMINE) `mailbox`, with the streaming pass's request from
/// UID `stream_from` pipelined behind it when given: it runs in the
/// mailbox the SELECT opens, so a poll costs no round trip for opening
/// it. Returns the mailbox state and the request's tag. If the SELECT
/// fails, the request's answer (a refusal) is read before returning.
async fn open_mailbox<C: ImapIo>(
    client: &mut C,
    (mailbox, read_only): (&str, bool),
    identity: Option<&[(&str, &str)]>,
    stream_from: Option<u32>,
) -> Result<(crate::imap::MailboxState, Option<u32>), Error<C::Error>> {
    use crate::imap::Command;
    let open = if read_only {
        Command::Examine(mailbox)
    } else {
        Command::Select {
            mailbox,
            condstore: false,
        }
    };
    // Some servers refuse SELECT until the client says who it is: ID goes
    // first, in the same write.
    let id = identity.map(|fields| Command::Id(Some(fields)));
    let fetch = stream_from.map(stream_command);
    let cmds: heapless::Vec<Command<'_>, 3> = id.into_iter().chain([open]).chain(fetch).collect();
    let mut tags = heapless::Vec::new();
    client.submit_all(&cmds, &mut tags).await?;
    let mut tags = tags.iter().copied();
    if identity.is_some() {
        // A refused ID is the server's business; a refused SELECT says why.
        drain(client, tags.next().unwrap_or(0)).await?;
    }
    let (open_tag, fetch_tag) = (tags.next().unwrap_or(0), tags.next());
    if let Err(e) = client.complete(open_tag).await {
        if let Some(tag) = fetch_tag {
            drain(client, tag).await?;
        }
        return Err(e);
    }
    Ok((client.mailbox(), fetch_tag))
}

/// Reads the answer of a command whose results are not wanted (a
/// pipelined request that turned out to be for another UID space, or
/// behind a failed SELECT).
async fn drain<C: ImapIo>(client: &mut C, tag: u32) -> Result<(), Error<C::Error>> {
    match client.complete(tag).await {
        Ok(()) | Err(Error::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The streaming pass: every new message in one request, `UID FETCH
/// last+1:* (UID RFC822.SIZE INTERNALDATE FLAGS
/// BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[])`. Each
/// response brings a message's key items and then its body, which
/// is decided on (known, flagged `\Deleted`, or stored and
/// committed) as it starts, so the poll costs one round trip
/// whatever the number of messages. Committed UIDs are kept as
/// runs; at the end (or when the runs are full) the state is saved
/// and then they are deleted in one pipelined write.
///
/// Used only without size limits or caps (it would otherwise move
/// bodies it then skips). A response whose body comes before its
/// UID, size or Message-ID (a server free to reorder items) is not
/// stored: the pass reports itself incomplete and the cursor stays
/// before it, so the batch pass picks it up. Returns whether every
/// message was settled.
#[allow(clippy::too_many_arguments)]
async fn stream_new<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    cursor: &mut ImapCursor,
    (validity, sent): (u32, Option<u32>),
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, PollError<C::Error, S::Error>> {
    use crate::imap::GenericEvent;
    use crate::poll::Partial;
    let policy = plan.policy;
    let from = cursor.last_uid.saturating_add(1);
    let fetch_tag = match sent {
        Some(tag) => tag,
        None => {
            let mut tags = heapless::Vec::new();
            client
                .submit_all(&[stream_command(from)], &mut tags)
                .await?;
            tags.first().copied().unwrap_or(0)
        }
    };
    // UIDs to delete (committed, or known and due), and committed
    // ones to flag \Seen (leave mode with set_seen), as runs.
    let mut doomed = Doomed::new();
    let mut to_flag: heapless::Vec<(u32, u32), BATCH> = heapless::Vec::new();
    // Deletions sent while the stream runs (when they need no answer
    // before the next command: UIDPLUS, or MOVE), and their tags.
    let mut flushed = Flushed::default();
    let can_flush = match policy.after_store {
        AfterStore::MoveTo(_) => client.capabilities().move_,
        _ => client.capabilities().uidplus,
    };
    let mut cur = Partial::default();
    let (mut in_header, mut open, mut written, mut body_seen) = (false, false, 0u64, false);
    let mut settled_to = cursor.last_uid;
    let mut unsettled = false;
    let mut fetching = true;
    while fetching || flushed.in_flight() {
        match client.next_event().await? {
            ev if cur.item(&ev) => {}
            GenericEvent::FetchStart { seq } => {
                cur = Partial::new(seq);
                (in_header, open, written, body_seen) = (false, false, 0, false);
            }
            GenericEvent::BodyStart { section, .. } => {
                if contains_ci(section, b"HEADER.FIELDS") {
                    in_header = true;
                    continue;
                }
                in_header = false;
                if body_seen || cur.uid < from || cur.size.is_none() || unsettled {
                    // Not ours, a second body, or its key comes later.
                    if cur.uid == 0 || cur.size.is_none() {
                        unsettled = true;
                    }
                    continue;
                }
                body_seen = true;
                let key = cur.key(validity);
                let size = u64::from(cur.size.unwrap_or(0));
                plan.summary.new += 1;
                let known = match state.find(key) {
                    Some(seen) => Some(seen),
                    None if store.contains(key).await? => Some(Seen {
                        key,
                        stored_at: policy.now,
                        headers_only: false,
                    }),
                    None => None,
                };
                if let Some(seen) = known {
                    plan.summary.skipped += 1;
                    state.insert_evicting(key, seen.stored_at, seen.headers_only);
                    progress(Progress::Skipped { id: cur.uid, size });
                    if plan.delete_seen(&seen) && !doomed.add(cur.uid) {
                        unsettled = true;
                        continue;
                    }
                    settled_to = settled_to.max(cur.uid);
                } else if cur.deleted && policy.after_store == AfterStore::Keep {
                    plan.summary.skipped += 1;
                    progress(Progress::Skipped { id: cur.uid, size });
                    settled_to = settled_to.max(cur.uid);
                } else {
                    store.begin(key, size).await?;
                    open = true;
                }
            }
            GenericEvent::BodyChunk(chunk) => {
                if in_header {
                    cur.message_id(chunk);
                } else if open {
                    if let Err(err) = store.write(chunk).await {
                        let _ = store.abort().await;
                        return Err(PollError::Store(err));
                    }
                    written += chunk.len() as u64;
                    progress(Progress::Receiving {
                        id: cur.uid,
                        received: written,
                        size: u64::from(cur.size.unwrap_or(0)),
                    });
                }
            }
            GenericEvent::BodyEnd => in_header = false,
            GenericEvent::FetchEnd => {
                if open {
                    open = false;
                    // Room for its deletion (or flag) first: a
                    // message that could not be deleted later is
                    // not stored now.
                    let deletes = plan.delete_after_store(Fetch::Full);
                    let room = if deletes {
                        doomed.add(cur.uid)
                    } else {
                        !policy.set_seen || crate::poll::batch::push_run(&mut to_flag, cur.uid)
                    };
                    if !room {
                        store.abort().await?;
                        unsettled = true;
                        continue;
                    }
                    store.commit().await?;
                    plan.stored(written);
                    state.insert_evicting(cur.key(validity), policy.now, false);
                    progress(Progress::Stored {
                        id: cur.uid,
                        bytes: written,
                        headers_only: false,
                    });
                    settled_to = settled_to.max(cur.uid);
                } else if cur.uid >= from && !body_seen {
                    // Key items without a body: not settled here.
                    unsettled = true;
                }
                if can_flush && doomed.due() && flushed.has_room(doomed.runs()) {
                    // Saved first: only then may they go.
                    store.save_state(state).await?;
                    doomed.saved();
                    flushed
                        .send(client, doomed.take(), policy.after_store)
                        .await?;
                }
            }
            GenericEvent::Done { tag, .. } if tag == fetch_tag => fetching = false,
            GenericEvent::Done { tag, .. } => flushed.done(tag),
            GenericEvent::Refused { tag, refusal, .. } if flushed.waits_for(tag) => {
                return Err(PollError::Mail(Error::Refused(refusal)));
            }
            GenericEvent::Refused { tag, refusal, .. } if tag == fetch_tag => {
                plan.summary.listing_refused = Some(refusal);
                unsettled = true;
                fetching = false;
            }
            GenericEvent::Bye { refusal } => return Err(PollError::Mail(Error::Refused(refusal))),
            _ => {}
        }
    }
    if open {
        store.abort().await?;
    }
    // The cursor passes only what was settled, and not past a
    // message left unsettled (UIDs come in ascending order).
    if !unsettled {
        cursor.last_uid = settled_to;
    }
    state.set_cursor(*cursor);
    store.save_state(state).await?;
    doomed.saved();
    // After the save: the deletions (and flags) of what is stored.
    let rest = doomed.take();
    plan.summary.deleted += delete_runs(client, &rest, policy.after_store).await?;
    plan.summary.deleted += flushed
        .runs
        .iter()
        .map(|&(lo, hi)| hi - lo + 1)
        .sum::<u32>();
    for &(lo, hi) in flushed.runs.iter().chain(rest.iter()) {
        (lo..=hi).for_each(|id| progress(Progress::Deleted { id }));
    }
    flag_seen_runs(client, &to_flag).await?;
    Ok(!unsettled)
}

/// Polls one IMAP mailbox: see [the module docs](crate::poll).
///
/// `client` is logged in; the mailbox is SELECTed (EXAMINEd when
/// the policy changes nothing on the server) and stays selected.
/// Per batch of up to [`BATCH`] new messages: one listing, one
/// pipelined body fetch (each body committed as it ends), one save
/// of the sync state, one pipelined deletion. Without UIDPLUS, a
/// delete uses plain EXPUNGE, which also removes messages another
/// client marked `\Deleted`.
pub(crate) async fn run<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    mailbox: &str,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, PollError<C::Error, S::Error>> {
    let mut plan = Planner::new(*policy);
    if !store.load_state(state).await? {
        state.clear();
    }
    let read_only = policy.after_store == AfterStore::Keep
        && policy.delete_older_than.is_none()
        && policy.quota_guard.is_none()
        && !policy.set_seen;
    let mbox = key_of(&[mailbox.as_bytes()]);
    let limits =
        policy.max_size.is_some() || policy.max_messages.is_some() || policy.max_bytes.is_some();
    // The stream's request goes out with the SELECT, from the saved cursor
    // (it holds unless UIDVALIDITY changed, which the SELECT tells).
    let guess = state
        .cursor()
        .filter(|c| c.mailbox == mbox)
        .map_or(0, |c| c.last_uid);
    let guess_streams = !limits && (guess > 0 || state.seen().is_empty());
    let stream_from = guess_streams.then_some(guess.saturating_add(1));
    let id_fields = policy
        .identity
        .map(|(name, version)| [("name", name), ("version", version)]);
    let identity = id_fields
        .as_ref()
        .filter(|_| client.capabilities().id)
        .map(|f| f.as_slice());
    let (ms, early) = open_mailbox(client, (mailbox, read_only), identity, stream_from).await?;
    let Some(validity) = ms.uid_validity else {
        if let Some(tag) = early {
            drain(client, tag).await?;
        }
        return Err(PollError::NoUidValidity);
    };
    if state
        .cursor()
        .is_some_and(|c| c.mailbox != mbox || c.uid_validity != validity)
    {
        // Skipped UIDs of another UID space mean nothing here.
        state.clear_skipped();
    }
    let mut cursor = match state.cursor() {
        Some(c) if c.mailbox == mbox && c.uid_validity == validity => c,
        // First poll, another mailbox, or a new UIDVALIDITY:
        // rescan; keys in the seen set or the store are skipped.
        _ => ImapCursor {
            mailbox: mbox,
            uid_validity: validity,
            last_uid: 0,
        },
    };
    // Without size limits or caps, and unless this is a rescan of a
    // mailbox already polled (a new UIDVALIDITY: its bodies would
    // mostly be known), every new message comes in one request.
    let streamable = !limits && (cursor.last_uid > 0 || state.seen().is_empty());
    // What this poll handles starts here; below it, only what earlier
    // polls left (see `delete_due`).
    let first_new = cursor.last_uid.saturating_add(1);
    let mut early = early;
    if let Some(tag) = early.filter(|_| !streamable || Some(first_new) != stream_from) {
        // UIDVALIDITY changed: the request was for another UID space.
        drain(client, tag).await?;
        early = None;
    }
    let mut scan = true;
    if streamable {
        let complete = stream_new(
            client,
            store,
            state,
            &mut cursor,
            (validity, early),
            &mut plan,
            progress,
        )
        .await?;
        scan = !complete && plan.summary.listing_refused.is_none();
    }
    if !state.skipped().is_empty() {
        retry_skipped(client, store, state, validity, &mut plan, progress).await?;
    }
    if scan {
        scan_batches(
            client,
            store,
            state,
            &mut cursor,
            (validity, ms.uid_next),
            &mut plan,
            progress,
        )
        .await?;
    }
    delete_due(
        client,
        mailbox,
        store,
        state,
        (cursor, first_new),
        validity,
        &mut plan,
        progress,
    )
    .await?;
    Ok(plan.summary)
}

/// The batch pass (with size limits or caps, or for what the stream
/// left): new messages are looked for in UID windows below UIDNEXT, so
/// each batch costs what it fetches (UIDs only grow: an empty window
/// stays empty; its size doubles to cross sparse ranges). Per batch: one
/// listing, one pipelined body fetch, one save of the sync state, one
/// pipelined deletion.
#[allow(clippy::too_many_arguments)]
async fn scan_batches<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    cursor: &mut ImapCursor,
    (validity, uid_next): (u32, Option<u32>),
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    use crate::imap::{SeqRange, SequenceSet};
    let policy = plan.policy;
    // Otherwise (or for what the stream left), batches: new
    // messages are looked for in UID windows below UIDNEXT, so each
    // batch costs what it fetches (UIDs only grow: an empty window
    // stays empty; its size doubles to cross sparse ranges).
    let mut window = WINDOW;
    let mut scan_from = cursor.last_uid.saturating_add(1);
    loop {
        let from = scan_from;
        let window_end = match uid_next {
            Some(next) if from.saturating_add(window) < next => Some(from + (window - 1)),
            _ => None,
        };
        let set = match window_end {
            Some(end) => SequenceSet::Range(SeqRange::range(from, end)),
            None => SequenceSet::Range(SeqRange::from(from)),
        };
        let (listed, more, refused) = candidates(client, set, from, validity).await?;
        if refused.is_some() {
            warn!(
                "poll: the server refused the listing part way; the rest waits for the next poll"
            );
            plan.summary.listing_refused = refused;
        }
        if listed.is_empty() {
            match window_end {
                Some(end) if refused.is_none() => {
                    scan_from = end.saturating_add(1);
                    window = window.saturating_mul(2);
                    continue;
                }
                _ => break,
            }
        }
        window = WINDOW;
        let mut batch = Batch::new();
        for m in listed.iter() {
            let known = match state.find(m.key) {
                Some(seen) => Some(seen),
                None if store.contains(m.key).await? => Some(Seen {
                    key: m.key,
                    stored_at: policy.now,
                    headers_only: false,
                }),
                None => None,
            };
            match batch.add(plan, *m, known) {
                Some(Plan::Known { .. }) => {
                    let seen = known.unwrap_or(Seen {
                        key: m.key,
                        stored_at: policy.now,
                        headers_only: false,
                    });
                    state.insert_evicting(m.key, seen.stored_at, seen.headers_only);
                    progress(Progress::Skipped {
                        id: m.id,
                        size: m.size,
                    });
                }
                Some(Plan::Skip | Plan::Later) => progress(Progress::Skipped {
                    id: m.id,
                    size: m.size,
                }),
                _ => {}
            }
        }
        let fetch_refused = fetch_batch(client, store, state, &mut batch, plan, progress).await?;
        if let Some(last) = batch.cursor() {
            cursor.last_uid = cursor.last_uid.max(last);
        }
        state.set_cursor(*cursor);
        // The cursor passes a message skipped for its size: it is
        // remembered, so a poll whose policy admits it fetches it.
        for e in batch.entries() {
            if e.plan == Plan::Skip && e.id <= cursor.last_uid {
                state.skip(e.id);
            }
        }
        // Once per batch, after its commits and before its deletions.
        store.save_state(state).await?;
        let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for id in batch.deletions(plan) {
            let _ = dels.push(id);
        }
        let how = policy.after_store;
        plan.summary.deleted +=
            delete_runs(client, &crate::poll::batch::runs(dels.iter().copied()), how).await?;
        for &id in dels.iter() {
            progress(Progress::Deleted { id });
        }
        if policy.set_seen && how == AfterStore::Keep {
            flag_seen_runs(client, &crate::poll::batch::runs(batch.committed_ids())).await?;
        }
        if fetch_refused.is_some() || batch.stopped() || refused.is_some() {
            plan.summary.listing_refused = plan.summary.listing_refused.or(fetch_refused);
            break;
        }
        scan_from = match (more, window_end) {
            // The window held more than a batch: go on after the
            // last one handled.
            (true, _) => cursor.last_uid.saturating_add(1),
            (false, Some(end)) => end.saturating_add(1),
            (false, None) => break,
        };
    }
    Ok(())
}

/// Messages earlier polls skipped for their size ([`SyncState::skipped`],
/// below the cursor): listed again, a batch at a time, and fetched when
/// this poll's policy admits them (then deleted, in delete mode, after
/// the save like any other). What is still skipped stays remembered;
/// what is stored, known or gone is forgotten.
async fn retry_skipped<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    store: &mut S,
    state: &mut SyncState<N>,
    validity: u32,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    use crate::imap::{SeqRange, SequenceSet};
    let policy = plan.policy;
    let runs: heapless::Vec<(u32, u32), { crate::poll::state::SKIPPED_RUNS }> =
        state.skipped().iter().copied().collect();
    state.clear_skipped();
    let mut from = 1u32;
    loop {
        // The runs from `from` on.
        let ranges: heapless::Vec<SeqRange, { crate::poll::state::SKIPPED_RUNS }> = runs
            .iter()
            .filter(|&&(_, hi)| hi >= from)
            .map(|&(lo, hi)| SeqRange::range(lo.max(from), hi))
            .collect();
        if ranges.is_empty() {
            return Ok(());
        }
        let (listed, more, refused) =
            candidates(client, SequenceSet::List(&ranges), from, validity).await?;
        let mut batch = Batch::new();
        for m in listed.iter() {
            let known = match state.find(m.key) {
                Some(seen) => Some(seen),
                None if store.contains(m.key).await? => Some(Seen {
                    key: m.key,
                    stored_at: policy.now,
                    headers_only: false,
                }),
                None => None,
            };
            // Only what is fetched now counts as new: a message still
            // skipped (or known) was counted by the poll that skipped it,
            // and a watch must not take it for news at every poll.
            if let Some(Plan::Known { .. } | Plan::Skip | Plan::Later) = batch.add(plan, *m, known)
            {
                plan.summary.new = plan.summary.new.saturating_sub(1);
                plan.summary.skipped = plan.summary.skipped.saturating_sub(1);
            }
        }
        let fetch_refused = fetch_batch(client, store, state, &mut batch, plan, progress).await?;
        use crate::poll::batch::Outcome;
        for e in batch.entries() {
            // Still skipped, left by a cap, or asked for and refused.
            let keep = matches!(
                (e.plan, e.outcome),
                (Plan::Skip | Plan::Later, _) | (Plan::Full | Plan::Headers, Outcome::Open)
            );
            if keep {
                state.skip(e.id);
            }
        }
        let cut_short = batch.stopped() || refused.is_some() || fetch_refused.is_some();
        let next = listed.last().map_or(u32::MAX, |m| m.id.saturating_add(1));
        if cut_short {
            // What was not listed yet stays remembered.
            for &(lo, hi) in runs.iter().filter(|&&(_, hi)| hi >= next) {
                state.skip_run(lo.max(next), hi);
            }
        }
        let stop = cut_short || !more;
        // Once per batch, after its commits and before its deletions.
        store.save_state(state).await?;
        let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for id in batch.deletions(plan) {
            let _ = dels.push(id);
        }
        plan.summary.deleted += delete_runs(
            client,
            &crate::poll::batch::runs(dels.iter().copied()),
            policy.after_store,
        )
        .await?;
        for &id in dels.iter() {
            progress(Progress::Deleted { id });
        }
        if stop || next == u32::MAX {
            return Ok(());
        }
        from = next;
    }
}

/// Messages stored by earlier polls that are due now (delete mode
/// after a cut, older than N, quota): walks the handled UIDs a
/// window at a time and deletes the due ones of each window in one
/// pipelined write.
#[allow(clippy::too_many_arguments)]
async fn delete_due<C: ImapIo, S: StoreIo, const N: usize>(
    client: &mut C,
    mailbox: &str,
    store: &mut S,
    state: &mut SyncState<N>,
    (cursor, first_new): (ImapCursor, u32),
    validity: u32,
    plan: &mut Planner<'_>,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), PollError<C::Error, S::Error>> {
    use crate::imap::{SeqRange, SequenceSet};
    let policy = plan.policy;
    let quota_over = match policy.quota_guard {
        Some(limit) if client.capabilities().quota => {
            let q = client.get_quota_root(mailbox).await?;
            q.values
                .storage
                .map(|(used, _)| used.saturating_mul(1024))
                .filter(|&u| u > limit)
                .map(|u| (u, limit))
        }
        _ => None,
    };
    let mut used = quota_over.map(|(u, _)| u);
    let older = policy.delete_older_than.is_some() && policy.now != 0;
    // In delete/move mode this also finishes deletions a cut
    // interrupted after the commit (the cursor is past them).
    let deleting = policy.after_store != AfterStore::Keep;
    // Delete mode alone needs only what earlier polls left: this poll
    // deleted what it handled itself.
    let last = if older || used.is_some() {
        cursor.last_uid
    } else {
        cursor.last_uid.min(first_new.saturating_sub(1))
    };
    if !(older || used.is_some() || deleting) || last == 0 {
        return Ok(());
    }
    let how = if deleting {
        policy.after_store
    } else {
        AfterStore::Delete
    };
    // In delete and move mode next to nothing stays below the
    // cursor: list it whole (one round trip). Otherwise stored
    // messages stay: windows keep each listing's traffic bounded.
    let window = if deleting { u32::MAX } else { WINDOW };
    let mut from = 1u32;
    while from <= last {
        let end = from.saturating_add(window - 1).min(last);
        let set = SequenceSet::Range(SeqRange::range(from, end));
        let (listed, more, _) = candidates(client, set, from, validity).await?;
        let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
        for m in listed.iter() {
            let seen = match state.find(m.key) {
                Some(seen) => seen,
                None if store.contains(m.key).await? => Seen {
                    key: m.key,
                    stored_at: policy.now,
                    headers_only: false,
                },
                None => continue,
            };
            if seen.headers_only {
                continue;
            }
            let over = match (used, quota_over) {
                (Some(u), Some((_, limit))) => u > limit,
                _ => false,
            };
            if plan.delete_seen(&seen) || over {
                let _ = dels.push(m.id);
                if let Some(u) = used.as_mut() {
                    *u = u.saturating_sub(m.size);
                }
            }
        }
        plan.summary.deleted +=
            delete_runs(client, &crate::poll::batch::runs(dels.iter().copied()), how).await?;
        for &id in dels.iter() {
            progress(Progress::Deleted { id });
        }
        from = match listed.last() {
            Some(last) if more => last.id.saturating_add(1),
            _ if end < last => end + 1,
            _ => break,
        };
        if from == 0 {
            break;
        }
    }
    Ok(())
}
