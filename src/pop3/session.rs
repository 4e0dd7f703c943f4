//! The sans-I/O POP3 state machine: commands in, command bytes out; server
//! bytes in, events out. It decides everything; the drivers only move
//! bytes between it, the transport and the caller's sink.

use super::codec;
use super::pending::PendingQueue;
use super::{Capabilities, Command, State};
use crate::error::{ProtocolError, Refusal, RefusalKind, RefusalText, Refusals};
use crate::sasl::{Mechanism, SaslClient};
use crate::wire::{check_arg, check_text, find_line, trim_crlf, DotDecoder, DotStep, TxCursor};
use heapless::Vec;

/// How many commands may await their responses at once (pipelining).
/// Like commands in a row share one entry of the queue (see
/// [`super::MAX_RUNS`]), so a deep pipeline costs no RAM; how deep to go
/// is the caller's choice (the poll's is [`crate::poll::Policy::pipeline`]).
pub const MAX_IN_FLIGHT: usize = 4096;

/// Longest APOP timestamp kept from the greeting.
const MAX_APOP_STAMP: usize = 128;

/// A command sent and awaiting its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Pending {
    /// The server greeting (awaited from the start).
    Greeting,
    /// CAPA.
    Capa,
    /// USER.
    User,
    /// PASS.
    Pass,
    /// APOP.
    Apop,
    /// AUTH and its challenge/response rounds.
    Auth,
    /// STAT.
    Stat,
    /// LIST (all messages, multi-line).
    List,
    /// LIST n.
    ListOne,
    /// UIDL (all messages, multi-line).
    Uidl,
    /// UIDL n.
    UidlOne,
    /// RETR n.
    Retr,
    /// TOP n lines.
    Top,
    /// DELE n.
    Dele,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// QUIT.
    Quit,
    /// STLS.
    Stls,
    /// UTF8.
    Utf8,
}

impl Pending {
    fn is_multiline(self) -> bool {
        matches!(
            self,
            Pending::Capa | Pending::List | Pending::Uidl | Pending::Retr | Pending::Top
        )
    }
}

/// What a decode step reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'b> {
    /// A single-line command (or the greeting) succeeded; the `+OK` text.
    /// This completes the command.
    Ok(&'b [u8]),
    /// The server refused the command (`-ERR`). This completes it.
    Refused(Refusal),
    /// STAT's answer; completes STAT.
    Stat {
        /// Messages in the maildrop (not counting those marked deleted).
        count: u32,
        /// Their total size in octets.
        size: u64,
    },
    /// One scan listing of LIST, or the answer of LIST n (which completes it).
    Listing {
        /// Message number.
        msg: u32,
        /// Size in octets (as the server counts it, with CRLF line ends).
        size: u64,
    },
    /// One unique-id listing of UIDL, or the answer of UIDL n (which
    /// completes it).
    UniqueId {
        /// Message number.
        msg: u32,
        /// The server's unique id, 1 to 70 printable bytes.
        uid: &'b [u8],
    },
    /// One line of the CAPA response (already recorded by the session).
    Capability(&'b [u8]),
    /// A piece of a RETR/TOP message, dot-unstuffed, in wire (CRLF) form.
    Body(&'b [u8]),
    /// A multi-line response (CAPA, LIST, UIDL, RETR, TOP) ended.
    End,
    /// A SASL challenge (`+ base64`); answer with
    /// [`Session::encode_sasl_response`].
    Challenge(&'b [u8]),
}

/// A decoded event whose slices are byte ranges of the input, so a driver
/// can resolve it after its read loop (the borrow checker cannot follow a
/// borrowed event out of a loop that also reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEvent {
    /// See [`Event::Ok`].
    Ok(Span),
    /// See [`Event::Refused`].
    Refused(Refusal),
    /// See [`Event::Stat`].
    Stat(u32, u64),
    /// See [`Event::Listing`].
    Listing(u32, u64),
    /// See [`Event::UniqueId`].
    UniqueId(u32, Span),
    /// See [`Event::Capability`].
    Capability(Span),
    /// See [`Event::Body`].
    Body(Span),
    /// See [`Event::End`].
    End,
    /// See [`Event::Challenge`].
    Challenge(Span),
}

/// A byte range `[start, end)` of a decode input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    fn of(outer: &[u8], inner: &[u8]) -> Span {
        let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize);
        Span {
            start,
            end: start + inner.len(),
        }
    }

    /// The bytes of `data` in this range (empty if out of range).
    pub fn get(self, data: &[u8]) -> &[u8] {
        data.get(self.start..self.end).unwrap_or(&[])
    }
}

