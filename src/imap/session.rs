//! The sans-I/O IMAP state machine: commands in, command bytes out; server
//! bytes in, events out. It decides everything; the drivers only move
//! bytes between it, the transport and the caller.

use super::event::{GenericEvent, RawEvent, Span};
use super::parse::Cursor;
use super::response::fetch_start;
use super::scan::{response_extent, Mode, Scan, Scanner};
use super::types::{Capabilities, MailboxState, State};
use crate::error::{
    ProtocolError, Refusal, RefusalKind, RefusalText, Refusals, ResponseCode, SessionState,
};
use crate::wire::{find_line, trim_crlf, TxCursor};
use heapless::Vec;

/// How many commands may await their responses at once (pipelining).
pub const MAX_IN_FLIGHT: usize = 16;

/// The most synchronizing literals one command may carry (LOGIN's user
/// name and password).
pub const MAX_PAUSES: usize = 2;

/// The default of [`Session::set_max_line`]: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 65_536;

/// A command sent and awaiting its tagged response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Pending {
    /// The server greeting (awaited from the start; tag 0).
    Greeting,
    /// CAPABILITY.
    Capability,
    /// NOOP.
    Noop,
    /// LOGOUT.
    Logout,
    /// ID.
    Id,
    /// ENABLE.
    Enable,
    /// LOGIN.
    Login,
    /// AUTHENTICATE and its challenge rounds.
    Authenticate,
    /// STARTTLS.
    StartTls,
    /// NAMESPACE.
    Namespace,
    /// LIST.
    List,
    /// LSUB.
    Lsub,
    /// STATUS.
    Status,
    /// SELECT.
    Select,
    /// EXAMINE.
    Examine,
    /// CREATE.
    Create,
    /// DELETE.
    Delete,
    /// RENAME.
    Rename,
    /// SUBSCRIBE.
    Subscribe,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// CLOSE.
    Close,
    /// UNSELECT.
    Unselect,
    /// EXPUNGE or UID EXPUNGE.
    Expunge,
    /// CHECK.
    Check,
    /// SEARCH or UID SEARCH.
    Search,
    /// FETCH or UID FETCH.
    Fetch,
    /// STORE or UID STORE.
    Store,
    /// COPY or UID COPY.
    Copy,
    /// MOVE or UID MOVE.
    Move,
    /// APPEND.
    Append,
    /// IDLE (until DONE is answered).
    Idle,
    /// GETQUOTAROOT.
    GetQuotaRoot,
    /// GETQUOTA.
    GetQuota,
}

/// The result of one [`Session::decode_raw`] step.
pub type Decoded = crate::wire::Decoded<RawEvent>;

