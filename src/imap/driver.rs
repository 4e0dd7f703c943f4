//! The async IMAP client over `embedded_io_async::{Read, Write}`.
//!
//! This file is also the source of the blocking [`Client`](super::Client):
//! `build.rs` compiles a twin of it without `async` and `.await` (and with
//! `embedded_io` for `embedded_io_async`). Every protocol decision is the
//! [`Session`]'s; this file moves bytes.

use embedded_io_async::{Read, Write};

use crate::error::Error;
use crate::imap::{
    Append, BodyRequest, Capabilities, Code, Command, Completion, Event, FetchItems, GenericEvent,
    Greeting, ListItem, MailboxState, Parts, Pending, QuotaInfo, RawEvent, SearchReturn,
    SearchSummary, SequenceSet, Session, StatusItems, StatusValues, StoreOp, StoreReply,
};
use crate::link::asynch::{flush_sink, write_sink, Link};
use crate::sasl::{Credentials, Mechanism, SaslClient};

/// An IMAP client: a [`Session`] driven over a transport `T`, with
/// caller-provided receive (`rx`) and command (`tx`) buffers.
///
/// Every method sends one command (MOVE without the MOVE extension:
/// three) and reads to its tagged response; untagged data seen on
/// the way updates [`Session::mailbox`]. [`Self::run`] hands every
/// event to a callback; [`Self::submit`] and [`Self::complete`]
/// allow several commands in flight (pipelining).
pub struct Client<'b, T> {
    link: Link<'b, T>,
    session: Session,
}