impl RawEvent {
    /// Resolves the ranges against the input the event was decoded from.
    pub fn resolve(self, data: &[u8]) -> Event<'_> {
        match self {
            RawEvent::Ok(s) => Event::Ok(s.get(data)),
            RawEvent::Refused(r) => Event::Refused(r),
            RawEvent::Stat(count, size) => Event::Stat { count, size },
            RawEvent::Listing(msg, size) => Event::Listing { msg, size },
            RawEvent::UniqueId(msg, s) => Event::UniqueId {
                msg,
                uid: s.get(data),
            },
            RawEvent::Capability(s) => Event::Capability(s.get(data)),
            RawEvent::Body(s) => Event::Body(s.get(data)),
            RawEvent::End => Event::End,
            RawEvent::Challenge(s) => Event::Challenge(s.get(data)),
        }
    }
}

/// The result of one [`Session::decode_raw`] step.
pub type Decoded = crate::wire::Decoded<RawEvent>;

/// The default of [`Session::set_max_line`]: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 65_536;

/// Checks the first byte of what should be a POP3 greeting (`+OK`/`-ERR`).
fn wrong_greeting(first: u8) -> Result<(), ProtocolError> {
    let expected = match first {
        b'+' | b'-' => return Ok(()),
        b'*' => "a POP3 greeting (+OK), but the server sent an IMAP greeting on a POP3 connection: wrong port? (POP3 is 110, pop3s 995)",
        // TLS record types: handshake, alert, change cipher spec, data.
        0x14..=0x17 => "a POP3 greeting (+OK), but a TLS record arrived on a plain connection: is this a TLS port? try pop3s://",
        _ => "a POP3 greeting (+OK): is this a POP3 server, and the right port?",
    };
    Err(ProtocolError::Malformed {
        expected,
        offset: 0,
    })
}

/// Where the receiver is within the response stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rx {
    /// Expecting a status line.
    Status,
    /// Inside a multi-line listing (CAPA, LIST, UIDL).
    Lines(Pending),
    /// Inside a message body (RETR, TOP).
    Body(DotDecoder),
    /// Discarding a line too long for the buffer, counting its length.
    Overflow { counted: usize, available: usize },
}

/// The POP3 protocol state machine (RFC 1939, 2449, 5034, 6856, 2595).
///
/// It holds no buffers: about 200 bytes of state, most of it the APOP
/// timestamp. Commands may be encoded back to back before their responses
/// are decoded (pipelining, up to [`MAX_IN_FLIGHT`]); responses are matched
/// to commands in order.
#[derive(Debug, Clone)]
pub struct Session {
    state: State,
    caps: Capabilities,
    pending: PendingQueue,
    rx: Rx,
    apop_stamp: Vec<u8, MAX_APOP_STAMP>,
    broken: bool,
    max_line: usize,
    refusals: Refusals,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session for a freshly opened connection: it awaits the greeting.
    pub fn new() -> Self {
        let mut pending = PendingQueue::default();
        // Cannot fail: the queue is empty and has room.
        let _ = pending.push(Pending::Greeting);
        Session {
            state: State::Greeting,
            caps: Capabilities::default(),
            pending,
            rx: Rx::Status,
            apop_stamp: Vec::new(),
            broken: false,
            max_line: DEFAULT_MAX_LINE,
            refusals: Refusals::NONE,
        }
    }

    /// The last refusal the server sent, with its text: an
    /// [`Error::Refused`](crate::Error::Refused) carries only the kind and
    /// code. Of commands pipelined together, the first refusal is kept (a
    /// later one is usually its consequence).
    pub fn last_refusal(&self) -> &RefusalText {
        self.refusals.last()
    }

    /// The protocol state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What the server advertised in its last CAPA response (empty before
    /// CAPA, and again after STLS).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Commands sent whose responses have not been fully decoded.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The command whose response is being decoded now.
    pub fn awaiting(&self) -> Option<Pending> {
        self.pending.front()
    }

    /// True once an error left the session out of step with the server.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// True when the greeting carried an APOP timestamp.
    pub fn apop_available(&self) -> bool {
        !self.apop_stamp.is_empty()
    }

