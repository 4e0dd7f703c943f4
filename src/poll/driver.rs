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
        use crate::store::{key_of, Fnv, MessageKey, StoreError};

        /// Forwards a message body into the store, remembering the
        /// store's own error.
        struct Sink<'s, 'p, S: Store> {
            store: &'s mut S,
            error: Option<StoreError<S::Error>>,
            written: u64,
            id: u32,
            size: u64,
            progress: &'p mut dyn FnMut(Progress),
        }

        impl<S: Store> embedded_io::ErrorType for Sink<'_, '_, S> {
            type Error = embedded_io::ErrorKind;
        }

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

        /// Polls a POP3 maildrop: see [the module docs](crate::poll).
        ///
        /// `client` is logged in (TRANSACTION state). The sync state is
        /// loaded from `store` into `state` (the caller provides its
        /// memory), saved after every commit, and the poll ends with QUIT
        /// (which performs the deletions); the transport is handed back.
        /// On error the connection is left without QUIT, so the server
        /// deletes nothing of this session.
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
                for &m in dels.iter() {
                    client.dele(m)$($await)*?;
                    plan.summary.deleted += 1;
                    progress(Progress::Deleted { id: m });
                }
                let mut stop = false;
                for (i, &(msg, key)) in new.iter().enumerate() {
                    after_msg = msg;
                    plan.summary.new += 1;
                    if store.contains(key)$($await)*? {
                        // Committed before a cut, seen state not saved.
                        plan.summary.skipped += 1;
                        if state.insert(key, policy.now, false).is_err() {
                            return Err(PollError::SeenSetFull { capacity: N });
                        }
                        store.save_state(state)$($await)*?;
                        let seen = Seen { key, stored_at: policy.now, headers_only: false };
                        if plan.delete_seen(&seen) {
                            client.dele(msg)$($await)*?;
                            plan.summary.deleted += 1;
                            progress(Progress::Deleted { id: msg });
                        }
                        continue;
                    }
                    let size = client.list_one(msg)$($await)*?;
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
                    if state.seen().len() >= N {
                        return Err(PollError::SeenSetFull { capacity: N });
                    }
                    let full = how == Fetch::Full;
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
                    if state.insert(key, policy.now, !full).is_err() {
                        return Err(PollError::SeenSetFull { capacity: N });
                    }
                    store.save_state(state)$($await)*?;
                    if plan.delete_after_store(how) {
                        client.dele(msg)$($await)*?;
                        plan.summary.deleted += 1;
                        progress(Progress::Deleted { id: msg });
                    }
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
                if stop || !more {
                    break;
                }
            }
            let transport = client.quit()$($await)*?;
            Ok((plan.summary, transport))
        }

        /// A new IMAP message: UID, size, key.
        #[cfg(feature = "imap")]
        #[derive(Clone, Copy, Default)]
        struct Candidate {
            uid: u32,
            size: u64,
            key: MessageKey,
            /// Flagged `\Deleted` (another client is removing it).
            deleted: bool,
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
        ) -> Result<(heapless::Vec<Candidate, BATCH>, bool, Option<crate::Refusal>), Error<T::Error>> {
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
            // Twice the batch: room for the parts of a batch's messages
            // before the lowest UIDs are picked.
            let mut parts: heapless::Vec<Partial, { 2 * BATCH }> = heapless::Vec::new();
            let mut more = false;
            let mut cur = Partial::default();
            let result = client
                .fetch(set, true, items, |e| match e {
                    GenericEvent::FetchStart { seq } => cur = Partial::new(seq),
                    GenericEvent::Uid(u) => cur.uid = u,
                    GenericEvent::Flags(f) => cur.deleted |= has_deleted_flag(f),
                    GenericEvent::Rfc822Size(s) => cur.size = Some(s),
                    GenericEvent::InternalDate(d) => cur.date.write(d),
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
            let mut out: heapless::Vec<Candidate, BATCH> = heapless::Vec::new();
            for p in parts.iter().filter(|p| p.uid >= min_uid && p.uid != 0) {
                let c = Candidate {
                    uid: p.uid,
                    size: p.size.unwrap_or(0),
                    key: p.key(validity),
                    deleted: p.deleted,
                };
                if out.push(c).is_err() {
                    more = true;
                    break;
                }
            }
            Ok((out, more, refusal))
        }

        /// True if a FLAGS list holds `\Deleted`.
        #[cfg(feature = "imap")]
        fn has_deleted_flag(flags: &[u8]) -> bool {
            flags
                .split(|&b| b == b' ' || b == b'(' || b == b')')
                .any(|f| f.eq_ignore_ascii_case(b"\\Deleted"))
        }

        /// Deletes (or moves) one stored message on the IMAP server.
        #[cfg(feature = "imap")]
        $($async)* fn imap_delete<T: Rd + Wr>(
            client: &mut ImapClient<'_, T>,
            uid: u32,
            after: AfterStore<'_>,
        ) -> Result<(), Error<T::Error>> {
            use crate::imap::{SequenceSet, StoreOp};
            let set = SequenceSet::One(uid);
            if let AfterStore::MoveTo(folder) = after {
                return client.move_uids(set, folder)$($await)*.map(|_| ());
            }
            client.store(set, true, StoreOp::Add, true, &["\\Deleted"], |_| {})$($await)*?;
            if client.caps().uidplus {
                client.uid_expunge(set)$($await)*
            } else {
                client.expunge(|_| {})$($await)*
            }
        }

        /// Polls one IMAP mailbox: see [the module docs](crate::poll).
        ///
        /// `client` is logged in; the mailbox is SELECTed (EXAMINEd when
        /// the policy changes nothing on the server) and stays selected.
        /// The sync state is loaded from `store` into `state`, saved after
        /// every commit. Without UIDPLUS, a delete uses plain EXPUNGE,
        /// which also removes messages another client marked `\Deleted`.
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
            use crate::imap::{BodyRequest, SeqRange, SequenceSet, Section, StoreOp};
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
            let mut stop = false;
            // New messages are looked for in UID windows below UIDNEXT, so
            // each batch costs what it fetches: asking for `from:*` every
            // time made a first poll of a big mailbox quadratic in traffic.
            // UIDs only grow, so an empty window stays empty; its size
            // doubles to cross sparse UID ranges quickly.
            let uid_next = ms.uid_next;
            let mut window = WINDOW;
            let mut scan_from = cursor.last_uid.saturating_add(1);
            while !stop && scan_from > cursor.last_uid {
                let from = scan_from;
                let window_end = match uid_next {
                    Some(next) if from.saturating_add(window) < next => Some(from + (window - 1)),
                    _ => None,
                };
                let set = match window_end {
                    Some(end) => SequenceSet::Range(SeqRange::range(from, end)),
                    None => SequenceSet::Range(SeqRange::from(from)),
                };
                let (batch, more, refused) = imap_candidates(client, set, from, validity)$($await)*?;
                if refused.is_some() {
                    warn!("poll: the server refused the listing part way; the rest waits for the next poll");
                    plan.summary.listing_refused = refused;
                    // Handle what was listed, then stop.
                    stop = true;
                }
                if batch.is_empty() {
                    if stop {
                        break;
                    }
                    match window_end {
                        Some(end) => {
                            scan_from = end.saturating_add(1);
                            window = window.saturating_mul(2);
                            continue;
                        }
                        None => break,
                    }
                }
                window = WINDOW;
                for (i, c) in batch.iter().enumerate() {
                    plan.summary.new += 1;
                    let seen = state.find(c.key);
                    let already = seen.is_some() || store.contains(c.key)$($await)*?;
                    if already {
                        plan.summary.skipped += 1;
                        progress(Progress::Skipped { id: c.uid, size: c.size });
                        let seen = seen.unwrap_or(Seen { key: c.key, stored_at: policy.now, headers_only: false });
                        state.insert_evicting(c.key, seen.stored_at, seen.headers_only);
                        cursor.last_uid = c.uid;
                        state.set_cursor(cursor);
                        store.save_state(state)$($await)*?;
                        if plan.delete_seen(&seen) {
                            imap_delete(client, c.uid, policy.after_store)$($await)*?;
                            plan.summary.deleted += 1;
                            progress(Progress::Deleted { id: c.uid });
                        }
                        continue;
                    }
                    // Leave mode: a message another client flagged \Deleted
                    // is on its way out; it is not fetched.
                    let how = if c.deleted && policy.after_store == AfterStore::Keep {
                        Fetch::Skip
                    } else {
                        plan.fetch(c.size)
                    };
                    match how {
                        Fetch::Skip => {
                            plan.summary.skipped += 1;
                            progress(Progress::Skipped { id: c.uid, size: c.size });
                            cursor.last_uid = c.uid;
                            state.set_cursor(cursor);
                            store.save_state(state)$($await)*?;
                            continue;
                        }
                        Fetch::Stop => {
                            plan.summary.skipped += (batch.len() - i) as u32;
                            stop = true;
                            break;
                        }
                        Fetch::Full | Fetch::HeadersOnly => {}
                    }
                    let full = how == Fetch::Full;
                    store.begin(c.key, if full { c.size } else { 0 })$($await)*?;
                    let section = if full { Section::Full } else { Section::Header };
                    let mut sink = Sink { store: &mut *store, error: None, written: 0, id: c.uid, size: c.size, progress: &mut *progress };
                    let r = client.fetch_body_if_exists(c.uid, BodyRequest::peek(section), &mut sink)$($await)*;
                    let (written, serr) = (sink.written, sink.error.take());
                    match r {
                        Err(e) => {
                            let _ = store.abort()$($await)*;
                            return Err(body_error(e, serr));
                        }
                        Ok(None) => {
                            // No FETCH data: the message was expunged since
                            // it was listed. Nothing to commit; it cannot
                            // come back under this UID.
                            store.abort()$($await)*?;
                            plan.summary.gone += 1;
                            progress(Progress::Skipped { id: c.uid, size: c.size });
                            cursor.last_uid = c.uid;
                            state.set_cursor(cursor);
                            store.save_state(state)$($await)*?;
                            continue;
                        }
                        Ok(Some(_)) => {}
                    }
                    store.commit()$($await)*?;
                    plan.stored(written);
                    progress(Progress::Stored { id: c.uid, bytes: written, headers_only: !full });
                    state.insert_evicting(c.key, policy.now, !full);
                    cursor.last_uid = c.uid;
                    state.set_cursor(cursor);
                    store.save_state(state)$($await)*?;
                    if plan.delete_after_store(how) {
                        imap_delete(client, c.uid, policy.after_store)$($await)*?;
                        plan.summary.deleted += 1;
                        progress(Progress::Deleted { id: c.uid });
                    } else if policy.set_seen {
                        client.store(SequenceSet::One(c.uid), true, StoreOp::Add, true, &["\\Seen"], |_| {})$($await)*?;
                    }
                }
                if stop {
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
            // Stored earlier and now due (delete mode, older than N,
            // quota): walk the handled UIDs in batches, delete those in
            // the seen set or the store.
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
            if (older || used.is_some() || deleting) && cursor.last_uid > 0 {
                let mut from = 1u32;
                while from <= cursor.last_uid {
                    let end = from.saturating_add(WINDOW - 1).min(cursor.last_uid);
                    let set = SequenceSet::Range(SeqRange::range(from, end));
                    let (batch, more, _) = imap_candidates(client, set, from, validity)$($await)*?;
                    for c in batch.iter() {
                        let seen = match state.find(c.key) {
                            Some(seen) => seen,
                            None if store.contains(c.key)$($await)*? => {
                                Seen { key: c.key, stored_at: policy.now, headers_only: false }
                            }
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
                            let how = if deleting { policy.after_store } else { AfterStore::Delete };
                            imap_delete(client, c.uid, how)$($await)*?;
                            plan.summary.deleted += 1;
                            progress(Progress::Deleted { id: c.uid });
                            if let Some(u) = used.as_mut() {
                                *u = u.saturating_sub(c.size);
                            }
                        }
                    }
                    from = match batch.last() {
                        Some(last) if more => last.uid.saturating_add(1),
                        _ if end < cursor.last_uid => end + 1,
                        _ => break,
                    };
                    if from == 0 {
                        break;
                    }
                }
            }
            Ok(plan.summary)
        }
    };
}
