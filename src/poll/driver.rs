//! The poll, written once and expanded twice (blocking in `blocking.rs`,
//! async in `asynch.rs`), like the protocol clients. The expansion site
//! imports `Pop3Client`, `ImapClient`, `Store` (the store trait), `Rd`
//! and `Wr` (the I/O traits); the only other difference is `.await`.
//! Every decision is the [`super::Planner`]'s.

macro_rules! poll_driver {
    (
        async: {$($async:tt)*},
        await: {$($await:tt)*}
    ) => {
        #[allow(unused_imports)]
        use crate::error::Error;
        #[allow(unused_imports)]
        use crate::poll::{
            AfterStore, Fetch, HeaderKey, ImapCursor, Planner, Policy, PollError, Progress, Seen,
            Summary, SyncState, BATCH,
        };
        #[allow(unused_imports)]
        use crate::poll::batch::{Batch, Listed, Plan};
        #[allow(unused_imports)]
        use crate::store::{key_of, Fnv, MessageKey, StoreError};

        /// Forwards a message body into the store, remembering the
        /// store's own error.
        #[cfg(feature = "pop3")]
        struct Sink<'s, 'p, S: Store> {
            store: &'s mut S,
            error: Option<StoreError<S::Error>>,
            written: u64,
            id: u32,
            size: u64,
            progress: &'p mut dyn FnMut(Progress),
        }

        #[cfg(feature = "pop3")]
        impl<S: Store> embedded_io::ErrorType for Sink<'_, '_, S> {
            type Error = embedded_io::ErrorKind;
        }

        #[cfg(feature = "pop3")]
        impl<S: Store> Wr for Sink<'_, '_, S> {
            $($async)* fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
                match self.store.write(buf)$($await)* {
                    Ok(()) => {
                        self.written += buf.len() as u64;
                        (self.progress)(Progress::Receiving {
                            id: self.id,
                            received: self.written,
                            size: self.size,
                        });
                        Ok(buf.len())
                    }
                    Err(e) => {
                        self.error = Some(e);
                        Err(embedded_io::ErrorKind::Other)
                    }
                }
            }

            $($async)* fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
                Ok(())
            }
        }

        /// Turns a client error during a body fetch into the store's
        /// error when the store caused it.
        #[cfg(feature = "pop3")]
        fn body_error<T, S>(e: Error<T>, store_error: Option<StoreError<S>>) -> PollError<T, S> {
            match (e, store_error) {
                (Error::Sink(_), Some(se)) => PollError::Store(se),
                (e, _) => PollError::Mail(e),
            }
        }

        /// Feeds a message header into a [`HeaderKey`].
        #[cfg(feature = "pop3")]
        struct KeySink(HeaderKey);

        #[cfg(feature = "pop3")]
        impl embedded_io::ErrorType for KeySink {
            type Error = embedded_io::ErrorKind;
        }

        #[cfg(feature = "pop3")]
        impl Wr for KeySink {
            $($async)* fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
                self.0.feed(buf);
                Ok(buf.len())
            }

            $($async)* fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
                Ok(())
            }
        }

        /// POP3 without UIDL, delete mode only: every message present is
        /// new (the stored ones were deleted), keyed by [`HeaderKey`] over
        /// its header (`TOP n 0`, or `RETR` when TOP is refused), so one
        /// committed before a cut that lost the QUIT is found in the store
        /// and only deleted. RETR → commit → DELE; the caller QUITs.
        #[cfg(feature = "pop3")]
        $($async)* fn pop3_no_uidl<T: Rd + Wr, S: Store>(
            client: &mut Pop3Client<'_, T>,
            store: &mut S,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<(), PollError<T::Error, S::Error>> {
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
                    })$($await)*?;
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
                    let mut hk = KeySink(HeaderKey::new());
                    let has_top = match client.top(msg, 0, &mut hk)$($await)* {
                        Ok(_) => true,
                        Err(Error::Refused(_)) => {
                            hk = KeySink(HeaderKey::new());
                            client.retr(msg, &mut hk)$($await)*?;
                            false
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let key = hk.0.key(size, !full);
                    if (!full && !has_top) || store.contains(key)$($await)*? {
                        // Stored before a cut lost the QUIT (deleted now),
                        // or headers-only without TOP (left alone).
                        plan.summary.skipped += 1;
                        progress(Progress::Skipped { id: msg, size });
                        if plan.delete_after_store(how) {
                            client.dele(msg)$($await)*?;
                            plan.summary.deleted += 1;
                            progress(Progress::Deleted { id: msg });
                        }
                        continue;
                    }
                    store.begin(key, if full { size } else { 0 })$($await)*?;
                    let mut sink = Sink { store: &mut *store, error: None, written: 0, id: msg, size, progress: &mut *progress };
                    let r = if full {
                        client.retr(msg, &mut sink)$($await)*
                    } else {
                        client.top(msg, 0, &mut sink)$($await)*
                    };
                    let (written, serr) = (sink.written, sink.error.take());
                    if let Err(e) = r {
                        let _ = store.abort()$($await)*;
                        return Err(body_error(e, serr));
                    }
                    store.commit()$($await)*?;
                    plan.stored(written);
                    progress(Progress::Stored { id: msg, bytes: written, headers_only: !full });
                    if plan.delete_after_store(how) {
                        client.dele(msg)$($await)*?;
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
        #[cfg(feature = "pop3")]
        $($async)* fn pop3_fetch_batch<T: Rd + Wr, S: Store, const N: usize>(
            client: &mut Pop3Client<'_, T>,
            store: &mut S,
            state: &mut SyncState<N>,
            batch: &mut Batch,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<(), PollError<T::Error, S::Error>> {
            use crate::pop3::{Command, MAX_IN_FLIGHT};
            let mut todo: heapless::Vec<crate::poll::batch::Entry, BATCH> = heapless::Vec::new();
            for e in batch.entries().iter().filter(|e| matches!(e.plan, Plan::Full | Plan::Headers)) {
                let _ = todo.push(*e);
            }
            // With PIPELINING the whole batch goes out at once (BATCH ≤
            // MAX_IN_FLIGHT), so a batch costs one round trip.
            let window = if client.caps().pipelining { MAX_IN_FLIGHT } else { 1 };
            let mut sent = 0usize;
            for (done, e) in todo.iter().enumerate() {
                // Keep the pipe full: top up once half the window arrived.
                let in_flight = sent - done;
                if sent < todo.len() && in_flight <= window / 2 {
                    let room = (window - in_flight).min(todo.len() - sent);
                    let mut cmds: heapless::Vec<Command<'_>, MAX_IN_FLIGHT> = heapless::Vec::new();
                    for e in todo.iter().skip(sent).take(room) {
                        let _ = cmds.push(if e.plan == Plan::Full { Command::Retr(e.id) } else { Command::Top { msg: e.id, lines: 0 } });
                    }
                    sent += client.submit_all(&cmds)$($await)*?;
                }
                let full = e.plan == Plan::Full;
                store.begin(e.key, if full { e.size } else { 0 })$($await)*?;
                let mut sink = Sink { store: &mut *store, error: None, written: 0, id: e.id, size: e.size, progress: &mut *progress };
                let r = client.read_body(&mut sink)$($await)*;
                let (written, serr) = (sink.written, sink.error.take());
                if let Err(err) = r {
                    let _ = store.abort()$($await)*;
                    return Err(body_error(err, serr));
                }
                store.commit()$($await)*?;
                batch.committed(e.id, written, plan);
                progress(Progress::Stored { id: e.id, bytes: written, headers_only: !full });
                if state.insert(e.key, plan.policy.now, !full).is_err() {
                    return Err(PollError::SeenSetFull { capacity: N });
                }
            }
            batch.fetch_done(plan);
            Ok(())
        }

        /// Swallows a body the streaming pass did not need (a message
        /// stored before a cut, fetched again).
        #[cfg(feature = "pop3")]
        struct Discard;

        #[cfg(feature = "pop3")]
        impl embedded_io::ErrorType for Discard {
            type Error = embedded_io::ErrorKind;
        }

        #[cfg(feature = "pop3")]
        impl Wr for Discard {
            $($async)* fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
                Ok(buf.len())
            }

            $($async)* fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
                Ok(())
            }
        }

        /// What a pipelined POP3 command in flight was.
        #[cfg(feature = "pop3")]
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Step {
            Uidl = 0,
            Retr = 1,
            Dele = 2,
        }

        /// The POP3 streaming pass (PIPELINING and UIDL offered, no limits
        /// or caps, and delete mode or an empty seen set): for every
        /// message `n` of the maildrop, `UIDL n` and `RETR n` go out back
        /// to back in a window of [`crate::pop3::MAX_IN_FLIGHT`] commands
        /// topped up as answers arrive, so nothing waits for a listing.
        /// Each body is committed as it ends; every [`BATCH`] deletions the
        /// state is saved and their DELEs join the window. A message the
        /// seen set or the store already holds (stored before a cut) is
        /// read and dropped, then deleted if due.
        #[cfg(feature = "pop3")]
        $($async)* fn pop3_stream<T: Rd + Wr, S: Store, const N: usize>(
            client: &mut Pop3Client<'_, T>,
            store: &mut S,
            state: &mut SyncState<N>,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<(), PollError<T::Error, S::Error>> {
            use crate::pop3::{Command, MAX_IN_FLIGHT};
            // Message numbers share a word with the step (30 bits: a
            // billion messages).
            let count = client.stat()$($await)*?.count.min((1 << 30) - 1);
            let now = plan.policy.now;
            state.begin_listing();
            // What is in flight, in order: a message number with its step
            // in the top two bits (4 bytes an entry).
            let mut queue: heapless::Deque<u32, MAX_IN_FLIGHT> = heapless::Deque::new();
            const STEP_SHIFT: u32 = 30;
            let pack = |step: Step, msg: u32| (step as u32) << STEP_SHIFT | (msg & ((1 << STEP_SHIFT) - 1));
            let mut next = 1u32;
            // To delete once the state is saved, and saved ones whose DELE
            // is not sent yet.
            let mut unsaved: heapless::Vec<u32, { 2 * BATCH }> = heapless::Vec::new();
            let mut saved: heapless::Vec<u32, { 2 * BATCH }> = heapless::Vec::new();
            let mut current: Option<(MessageKey, Option<Seen>, bool)> = None;
            loop {
                let asked_all = next > count && queue.iter().all(|&e| e >> STEP_SHIFT == Step::Dele as u32);
                if saved.is_empty() && (unsaved.len() >= BATCH || (asked_all && !unsaved.is_empty())) {
                    store.save_state(state)$($await)*?;
                    core::mem::swap(&mut saved, &mut unsaved);
                }
                if queue.len() <= MAX_IN_FLIGHT / 2 {
                    // DELEs first, then `UIDL n` + `RETR n` pairs, made on
                    // the fly and coalesced into as few writes as fit.
                    let room = MAX_IN_FLIGHT - queue.len();
                    let dels = saved.len().min(room);
                    let left = count.saturating_sub(next.saturating_sub(1)) as usize;
                    let pairs = ((room - dels) / 2).min(left) as u32;
                    let first = next;
                    let cmds = saved
                        .iter()
                        .take(dels)
                        .map(|&m| Command::Dele(m))
                        .chain((first..first + pairs).flat_map(|n| [Command::Uidl(Some(n)), Command::Retr(n)]));
                    let sent = client.submit_iter(cmds)$($await)*?;
                    for &m in saved.iter().take(dels.min(sent)) {
                        let _ = queue.push_back(pack(Step::Dele, m));
                    }
                    let sent_pairs = (sent.saturating_sub(dels) / 2) as u32;
                    for n in first..first + sent_pairs {
                        let _ = queue.push_back(pack(Step::Uidl, n));
                        let _ = queue.push_back(pack(Step::Retr, n));
                    }
                    next = first + sent_pairs;
                    let done = dels.min(sent);
                    saved.rotate_left(done);
                    saved.truncate(saved.len() - done);
                }
                let Some(entry) = queue.pop_front() else { break };
                let msg = entry & ((1 << STEP_SHIFT) - 1);
                match entry >> STEP_SHIFT {
                    s if s == Step::Uidl as u32 => {
                        let id = client.read_unique_id()$($await)*?;
                        let key = key_of(&[id.as_slice()]);
                        current = Some(match state.mark(key) {
                            Some(seen) => (key, Some(seen), false),
                            // Committed before a cut, seen state not saved.
                            None if store.contains(key)$($await)*? => (key, Some(Seen { key, stored_at: now, headers_only: false }), true),
                            None => (key, None, true),
                        });
                    }
                    s if s == Step::Retr as u32 => {
                        let Some((key, known, new)) = current.take() else {
                            return Err(PollError::Mail(Error::Broken));
                        };
                        if new {
                            plan.summary.new += 1;
                        }
                        let due = match known {
                            Some(seen) => {
                                client.read_body(&mut Discard)$($await)*?;
                                if new {
                                    plan.summary.skipped += 1;
                                    progress(Progress::Skipped { id: msg, size: 0 });
                                }
                                if state.insert(key, seen.stored_at, seen.headers_only).is_err() {
                                    return Err(PollError::SeenSetFull { capacity: N });
                                }
                                plan.delete_seen(&seen)
                            }
                            None => {
                                store.begin(key, 0)$($await)*?;
                                let mut sink = Sink { store: &mut *store, error: None, written: 0, id: msg, size: 0, progress: &mut *progress };
                                let r = client.read_body(&mut sink)$($await)*;
                                let (written, serr) = (sink.written, sink.error.take());
                                if let Err(err) = r {
                                    let _ = store.abort()$($await)*;
                                    return Err(body_error(err, serr));
                                }
                                store.commit()$($await)*?;
                                plan.stored(written);
                                progress(Progress::Stored { id: msg, bytes: written, headers_only: false });
                                if state.insert(key, now, false).is_err() {
                                    return Err(PollError::SeenSetFull { capacity: N });
                                }
                                plan.delete_after_store(Fetch::Full)
                            }
                        };
                        if due && unsaved.push(msg).is_err() {
                            return Err(PollError::Mail(Error::Broken));
                        }
                    }
                    _ => {
                        client.read_status()$($await)*?;
                        plan.summary.deleted += 1;
                        progress(Progress::Deleted { id: msg });
                    }
                }
            }
            // Every message was listed (UIDL n): entries of messages gone
            // from the server are dropped.
            state.prune_unmarked();
            store.save_state(state)$($await)*?;
            Ok(())
        }

        /// Polls a POP3 maildrop: see [the module docs](crate::poll).
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
        #[cfg(feature = "pop3")]
        pub $($async)* fn pop3<T, S, const N: usize>(
            mut client: Pop3Client<'_, T>,
            store: &mut S,
            state: &mut SyncState<N>,
            policy: &Policy<'_>,
            mut progress: impl FnMut(Progress),
        ) -> Result<(Summary, T), PollError<T::Error, S::Error>>
        where
            T: Rd + Wr,
            S: Store,
        {
            let progress: &mut dyn FnMut(Progress) = &mut progress;
            let mut plan = Planner::new(*policy);
            if !store.load_state(state)$($await)*? {
                state.clear();
            }
            let mut usage = match policy.quota_guard {
                Some(_) => Some(client.stat()$($await)*?.size),
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
                pop3_stream(&mut client, store, state, &mut plan, progress)$($await)*?;
                let transport = client.quit()$($await)*?;
                return Ok((plan.summary, transport));
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
                    })$($await)*;
                match listed {
                    Ok(()) => {}
                    Err(Error::Refused(_)) if first && policy.after_store == AfterStore::Delete => {
                        pop3_no_uidl(&mut client, store, &mut plan, progress)$($await)*?;
                        // Commits complete their durability here, before
                        // the QUIT that performs the DELEs.
                        store.save_state(state)$($await)*?;
                        let transport = client.quit()$($await)*?;
                        return Ok((plan.summary, transport));
                    }
                    Err(Error::Refused(_)) => return Err(PollError::NeedsUidl),
                    Err(e) => return Err(e.into()),
                }
                // A complete listing before any DELE of this session:
                // entries of messages gone from the server are dropped.
                if first {
                    first = false;
                    if state.prune_unmarked() > 0 {
                        store.save_state(state)$($await)*?;
                    }
                }
                // Already stored and due: delete first (frees the server).
                client.delete_many(&dels)$($await)*?;
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
                        })$($await)*?;
                    for (&(msg, key), &size) in new.iter().zip(sizes.iter()) {
                        after_msg = msg;
                        // Committed before a cut, seen state not saved.
                        let known = if store.contains(key)$($await)*? {
                            Some(Seen { key, stored_at: policy.now, headers_only: false })
                        } else {
                            None
                        };
                        let m = Listed { id: msg, seq: 0, size, key, flagged_deleted: false };
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
                if batch.to_fetch(false).chain(batch.to_fetch(true)).next().is_some() && state.seen().len() >= N {
                    return Err(PollError::SeenSetFull { capacity: N });
                }
                pop3_fetch_batch(&mut client, store, state, &mut batch, &mut plan, progress)$($await)*?;
                // Once per batch, after its commits and before its DELEs.
                store.save_state(state)$($await)*?;
                let mut due: heapless::Vec<u32, BATCH> = heapless::Vec::new();
                for id in batch.deletions(&plan) {
                    let _ = due.push(id);
                }
                client.delete_many(&due)$($await)*?;
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
                        let size = client.list_one(m)$($await)*?;
                        client.dele(m)$($await)*?;
                        *used = used.saturating_sub(size);
                        plan.summary.deleted += 1;
                        progress(Progress::Deleted { id: m });
                    }
                }
                if batch.stopped() || !more {
                    break;
                }
            }
            let transport = client.quit()$($await)*?;
            Ok((plan.summary, transport))
        }

        /// UIDs asked for per FETCH while looking for messages: a few
        /// batches' worth, so a dense window fills a batch in one round trip.
        #[cfg(feature = "imap")]
        const WINDOW: u32 = 4 * BATCH as u32;

        /// `UID FETCH set (UID FLAGS RFC822.SIZE INTERNALDATE
        /// BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])`: the (up to BATCH)
        /// lowest UIDs ≥ `min_uid`, ascending, and whether more exist.
        ///
        /// Servers may split one message's data over several FETCH
        /// responses: parts are merged by sequence number (see
        /// [`crate::poll::Partial`]). A listing that ends in `NO` keeps
        /// what it listed; the refusal is returned beside it.
        #[cfg(feature = "imap")]
        $($async)* fn imap_candidates<T: Rd + Wr>(
            client: &mut ImapClient<'_, T>,
            set: crate::imap::SequenceSet<'_>,
            min_uid: u32,
            validity: u32,
        ) -> Result<(heapless::Vec<Listed, BATCH>, bool, Option<crate::Refusal>), Error<T::Error>> {
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
                .fetch(set, true, items, |e| match e {
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
                })$($await)*;
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
        #[cfg(feature = "imap")]
        fn run_sets(
            runs: &[(u32, u32)],
            tx_capacity: usize,
            overhead: usize,
        ) -> (heapless::Vec<crate::imap::SeqRange, BATCH>, heapless::Vec<core::ops::Range<u8>, BATCH>) {
            use crate::imap::SeqRange;
            let groups = crate::poll::batch::set_groups(runs, tx_capacity.saturating_sub(overhead));
            let ranges = runs
                .iter()
                .map(|&(lo, hi)| if lo == hi { SeqRange::one(lo) } else { SeqRange::range(lo, hi) })
                .collect();
            (ranges, groups)
        }

        /// Deletes (or moves) stored messages on the IMAP server, given as
        /// runs of UIDs, in one pipelined write per command-buffer-full:
        /// `UID STORE +FLAGS.SILENT (\Deleted)` and `UID EXPUNGE` (plain
        /// EXPUNGE without UIDPLUS), or `UID MOVE` (MOVE falls back to
        /// COPY + delete); `Keep` deletes too (older than N, quota).
        /// Returns how many messages.
        #[cfg(feature = "imap")]
        $($async)* fn imap_delete_runs<T: Rd + Wr>(
            client: &mut ImapClient<'_, T>,
            runs: &[(u32, u32)],
            after: AfterStore<'_>,
        ) -> Result<u32, Error<T::Error>> {
            use crate::imap::{Command, SequenceSet, StoreOp};
            let overhead = match after {
                AfterStore::MoveTo(folder) => 32 + 2 * folder.len(),
                _ => 48,
            };
            let (ranges, groups) = run_sets(runs, client.tx_capacity(), overhead);
            for g in groups.iter() {
                let set = SequenceSet::List(ranges.get(usize::from(g.start)..usize::from(g.end)).unwrap_or(&[]));
                if let AfterStore::MoveTo(folder) = after {
                    client.move_uids(set, folder)$($await)*?;
                    continue;
                }
                let flag = Command::Store { set, uid: true, op: StoreOp::Add, silent: true, flags: &["\\Deleted"] };
                let expunge = if client.caps().uidplus { Command::UidExpunge(set) } else { Command::Expunge };
                let mut tags = heapless::Vec::new();
                client.submit_all(&[flag, expunge], &mut tags)$($await)*?;
                for &tag in tags.iter() {
                    client.complete(tag, |_| {})$($await)*?;
                }
            }
            Ok(runs.iter().map(|&(lo, hi)| hi.saturating_sub(lo) + 1).sum())
        }

        /// `UID STORE set +FLAGS.SILENT (\Seen)` for runs of UIDs.
        #[cfg(feature = "imap")]
        $($async)* fn imap_flag_seen_runs<T: Rd + Wr>(client: &mut ImapClient<'_, T>, runs: &[(u32, u32)]) -> Result<(), Error<T::Error>> {
            use crate::imap::{SequenceSet, StoreOp};
            let (ranges, groups) = run_sets(runs, client.tx_capacity(), 48);
            for g in groups.iter() {
                let set = SequenceSet::List(ranges.get(usize::from(g.start)..usize::from(g.end)).unwrap_or(&[]));
                client.store(set, true, StoreOp::Add, true, &["\\Seen"], |_| {})$($await)*?;
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
        #[cfg(feature = "imap")]
        #[allow(clippy::too_many_arguments)]
        $($async)* fn imap_fetch_batch<T: Rd + Wr, S: Store, const N: usize>(
            client: &mut ImapClient<'_, T>,
            store: &mut S,
            state: &mut SyncState<N>,
            batch: &mut Batch,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<Option<crate::Refusal>, PollError<T::Error, S::Error>> {
            use crate::imap::{BodyRequest, Command, FetchItems, GenericEvent, SequenceSet, Section};
            // "A0001 UID FETCH  (UID BODY.PEEK[HEADER])\r\n"
            const OVERHEAD: usize = 48;
            let cap = client.tx_capacity();
            let runs = crate::poll::batch::runs;
            let (full, full_groups) = run_sets(&runs(batch.to_fetch(false)), cap, OVERHEAD);
            let (heads, head_groups) = run_sets(&runs(batch.to_fetch(true)), cap, OVERHEAD);
            fn request<'r>(ranges: &'r [crate::imap::SeqRange], section: Section<'r>) -> Command<'r> {
                let body = Some(BodyRequest::peek(section));
                Command::Fetch { set: SequenceSet::List(ranges), uid: true, items: FetchItems { uid: true, body, ..FetchItems::default() } }
            }
            let mut cmds: heapless::Vec<Command<'_>, { crate::imap::MAX_IN_FLIGHT }> = heapless::Vec::new();
            let parts = full_groups.iter().map(|g| (&full, g, Section::Full))
                .chain(head_groups.iter().map(|g| (&heads, g, Section::Header)));
            for (ranges, g, section) in parts {
                if let Some(r) = ranges.get(usize::from(g.start)..usize::from(g.end)) {
                    if cmds.push(request(r, section)).is_err() {
                        return Err(PollError::Mail(Error::BufferTooSmall { needed: OVERHEAD + 24, available: cap }));
                    }
                }
            }
            if cmds.is_empty() {
                return Ok(None);
            }
            let mut tags = heapless::Vec::new();
            client.submit_all(&cmds, &mut tags)$($await)*?;
            let (mut seq, mut uid) = (0u32, None);
            let mut open: Option<(crate::poll::batch::Entry, u64)> = None;
            let mut receiving = false;
            let mut refused = None;
            while !tags.is_empty() {
                match client.next_event()$($await)*? {
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
                                store.begin(e.key, size)$($await)*?;
                                open = Some((e, 0));
                                receiving = true;
                            }
                        }
                    }
                    GenericEvent::BodyEnd => receiving = false,
                    GenericEvent::BodyChunk(chunk) if receiving => {
                        if let Some((e, written)) = open.as_mut() {
                            if let Err(err) = store.write(chunk)$($await)* {
                                let _ = store.abort()$($await)*;
                                return Err(PollError::Store(err));
                            }
                            *written += chunk.len() as u64;
                            progress(Progress::Receiving { id: e.id, received: *written, size: e.size });
                        }
                    }
                    GenericEvent::FetchEnd => {
                        if let Some((e, written)) = open.take() {
                            // The UID, when the response carried one, must
                            // be the message the body was started for.
                            if uid.is_none_or(|u| u == e.id) {
                                store.commit()$($await)*?;
                                let headers_only = e.plan == Plan::Headers;
                                batch.committed(e.id, written, plan);
                                state.insert_evicting(e.key, plan.policy.now, headers_only);
                                progress(Progress::Stored { id: e.id, bytes: written, headers_only });
                            } else {
                                store.abort()$($await)*?;
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
                store.abort()$($await)*?;
            }
            if refused.is_none() {
                batch.fetch_done(plan);
            }
            Ok(refused)
        }

        /// Case-insensitive: does `hay` contain `needle`?
        #[cfg(feature = "imap")]
        fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
            hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
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
        #[cfg(feature = "imap")]
        #[allow(clippy::too_many_arguments)]
        $($async)* fn imap_stream_new<T: Rd + Wr, S: Store, const N: usize>(
            client: &mut ImapClient<'_, T>,
            store: &mut S,
            state: &mut SyncState<N>,
            cursor: &mut ImapCursor,
            validity: u32,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<bool, PollError<T::Error, S::Error>> {
            use crate::imap::{BodyRequest, Command, FetchItems, GenericEvent, SeqRange, SequenceSet, Section};
            use crate::poll::Partial;
            let policy = plan.policy;
            let from = cursor.last_uid.saturating_add(1);
            let items = FetchItems {
                uid: true,
                flags: true,
                size: true,
                internal_date: true,
                body: Some(BodyRequest::peek(Section::HeaderFields("MESSAGE-ID"))),
                ..FetchItems::default()
            };
            // The second body item rides in the same command.
            let cmd = Command::Fetch { set: SequenceSet::Range(SeqRange::from(from)), uid: true, items: FetchItems { second_body: Some(BodyRequest::peek(Section::Full)), ..items } };
            let mut tags = heapless::Vec::new();
            client.submit_all(&[cmd], &mut tags)$($await)*?;
            let fetch_tag = tags.first().copied().unwrap_or(0);
            // UIDs to delete (committed, or known and due), and committed
            // ones to flag \Seen (leave mode with set_seen), as runs.
            let mut doomed: heapless::Vec<(u32, u32), BATCH> = heapless::Vec::new();
            let mut to_flag: heapless::Vec<(u32, u32), BATCH> = heapless::Vec::new();
            let mut cur = Partial::default();
            let (mut in_header, mut open, mut written, mut body_seen) = (false, false, 0u64, false);
            let mut settled_to = cursor.last_uid;
            let mut unsettled = false;
            let mut fetching = true;
            while fetching {
                match client.next_event()$($await)*? {
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
                            None if store.contains(key)$($await)*? => Some(Seen { key, stored_at: policy.now, headers_only: false }),
                            None => None,
                        };
                        if let Some(seen) = known {
                            plan.summary.skipped += 1;
                            state.insert_evicting(key, seen.stored_at, seen.headers_only);
                            progress(Progress::Skipped { id: cur.uid, size });
                            if plan.delete_seen(&seen) && !crate::poll::batch::push_run(&mut doomed, cur.uid) {
                                unsettled = true;
                                continue;
                            }
                            settled_to = settled_to.max(cur.uid);
                        } else if cur.deleted && policy.after_store == AfterStore::Keep {
                            plan.summary.skipped += 1;
                            progress(Progress::Skipped { id: cur.uid, size });
                            settled_to = settled_to.max(cur.uid);
                        } else {
                            store.begin(key, size)$($await)*?;
                            open = true;
                        }
                    }
                    GenericEvent::BodyChunk(chunk) => {
                        if in_header {
                            cur.message_id(chunk);
                        } else if open {
                            if let Err(err) = store.write(chunk)$($await)* {
                                let _ = store.abort()$($await)*;
                                return Err(PollError::Store(err));
                            }
                            written += chunk.len() as u64;
                            progress(Progress::Receiving { id: cur.uid, received: written, size: u64::from(cur.size.unwrap_or(0)) });
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
                            let list = if deletes { Some(&mut doomed) } else if policy.set_seen { Some(&mut to_flag) } else { None };
                            if let Some(list) = list {
                                if !crate::poll::batch::push_run(list, cur.uid) {
                                    store.abort()$($await)*?;
                                    unsettled = true;
                                    continue;
                                }
                            }
                            store.commit()$($await)*?;
                            plan.stored(written);
                            state.insert_evicting(cur.key(validity), policy.now, false);
                            progress(Progress::Stored { id: cur.uid, bytes: written, headers_only: false });
                            settled_to = settled_to.max(cur.uid);
                        } else if cur.uid >= from && !body_seen {
                            // Key items without a body: not settled here.
                            unsettled = true;
                        }
                    }
                    GenericEvent::Done { tag, .. } if tag == fetch_tag => fetching = false,
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
                store.abort()$($await)*?;
            }
            // The cursor passes only what was settled, and not past a
            // message left unsettled (UIDs come in ascending order).
            if !unsettled {
                cursor.last_uid = settled_to;
            }
            state.set_cursor(*cursor);
            store.save_state(state)$($await)*?;
            // After the save: the deletions (and flags) of what is stored.
            plan.summary.deleted += imap_delete_runs(client, &doomed, policy.after_store)$($await)*?;
            for &(lo, hi) in doomed.iter() {
                for id in lo..=hi {
                    progress(Progress::Deleted { id });
                }
            }
            imap_flag_seen_runs(client, &to_flag)$($await)*?;
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
        #[cfg(feature = "imap")]
        pub $($async)* fn imap<T, S, const N: usize>(
            client: &mut ImapClient<'_, T>,
            mailbox: &str,
            store: &mut S,
            state: &mut SyncState<N>,
            policy: &Policy<'_>,
            mut progress: impl FnMut(Progress),
        ) -> Result<Summary, PollError<T::Error, S::Error>>
        where
            T: Rd + Wr,
            S: Store,
        {
            use crate::imap::{SeqRange, SequenceSet};
            let progress: &mut dyn FnMut(Progress) = &mut progress;
            let mut plan = Planner::new(*policy);
            if !store.load_state(state)$($await)*? {
                state.clear();
            }
            let read_only = policy.after_store == AfterStore::Keep
                && policy.delete_older_than.is_none()
                && policy.quota_guard.is_none()
                && !policy.set_seen;
            let ms = if read_only {
                client.examine(mailbox)$($await)*?
            } else {
                client.select(mailbox)$($await)*?
            };
            let validity = ms.uid_validity.ok_or(PollError::NoUidValidity)?;
            let mbox = key_of(&[mailbox.as_bytes()]);
            let mut cursor = match state.cursor() {
                Some(c) if c.mailbox == mbox && c.uid_validity == validity => c,
                // First poll, another mailbox, or a new UIDVALIDITY:
                // rescan; keys in the seen set or the store are skipped.
                _ => ImapCursor { mailbox: mbox, uid_validity: validity, last_uid: 0 },
            };
            // Without size limits or caps, and unless this is a rescan of a
            // mailbox already polled (a new UIDVALIDITY: its bodies would
            // mostly be known), every new message comes in one request.
            let streamable = policy.max_size.is_none()
                && policy.max_messages.is_none()
                && policy.max_bytes.is_none()
                && (cursor.last_uid > 0 || state.seen().is_empty());
            let mut scan = true;
            if streamable {
                let complete = imap_stream_new(client, store, state, &mut cursor, validity, &mut plan, progress)$($await)*?;
                scan = !complete && plan.summary.listing_refused.is_none();
            }
            // Otherwise (or for what the stream left), batches: new
            // messages are looked for in UID windows below UIDNEXT, so each
            // batch costs what it fetches (UIDs only grow: an empty window
            // stays empty; its size doubles to cross sparse ranges).
            let uid_next = ms.uid_next;
            let mut window = WINDOW;
            let mut scan_from = cursor.last_uid.saturating_add(1);
            while scan {
                let from = scan_from;
                let window_end = match uid_next {
                    Some(next) if from.saturating_add(window) < next => Some(from + (window - 1)),
                    _ => None,
                };
                let set = match window_end {
                    Some(end) => SequenceSet::Range(SeqRange::range(from, end)),
                    None => SequenceSet::Range(SeqRange::from(from)),
                };
                let (listed, more, refused) = imap_candidates(client, set, from, validity)$($await)*?;
                if refused.is_some() {
                    warn!("poll: the server refused the listing part way; the rest waits for the next poll");
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
                        None if store.contains(m.key)$($await)*? => Some(Seen { key: m.key, stored_at: policy.now, headers_only: false }),
                        None => None,
                    };
                    match batch.add(&mut plan, *m, known) {
                        Some(Plan::Known { .. }) => {
                            let seen = known.unwrap_or(Seen { key: m.key, stored_at: policy.now, headers_only: false });
                            state.insert_evicting(m.key, seen.stored_at, seen.headers_only);
                            progress(Progress::Skipped { id: m.id, size: m.size });
                        }
                        Some(Plan::Skip | Plan::Later) => progress(Progress::Skipped { id: m.id, size: m.size }),
                        _ => {}
                    }
                }
                let fetch_refused = imap_fetch_batch(client, store, state, &mut batch, &mut plan, progress)$($await)*?;
                if let Some(last) = batch.cursor() {
                    cursor.last_uid = cursor.last_uid.max(last);
                }
                state.set_cursor(cursor);
                // Once per batch, after its commits and before its deletions.
                store.save_state(state)$($await)*?;
                let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
                for id in batch.deletions(&plan) {
                    let _ = dels.push(id);
                }
                let how = policy.after_store;
                plan.summary.deleted += imap_delete_runs(client, &crate::poll::batch::runs(dels.iter().copied()), how)$($await)*?;
                for &id in dels.iter() {
                    progress(Progress::Deleted { id });
                }
                if policy.set_seen && how == AfterStore::Keep {
                    imap_flag_seen_runs(client, &crate::poll::batch::runs(batch.committed_ids()))$($await)*?;
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
            imap_delete_due(client, mailbox, store, state, cursor, validity, &mut plan, progress)$($await)*?;
            Ok(plan.summary)
        }

        /// Messages stored by earlier polls that are due now (delete mode
        /// after a cut, older than N, quota): walks the handled UIDs a
        /// window at a time and deletes the due ones of each window in one
        /// pipelined write.
        #[cfg(feature = "imap")]
        #[allow(clippy::too_many_arguments)]
        $($async)* fn imap_delete_due<T: Rd + Wr, S: Store, const N: usize>(
            client: &mut ImapClient<'_, T>,
            mailbox: &str,
            store: &mut S,
            state: &mut SyncState<N>,
            cursor: ImapCursor,
            validity: u32,
            plan: &mut Planner<'_>,
            progress: &mut dyn FnMut(Progress),
        ) -> Result<(), PollError<T::Error, S::Error>> {
            use crate::imap::{SeqRange, SequenceSet};
            let policy = plan.policy;
            let quota_over = match policy.quota_guard {
                Some(limit) if client.caps().quota => {
                    let q = client.get_quota_root(mailbox)$($await)*?;
                    q.values.storage.map(|(used, _)| used.saturating_mul(1024)).filter(|&u| u > limit).map(|u| (u, limit))
                }
                _ => None,
            };
            let mut used = quota_over.map(|(u, _)| u);
            let older = policy.delete_older_than.is_some() && policy.now != 0;
            // In delete/move mode this also finishes deletions a cut
            // interrupted after the commit (the cursor is past them).
            let deleting = policy.after_store != AfterStore::Keep;
            if !(older || used.is_some() || deleting) || cursor.last_uid == 0 {
                return Ok(());
            }
            let how = if deleting { policy.after_store } else { AfterStore::Delete };
            // In delete and move mode next to nothing stays below the
            // cursor: list it whole (one round trip). Otherwise stored
            // messages stay: windows keep each listing's traffic bounded.
            let window = if deleting { u32::MAX } else { WINDOW };
            let mut from = 1u32;
            while from <= cursor.last_uid {
                let end = from.saturating_add(window - 1).min(cursor.last_uid);
                let set = SequenceSet::Range(SeqRange::range(from, end));
                let (listed, more, _) = imap_candidates(client, set, from, validity)$($await)*?;
                let mut dels: heapless::Vec<u32, BATCH> = heapless::Vec::new();
                for m in listed.iter() {
                    let seen = match state.find(m.key) {
                        Some(seen) => seen,
                        None if store.contains(m.key)$($await)*? => Seen { key: m.key, stored_at: policy.now, headers_only: false },
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
                plan.summary.deleted += imap_delete_runs(client, &crate::poll::batch::runs(dels.iter().copied()), how)$($await)*?;
                for &id in dels.iter() {
                    progress(Progress::Deleted { id });
                }
                from = match listed.last() {
                    Some(last) if more => last.id.saturating_add(1),
                    _ if end < cursor.last_uid => end + 1,
                    _ => break,
                };
                if from == 0 {
                    break;
                }
            }
            Ok(())
        }
    };
}