    fn check(&self, command: &'static str, allowed: &[State]) -> Result<(), ProtocolError> {
        if self.broken {
            return Err(ProtocolError::Broken);
        }
        if !allowed.contains(&self.state) {
            return Err(ProtocolError::WrongState {
                command,
                state: self.state.into(),
            });
        }
        Ok(())
    }

    fn push(&mut self, p: Pending) -> Result<(), ProtocolError> {
        if self.pending.has_room(p, MAX_IN_FLIGHT) && self.pending.push(p) {
            Ok(())
        } else {
            Err(ProtocolError::TooManyInFlight {
                limit: MAX_IN_FLIGHT,
            })
        }
    }

    /// Whether a command awaiting a `pending` answer can be encoded now
    /// without passing `limit` commands in flight (or the queue's runs).
    pub fn has_room(&self, pending: Pending, limit: usize) -> bool {
        self.pending.has_room(pending, limit.min(MAX_IN_FLIGHT))
    }

    /// Encodes `cmd` into `out` and records that its response is due.
    /// Returns the number of bytes to send. Nothing is recorded if the
    /// command is refused (wrong state, bad argument, buffer too small).
    pub fn encode(&mut self, cmd: &Command<'_>, out: &mut [u8]) -> Result<usize, ProtocolError> {
        use State::{Authorization as A, Transaction as T};
        let mut c = TxCursor::new(out);
        let pending = match *cmd {
            Command::Capa => {
                self.check("CAPA", &[A, T])?;
                c.put(b"CAPA\r\n");
                Pending::Capa
            }
            Command::User(user) => {
                self.check("USER", &[A])?;
                check_arg(user.as_bytes())?;
                c.put(b"USER ").put(user.as_bytes()).put(b"\r\n");
                Pending::User
            }
            Command::Pass(pass) => {
                self.check("PASS", &[A])?;
                check_text(pass.as_bytes())?;
                c.put(b"PASS ").put(pass.as_bytes()).put(b"\r\n");
                Pending::Pass
            }
            Command::Apop { user, secret } => {
                self.check("APOP", &[A])?;
                check_arg(user.as_bytes())?;
                if self.apop_stamp.is_empty() {
                    return Err(ProtocolError::NotSupported(
                        "APOP (no timestamp in greeting)",
                    ));
                }
                let hex = apop_digest(&self.apop_stamp, secret)?;
                c.put(b"APOP ")
                    .put(user.as_bytes())
                    .put(b" ")
                    .put(&hex)
                    .put(b"\r\n");
                Pending::Apop
            }
            Command::Stat => {
                self.check("STAT", &[T])?;
                c.put(b"STAT\r\n");
                Pending::Stat
            }
            Command::List(None) => {
                self.check("LIST", &[T])?;
                c.put(b"LIST\r\n");
                Pending::List
            }
            Command::List(Some(n)) => {
                self.check("LIST", &[T])?;
                msg_number(n)?;
                c.put(b"LIST ").put_u32(n).put(b"\r\n");
                Pending::ListOne
            }
            Command::Uidl(None) => {
                self.check("UIDL", &[T])?;
                c.put(b"UIDL\r\n");
                Pending::Uidl
            }
            Command::Uidl(Some(n)) => {
                self.check("UIDL", &[T])?;
                msg_number(n)?;
                c.put(b"UIDL ").put_u32(n).put(b"\r\n");
                Pending::UidlOne
            }
            Command::Retr(n) => {
                self.check("RETR", &[T])?;
                msg_number(n)?;
                c.put(b"RETR ").put_u32(n).put(b"\r\n");
                Pending::Retr
            }
            Command::Top { msg, lines } => {
                self.check("TOP", &[T])?;
                msg_number(msg)?;
                c.put(b"TOP ")
                    .put_u32(msg)
                    .put(b" ")
                    .put_u32(lines)
                    .put(b"\r\n");
                Pending::Top
            }
            Command::Dele(n) => {
                self.check("DELE", &[T])?;
                msg_number(n)?;
                c.put(b"DELE ").put_u32(n).put(b"\r\n");
                Pending::Dele
            }
            Command::Rset => {
                self.check("RSET", &[T])?;
                c.put(b"RSET\r\n");
                Pending::Rset
            }
            Command::Noop => {
                self.check("NOOP", &[T])?;
                c.put(b"NOOP\r\n");
                Pending::Noop
            }
            Command::Quit => {
                self.check("QUIT", &[A, T])?;
                c.put(b"QUIT\r\n");
                Pending::Quit
            }
            Command::Stls => {
                self.check("STLS", &[A])?;
                if !self.pending.is_empty() {
                    // Pipelining past STLS would let plain-text responses
                    // be read as if they were protected.
                    return Err(ProtocolError::InvalidArgument(
                        "STLS must be the only command in flight",
                    ));
                }
                c.put(b"STLS\r\n");
                Pending::Stls
            }
            Command::Utf8 => {
                self.check("UTF8", &[A])?;
                c.put(b"UTF8\r\n");
                Pending::Utf8
            }
        };
        let n = c.finish()?;
        self.push(pending)?;
        Ok(n)
    }

