//! The async POP3 client over `embedded_io_async::{Read, Write}`.
//!
//! This file is also the source of the blocking [`Client`](super::Client):
//! `build.rs` compiles a twin of it without `async` and `.await` (and with
//! `embedded_io` for `embedded_io_async`). Every protocol decision is the
//! [`Session`]'s; this file moves bytes.

use embedded_io_async::{Read, Write};

use crate::error::{Error, ProtocolError};
use crate::link::asynch::{flush_sink, write_sink, Link};
use crate::pop3::types::{Greeting, Parts, Stat, UniqueId, MAX_UID_LEN};
use crate::pop3::{Capabilities, Command, Event, RawEvent, Session};
use crate::sasl::{Credentials, Mechanism, SaslClient};

/// A POP3 client: a [`Session`] driven over a transport `T`, with
/// caller-provided receive (`rx`) and command (`tx`) buffers.
///
/// Round trips: one per command, except that [`Self::login`] and
/// [`Self::delete_many`] pipeline when the server offers
/// PIPELINING.
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
    /// the transport of [`Self::stls`] in TLS.
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

    /// The protocol state machine, to change its options (e.g.
    /// [`Session::set_max_line`]).
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.link.transport
    }

    /// The last refusal the server sent, with its text (an
    /// [`Error::Refused`] carries only the kind and code).
    pub fn last_refusal(&self) -> &crate::error::RefusalText {
        self.session.last_refusal()
    }

    /// What the last CAPA reported (see [`Self::capa`]).
    pub fn capabilities(&self) -> &Capabilities {
        self.session.capabilities()
    }

    /// Reads the server greeting.
    pub async fn greeting(&mut self) -> Result<Greeting, Error<T::Error>> {
        self.finish_ok().await?;
        Ok(Greeting {
            apop: self.session.apop_available(),
        })
    }

    /// `CAPA`: asks for and records the server's capabilities. A
    /// server without CAPA (`-ERR`) leaves them empty; that is not
    /// an error.
    pub async fn capa(&mut self) -> Result<Capabilities, Error<T::Error>> {
        self.send(&Command::Capa).await?;
        loop {
            match self.next_event().await? {
                Event::Capability(_) => {}
                Event::End | Event::Refused(_) => break,
                _ => return Err(unexpected("capability line")),
            }
        }
        Ok(*self.session.capabilities())
    }

    /// `USER` and `PASS` (pipelined in one write when the server
    /// offers PIPELINING). Over plain text the password is visible:
    /// prefer TLS, APOP or CRAM-MD5.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), Error<T::Error>> {
        // Check both before sending either: a bad password must not
        // leave a half-done login on the wire.
        crate::wire::check_arg(user.as_bytes()).map_err(|e| ProtocolError::from(e).widen())?;
        crate::wire::check_text(password.as_bytes()).map_err(|e| ProtocolError::from(e).widen())?;
        if self.session.capabilities().pipelining {
            let n = self
                .session
                .encode(&Command::User(user), self.link.tx)
                .map_err(Error::widen)?;
            let rest = self.link.tx.get_mut(n..).unwrap_or(&mut []);
            let m = match self.session.encode(&Command::Pass(password), rest) {
                Ok(m) => m,
                Err(e) => {
                    // USER is recorded as in flight; send it alone
                    // so the session stays in step, then report.
                    self.write_tx(n).await?;
                    self.finish_ok().await?;
                    return Err(e.widen());
                }
            };
            let sent = self.write_tx(n + m).await;
            self.wipe_tx();
            sent?;
            let user_result = self.finish_ok().await;
            let pass_result = self.finish_ok().await;
            user_result.and(pass_result)
        } else {
            self.send(&Command::User(user)).await?;
            self.finish_ok().await?;
            let sent = self.send(&Command::Pass(password)).await;
            self.wipe_tx();
            sent?;
            self.finish_ok().await
        }
    }

    /// `APOP`: logs in without sending the secret (MD5 of the
    /// greeting's timestamp and the secret). Needs a greeting with
    /// a timestamp ([`Greeting::apop`]).
    pub async fn apop(&mut self, user: &str, secret: &str) -> Result<(), Error<T::Error>> {
        self.send(&Command::Apop { user, secret }).await?;
        self.finish_ok().await
    }

    /// `AUTH` with a SASL mechanism (RFC 5034). PLAIN and XOAUTH2
    /// send an initial response; LOGIN and CRAM-MD5 answer
    /// challenges. One round trip per challenge.
    pub async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        credentials: Credentials<'_>,
    ) -> Result<(), Error<T::Error>> {
        let mut sasl = SaslClient::new(mechanism, credentials).map_err(Error::widen)?;
        let n = self
            .session
            .encode_auth(&mut sasl, self.link.tx)
            .map_err(Error::widen)?;
        let sent = self.write_tx(n).await;
        self.wipe_tx();
        sent?;
        loop {
            let n = match self.next_raw().await? {
                RawEvent::Ok(_) => return Ok(()),
                RawEvent::Refused(r) => return Err(Error::Refused(r)),
                RawEvent::Challenge(span) => {
                    let c = span.get(self.link.rx.data());
                    match self
                        .session
                        .encode_sasl_response(&mut sasl, c, self.link.tx)
                    {
                        Ok(n) => n,
                        // Cancel so the server answers -ERR and
                        // the session stays in step.
                        Err(_) => self
                            .session
                            .encode_sasl_cancel(self.link.tx)
                            .map_err(Error::widen)?,
                    }
                }
                _ => return Err(unexpected("SASL challenge or status")),
            };
            let sent = self.write_tx(n).await;
            self.wipe_tx();
            sent?;
        }
    }

    /// `UTF8` (RFC 6856): asks the server to send headers in UTF-8
    /// as stored, instead of possibly rewriting 8-bit messages.
    /// Needs the `UTF8` capability; call before logging in.
    pub async fn enable_utf8(&mut self) -> Result<(), Error<T::Error>> {
        if !self.session.capabilities().utf8 {
            return Err(Error::NotSupported("UTF8 (RFC 6856)"));
        }
        self.send(&Command::Utf8).await?;
        self.finish_ok().await
    }

    /// `STAT`: message count and total size.
    pub async fn stat(&mut self) -> Result<Stat, Error<T::Error>> {
        self.send(&Command::Stat).await?;
        self.read_stat().await
    }

    /// `LIST`: calls `each(msg, size)` once per message, as the
    /// listing streams in (never held whole).
    pub async fn list(&mut self, mut each: impl FnMut(u32, u64)) -> Result<(), Error<T::Error>> {
        self.send(&Command::List(None)).await?;
        loop {
            match self.next_event().await? {
                Event::Listing { msg, size } => each(msg, size),
                Event::End => return Ok(()),
                Event::Refused(r) => return Err(Error::Refused(r)),
                _ => return Err(unexpected("scan listing")),
            }
        }
    }

    /// `LIST n`: the size of one message.
    pub async fn list_one(&mut self, msg: u32) -> Result<u64, Error<T::Error>> {
        self.send(&Command::List(Some(msg))).await?;
        self.read_size().await
    }

    /// Reads the answer of a pipelined `LIST n` (the oldest command
    /// in flight): the message's size.
    pub async fn read_size(&mut self) -> Result<u64, Error<T::Error>> {
        match self.next_event().await? {
            Event::Listing { size, .. } => Ok(size),
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("scan listing")),
        }
    }

    /// `UIDL`: calls `each(msg, uid)` once per message as the
    /// listing streams in (never held whole).
    pub async fn uidl(&mut self, mut each: impl FnMut(u32, &[u8])) -> Result<(), Error<T::Error>> {
        self.send(&Command::Uidl(None)).await?;
        loop {
            match self.next_event().await? {
                Event::UniqueId { msg, uid } => each(msg, uid),
                Event::End => return Ok(()),
                Event::Refused(r) => return Err(Error::Refused(r)),
                _ => return Err(unexpected("unique-id listing")),
            }
        }
    }

    /// `UIDL n`: the unique id of one message (at most
    /// [`MAX_UID_LEN`] bytes; a longer one is `BufferTooSmall`).
    pub async fn uidl_one(&mut self, msg: u32) -> Result<UniqueId, Error<T::Error>> {
        self.send(&Command::Uidl(Some(msg))).await?;
        self.read_unique_id().await
    }

    /// Reads the answer of a pipelined `UIDL n` (the oldest command
    /// in flight): the message's unique id.
    pub async fn read_unique_id(&mut self) -> Result<UniqueId, Error<T::Error>> {
        match self.next_event().await? {
            Event::UniqueId { uid, .. } => {
                UniqueId::from_slice(uid).map_err(|_| Error::BufferTooSmall {
                    needed: uid.len(),
                    available: MAX_UID_LEN,
                })
            }
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("unique-id listing")),
        }
    }

    /// Reads the answer of a pipelined `UIDL msg` and checks that it names
    /// `msg`: a server answering for another message would make a poll
    /// take one message for another (and delete the wrong one).
    #[allow(dead_code)]
    pub(crate) async fn read_unique_id_of(
        &mut self,
        msg: u32,
    ) -> Result<UniqueId, Error<T::Error>> {
        match self.next_event().await? {
            Event::UniqueId { msg: got, .. } if got != msg => Err(Error::Malformed {
                expected: "the UIDL answer of the message asked for",
                offset: 4,
            }),
            Event::UniqueId { uid, .. } => {
                UniqueId::from_slice(uid).map_err(|_| Error::BufferTooSmall {
                    needed: uid.len(),
                    available: MAX_UID_LEN,
                })
            }
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("unique-id listing")),
        }
    }

    /// `RETR n`: streams the message, dot-unstuffed and with CRLF
    /// line ends as on the wire, into `sink` in pieces no larger
    /// than the receive buffer. Returns the bytes written.
    pub async fn retr<W: Write>(&mut self, msg: u32, sink: &mut W) -> Result<u64, Error<T::Error>> {
        self.send(&Command::Retr(msg)).await?;
        self.body_into(sink).await
    }

    /// `TOP n lines`: streams the header and the first `lines`
    /// lines of the body into `sink`. Needs the `TOP` capability
    /// on most servers. Returns the bytes written.
    pub async fn top<W: Write>(
        &mut self,
        msg: u32,
        lines: u32,
        sink: &mut W,
    ) -> Result<u64, Error<T::Error>> {
        self.send(&Command::Top { msg, lines }).await?;
        self.body_into(sink).await
    }

    /// Sends several commands (RETR, TOP, DELE, ...) without
    /// reading responses, coalesced into as few writes as the
    /// command buffer allows. Only with the PIPELINING capability
    /// may more than one be in flight (RFC 2449 §6.6); read each
    /// response in order with [`Self::read_body`] or
    /// [`Self::read_status`]. Returns how many were sent: all, or
    /// fewer when the in-flight limit ([`crate::pop3::MAX_IN_FLIGHT`]
    /// commands, [`crate::pop3::MAX_RUNS`] runs of like ones) was
    /// reached.
    pub async fn submit_all(&mut self, cmds: &[Command<'_>]) -> Result<usize, Error<T::Error>> {
        self.submit_iter(cmds.iter().copied()).await
    }

    /// [`Self::submit_all`] for commands made on the fly (no array
    /// of them in RAM).
    pub async fn submit_iter<'c>(
        &mut self,
        cmds: impl IntoIterator<Item = Command<'c>>,
    ) -> Result<usize, Error<T::Error>> {
        let mut used = 0;
        let mut sent = 0;
        for cmd in cmds {
            if !self
                .session
                .has_room(cmd.awaits(), crate::pop3::MAX_IN_FLIGHT)
            {
                break;
            }
            let out = self.link.tx.get_mut(used..).unwrap_or(&mut []);
            let n = match self.session.encode(&cmd, out) {
                Ok(n) => n,
                Err(Error::BufferTooSmall { .. }) if used > 0 => {
                    self.write_tx(used).await?;
                    used = 0;
                    self.session
                        .encode(&cmd, self.link.tx)
                        .map_err(Error::widen)?
                }
                Err(e) => {
                    if used > 0 {
                        self.write_tx(used).await?;
                    }
                    return Err(e.widen());
                }
            };
            used += n;
            sent += 1;
        }
        if used > 0 {
            self.write_tx(used).await?;
        }
        Ok(sent)
    }

    /// Reads the response of the oldest command in flight that
    /// carries a body (RETR, TOP) into `sink`; returns the bytes.
    pub async fn read_body<W: Write>(&mut self, sink: &mut W) -> Result<u64, Error<T::Error>> {
        self.body_into(sink).await
    }

    /// The next piece of the body being read (RETR, TOP), dot-unstuffed;
    /// `None` at its end. The poll pulls bodies this way so that one
    /// implementation serves the blocking and the async store.
    #[allow(dead_code)]
    pub(crate) async fn body_chunk(&mut self) -> Result<Option<&[u8]>, Error<T::Error>> {
        match self.next_event().await? {
            Event::Body(chunk) => Ok(Some(chunk)),
            Event::End => Ok(None),
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("message body")),
        }
    }

    /// Reads the status response (`+OK` / `-ERR`) of the oldest
    /// command in flight that has no body (DELE, NOOP, ...).
    pub async fn read_status(&mut self) -> Result<(), Error<T::Error>> {
        self.finish_ok().await
    }

    /// `DELE n`: marks a message; it is removed at [`Self::quit`].
    pub async fn dele(&mut self, msg: u32) -> Result<(), Error<T::Error>> {
        self.send(&Command::Dele(msg)).await?;
        self.finish_ok().await
    }

    /// `DELE` for several messages, pipelined in batches when the
    /// server offers PIPELINING. Every response is read; the first
    /// refusal (if any) is returned after all of them.
    pub async fn delete_many(&mut self, msgs: &[u32]) -> Result<(), Error<T::Error>> {
        let mut first_err = None;
        let cap = if self.session.capabilities().pipelining {
            crate::pop3::MAX_IN_FLIGHT
        } else {
            1
        };
        for chunk in msgs.chunks(cap) {
            // All of the chunk goes out before any answer is read.
            let sent = self
                .submit_iter(chunk.iter().map(|&m| Command::Dele(m)))
                .await?;
            for _ in 0..sent {
                if let Err(e) = self.finish_ok().await {
                    if !e.is_recoverable() {
                        return Err(e);
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// `RSET`: unmarks every deletion of this session.
    pub async fn rset(&mut self) -> Result<(), Error<T::Error>> {
        self.send(&Command::Rset).await?;
        self.finish_ok().await
    }

    /// `NOOP`: keeps the connection alive.
    pub async fn noop(&mut self) -> Result<(), Error<T::Error>> {
        self.send(&Command::Noop).await?;
        self.finish_ok().await
    }

    /// `QUIT`: in TRANSACTION state the server now deletes the
    /// marked messages (UPDATE); only a `+OK` here means they are
    /// gone. Returns the transport, which the caller closes.
    pub async fn quit(mut self) -> Result<T, Error<T::Error>> {
        self.quit_in_place().await?;
        Ok(self.link.into_parts().0)
    }

    /// [`Self::quit`] that keeps the client (closed afterwards), for the
    /// poll, which borrows it.
    #[allow(dead_code)]
    pub(crate) async fn quit_in_place(&mut self) -> Result<(), Error<T::Error>> {
        self.send(&Command::Quit).await?;
        self.finish_ok().await
    }

    /// Reads the answer of a QUIT the poll sent pipelined behind its
    /// last commands (after every other answer): the QUIT half of
    /// [`Self::quit`].
    #[allow(dead_code)]
    pub(crate) async fn finish_quit(&mut self) -> Result<(), Error<T::Error>> {
        self.finish_ok().await
    }

    /// Reads STAT's answer (STAT sent pipelined): the reading half
    /// of [`Self::stat`].
    pub(crate) async fn read_stat(&mut self) -> Result<Stat, Error<T::Error>> {
        match self.next_event().await? {
            Event::Stat { count, size } => Ok(Stat { count, size }),
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("STAT answer")),
        }
    }

    /// `STLS` (RFC 2595): on `+OK`, hands back the parts so the
    /// caller can wrap the transport in TLS and
    /// [`resume`](Self::resume). Fails (and sends nothing more) if
    /// the server does not offer STLS, refuses it, or sent any
    /// byte after its `+OK` (plain-text injection).
    pub async fn stls(mut self) -> Result<Parts<'b, T>, Error<T::Error>> {
        if !self.session.capabilities().stls {
            return Err(Error::NotSupported("STLS"));
        }
        self.send(&Command::Stls).await?;
        self.finish_ok().await?;
        let held = self.link.held_after_last_event();
        self.session.begin_tls(held).map_err(Error::widen)?;
        Ok(self.into_parts())
    }

    // ---- byte moving -------------------------------------------

    async fn send(&mut self, cmd: &Command<'_>) -> Result<(), Error<T::Error>> {
        let n = self
            .session
            .encode(cmd, self.link.tx)
            .map_err(Error::widen)?;
        self.write_tx(n).await
    }

    async fn write_tx(&mut self, n: usize) -> Result<(), Error<T::Error>> {
        self.link.write_tx(n, &mut self.session).await
    }

    fn wipe_tx(&mut self) {
        self.link.wipe_tx();
    }

    /// The next event, reading from the transport as needed.
    async fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        let raw = self.link.next_raw(&mut self.session).await?;
        Ok(raw.resolve(self.link.rx.data()))
    }

    /// The next event as byte ranges of the receive buffer.
    async fn next_raw(&mut self) -> Result<RawEvent, Error<T::Error>> {
        self.link.next_raw(&mut self.session).await
    }

    /// Reads a single-line response: `Ok` or the refusal.
    async fn finish_ok(&mut self) -> Result<(), Error<T::Error>> {
        match self.next_event().await? {
            Event::Ok(_) => Ok(()),
            Event::Refused(r) => Err(Error::Refused(r)),
            _ => Err(unexpected("status line")),
        }
    }

    async fn body_into<W: Write>(&mut self, sink: &mut W) -> Result<u64, Error<T::Error>> {
        let mut total: u64 = 0;
        let mut sink_error = None;
        loop {
            match self.next_event().await? {
                Event::Body(chunk) => {
                    total += chunk.len() as u64;
                    // After a sink failure keep reading to the end
                    // so the session stays usable.
                    if sink_error.is_none() {
                        sink_error = write_sink(sink, chunk).await;
                    }
                }
                Event::End => break,
                Event::Refused(r) => return Err(Error::Refused(r)),
                _ => return Err(unexpected("message body")),
            }
        }
        if sink_error.is_none() {
            sink_error = flush_sink(sink).await;
        }
        match sink_error {
            Some(kind) => Err(Error::Sink(kind)),
            None => Ok(total),
        }
    }
}

fn unexpected<E>(expected: &'static str) -> Error<E> {
    Error::Malformed {
        expected,
        offset: 0,
    }
}