impl<'b, T> Client<'b, T>
where
    T: Read + Write,
{
    /// Wraps a freshly opened connection; call [`Self::greeting`]
    /// next (or use [`Self::connect`]).
    pub fn new(transport: T, rx: &'b mut [u8], tx: &'b mut [u8]) -> Self {
        Self::resume(Parts {
            transport,
            session: Session::new(),
            rx,
            tx,
        })
    }

    /// Wraps a fresh connection and reads the greeting.
    pub async fn connect(
        transport: T,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, Error<T::Error>> {
        let mut client = Self::new(transport, rx, tx);
        client.greeting().await?;
        Ok(client)
    }

    /// Resumes a session on a (new) transport, e.g. after wrapping
    /// the transport of [`Self::starttls`] in TLS.
    pub fn resume(parts: Parts<'b, T>) -> Self {
        Client {
            link: Link::new(parts.transport, parts.rx, parts.tx),
            session: parts.session,
        }
    }

    /// Hands back the transport, the session and the buffers.
    /// Received bytes not yet decoded are dropped.
    pub fn into_parts(self) -> Parts<'b, T> {
        let (transport, rx, tx) = self.link.into_parts();
        Parts {
            transport,
            session: self.session,
            rx,
            tx,
        }
    }

    /// The protocol state machine.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The protocol state machine, to change its options.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.link.transport
    }

    /// Bytes of the command buffer: the longest command that can
    /// be sent (a pipelined batch splits its UID sets to fit).
    pub fn tx_capacity(&self) -> usize {
        self.link.tx.len()
    }

    /// The last refusal the server sent, with its text (an
    /// [`Error::Refused`] carries only the kind and code).
    pub fn last_refusal(&self) -> &crate::error::RefusalText {
        self.session.last_refusal()
    }

    /// What the server advertised, as last seen.
    pub fn capabilities(&self) -> &Capabilities {
        self.session.capabilities()
    }

    /// Reads the server greeting (`OK` or `PREAUTH`; `BYE` is an error).
    pub async fn greeting(&mut self) -> Result<Greeting, Error<T::Error>> {
        loop {
            match self.next_event().await? {
                GenericEvent::Greeting { preauth, .. } => return Ok(Greeting { preauth }),
                GenericEvent::Refused { refusal, .. } => return Err(Error::Refused(refusal)),
                _ => {}
            }
        }
    }

    /// `CAPABILITY`: asks for and records the capabilities.
    pub async fn capability(&mut self) -> Result<Capabilities, Error<T::Error>> {
        self.run(&Command::Capability, |_| {}).await?;
        Ok(*self.session.capabilities())
    }

    /// Asks for the capabilities unless they are known already.
    pub async fn ensure_capabilities(&mut self) -> Result<Capabilities, Error<T::Error>> {
        if !self.session.capabilities().known {
            self.capability().await?;
        }
        Ok(*self.session.capabilities())
    }

    /// `NOOP`: keeps the connection alive and collects mailbox
    /// changes into [`Session::mailbox`]; `each` sees them.
    pub async fn noop(&mut self, each: impl FnMut(Event<'_>)) -> Result<(), Error<T::Error>> {
        self.run(&Command::Noop, each).await.map(|_| ())
    }

    /// `LOGOUT`: returns the transport, which the caller closes.
    /// A tagged `BYE` answers it as well as `OK` does, and so does
    /// a close right after the untagged `* BYE` (the session is
    /// over either way; LOGOUT commits nothing).
    pub async fn logout(mut self) -> Result<T, Error<T::Error>> {
        let mut bye = false;
        let r = self
            .run(&Command::Logout, |e| {
                bye |= matches!(e, GenericEvent::Bye { .. })
            })
            .await;
        match r {
            Ok(_) => {}
            Err(Error::ConnectionClosed) if bye => {}
            Err(e) => return Err(e),
        }
        Ok(self.link.into_parts().0)
    }

    /// `ID` (RFC 2971): tells the server who we are (`None`: `NIL`).
    pub async fn id(&mut self, fields: Option<&[(&str, &str)]>) -> Result<(), Error<T::Error>> {
        self.run(&Command::Id(fields), |_| {}).await.map(|_| ())
    }

    /// `ENABLE` (RFC 5161) with the given capability names.
    pub async fn enable(&mut self, names: &[&str]) -> Result<(), Error<T::Error>> {
        self.run(&Command::Enable(names), |_| {}).await.map(|_| ())
    }

    /// ENABLEs what this crate can use when the server offers it:
    /// IMAP4rev2 and UTF8=ACCEPT. Does nothing without ENABLE.
    pub async fn enable_defaults(&mut self) -> Result<(), Error<T::Error>> {
        let caps = self.ensure_capabilities().await?;
        if !caps.enable {
            return Ok(());
        }
        match (caps.imap4rev2, caps.utf8_accept) {
            (true, true) => self.enable(&["IMAP4rev2", "UTF8=ACCEPT"]).await,
            (true, false) => self.enable(&["IMAP4rev2"]).await,
            (false, true) => self.enable(&["UTF8=ACCEPT"]).await,
            (false, false) => Ok(()),
        }
    }

    /// `LOGIN`, then `CAPABILITY` if the OK did not carry them.
    /// Over plain text the password is visible: prefer TLS.
    ///
    /// `AUTHENTICATE PLAIN` instead when the server offers it and LOGIN
    /// would not do: the server advertises LOGINDISABLED, or a credential
    /// would need a synchronizing literal (8-bit bytes without LITERAL+:
    /// a round trip of its own, which some servers mishandle; base64 in
    /// SASL carries any byte).
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), Error<T::Error>> {
        let caps = *self.session.capabilities();
        let awkward = |s: &str| crate::imap::command::needs_sync_literal(s.as_bytes(), &caps);
        if caps.sasl.contains(Mechanism::Plain)
            && (caps.login_disabled || awkward(user) || awkward(password))
        {
            let secret = password;
            return self
                .authenticate(Mechanism::Plain, Credentials { user, secret })
                .await;
        }
        let r = self.run(&Command::Login { user, password }, |_| {}).await;
        self.wipe_tx();
        r?;
        self.ensure_capabilities().await?;
        Ok(())
    }

    /// `AUTHENTICATE` with a SASL mechanism (initial response with
    /// SASL-IR); one round trip per challenge.
    pub async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        credentials: Credentials<'_>,
    ) -> Result<(), Error<T::Error>> {
        let mut sasl = SaslClient::new(mechanism, credentials).map_err(Error::widen)?;
        let n = self
            .session
            .encode_authenticate(&mut sasl, self.link.tx)
            .map_err(Error::widen)?;
        let tag = self.session.last_tag();
        let sent = self.write_tx(n).await;
        self.wipe_tx();
        sent?;
        loop {
            let n = match self.next_raw().await? {
                GenericEvent::Done { tag: t, .. } if t == tag => break,
                GenericEvent::Refused {
                    tag: t, refusal, ..
                } if t == tag => return Err(Error::Refused(refusal)),
                GenericEvent::Continue(span) => {
                    let c = span.get(self.link.rx.data());
                    match self
                        .session
                        .encode_sasl_response(&mut sasl, c, self.link.tx)
                    {
                        Ok(n) => n,
                        // Cancel so the server answers BAD and the
                        // session stays in step.
                        Err(_) => self
                            .session
                            .encode_sasl_cancel(self.link.tx)
                            .map_err(Error::widen)?,
                    }
                }
                GenericEvent::Bye { refusal } => return Err(self.bye(refusal)),
                _ => continue,
            };
            let sent = self.write_tx(n).await;
            self.wipe_tx();
            sent?;
        }
        self.ensure_capabilities().await?;
        Ok(())
    }

    /// `STARTTLS`: on OK, hands back the parts so the caller can
    /// wrap the transport in TLS and [`resume`](Self::resume), then
    /// ask for the capabilities again. Fails if the server does not
    /// offer it, refuses it, or sent any byte after its OK
    /// (plain-text injection).
    pub async fn starttls(mut self) -> Result<Parts<'b, T>, Error<T::Error>> {
        if !self.session.capabilities().starttls {
            return Err(Error::NotSupported("STARTTLS"));
        }
        self.run(&Command::StartTls, |_| {}).await?;
        let held = self.link.held_after_last_event();
        self.session.begin_tls(held).map_err(Error::widen)?;
        Ok(self.into_parts())
    }

    /// `NAMESPACE`: `each` gets the [`GenericEvent::Namespace`].
    pub async fn namespace(&mut self, each: impl FnMut(Event<'_>)) -> Result<(), Error<T::Error>> {
        self.run(&Command::Namespace, each).await.map(|_| ())
    }

    /// `LIST reference pattern` (with special-use attributes when
    /// offered): `each` gets every mailbox as it arrives; decode
    /// names with [`crate::imap::decode_mailbox`].
    pub async fn list(
        &mut self,
        reference: &str,
        pattern: &str,
        mut each: impl FnMut(&ListItem<&[u8]>),
    ) -> Result<(), Error<T::Error>> {
        let cmd = Command::List {
            reference,
            pattern,
            special_use: true,
        };
        self.run(&cmd, |e| {
            if let GenericEvent::List(item) = e {
                each(&item)
            }
        })
        .await
        .map(|_| ())
    }

    /// `STATUS mailbox (items)`.
    pub async fn status(
        &mut self,
        mailbox: &str,
        items: StatusItems,
    ) -> Result<StatusValues, Error<T::Error>> {
        let mut out = StatusValues::default();
        self.run(&Command::Status { mailbox, items }, |e| {
            if let GenericEvent::MailboxStatus { values, .. } = e {
                out = values;
            }
        })
        .await?;
        Ok(out)
    }

    /// `SELECT mailbox`: returns its state (EXISTS, UIDVALIDITY, ...).
    pub async fn select(&mut self, mailbox: &str) -> Result<MailboxState, Error<T::Error>> {
        self.run(
            &Command::Select {
                mailbox,
                condstore: false,
            },
            |_| {},
        )
        .await?;
        Ok(*self.session.mailbox())
    }

    /// `EXAMINE mailbox`: select read-only.
    pub async fn examine(&mut self, mailbox: &str) -> Result<MailboxState, Error<T::Error>> {
        self.run(&Command::Examine(mailbox), |_| {}).await?;
        Ok(*self.session.mailbox())
    }

    /// `CREATE mailbox`.
    pub async fn create(&mut self, mailbox: &str) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Create(mailbox)).await
    }

    /// `DELETE mailbox`.
    pub async fn delete(&mut self, mailbox: &str) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Delete(mailbox)).await
    }

    /// `RENAME from to`.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Rename { from, to }).await
    }

    /// `SUBSCRIBE mailbox`.
    pub async fn subscribe(&mut self, mailbox: &str) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Subscribe(mailbox)).await
    }

    /// `UNSUBSCRIBE mailbox`.
    pub async fn unsubscribe(&mut self, mailbox: &str) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Unsubscribe(mailbox)).await
    }

    /// `CLOSE`: expunges `\Deleted` messages and unselects.
    pub async fn close(&mut self) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Close).await
    }

    /// `UNSELECT`: unselects without expunging.
    pub async fn unselect(&mut self) -> Result<(), Error<T::Error>> {
        self.simple(&Command::Unselect).await
    }

    /// `EXPUNGE`: `each` sees the `Expunge` events.
    pub async fn expunge(&mut self, each: impl FnMut(Event<'_>)) -> Result<(), Error<T::Error>> {
        self.run(&Command::Expunge, each).await.map(|_| ())
    }

    /// `UID EXPUNGE set` (UIDPLUS): expunges only these messages.
    pub async fn uid_expunge(&mut self, set: SequenceSet<'_>) -> Result<(), Error<T::Error>> {
        if !self.session.capabilities().uidplus {
            return Err(Error::NotSupported("UIDPLUS"));
        }
        self.simple(&Command::UidExpunge(set)).await
    }

    /// `SEARCH criteria`: `each` gets every matching message sequence
    /// number as it arrives (the answer is never held whole).
    pub async fn search(
        &mut self,
        criteria: &str,
        each: impl FnMut(u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        self.search_as(false, criteria, each).await
    }

    /// `UID SEARCH criteria`: like [`Self::search`], with UIDs.
    pub async fn uid_search(
        &mut self,
        criteria: &str,
        each: impl FnMut(u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        self.search_as(true, criteria, each).await
    }

    async fn search_as(
        &mut self,
        uid: bool,
        criteria: &str,
        mut each: impl FnMut(u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        let mut s = SearchSummary::default();
        self.run(
            &Command::Search {
                uid,
                criteria,
                ret: None,
            },
            |e| {
                if let GenericEvent::SearchHit(n) = e {
                    s.hits = s.hits.saturating_add(1);
                    each(n);
                }
            },
        )
        .await?;
        Ok(s)
    }

    /// `SEARCH RETURN (...) criteria` (ESEARCH, RFC 4731): MIN, MAX,
    /// COUNT in the summary; ALL as ranges `(low, high)` to `each`.
    pub async fn esearch(
        &mut self,
        criteria: &str,
        ret: SearchReturn,
        each: impl FnMut(u32, u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        self.esearch_as(false, criteria, ret, each).await
    }

    /// `UID SEARCH RETURN (...) criteria`: like [`Self::esearch`], with
    /// UIDs.
    pub async fn uid_esearch(
        &mut self,
        criteria: &str,
        ret: SearchReturn,
        each: impl FnMut(u32, u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        self.esearch_as(true, criteria, ret, each).await
    }

    async fn esearch_as(
        &mut self,
        uid: bool,
        criteria: &str,
        ret: SearchReturn,
        mut each: impl FnMut(u32, u32),
    ) -> Result<SearchSummary, Error<T::Error>> {
        if !self.session.capabilities().esearch {
            return Err(Error::NotSupported("ESEARCH"));
        }
        let mut s = SearchSummary::default();
        self.run(
            &Command::Search {
                uid,
                criteria,
                ret: Some(ret),
            },
            |e| match e {
                GenericEvent::ESearch {
                    min,
                    max,
                    count,
                    all,
                    ..
                } => {
                    s.min = min;
                    s.max = max;
                    s.count = count;
                    for (lo, hi) in all.map(crate::imap::parse_ranges).into_iter().flatten() {
                        s.hits = s.hits.saturating_add(1);
                        each(lo, hi);
                    }
                }
                GenericEvent::SearchHit(n) => {
                    s.hits = s.hits.saturating_add(1);
                    each(n, n);
                }
                _ => {}
            },
        )
        .await?;
        Ok(s)
    }

    /// `FETCH set items` by message sequence numbers: `each` gets every
    /// event (FetchStart, Uid, Flags, BodyStart, BodyChunk, ...,
    /// FetchEnd).
    pub async fn fetch(
        &mut self,
        set: SequenceSet<'_>,
        items: FetchItems<'_>,
        each: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        let uid = false;
        self.run(&Command::Fetch { set, uid, items }, each)
            .await
            .map(|_| ())
    }

    /// `UID FETCH set items`: like [`Self::fetch`], with UIDs.
    pub async fn uid_fetch(
        &mut self,
        set: SequenceSet<'_>,
        items: FetchItems<'_>,
        each: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        let uid = true;
        self.run(&Command::Fetch { set, uid, items }, each)
            .await
            .map(|_| ())
    }

    /// `UID FETCH uid BODY.PEEK[...]`: streams the body into `sink`
    /// in pieces no larger than the receive buffer. Returns the
    /// bytes written (0 if the message does not exist; see
    /// [`Self::fetch_body_if_exists`] to tell the two apart).
    pub async fn fetch_body<W: Write>(
        &mut self,
        uid: u32,
        body: BodyRequest<'_>,
        sink: &mut W,
    ) -> Result<u64, Error<T::Error>> {
        Ok(self
            .fetch_body_if_exists(uid, body, sink)
            .await?
            .unwrap_or(0))
    }

    /// Like [`Self::fetch_body`], but `None` when the server sent no
    /// body for `uid`: a UID FETCH of a message that no longer
    /// exists ends in a plain `OK` with no FETCH data (RFC 3501
    /// §6.4.8), which must not be mistaken for an empty message.
    pub async fn fetch_body_if_exists<W: Write>(
        &mut self,
        uid: u32,
        body: BodyRequest<'_>,
        sink: &mut W,
    ) -> Result<Option<u64>, Error<T::Error>> {
        let mut found = false;
        let items = FetchItems {
            uid: true,
            body: Some(body),
            ..FetchItems::default()
        };
        self.send(&Command::Fetch {
            set: SequenceSet::One(uid),
            uid: true,
            items,
        })
        .await?;
        let tag = self.session.last_tag();
        let mut total: u64 = 0;
        let mut sink_error = None;
        loop {
            match self.next_event().await? {
                GenericEvent::BodyStart { .. } => found = true,
                GenericEvent::BodyChunk(chunk) => {
                    total += chunk.len() as u64;
                    // After a sink failure keep reading to the end
                    // so the session stays usable.
                    if sink_error.is_none() {
                        sink_error = write_sink(sink, chunk).await;
                    }
                }
                GenericEvent::Done { tag: t, .. } if t == tag => break,
                GenericEvent::Refused {
                    tag: t, refusal, ..
                } if t == tag => return Err(Error::Refused(refusal)),
                GenericEvent::Bye { refusal } => return Err(self.bye(refusal)),
                _ => {}
            }
        }
        if sink_error.is_none() {
            sink_error = flush_sink(sink).await;
        }
        match sink_error {
            Some(kind) => Err(Error::Sink(kind)),
            None => Ok(found.then_some(total)),
        }
    }

    /// `STORE set [+-]FLAGS[.SILENT] (flags)` by message sequence
    /// numbers: `each` sees the FETCH answers with the new flags (none
    /// with [`StoreReply::Silent`]).
    pub async fn store(
        &mut self,
        set: SequenceSet<'_>,
        op: StoreOp,
        flags: &[&str],
        reply: StoreReply,
        each: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        self.store_as(false, set, op, flags, reply, each).await
    }

    /// `UID STORE set [+-]FLAGS[.SILENT] (flags)`: like [`Self::store`],
    /// with UIDs.
    pub async fn uid_store(
        &mut self,
        set: SequenceSet<'_>,
        op: StoreOp,
        flags: &[&str],
        reply: StoreReply,
        each: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        self.store_as(true, set, op, flags, reply, each).await
    }

    async fn store_as(
        &mut self,
        uid: bool,
        set: SequenceSet<'_>,
        op: StoreOp,
        flags: &[&str],
        reply: StoreReply,
        each: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        let silent = reply == StoreReply::Silent;
        self.run(
            &Command::Store {
                set,
                uid,
                op,
                silent,
                flags,
            },
            each,
        )
        .await
        .map(|_| ())
    }

    /// `COPY set mailbox` by message sequence numbers.
    pub async fn copy(
        &mut self,
        set: SequenceSet<'_>,
        mailbox: &str,
    ) -> Result<Completion, Error<T::Error>> {
        let uid = false;
        self.run(&Command::Copy { set, uid, mailbox }, |_| {}).await
    }

    /// `UID COPY set mailbox`.
    pub async fn uid_copy(
        &mut self,
        set: SequenceSet<'_>,
        mailbox: &str,
    ) -> Result<Completion, Error<T::Error>> {
        let uid = true;
        self.run(&Command::Copy { set, uid, mailbox }, |_| {}).await
    }

    /// `UID MOVE uids mailbox`; without the MOVE extension, `UID
    /// COPY` + `UID STORE +FLAGS.SILENT (\Deleted)` + `UID EXPUNGE`
    /// (needs UIDPLUS, so no other deleted message is expunged).
    pub async fn move_uids(
        &mut self,
        uids: SequenceSet<'_>,
        mailbox: &str,
    ) -> Result<Completion, Error<T::Error>> {
        let caps = *self.session.capabilities();
        if caps.move_ {
            return self
                .run(
                    &Command::Move {
                        set: uids,
                        uid: true,
                        mailbox,
                    },
                    |_| {},
                )
                .await;
        }
        if !caps.uidplus {
            return Err(Error::NotSupported("MOVE or UIDPLUS"));
        }
        let done = self.uid_copy(uids, mailbox).await?;
        self.uid_store(
            uids,
            StoreOp::Add,
            &["\\Deleted"],
            StoreReply::Silent,
            |_| {},
        )
        .await?;
        self.uid_expunge(uids).await?;
        Ok(done)
    }

    /// `APPEND mailbox (flags) "date" {len}` followed by `len` bytes
    /// read from `source`, streamed through the command buffer (at
    /// least 3 bytes). Uses a non-synchronizing literal with
    /// LITERAL+ / LITERAL-, else waits for the continuation. The
    /// last message bytes and the closing CRLF leave in one write.
    pub async fn append<R: Read>(
        &mut self,
        mailbox: &str,
        flags: &[&str],
        date: Option<&str>,
        len: u32,
        source: &mut R,
    ) -> Result<Completion, Error<T::Error>> {
        if self.link.tx.len() < 3 {
            return Err(Error::BufferTooSmall {
                needed: 3,
                available: self.link.tx.len(),
            });
        }
        let plan = self
            .session
            .encode_append(
                &Append {
                    mailbox,
                    flags,
                    date,
                    len,
                },
                self.link.tx,
            )
            .map_err(Error::widen)?;
        let tag = self.session.last_tag();
        let mut used = plan.len;
        if plan.wait_continue {
            self.write_tx(used).await?;
            used = 0;
            loop {
                match self.next_raw().await? {
                    GenericEvent::Continue(_) => break,
                    GenericEvent::Refused {
                        tag: t, refusal, ..
                    } if t == tag => return Err(Error::Refused(refusal)),
                    GenericEvent::Done { tag: t, .. } if t == tag => {
                        self.session.close();
                        return Err(unexpected("continuation request"));
                    }
                    GenericEvent::Bye { refusal } => return Err(self.bye(refusal)),
                    _ => {}
                }
            }
        }
        let mut remaining = len as usize;
        let keep_for_last = self.link.tx.len() / 2;
        while remaining > 0 {
            let room = self.link.tx.len() - used;
            // The last piece of the message leaves in one write
            // with the closing CRLF; hold back up to half a buffer
            // for it rather than a stray byte or two.
            let want = if remaining + 2 <= room {
                remaining
            } else {
                room.min(remaining - keep_for_last.min(remaining))
            };
            if want == 0 {
                self.write_tx(used).await?;
                used = 0;
                continue;
            }
            let dst = self.link.tx.get_mut(used..used + want).unwrap_or(&mut []);
            let n = match source.read(dst).await {
                Ok(0) => Err(embedded_io::ErrorKind::Other),
                // A source claiming more than it was given is
                // clamped, never trusted.
                Ok(n) => Ok(n.min(want)),
                Err(e) => Err(embedded_io::Error::kind(&e)),
            };
            let n = match n {
                Ok(n) => n,
                Err(kind) => {
                    // The server waits for bytes we cannot give.
                    self.session.close();
                    return Err(Error::Source(kind));
                }
            };
            used += n;
            remaining -= n;
            if remaining > 0 && used == self.link.tx.len() {
                self.write_tx(used).await?;
                used = 0;
            }
        }
        if let Some(end) = self.link.tx.get_mut(used..used + 2) {
            end.copy_from_slice(b"\r\n");
        }
        self.write_tx(used + 2).await?;
        self.finish(tag, &mut |_| {}).await
    }

    /// `IDLE`: returns once the server confirmed it. Then read with
    /// [`Self::idle_wait`] and end with [`Self::idle_done`] (within
    /// 29 minutes).
    pub async fn idle_start(&mut self) -> Result<(), Error<T::Error>> {
        if !self.session.capabilities().idle {
            return Err(Error::NotSupported("IDLE"));
        }
        self.send(&Command::Idle).await?;
        let tag = self.session.last_tag();
        self.idle_confirmed(tag).await
    }

    /// Reads to IDLE's continuation (the half of [`Self::idle_start`]
    /// after the send). A read that timed out consumed nothing, so this
    /// can be called again (the watch bounds it with its timer).
    pub(crate) async fn idle_confirmed(&mut self, tag: u32) -> Result<(), Error<T::Error>> {
        loop {
            match self.next_raw().await? {
                GenericEvent::Continue(_) => return Ok(()),
                GenericEvent::Refused {
                    tag: t, refusal, ..
                } if t == tag => return Err(Error::Refused(refusal)),
                GenericEvent::Bye { refusal } => return Err(self.bye(refusal)),
                _ => {}
            }
        }
    }

    /// Reads events while idling, handing each to `each` until it
    /// returns false. Blocks until the server sends something: the
    /// caller bounds the wait (a transport timeout, or a `select`
    /// with a timer around the async version; dropping the future
    /// while it waits loses nothing if the transport's read is
    /// cancel-safe).
    pub async fn idle_wait(
        &mut self,
        mut each: impl FnMut(Event<'_>) -> bool,
    ) -> Result<(), Error<T::Error>> {
        loop {
            let raw = self.next_raw().await?;
            if let GenericEvent::Bye { refusal } = raw {
                return Err(self.bye(refusal));
            }
            if !each(raw.resolve(self.link.rx.data())) {
                return Ok(());
            }
        }
    }

    /// Sends `DONE` and reads IDLE's tagged response.
    pub async fn idle_done(&mut self) -> Result<(), Error<T::Error>> {
        let tag = self.session.last_tag();
        let n = self
            .session
            .encode_idle_done(self.link.tx)
            .map_err(Error::widen)?;
        self.write_tx(n).await?;
        self.finish(tag, &mut |_| {}).await.map(|_| ())
    }

    /// Sends `DONE` without reading the answer; returns IDLE's tag
    /// for [`Self::complete`] (which a caller bounding the wait can
    /// call again after a read timeout).
    pub async fn idle_done_submit(&mut self) -> Result<u32, Error<T::Error>> {
        let tag = self.session.last_tag();
        let n = self
            .session
            .encode_idle_done(self.link.tx)
            .map_err(Error::widen)?;
        self.write_tx(n).await?;
        Ok(tag)
    }

    /// `GETQUOTAROOT mailbox`: the first quota root's usage.
    pub async fn get_quota_root(&mut self, mailbox: &str) -> Result<QuotaInfo, Error<T::Error>> {
        self.quota(&Command::GetQuotaRoot(mailbox)).await
    }

    /// `GETQUOTA root`.
    pub async fn get_quota(&mut self, root: &str) -> Result<QuotaInfo, Error<T::Error>> {
        self.quota(&Command::GetQuota(root)).await
    }

    async fn quota(&mut self, cmd: &Command<'_>) -> Result<QuotaInfo, Error<T::Error>> {
        let mut info = QuotaInfo::default();
        self.run(cmd, |e| {
            if let GenericEvent::Quota { values, .. } = e {
                if info.roots == 0 {
                    info.values = values;
                }
                info.roots += 1;
            }
        })
        .await?;
        Ok(info)
    }

    /// Sends any command and reads to its tagged response, handing
    /// every other event to `each`.
    pub async fn run(
        &mut self,
        cmd: &Command<'_>,
        mut each: impl FnMut(Event<'_>),
    ) -> Result<Completion, Error<T::Error>> {
        let tag = self.submit(cmd).await?;
        self.finish(tag, &mut each).await
    }

    /// Sends a command without reading its response (pipelining);
    /// returns its tag number for [`Self::complete`].
    pub async fn submit(&mut self, cmd: &Command<'_>) -> Result<u32, Error<T::Error>> {
        self.send(cmd).await?;
        Ok(self.session.last_tag())
    }

    /// Sends several commands without reading responses,
    /// coalesced into as few writes as the command buffer allows
    /// (one, when they fit), so that pipelining costs neither round
    /// trips nor Nagle delays. Pushes each command's tag to `tags`.
    /// A command that does not fit an empty buffer fails with
    /// [`Error::BufferTooSmall`]; the ones before it are sent.
    pub async fn submit_all(
        &mut self,
        cmds: &[Command<'_>],
        tags: &mut heapless::Vec<u32, { crate::imap::MAX_IN_FLIGHT }>,
    ) -> Result<(), Error<T::Error>> {
        let mut used = 0;
        for cmd in cmds {
            if tags.is_full() {
                return Err(Error::TooManyInFlight {
                    limit: crate::imap::MAX_IN_FLIGHT,
                });
            }
            let out = self.link.tx.get_mut(used..).unwrap_or(&mut []);
            let n = match self.session.encode(cmd, out) {
                Ok(n) => n,
                Err(Error::BufferTooSmall { .. }) if used > 0 => {
                    self.write_tx(used).await?;
                    used = 0;
                    self.session
                        .encode(cmd, self.link.tx)
                        .map_err(Error::widen)?
                }
                Err(e) => {
                    if used > 0 {
                        self.write_tx(used).await?;
                    }
                    return Err(e.widen());
                }
            };
            let _ = tags.push(self.session.last_tag());
            if !self.session.literal_pauses().is_empty() {
                // Only possible alone, so it starts the buffer:
                // send it in parts now.
                self.write_command(n).await?;
                continue;
            }
            used += n;
        }
        if used > 0 {
            self.write_tx(used).await?;
        }
        Ok(())
    }

    /// Reads until the tagged response of `tag`, handing every
    /// other event (including other tags' completions) to `each`.
    pub async fn complete(
        &mut self,
        tag: u32,
        mut each: impl FnMut(Event<'_>),
    ) -> Result<Completion, Error<T::Error>> {
        self.finish(tag, &mut each).await
    }

    /// The next event, reading from the transport as needed.
    pub async fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        let raw = self.next_raw().await?;
        Ok(raw.resolve(self.link.rx.data()))
    }

    // ---- byte moving -------------------------------------------

    async fn simple(&mut self, cmd: &Command<'_>) -> Result<(), Error<T::Error>> {
        self.run(cmd, |_| {}).await.map(|_| ())
    }

    async fn finish(
        &mut self,
        tag: u32,
        each: &mut dyn FnMut(Event<'_>),
    ) -> Result<Completion, Error<T::Error>> {
        let mut done = Completion::default();
        loop {
            let raw = self.next_raw().await?;
            match raw {
                GenericEvent::Done { tag: t, code, .. } if t == tag => {
                    note(&mut done, &code);
                    return Ok(done);
                }
                GenericEvent::Refused {
                    tag: t, refusal, ..
                } if t == tag => return Err(Error::Refused(refusal)),
                GenericEvent::Bye { refusal }
                    if self.session.awaiting() != Some(Pending::Logout) =>
                {
                    return Err(self.bye(refusal));
                }
                GenericEvent::Status { code, .. } => {
                    note(&mut done, &code);
                    each(raw.resolve(self.link.rx.data()));
                }
                other => each(other.resolve(self.link.rx.data())),
            }
        }
    }

    fn bye(&mut self, refusal: crate::error::Refusal) -> Error<T::Error> {
        self.session.close();
        Error::Refused(refusal)
    }

    async fn send(&mut self, cmd: &Command<'_>) -> Result<(), Error<T::Error>> {
        let n = self
            .session
            .encode(cmd, self.link.tx)
            .map_err(Error::widen)?;
        self.write_command(n).await
    }

    /// Writes the command just encoded (the first `n` bytes of the
    /// command buffer), pausing where the session says a
    /// synchronizing literal waits for the server's `+`.
    async fn write_command(&mut self, n: usize) -> Result<(), Error<T::Error>> {
        let tag = self.session.last_tag();
        let mut start = 0;
        let mut i = 0;
        while let Some(&end) = self.session.literal_pauses().get(i) {
            self.link.write_span(start, end, &mut self.session).await?;
            self.await_continue(tag).await?;
            start = end;
            i += 1;
        }
        self.link.write_span(start, n, &mut self.session).await
    }

    /// Reads until the continuation request (`+`) for command
    /// `tag`; its tagged refusal ends the command instead.
    async fn await_continue(&mut self, tag: u32) -> Result<(), Error<T::Error>> {
        loop {
            match self.next_raw().await? {
                GenericEvent::Continue(_) => return Ok(()),
                GenericEvent::Refused {
                    tag: t, refusal, ..
                } if t == tag => return Err(Error::Refused(refusal)),
                GenericEvent::Done { tag: t, .. } if t == tag => {
                    self.session.close();
                    return Err(unexpected(
                        "a continuation request (+) before the command's OK",
                    ));
                }
                GenericEvent::Bye { refusal } => return Err(self.bye(refusal)),
                _ => {}
            }
        }
    }

    async fn write_tx(&mut self, n: usize) -> Result<(), Error<T::Error>> {
        self.link.write_tx(n, &mut self.session).await
    }

    /// Overwrites the command buffer (credentials were in it).
    fn wipe_tx(&mut self) {
        self.link.wipe_tx();
    }

    /// The next event as byte ranges of the receive buffer.
    async fn next_raw(&mut self) -> Result<RawEvent, Error<T::Error>> {
        self.link.next_raw(&mut self.session).await
    }
}

fn note<B>(done: &mut Completion, code: &Code<B>) {
    match code {
        Code::AppendUid { validity, uid } => done.append_uid = Some((*validity, *uid)),
        Code::CopyUid { validity, .. } => done.copy_validity = Some(*validity),
        _ => {}
    }
}

fn unexpected<E>(expected: &'static str) -> Error<E> {
    Error::Malformed {
        expected,
        offset: 0,
    }
}