    /// Encodes `AUTH <mechanism>` (with the initial response when the
    /// mechanism has one and the server's `SASL` capability was seen, as
    /// RFC 5034 allows) and records the exchange as in flight.
    pub fn encode_auth(
        &mut self,
        sasl: &mut SaslClient<'_>,
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        self.check("AUTH", &[State::Authorization])?;
        if !self.pending.is_empty() {
            return Err(ProtocolError::InvalidArgument(
                "AUTH must be the only command in flight",
            ));
        }
        let name = sasl.mechanism().name().as_bytes();
        let mut c = TxCursor::new(out);
        c.put(b"AUTH ").put(name);
        if sasl.mechanism().has_initial_response() {
            c.put(b" ");
            sasl.write_initial_response(&mut c);
        }
        c.put(b"\r\n");
        // RFC 5034 §4: a command longer than 255 octets must not carry the
        // initial response; it then follows the server's empty challenge.
        let n = match c.finish() {
            Ok(n) if n <= 255 => n,
            _ => {
                sasl.reset();
                let mut c = TxCursor::new(out);
                c.put(b"AUTH ").put(name).put(b"\r\n");
                c.finish()?
            }
        };
        self.push(Pending::Auth)?;
        Ok(n)
    }

    /// Encodes the answer to a SASL challenge from [`Event::Challenge`].
    pub fn encode_sasl_response(
        &mut self,
        sasl: &mut SaslClient<'_>,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        if self.awaiting() != Some(Pending::Auth) {
            return Err(ProtocolError::WrongState {
                command: "SASL response",
                state: self.state.into(),
            });
        }
        sasl.encode_response_line(challenge, out)
    }

    /// Encodes `*`, which cancels a SASL exchange (RFC 5034 §4).
    pub fn encode_sasl_cancel(&mut self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        crate::sasl::encode_cancel_line(out)
    }

    /// The longest status or listing line (not a message body line)
    /// whose length is counted after it overflowed the receive buffer
    /// (default [`DEFAULT_MAX_LINE`]). Past it the session fails with
    /// [`ProtocolError::BufferTooSmall`] at once, without reading the rest
    /// of the line: a server sending one endless line costs at most this
    /// many bytes, never a hang. Lines that fit the receive buffer are
    /// unaffected; set it to the receive buffer's size to fail as soon as
    /// the buffer is full.
    pub fn set_max_line(&mut self, max: usize) {
        self.max_line = max;
    }

    /// Tells the session the receive buffer is full and still holds no
    /// complete line. Keep the buffered bytes: the next steps consume the
    /// line, count its length (up to [`Self::set_max_line`]), and then
    /// fail with [`ProtocolError::BufferTooSmall`] naming the size needed.
    pub fn overflow(&mut self, available: usize) {
        self.rx = Rx::Overflow {
            counted: 0,
            available,
        };
    }

    /// Checks the hand-over point of STLS: after `+OK` the next bytes must
    /// be the TLS handshake, so any byte already buffered was injected in
    /// plain text (RFC 2595 §3.1; the "NO STARTTLS" attacks). Also forgets
    /// the pre-TLS capabilities so they are read again under TLS.
    pub fn begin_tls(&mut self, buffered: usize) -> Result<(), ProtocolError> {
        if self.state != State::TlsHandshake {
            return Err(ProtocolError::WrongState {
                command: "TLS handshake",
                state: self.state.into(),
            });
        }
        if buffered != 0 {
            self.broken = true;
            return Err(ProtocolError::Malformed {
                expected: "no data between the STLS +OK and the TLS handshake",
                offset: 0,
            });
        }
        self.caps = Capabilities::default();
        self.state = State::Authorization;
        Ok(())
    }

    /// Decodes `input` into an event whose slices borrow `input`.
    pub fn decode<'b>(
        &mut self,
        input: &'b [u8],
    ) -> Result<Option<(usize, Option<Event<'b>>)>, ProtocolError> {
        Ok(match self.decode_raw(input)? {
            Decoded::NeedMore => None,
            Decoded::Progress { consumed, event } => {
                Some((consumed, event.map(|e| e.resolve(input))))
            }
        })
    }

    /// Decodes `input`, the unconsumed received bytes, by one step.
    pub fn decode_raw(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        if self.broken {
            return Err(ProtocolError::Broken);
        }
        let r = self.step(input);
        if r.is_err() {
            self.broken = true;
            self.state = State::Closed;
        }
        r
    }

    fn step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        if self.state == State::Greeting && self.rx == Rx::Status {
            // The first byte tells a wrong port at once, before any line
            // is complete (a peer that never ends its line cannot hold us).
            if let Some(&b) = input.first() {
                wrong_greeting(b)?;
            }
        }
        match self.rx {
            Rx::Overflow { .. } if input.is_empty() => Ok(Decoded::NeedMore),
            Rx::Overflow { counted, available } => match find_line(input) {
                // An endless line: stop reading it.
                None if counted.saturating_add(input.len()) > self.max_line => {
                    Err(ProtocolError::BufferTooSmall {
                        needed: counted.saturating_add(input.len()),
                        available,
                    })
                }
                None => Ok(Decoded::Progress {
                    consumed: input.len(),
                    event: None,
                })
                .inspect(|_| {
                    self.rx = Rx::Overflow {
                        counted: counted.saturating_add(input.len()),
                        available,
                    }
                }),
                Some(end) => Err(ProtocolError::BufferTooSmall {
                    needed: counted.saturating_add(end),
                    available,
                }),
            },
            Rx::Body(mut dec) => {
                let step = dec.step(input);
                self.rx = Rx::Body(dec);
                Ok(match step {
                    DotStep::NeedMore => Decoded::NeedMore,
                    DotStep::Data {
                        consumed,
                        emit_start,
                        emit_end,
                    } => Decoded::Progress {
                        consumed,
                        event: (emit_end > emit_start).then_some(RawEvent::Body(Span {
                            start: emit_start,
                            end: emit_end,
                        })),
                    },
                    DotStep::End { consumed } => {
                        self.finish_command();
                        Decoded::Progress {
                            consumed,
                            event: Some(RawEvent::End),
                        }
                    }
                })
            }
            Rx::Lines(kind) => {
                let Some(end) = find_line(input) else {
                    return Ok(Decoded::NeedMore);
                };
                let full = input.get(..end).unwrap_or(&[]);
                let line = trim_crlf(full);
                if line == b"." {
                    self.finish_command();
                    return Ok(Decoded::Progress {
                        consumed: end,
                        event: Some(RawEvent::End),
                    });
                }
                // Dot-stuffing applies to listings too.
                let line = line.strip_prefix(b".").unwrap_or(line);
                let event = match kind {
                    Pending::Capa => {
                        self.caps.record(line);
                        RawEvent::Capability(Span::of(input, line))
                    }
                    Pending::List => {
                        let (msg, size) = codec::scan_listing(line)?;
                        RawEvent::Listing(msg, size)
                    }
                    _ => {
                        let (msg, uid) = codec::uid_listing(line)?;
                        RawEvent::UniqueId(msg, Span::of(input, uid))
                    }
                };
                Ok(Decoded::Progress {
                    consumed: end,
                    event: Some(event),
                })
            }
            Rx::Status => {
                let Some(end) = find_line(input) else {
                    return Ok(Decoded::NeedMore);
                };
                let line = trim_crlf(input.get(..end).unwrap_or(&[]));
                let Some(op) = self.pending.front() else {
                    return Err(ProtocolError::Malformed {
                        expected: "nothing (no command in flight)",
                        offset: 0,
                    });
                };
                let event = self.status_line(op, input, line)?;
                Ok(Decoded::Progress {
                    consumed: end,
                    event,
                })
            }
        }
    }

    /// Ends the oldest command; true when its answer is the first since a
    /// kept refusal's flight ended ([`Refusals::answered`]).
    fn finish_command(&mut self) -> bool {
        self.pending.pop_front();
        self.rx = Rx::Status;
        self.refusals.answered()
    }

    fn status_line(
        &mut self,
        op: Pending,
        input: &[u8],
        line: &[u8],
    ) -> Result<Option<RawEvent>, ProtocolError> {
        // RFC 5034 §4: a continuation is "+" SP base64, or a bare "+".
        if op == Pending::Auth && (line == b"+" || line.starts_with(b"+ ")) {
            let text = line.get(1..).unwrap_or(&[]).trim_ascii();
            return Ok(Some(RawEvent::Challenge(Span::of(input, text))));
        }
        let status = codec::status(line)?;
        if !status.ok {
            let first_of_flight = self.finish_command();
            match op {
                Pending::Greeting => self.state = State::Closed,
                Pending::Quit => self.state = State::Closed,
                _ => {}
            }
            let refusal = self.refusals.refused(
                first_of_flight,
                Refusal::new(RefusalKind::Err, status.code),
                status.text,
                self.pending.len(),
            );
            return Ok(Some(RawEvent::Refused(refusal)));
        }
        let text = Span::of(input, status.text);
        if op.is_multiline() {
            self.rx = match op {
                Pending::Retr | Pending::Top => Rx::Body(DotDecoder::new()),
                other => Rx::Lines(other),
            };
            return Ok(None);
        }
        self.finish_command();
        let event = match op {
            Pending::Greeting => {
                self.state = State::Authorization;
                self.apop_stamp.clear();
                if let Some(stamp) = codec::apop_timestamp(status.text) {
                    // A stamp too long to keep just means no APOP.
                    let _ = self.apop_stamp.extend_from_slice(stamp);
                }
                RawEvent::Ok(text)
            }
            Pending::Pass | Pending::Apop | Pending::Auth => {
                self.state = State::Transaction;
                RawEvent::Ok(text)
            }
            Pending::Stat => {
                let (count, size) = codec::stat(status.text)?;
                RawEvent::Stat(count, size)
            }
            Pending::ListOne => {
                let (msg, size) = codec::scan_listing(status.text)?;
                RawEvent::Listing(msg, size)
            }
            Pending::UidlOne => {
                let (msg, uid) = codec::uid_listing(status.text)?;
                RawEvent::UniqueId(msg, Span::of(input, uid))
            }
            Pending::Quit => {
                self.state = match self.state {
                    State::Transaction => State::Update,
                    _ => State::Closed,
                };
                RawEvent::Ok(text)
            }
            Pending::Stls => {
                self.state = State::TlsHandshake;
                RawEvent::Ok(text)
            }
            Pending::Utf8 => {
                self.caps.utf8_active = true;
                RawEvent::Ok(text)
            }
            _ => RawEvent::Ok(text),
        };
        Ok(Some(event))
    }

    /// True when the server advertised `mechanism` in its `SASL` capability.
    pub fn offers(&self, mechanism: Mechanism) -> bool {
        self.caps.sasl.contains(mechanism)
    }

    /// Marks the session closed (the driver saw the connection end).
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.broken = true;
    }
}