/// How an APPEND's literal must be sent, from [`Session::encode_append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendPlan {
    /// Bytes of the command prefix in the output buffer.
    pub len: usize,
    /// Wait for a continuation request (`+`) before sending the message
    /// (a synchronizing literal); false with LITERAL+ / LITERAL-.
    pub wait_continue: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rx {
    Start,
    Fetch,
    BodyLiteral {
        remaining: u64,
    },
    BodyQuoted,
    BodyEnd,
    Search,
    Skip {
        scanner: Scanner,
        prefix: usize,
        fetch: bool,
    },
    Overflow {
        scanner: Scanner,
        available: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Other,
    UntaggedLine,
    FetchValue { prefix: usize },
}

/// The IMAP protocol state machine (RFC 3501, RFC 9051 and extensions).
///
/// It holds no buffers: a few hundred bytes of state. Commands may be
/// encoded back to back before their responses are decoded (pipelining,
/// up to [`MAX_IN_FLIGHT`]); tagged responses are matched by tag.
#[derive(Debug, Clone)]
pub struct Session {
    pub(super) state: State,
    pub(super) caps: Capabilities,
    pub(super) mailbox: MailboxState,
    pub(super) pending: Vec<(u32, Pending), MAX_IN_FLIGHT>,
    pub(super) next_tag: u32,
    pub(super) last_tag: u32,
    pub(super) rx: Rx,
    pub(super) need: Need,
    pub(super) idling: bool,
    pub(super) broken: bool,
    pub(super) skip_oversized: bool,
    pub(super) max_literal: u64,
    pub(super) pauses: super::command::Pauses,
    pub(super) max_line: usize,
    pub(super) refusals: Refusals,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

pub(super) fn malformed(expected: &'static str) -> ProtocolError {
    ProtocolError::Malformed {
        expected,
        offset: 0,
    }
}

/// Why bytes starting with `first` are not an IMAP greeting (`* OK`).
fn wrong_greeting(first: u8) -> ProtocolError {
    let expected = match first {
        b'+' | b'-' => "an IMAP greeting (* OK), but the server sent a POP3 greeting on an IMAP connection: wrong port? (IMAP is 143, imaps 993)",
        // TLS record types: handshake, alert, change cipher spec, data.
        0x14..=0x17 => "an IMAP greeting (* OK), but a TLS record arrived on a plain connection: is this a TLS port? try imaps://",
        _ => "an IMAP greeting (* OK): is this an IMAP server, and the right port?",
    };
    ProtocolError::Malformed {
        expected,
        offset: 0,
    }
}

pub(super) fn starts_with_ci(s: &[u8], p: &[u8]) -> bool {
    s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
}

impl Session {
    /// A session for a freshly opened connection: it awaits the greeting.
    pub fn new() -> Self {
        let mut pending = Vec::new();
        // Cannot fail: empty with room.
        let _ = pending.push((0, Pending::Greeting));
        Session {
            state: State::Greeting,
            caps: Capabilities::default(),
            mailbox: MailboxState::default(),
            pending,
            next_tag: 1,
            last_tag: 0,
            rx: Rx::Start,
            need: Need::Other,
            idling: false,
            broken: false,
            skip_oversized: false,
            max_literal: u64::from(u32::MAX),
            pauses: Vec::new(),
            max_line: DEFAULT_MAX_LINE,
            refusals: Refusals::NONE,
        }
    }

    /// The last refusal the server sent (`NO`, `BAD`, `BYE`), with its
    /// text: an [`Error::Refused`](crate::Error::Refused) carries only the
    /// kind and code. Of commands pipelined together, the first tagged
    /// refusal is kept (a later one is usually its consequence); `BYE`
    /// always replaces it.
    pub fn last_refusal(&self) -> &RefusalText {
        self.refusals.last()
    }

    /// Records a refusal's text and returns its kind and code.
    pub(super) fn refuse(&mut self, kind: RefusalKind, code: ResponseCode, text: &[u8]) -> Refusal {
        self.refusals.record(Refusal::new(kind, code), text)
    }

    /// The protocol state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What the server advertised (check [`Capabilities::known`]).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The selected mailbox's state as the untagged data told it.
    pub fn mailbox(&self) -> &MailboxState {
        &self.mailbox
    }

    /// Commands sent whose tagged responses have not been decoded.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The oldest command awaiting its response.
    pub fn awaiting(&self) -> Option<Pending> {
        self.pending.first().map(|p| p.1)
    }

    /// The tag number of the last command encoded (`A0001` is 1).
    pub fn last_tag(&self) -> u32 {
        self.last_tag
    }

    /// Where the bytes of the last encoded command must pause for the
    /// server's continuation request (`+`): the offsets just after each
    /// synchronizing literal's `{N}\r\n` (RFC 3501 §7.5), in order.
    /// Send the bytes up to the first offset, read events until
    /// [`GenericEvent::Continue`] (a tagged `NO`/`BAD` instead means the
    /// command was refused and nothing more may be sent), then go on to
    /// the next. Empty for most commands: an argument only needs a
    /// synchronizing literal when it holds CR, LF or 8-bit bytes (without
    /// UTF8=ACCEPT) and the server offers neither LITERAL+ nor, for
    /// short ones, LITERAL- (RFC 7888). Such a command must be the only
    /// one in flight. Each pause costs a round trip.
    pub fn literal_pauses(&self) -> &[usize] {
        &self.pauses
    }

    /// True once an error left the session out of step with the server.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// True between the IDLE continuation and its tagged response.
    pub fn is_idling(&self) -> bool {
        self.idling
    }

    /// When true, an untagged response or a non-body FETCH item too large
    /// for the receive buffer is skipped ([`GenericEvent::Skipped`])
    /// instead of failing with `BufferTooSmall`. Default false.
    pub fn set_skip_oversized(&mut self, skip: bool) {
        self.skip_oversized = skip;
    }

    /// The largest body literal accepted (default `u32::MAX`); a larger
    /// announced length is `Malformed`, never trusted.
    pub fn set_max_literal(&mut self, max: u64) {
        self.max_literal = max;
    }

    /// The longest response line (outside literals and bodies) read on
    /// once it overflowed the receive buffer (default
    /// [`DEFAULT_MAX_LINE`]): counted to report its size, or skipped (see
    /// [`Self::set_skip_oversized`]). Past it the session fails with
    /// `BufferTooSmall` at once without reading the rest: a server sending
    /// one endless line costs at most this many bytes, never a hang. Set it
    /// to the receive buffer's size to fail as soon as the buffer is full.
    pub fn set_max_line(&mut self, max: usize) {
        self.max_line = max;
    }

    pub(super) fn check(
        &self,
        command: &'static str,
        allowed: &[State],
    ) -> Result<(), ProtocolError> {
        if self.broken {
            return Err(ProtocolError::Broken);
        }
        if self.pending.iter().any(|p| p.1 == Pending::Idle) {
            return Err(ProtocolError::WrongState {
                command,
                state: SessionState::Idle,
            });
        }
        // Behind a SELECT or EXAMINE in flight, a command runs in the
        // mailbox it opens (pipelined; if it fails, so does the command).
        let opening = self
            .pending
            .iter()
            .any(|p| matches!(p.1, Pending::Select | Pending::Examine));
        let state = if opening { State::Selected } else { self.state };
        if !allowed.contains(&state) {
            return Err(ProtocolError::WrongState {
                command,
                state: state.into(),
            });
        }
        if self.pending.is_full() {
            return Err(ProtocolError::TooManyInFlight {
                limit: MAX_IN_FLIGHT,
            });
        }
        Ok(())
    }

    pub(super) fn alone(&self, what: &'static str) -> Result<(), ProtocolError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::InvalidArgument(what))
        }
    }

    pub(super) fn put_tag(&self, c: &mut TxCursor<'_>) {
        c.put(b"A");
        let t = self.next_tag;
        for div in [1000u32, 100, 10] {
            if t < div {
                c.put(b"0");
            }
        }
        c.put_u32(t).put(b" ");
    }

    pub(super) fn commit(&mut self, p: Pending) {
        // `check` made sure there is room.
        let _ = self.pending.push((self.next_tag, p));
        self.pauses.clear();
        self.last_tag = self.next_tag;
        self.next_tag = match self.next_tag.checked_add(1) {
            Some(n) if n < 100_000_000 => n,
            _ => 1,
        };
    }

    /// Tells the session the receive buffer is full and it still asked for
    /// more. Keep the buffered bytes: the next steps consume them, either
    /// skipping the oversized value (see [`Self::set_skip_oversized`]) or
    /// counting the response to fail with `BufferTooSmall`.
    pub fn overflow(&mut self, available: usize) {
        self.rx = match (self.rx, self.need) {
            (Rx::Fetch, Need::FetchValue { prefix }) if self.skip_oversized => Rx::Skip {
                scanner: Scanner::new(Mode::Value),
                prefix,
                fetch: true,
            },
            (Rx::Start, Need::UntaggedLine) if self.skip_oversized => Rx::Skip {
                scanner: Scanner::new(Mode::Line),
                prefix: 0,
                fetch: false,
            },
            _ => Rx::Overflow {
                scanner: Scanner::new(Mode::Line),
                available,
            },
        };
    }

    /// Checks the hand-over point of STARTTLS: after the tagged OK the next
    /// bytes must be the TLS handshake, so any byte already buffered was
    /// injected in plain text (RFC 3501 §6.2.1; CVE-2011-0411 class). Also
    /// forgets the capabilities, which must be asked for again under TLS.
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
                expected: "no data between the STARTTLS OK and the TLS handshake",
                offset: 0,
            });
        }
        self.caps.reset_advertised();
        self.state = State::NotAuthenticated;
        Ok(())
    }

    /// Marks the session closed (the driver saw the connection end).
    pub fn close(&mut self) {
        self.state = State::Logout;
        self.broken = true;
    }

    /// Decodes `input`, returning an event that borrows it.
    #[allow(clippy::type_complexity)]
    pub fn decode<'b>(
        &mut self,
        input: &'b [u8],
    ) -> Result<Option<(usize, Option<super::Event<'b>>)>, ProtocolError> {
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
        self.need = Need::Other;
        let r = self.step(input);
        if r.is_err() {
            self.broken = true;
            self.state = State::Logout;
        }
        r
    }

    pub(super) fn step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        let progress = |consumed, event| Ok(Decoded::Progress { consumed, event });
        match self.rx {
            Rx::Overflow {
                mut scanner,
                available,
            } => {
                let r = scanner.feed(input)?;
                self.rx = Rx::Overflow { scanner, available };
                let needed = usize::try_from(scanner.counted.saturating_add(scanner.in_literal()))
                    .unwrap_or(usize::MAX);
                if scanner.line > self.max_line as u64 {
                    // An endless line: stop reading it.
                    return Err(ProtocolError::BufferTooSmall { needed, available });
                }
                match r {
                    Scan::Done(_) => Err(ProtocolError::BufferTooSmall { needed, available }),
                    // A literal that cannot fit either: fail now rather
                    // than read it all.
                    Scan::More if scanner.in_literal() > available as u64 => {
                        Err(ProtocolError::BufferTooSmall { needed, available })
                    }
                    Scan::More if input.is_empty() => Ok(Decoded::NeedMore),
                    Scan::More => progress(input.len(), None),
                }
            }
            Rx::Skip {
                mut scanner,
                prefix,
                fetch,
            } => {
                if prefix > 0 {
                    self.rx = Rx::Skip {
                        scanner,
                        prefix: 0,
                        fetch,
                    };
                    return progress(prefix.min(input.len()), None);
                }
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let r = scanner.feed(input)?;
                if scanner.line > self.max_line as u64 {
                    // An endless line is not skipped to its end.
                    return Err(ProtocolError::BufferTooSmall {
                        needed: usize::try_from(scanner.line).unwrap_or(usize::MAX),
                        available: self.max_line,
                    });
                }
                match r {
                    Scan::More => {
                        self.rx = Rx::Skip {
                            scanner,
                            prefix: 0,
                            fetch,
                        };
                        progress(input.len(), None)
                    }
                    Scan::Done(n) => {
                        self.rx = if fetch { Rx::Fetch } else { Rx::Start };
                        progress(
                            n,
                            Some(GenericEvent::Skipped {
                                size: scanner.counted,
                            }),
                        )
                    }
                }
            }
            Rx::BodyLiteral { remaining } => {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let k = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                let left = remaining - k as u64;
                self.rx = if left == 0 {
                    Rx::BodyEnd
                } else {
                    Rx::BodyLiteral { remaining: left }
                };
                progress(k, Some(GenericEvent::BodyChunk(Span { start: 0, end: k })))
            }
            Rx::BodyQuoted => {
                let Some(stop) = input
                    .iter()
                    .position(|&b| matches!(b, b'"' | b'\\' | b'\r' | b'\n'))
                else {
                    return if input.is_empty() {
                        Ok(Decoded::NeedMore)
                    } else {
                        progress(
                            input.len(),
                            Some(GenericEvent::BodyChunk(Span {
                                start: 0,
                                end: input.len(),
                            })),
                        )
                    };
                };
                if stop > 0 {
                    return progress(
                        stop,
                        Some(GenericEvent::BodyChunk(Span {
                            start: 0,
                            end: stop,
                        })),
                    );
                }
                match input.first() {
                    Some(b'"') => {
                        self.rx = Rx::Fetch;
                        progress(1, Some(GenericEvent::BodyEnd))
                    }
                    Some(b'\\') if input.len() >= 2 => {
                        progress(2, Some(GenericEvent::BodyChunk(Span { start: 1, end: 2 })))
                    }
                    Some(b'\\') => Ok(Decoded::NeedMore),
                    _ => Err(malformed("closing quote of a body string")),
                }
            }
            Rx::BodyEnd => {
                self.rx = Rx::Fetch;
                progress(0, Some(GenericEvent::BodyEnd))
            }
            Rx::Search => self.search_step(input),
            Rx::Fetch => self.fetch_step(input),
            Rx::Start => self.start_step(input),
        }
    }

    pub(super) fn start_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        let Some(&first) = input.first() else {
            return Ok(Decoded::NeedMore);
        };
        if self.state == State::Greeting && first != b'*' {
            // The first byte tells a wrong port at once, before any line
            // is complete (`+OK` would otherwise read as a continuation).
            return Err(wrong_greeting(first));
        }
        // SEARCH answers stream: they can be longer than any buffer.
        if starts_with_ci(input, b"* SEARCH") && matches!(input.get(8), Some(b' ' | b'\r' | b'\n'))
        {
            self.rx = Rx::Search;
            return Ok(Decoded::Progress {
                consumed: 8,
                event: None,
            });
        }
        let first_line = find_line(input);
        if let Some(e) = first_line {
            if let Some((seq, consumed)) = fetch_start(input.get(..e).unwrap_or(&[])) {
                self.rx = Rx::Fetch;
                return Ok(Decoded::Progress {
                    consumed,
                    event: Some(GenericEvent::FetchStart { seq }),
                });
            }
        }
        let Some(end) = response_extent(input)? else {
            if input.starts_with(b"*") {
                self.need = Need::UntaggedLine;
            }
            return Ok(Decoded::NeedMore);
        };
        let whole = input.get(..end).unwrap_or(&[]);
        let body_end = trim_crlf(whole).len();
        let mut c = Cursor::new(input, 0, body_end);
        let event = self.response(&mut c)?;
        Ok(Decoded::Progress {
            consumed: end,
            event,
        })
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