impl crate::wire::Machine for Session {
    type Raw = RawEvent;
    fn decode_raw(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        Session::decode_raw(self, input)
    }
    fn overflow(&mut self, available: usize) {
        Session::overflow(self, available);
    }
    fn close(&mut self) {
        Session::close(self);
    }
}

fn msg_number(n: u32) -> Result<(), ProtocolError> {
    if n == 0 {
        Err(ProtocolError::InvalidArgument("message numbers start at 1"))
    } else {
        Ok(())
    }
}

/// The APOP digest: MD5 of the greeting's timestamp and the secret, in
/// lower-case hex (RFC 1939 §7).
#[cfg(feature = "md5")]
fn apop_digest(stamp: &[u8], secret: &str) -> Result<[u8; 32], ProtocolError> {
    use md5::{Digest, Md5};
    let mut md5 = Md5::new();
    md5.update(stamp);
    md5.update(secret.as_bytes());
    let mut hex = [0u8; 32];
    crate::sasl::hex_lower(&md5.finalize(), &mut hex);
    Ok(hex)
}

/// Without feature `md5` APOP is not linked.
#[cfg(not(feature = "md5"))]
fn apop_digest(_stamp: &[u8], _secret: &str) -> Result<[u8; 32], ProtocolError> {
    Err(ProtocolError::NotSupported(
        "APOP: enable the `md5` feature",
    ))
}
