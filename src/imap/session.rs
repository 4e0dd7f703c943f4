//! The sans-I/O IMAP state machine: commands in, command bytes out; server
//! bytes in, events out. It decides everything; the drivers only move
//! bytes between it, the transport and the caller.

use super::command::{
    self, put_astring, put_fetch_items, put_flags, put_mailbox, put_quoted, Append, Command,
    StoreOp,
};
use super::event::{
    Code, GenericEvent, ListItem, MailboxAttrs, QuotaValues, RawEvent, Span, StatusKind,
    StatusValues,
};
use super::parse::{decimal, Cursor};
use super::scan::{response_extent, Mode, Scan, Scanner};
use super::types::{Capabilities, FlagSet, MailboxState, State};
use crate::error::{ProtocolError, Refusal, RefusalKind, ResponseCode};
use crate::sasl::SaslClient;
use crate::wire::{check_text, find_line, trim_crlf, TxCursor};
use heapless::Vec;

/// How many commands may await their responses at once (pipelining).
pub const MAX_IN_FLIGHT: usize = 16;

/// A command sent and awaiting its tagged response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)]
pub enum Pending {
    /// The server greeting (awaited from the start; tag 0).
    Greeting,
    Capability,
    Noop,
    Logout,
    Id,
    Enable,
    Login,
    Authenticate,
    StartTls,
    Namespace,
    List,
    Lsub,
    Status,
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    Close,
    Unselect,
    Expunge,
    Check,
    Search,
    Fetch,
    Store,
    Copy,
    Move,
    Append,
    Idle,
    GetQuotaRoot,
    GetQuota,
}

/// The result of one [`Session::decode_raw`] step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Nothing can be decided with the bytes given: read more. If the
    /// receive buffer is already full, call [`Session::overflow`] (and keep
    /// the bytes: the session consumes them in the next steps).
    NeedMore,
    /// `consumed` bytes were used; `event` (if any) is what they meant.
    Progress {
        /// Bytes of the input used; drop them after handling the event.
        consumed: usize,
        /// What happened, if anything worth reporting.
        event: Option<RawEvent>,
    },
}

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
enum Rx {
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
enum Need {
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
    state: State,
    caps: Capabilities,
    mailbox: MailboxState,
    pending: Vec<(u32, Pending), MAX_IN_FLIGHT>,
    next_tag: u32,
    last_tag: u32,
    rx: Rx,
    need: Need,
    idling: bool,
    broken: bool,
    skip_oversized: bool,
    max_literal: u64,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

fn malformed(expected: &'static str) -> ProtocolError {
    ProtocolError::Malformed {
        expected,
        offset: 0,
    }
}

fn starts_with_ci(s: &[u8], p: &[u8]) -> bool {
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
        }
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

    fn check(&self, command: &'static str, allowed: &[State]) -> Result<(), ProtocolError> {
        if self.broken {
            return Err(ProtocolError::Broken);
        }
        if self.pending.iter().any(|p| p.1 == Pending::Idle) {
            return Err(ProtocolError::WrongState {
                command,
                state: "IDLE",
            });
        }
        if !allowed.contains(&self.state) {
            return Err(ProtocolError::WrongState {
                command,
                state: self.state.name(),
            });
        }
        if self.pending.is_full() {
            return Err(ProtocolError::InvalidArgument(
                "too many commands in flight; decode responses first",
            ));
        }
        Ok(())
    }

    fn alone(&self, what: &'static str) -> Result<(), ProtocolError> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::InvalidArgument(what))
        }
    }

    fn put_tag(&self, c: &mut TxCursor<'_>) {
        c.put(b"A");
        let t = self.next_tag;
        for div in [1000u32, 100, 10] {
            if t < div {
                c.put(b"0");
            }
        }
        c.put_u32(t).put(b" ");
    }

    fn commit(&mut self, p: Pending) {
        // `check` made sure there is room.
        let _ = self.pending.push((self.next_tag, p));
        self.last_tag = self.next_tag;
        self.next_tag = match self.next_tag.checked_add(1) {
            Some(n) if n < 100_000_000 => n,
            _ => 1,
        };
    }

    /// Encodes `cmd` into `out` and records that its response is due.
    /// Returns the number of bytes to send. Nothing is recorded if the
    /// command is refused (wrong state, bad argument, buffer too small).
    pub fn encode(&mut self, cmd: &Command<'_>, out: &mut [u8]) -> Result<usize, ProtocolError> {
        use State::{Authenticated as A, NotAuthenticated as N, Selected as S};
        const ANY: &[State] = &[N, A, S];
        const AUTH: &[State] = &[A, S];
        let caps = self.caps;
        let mut c = TxCursor::new(out);
        self.put_tag(&mut c);
        let p = match *cmd {
            Command::Capability => {
                self.check("CAPABILITY", ANY)?;
                c.put(b"CAPABILITY");
                Pending::Capability
            }
            Command::Noop => {
                self.check("NOOP", ANY)?;
                c.put(b"NOOP");
                Pending::Noop
            }
            Command::Logout => {
                self.check("LOGOUT", ANY)?;
                c.put(b"LOGOUT");
                Pending::Logout
            }
            Command::Id(fields) => {
                self.check("ID", ANY)?;
                c.put(b"ID ");
                match fields {
                    None => {
                        c.put(b"NIL");
                    }
                    Some(fields) => {
                        c.put(b"(");
                        for (i, (k, v)) in fields.iter().enumerate() {
                            check_text(k.as_bytes())?;
                            check_text(v.as_bytes())?;
                            if i > 0 {
                                c.put(b" ");
                            }
                            put_quoted(&mut c, k.as_bytes());
                            c.put(b" ");
                            put_quoted(&mut c, v.as_bytes());
                        }
                        c.put(b")");
                    }
                }
                Pending::Id
            }
            Command::Enable(names) => {
                self.check("ENABLE", AUTH)?;
                if names.is_empty() {
                    return Err(ProtocolError::InvalidArgument("ENABLE needs a capability"));
                }
                c.put(b"ENABLE");
                for n in names {
                    if n.is_empty() || !n.bytes().all(super::parse::is_atom_char) {
                        return Err(ProtocolError::InvalidArgument("capability is not an atom"));
                    }
                    c.put(b" ").put(n.as_bytes());
                }
                Pending::Enable
            }
            Command::Login { user, password } => {
                self.check("LOGIN", &[N])?;
                if caps.login_disabled {
                    return Err(ProtocolError::NotSupported("LOGIN (LOGINDISABLED)"));
                }
                c.put(b"LOGIN ");
                put_astring(&mut c, user.as_bytes(), &caps)?;
                c.put(b" ");
                put_astring(&mut c, password.as_bytes(), &caps)?;
                Pending::Login
            }
            Command::StartTls => {
                self.check("STARTTLS", &[N])?;
                // Pipelining past STARTTLS would let plain-text responses be
                // read as if they were protected.
                self.alone("STARTTLS must be the only command in flight")?;
                c.put(b"STARTTLS");
                Pending::StartTls
            }
            Command::Namespace => {
                self.check("NAMESPACE", AUTH)?;
                c.put(b"NAMESPACE");
                Pending::Namespace
            }
            Command::List {
                reference,
                pattern,
                special_use,
            } => {
                self.check("LIST", AUTH)?;
                c.put(b"LIST ");
                put_mailbox(&mut c, reference, &caps)?;
                c.put(b" ");
                put_mailbox(&mut c, pattern, &caps)?;
                if special_use && caps.special_use && caps.list_extended {
                    c.put(b" RETURN (SPECIAL-USE)");
                }
                Pending::List
            }
            Command::Lsub { reference, pattern } => {
                self.check("LSUB", AUTH)?;
                c.put(b"LSUB ");
                put_mailbox(&mut c, reference, &caps)?;
                c.put(b" ");
                put_mailbox(&mut c, pattern, &caps)?;
                Pending::Lsub
            }
            Command::Status { mailbox, items } => {
                self.check("STATUS", AUTH)?;
                c.put(b"STATUS ");
                put_mailbox(&mut c, mailbox, &caps)?;
                c.put(b" (");
                let mut first = true;
                for (on, name) in [
                    (items.messages, &b"MESSAGES"[..]),
                    (items.uid_next, b"UIDNEXT"),
                    (items.uid_validity, b"UIDVALIDITY"),
                    (items.unseen, b"UNSEEN"),
                    (items.recent, b"RECENT"),
                    (items.size, b"SIZE"),
                    (items.highest_modseq, b"HIGHESTMODSEQ"),
                ] {
                    if on {
                        if !first {
                            c.put(b" ");
                        }
                        first = false;
                        c.put(name);
                    }
                }
                if first {
                    return Err(ProtocolError::InvalidArgument("STATUS asks for nothing"));
                }
                c.put(b")");
                Pending::Status
            }
            Command::Select { mailbox, condstore } => {
                self.check("SELECT", AUTH)?;
                c.put(b"SELECT ");
                put_mailbox(&mut c, mailbox, &caps)?;
                if condstore {
                    c.put(b" (CONDSTORE)");
                }
                Pending::Select
            }
            Command::Examine(mailbox) => {
                self.check("EXAMINE", AUTH)?;
                c.put(b"EXAMINE ");
                put_mailbox(&mut c, mailbox, &caps)?;
                Pending::Examine
            }
            Command::Create(m) => self.mailbox_cmd(&mut c, "CREATE", m, Pending::Create)?,
            Command::Delete(m) => self.mailbox_cmd(&mut c, "DELETE", m, Pending::Delete)?,
            Command::Subscribe(m) => {
                self.mailbox_cmd(&mut c, "SUBSCRIBE", m, Pending::Subscribe)?
            }
            Command::Unsubscribe(m) => {
                self.mailbox_cmd(&mut c, "UNSUBSCRIBE", m, Pending::Unsubscribe)?
            }
            Command::GetQuotaRoot(m) => {
                self.mailbox_cmd(&mut c, "GETQUOTAROOT", m, Pending::GetQuotaRoot)?
            }
            Command::GetQuota(root) => {
                self.check("GETQUOTA", AUTH)?;
                c.put(b"GETQUOTA ");
                check_text(root.as_bytes())?;
                put_astring(&mut c, root.as_bytes(), &caps)?;
                Pending::GetQuota
            }
            Command::Rename { from, to } => {
                self.check("RENAME", AUTH)?;
                c.put(b"RENAME ");
                put_mailbox(&mut c, from, &caps)?;
                c.put(b" ");
                put_mailbox(&mut c, to, &caps)?;
                Pending::Rename
            }
            Command::Close => {
                self.check("CLOSE", &[S])?;
                c.put(b"CLOSE");
                Pending::Close
            }
            Command::Unselect => {
                self.check("UNSELECT", &[S])?;
                c.put(b"UNSELECT");
                Pending::Unselect
            }
            Command::Expunge => {
                self.check("EXPUNGE", &[S])?;
                c.put(b"EXPUNGE");
                Pending::Expunge
            }
            Command::UidExpunge(set) => {
                self.check("UID EXPUNGE", &[S])?;
                c.put(b"UID EXPUNGE ");
                set.encode(&mut c)?;
                Pending::Expunge
            }
            Command::Check => {
                self.check("CHECK", &[S])?;
                c.put(b"CHECK");
                Pending::Check
            }
            Command::Search { uid, criteria, ret } => {
                self.check("SEARCH", &[S])?;
                command::check_raw(criteria, false)?;
                if criteria.trim().is_empty() {
                    return Err(ProtocolError::InvalidArgument("empty search criteria"));
                }
                c.put(if uid { &b"UID SEARCH "[..] } else { b"SEARCH " });
                if let Some(r) = ret {
                    c.put(b"RETURN (");
                    let mut first = true;
                    for (on, name) in [
                        (r.min, &b"MIN"[..]),
                        (r.max, b"MAX"),
                        (r.count, b"COUNT"),
                        (r.all, b"ALL"),
                    ] {
                        if on {
                            if !first {
                                c.put(b" ");
                            }
                            first = false;
                            c.put(name);
                        }
                    }
                    c.put(b") ");
                }
                c.put(criteria.as_bytes());
                Pending::Search
            }
            Command::Fetch { set, uid, items } => {
                self.check("FETCH", &[S])?;
                c.put(if uid { &b"UID FETCH "[..] } else { b"FETCH " });
                set.encode(&mut c)?;
                c.put(b" ");
                put_fetch_items(&mut c, &items)?;
                Pending::Fetch
            }
            Command::Store {
                set,
                uid,
                op,
                silent,
                flags,
            } => {
                self.check("STORE", &[S])?;
                c.put(if uid { &b"UID STORE "[..] } else { b"STORE " });
                set.encode(&mut c)?;
                c.put(match op {
                    StoreOp::Add => b" +FLAGS",
                    StoreOp::Remove => b" -FLAGS",
                    StoreOp::Replace => &b" FLAGS"[..],
                });
                if silent {
                    c.put(b".SILENT");
                }
                c.put(b" ");
                put_flags(&mut c, flags)?;
                Pending::Store
            }
            Command::Copy { set, uid, mailbox } => {
                self.check("COPY", &[S])?;
                c.put(if uid { &b"UID COPY "[..] } else { b"COPY " });
                set.encode(&mut c)?;
                c.put(b" ");
                put_mailbox(&mut c, mailbox, &caps)?;
                Pending::Copy
            }
            Command::Move { set, uid, mailbox } => {
                self.check("MOVE", &[S])?;
                c.put(if uid { &b"UID MOVE "[..] } else { b"MOVE " });
                set.encode(&mut c)?;
                c.put(b" ");
                put_mailbox(&mut c, mailbox, &caps)?;
                Pending::Move
            }
            Command::Idle => {
                self.check("IDLE", AUTH)?;
                self.alone("IDLE must be the only command in flight")?;
                c.put(b"IDLE");
                Pending::Idle
            }
        };
        c.put(b"\r\n");
        let n = c.finish()?;
        if matches!(p, Pending::Select | Pending::Examine) {
            // Untagged data for the new mailbox follows; the old one is
            // deselected even if the command fails (RFC 3501 §6.3.1).
            self.mailbox = MailboxState::default();
        }
        self.commit(p);
        Ok(n)
    }

    fn mailbox_cmd(
        &self,
        c: &mut TxCursor<'_>,
        name: &'static str,
        mailbox: &str,
        p: Pending,
    ) -> Result<Pending, ProtocolError> {
        self.check(name, &[State::Authenticated, State::Selected])?;
        c.put(name.as_bytes()).put(b" ");
        put_mailbox(c, mailbox, &self.caps)?;
        Ok(p)
    }

    /// Encodes `AUTHENTICATE <mechanism>`, with the initial response when
    /// the mechanism has one and the server offers SASL-IR (RFC 4959).
    pub fn encode_authenticate(
        &mut self,
        sasl: &mut SaslClient<'_>,
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        self.check("AUTHENTICATE", &[State::NotAuthenticated])?;
        self.alone("AUTHENTICATE must be the only command in flight")?;
        let mut c = TxCursor::new(out);
        self.put_tag(&mut c);
        c.put(b"AUTHENTICATE ")
            .put(sasl.mechanism().name().as_bytes());
        if self.caps.sasl_ir && sasl.mechanism().has_initial_response() {
            c.put(b" ");
            sasl.write_initial_response(&mut c);
        }
        c.put(b"\r\n");
        let n = c.finish()?;
        self.commit(Pending::Authenticate);
        Ok(n)
    }

    /// Encodes the answer to an AUTHENTICATE challenge (the text of a
    /// [`GenericEvent::Continue`]).
    pub fn encode_sasl_response(
        &mut self,
        sasl: &mut SaslClient<'_>,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        if self.awaiting() != Some(Pending::Authenticate) {
            return Err(ProtocolError::WrongState {
                command: "SASL response",
                state: self.state.name(),
            });
        }
        let mut c = TxCursor::new(out);
        sasl.respond(challenge.trim_ascii(), &mut c)?;
        c.put(b"\r\n");
        c.finish()
    }

    /// Encodes `*`, which cancels an AUTHENTICATE exchange.
    pub fn encode_sasl_cancel(&mut self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let mut c = TxCursor::new(out);
        c.put(b"*\r\n");
        c.finish()
    }

    /// Encodes the APPEND command up to and including its literal header.
    /// The caller then sends exactly `append.len` message bytes followed
    /// by CRLF — after a [`GenericEvent::Continue`] if
    /// [`AppendPlan::wait_continue`] (if the server answers with a tagged
    /// NO instead, nothing more is sent).
    pub fn encode_append(
        &mut self,
        append: &Append<'_>,
        out: &mut [u8],
    ) -> Result<AppendPlan, ProtocolError> {
        self.check("APPEND", &[State::Authenticated, State::Selected])?;
        let sync = !self.caps.non_sync_literal(u64::from(append.len));
        if sync {
            self.alone("APPEND with a synchronizing literal must be the only command in flight")?;
        }
        let caps = self.caps;
        let mut c = TxCursor::new(out);
        self.put_tag(&mut c);
        c.put(b"APPEND ");
        put_mailbox(&mut c, append.mailbox, &caps)?;
        if !append.flags.is_empty() {
            c.put(b" ");
            put_flags(&mut c, append.flags)?;
        }
        if let Some(date) = append.date {
            check_text(date.as_bytes())?;
            if date.contains('"') || date.contains('\\') {
                return Err(ProtocolError::InvalidArgument("date contains a quote"));
            }
            c.put(b" \"").put(date.as_bytes()).put(b"\"");
        }
        c.put(b" {").put_u32(append.len);
        if !sync {
            c.put(b"+");
        }
        c.put(b"}\r\n");
        let len = c.finish()?;
        self.commit(Pending::Append);
        Ok(AppendPlan {
            len,
            wait_continue: sync,
        })
    }

    /// Encodes `DONE`, which ends IDLE; the tagged response follows.
    pub fn encode_idle_done(&mut self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        if !self.idling {
            return Err(ProtocolError::WrongState {
                command: "DONE",
                state: self.state.name(),
            });
        }
        self.idling = false;
        let mut c = TxCursor::new(out);
        c.put(b"DONE\r\n");
        c.finish()
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
                state: self.state.name(),
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

    fn step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
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
                match scanner.feed(input)? {
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

    fn search_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        let spaces = input.iter().take_while(|&&b| b == b' ').count();
        let rest = input.get(spaces..).unwrap_or(&[]);
        match rest.first() {
            None if spaces > 0 => Ok(Decoded::Progress {
                consumed: spaces,
                event: None,
            }),
            None => Ok(Decoded::NeedMore),
            Some(b'\r' | b'\n') => match find_line(rest) {
                None => Ok(Decoded::NeedMore),
                Some(e) => {
                    self.rx = Rx::Start;
                    Ok(Decoded::Progress {
                        consumed: spaces + e,
                        event: None,
                    })
                }
            },
            Some(b'(') => {
                let Some(close) = rest.iter().position(|&b| b == b')') else {
                    return Ok(Decoded::NeedMore);
                };
                let inner = rest.get(1..close).unwrap_or(&[]);
                let mut c = Cursor::new(inner, 0, inner.len());
                let event = if c.keyword(b"MODSEQ") {
                    c.sp();
                    Some(GenericEvent::SearchModSeq(c.number()?))
                } else {
                    None
                };
                Ok(Decoded::Progress {
                    consumed: spaces + close + 1,
                    event,
                })
            }
            Some(b'0'..=b'9') => {
                let k = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if k == rest.len() {
                    return Ok(Decoded::NeedMore);
                }
                let n = decimal(rest.get(..k).unwrap_or(&[]))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| malformed("a 32-bit number in SEARCH"))?;
                Ok(Decoded::Progress {
                    consumed: spaces + k,
                    event: Some(GenericEvent::SearchHit(n)),
                })
            }
            Some(_) => Err(malformed("a number in SEARCH")),
        }
    }

    fn fetch_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        let i = input.iter().take_while(|&&b| b == b' ').count();
        let rest = input.get(i..).unwrap_or(&[]);
        match rest.first() {
            None if i > 0 => {
                return Ok(Decoded::Progress {
                    consumed: i,
                    event: None,
                })
            }
            None => return Ok(Decoded::NeedMore),
            Some(b')') => {
                let Some(e) = find_line(rest) else {
                    return Ok(Decoded::NeedMore);
                };
                // Tolerance: trailing spaces after the closing parenthesis.
                if !trim_crlf(rest.get(1..e).unwrap_or(&[]))
                    .iter()
                    .all(|&b| b == b' ')
                {
                    return Err(malformed("line end after a FETCH answer"));
                }
                self.rx = Rx::Start;
                return Ok(Decoded::Progress {
                    consumed: i + e,
                    event: Some(GenericEvent::FetchEnd),
                });
            }
            Some(b'\r' | b'\n') => return Err(malformed("closing parenthesis of a FETCH answer")),
            _ => {}
        }
        // The item name, with its [section] and <origin>.
        let mut j = 0usize;
        let mut origin = None;
        loop {
            match rest.get(j) {
                None => return Ok(Decoded::NeedMore),
                Some(b'[') => match rest
                    .get(j..)
                    .and_then(|t| t.iter().position(|&b| b == b']' || b == b'\n'))
                {
                    Some(k) if rest.get(j + k) == Some(&b']') => j += k + 1,
                    Some(_) => return Err(malformed("closing bracket of a section")),
                    None => return Ok(Decoded::NeedMore),
                },
                Some(b'<') => match rest
                    .get(j..)
                    .and_then(|t| t.iter().position(|&b| b == b'>' || b == b'\n'))
                {
                    Some(k) if rest.get(j + k) == Some(&b'>') => {
                        origin = decimal(rest.get(j + 1..j + k).unwrap_or(&[]))
                            .and_then(|v| u32::try_from(v).ok());
                        j += k + 1;
                    }
                    Some(_) => return Err(malformed("closing '>' of an origin")),
                    None => return Ok(Decoded::NeedMore),
                },
                Some(b' ' | b'(' | b')' | b'{' | b'"' | b'\r' | b'\n') => break,
                Some(_) => j += 1,
            }
        }
        let name = Span {
            start: i,
            end: i + j,
        };
        let name_bytes = rest.get(..j).unwrap_or(&[]);
        let base = name_bytes
            .split(|&b| b == b'[' || b == b'<')
            .next()
            .unwrap_or(&[]);
        // Tolerance: a missing or doubled space between name and value.
        while rest.get(j) == Some(&b' ') {
            j += 1;
        }
        if rest.get(j).is_none() {
            return Ok(Decoded::NeedMore);
        }
        let vstart = i + j;
        let is = |s: &[u8]| base.eq_ignore_ascii_case(s);
        let sectioned = name_bytes.contains(&b'[');
        if ((is(b"BODY") || is(b"BINARY")) && sectioned)
            || is(b"RFC822")
            || is(b"RFC822.HEADER")
            || is(b"RFC822.TEXT")
        {
            return self.body_value(input, vstart, name, origin);
        }
        if is(b"UID") || is(b"RFC822.SIZE") || is(b"MODSEQ") || is(b"FLAGS") || is(b"INTERNALDATE")
        {
            let Some(e) = find_line(input) else {
                return Ok(Decoded::NeedMore);
            };
            let end = e
                - (input.get(..e).unwrap_or(&[]).len()
                    - trim_crlf(input.get(..e).unwrap_or(&[])).len());
            let mut c = Cursor::new(input, vstart, end);
            let ev = if is(b"UID") {
                GenericEvent::Uid(c.number32()?)
            } else if is(b"RFC822.SIZE") {
                GenericEvent::Rfc822Size(c.number()?)
            } else if is(b"MODSEQ") {
                c.expect(b'(', "MODSEQ (")?;
                let n = c.number()?;
                c.expect(b')', "MODSEQ )")?;
                GenericEvent::ModSeq(n)
            } else if is(b"FLAGS") {
                GenericEvent::Flags(c.paren_span()?)
            } else {
                // Tolerance: INTERNALDATE NIL (seen from servers for
                // messages whose date was lost) gives an empty date.
                match c.nstring()? {
                    Some(s) => GenericEvent::InternalDate(s.raw),
                    None => GenericEvent::InternalDate(Span {
                        start: vstart,
                        end: vstart,
                    }),
                }
            };
            return Ok(Decoded::Progress {
                consumed: c.pos(),
                event: Some(ev),
            });
        }
        // Any other item: whole if it fits, else skipped or an error.
        let mut scanner = Scanner::new(Mode::Value);
        match scanner.feed(input.get(vstart..).unwrap_or(&[]))? {
            Scan::Done(n) => Ok(Decoded::Progress {
                consumed: vstart + n,
                event: Some(GenericEvent::FetchItem {
                    name,
                    value: Span {
                        start: vstart,
                        end: vstart + n,
                    },
                }),
            }),
            Scan::More => {
                self.need = Need::FetchValue { prefix: vstart };
                Ok(Decoded::NeedMore)
            }
        }
    }

    fn body_value(
        &mut self,
        input: &[u8],
        vstart: usize,
        section: Span,
        origin: Option<u32>,
    ) -> Result<Decoded, ProtocolError> {
        let v = input.get(vstart..).unwrap_or(&[]);
        let start = |len| {
            Some(GenericEvent::BodyStart {
                section,
                origin,
                len,
            })
        };
        match v.first() {
            Some(b'"') => {
                // A short body as a quoted string: make sure it is whole
                // so its length can be announced.
                let mut len = 0u64;
                let mut k = 1;
                loop {
                    match v.get(k) {
                        None => return Ok(Decoded::NeedMore),
                        Some(b'"') => break,
                        Some(b'\\') => k += 2,
                        Some(b'\r' | b'\n') => {
                            return Err(malformed("closing quote of a body string"))
                        }
                        Some(_) => k += 1,
                    }
                    len += 1;
                }
                self.rx = Rx::BodyQuoted;
                Ok(Decoded::Progress {
                    consumed: vstart + 1,
                    event: start(len),
                })
            }
            Some(b'{' | b'~') => {
                let Some(e) = find_line(v) else {
                    return Ok(Decoded::NeedMore);
                };
                let head = trim_crlf(v.get(..e).unwrap_or(&[]));
                let head = head.strip_prefix(b"~").unwrap_or(head);
                let digits = head
                    .strip_prefix(b"{")
                    .and_then(|h| h.strip_suffix(b"}"))
                    .ok_or_else(|| malformed("a literal header {n}"))?;
                let n = decimal(digits).ok_or_else(|| malformed("a literal length"))?;
                if n > self.max_literal {
                    return Err(malformed("a body literal within the configured maximum"));
                }
                self.rx = if n == 0 {
                    Rx::BodyEnd
                } else {
                    Rx::BodyLiteral { remaining: n }
                };
                Ok(Decoded::Progress {
                    consumed: vstart + e,
                    event: start(n),
                })
            }
            Some(b'N' | b'n') => {
                if v.len() < 3 {
                    return Ok(Decoded::NeedMore);
                }
                if !starts_with_ci(v, b"NIL") {
                    return Err(malformed("a body string or NIL"));
                }
                self.rx = Rx::BodyEnd;
                Ok(Decoded::Progress {
                    consumed: vstart + 3,
                    event: start(0),
                })
            }
            None => Ok(Decoded::NeedMore),
            Some(_) => Err(malformed("a body string or NIL")),
        }
    }

    fn start_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
        if input.is_empty() {
            return Ok(Decoded::NeedMore);
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

    fn response(&mut self, c: &mut Cursor<'_>) -> Result<Option<RawEvent>, ProtocolError> {
        if c.eat(b'+') {
            c.sp();
            if self.awaiting() == Some(Pending::Idle) {
                self.idling = true;
            }
            return Ok(Some(GenericEvent::Continue(c.rest_span())));
        }
        if c.eat(b'*') {
            c.sp();
            return self.untagged(c).map(Some);
        }
        let tag_atom = c.atom()?;
        let tag = tag_atom
            .strip_prefix(b"A")
            .and_then(decimal)
            .and_then(|t| u32::try_from(t).ok());
        let idx = tag
            .and_then(|t| {
                self.pending
                    .iter()
                    .position(|p| p.0 == t && p.1 != Pending::Greeting)
            })
            .ok_or_else(|| c.err("the tag of a command in flight"))?;
        c.sp();
        let kind = status_word(c)?;
        c.sp();
        let (code, rc, text) = self.resp_text(c)?;
        let (tag, command) = self.pending.remove(idx);
        if command == Pending::Idle {
            self.idling = false;
        }
        let refusal_kind = match kind {
            Word::Ok => {
                self.on_ok(command, &code);
                return Ok(Some(GenericEvent::Done {
                    tag,
                    command,
                    code,
                    text,
                }));
            }
            Word::No => RefusalKind::No,
            Word::Bad => RefusalKind::Bad,
            _ => return Err(c.err("OK, NO or BAD")),
        };
        if matches!(command, Pending::Select | Pending::Examine) {
            self.state = State::Authenticated;
        }
        let text_bytes = text.get(c.input_all());
        Ok(Some(GenericEvent::Refused {
            tag,
            command,
            refusal: Refusal::new(refusal_kind, rc, text_bytes),
        }))
    }

    fn on_ok(&mut self, command: Pending, code: &Code<Span>) {
        match command {
            Pending::Login | Pending::Authenticate => {
                self.state = State::Authenticated;
                // Capabilities may change at login (RFC 3501 §6.2.3);
                // keep them only if the OK carried a fresh list.
                if !matches!(code, Code::Capability(_)) {
                    self.caps.reset_advertised();
                }
            }
            Pending::Select => self.state = State::Selected,
            Pending::Examine => {
                self.state = State::Selected;
                self.mailbox.read_only = true;
            }
            Pending::Close | Pending::Unselect => {
                self.state = State::Authenticated;
                self.mailbox = MailboxState::default();
            }
            Pending::Logout => self.state = State::Logout,
            Pending::StartTls => self.state = State::TlsHandshake,
            _ => {}
        }
    }

    /// `[code] text` after a status word.
    fn resp_text(
        &mut self,
        c: &mut Cursor<'_>,
    ) -> Result<(Code<Span>, ResponseCode, Span), ProtocolError> {
        let mut code = Code::None;
        let mut rc = ResponseCode::None;
        if c.eat(b'[') {
            let input = c.input_all();
            let start = c.pos();
            let inside_len = c
                .rest()
                .iter()
                .position(|&b| b == b']')
                .ok_or_else(|| c.err("closing bracket of a response code"))?;
            let end = start + inside_len;
            let mut k = Cursor::new(input, start, end);
            let atom = k.atom_span()?;
            k.sp();
            let args = k.rest_span();
            let name = atom.get(input);
            rc = ResponseCode::from_atom(name);
            let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
            code = if is(b"ALERT") {
                Code::Alert
            } else if is(b"CAPABILITY") {
                self.caps.reset_advertised();
                for a in args
                    .get(input)
                    .split(|&b| b == b' ')
                    .filter(|a| !a.is_empty())
                {
                    self.caps.record(a);
                }
                Code::Capability(args)
            } else if is(b"PERMANENTFLAGS") {
                let inner = k.paren_span()?;
                self.mailbox.permanent_flags = FlagSet::parse(inner.get(input));
                Code::PermanentFlags(inner)
            } else if is(b"UIDVALIDITY") {
                let n = k.number32()?;
                self.mailbox.uid_validity = Some(n);
                Code::UidValidity(n)
            } else if is(b"UIDNEXT") {
                let n = k.number32()?;
                self.mailbox.uid_next = Some(n);
                Code::UidNext(n)
            } else if is(b"UNSEEN") {
                let n = k.number32()?;
                self.mailbox.first_unseen = Some(n);
                Code::Unseen(n)
            } else if is(b"HIGHESTMODSEQ") {
                let n = k.number()?;
                self.mailbox.highest_modseq = Some(n);
                Code::HighestModSeq(n)
            } else if is(b"NOMODSEQ") {
                Code::NoModSeq
            } else if is(b"READ-ONLY") {
                self.mailbox.read_only = true;
                Code::ReadOnly
            } else if is(b"READ-WRITE") {
                self.mailbox.read_only = false;
                Code::ReadWrite
            } else if is(b"APPENDUID") {
                let validity = k.number32()?;
                k.sp();
                let uid = k.number32()?;
                Code::AppendUid { validity, uid }
            } else if is(b"COPYUID") {
                let validity = k.number32()?;
                k.sp();
                let from = k.atom_span()?;
                k.sp();
                let to = k.atom_span()?;
                Code::CopyUid { validity, from, to }
            } else if is(b"CLOSED") {
                Code::Closed
            } else {
                // Tolerance: unknown codes are kept raw, never an error.
                Code::Other { atom, args }
            };
            *c = Cursor::new(input, end + 1, c.end_pos());
            c.sp();
        }
        // Tolerance: a bare `* OK` / `A1 OK` without text (RFC 3501
        // requires text; several servers omit it) gives an empty text.
        Ok((code, rc, c.rest_span()))
    }

    fn untagged(&mut self, c: &mut Cursor<'_>) -> Result<RawEvent, ProtocolError> {
        let input = c.input_all();
        if matches!(c.peek(), Some(b'0'..=b'9')) {
            let n = c.number32()?;
            c.sp();
            let word = c.atom()?;
            let is = |s: &[u8]| word.eq_ignore_ascii_case(s);
            return Ok(if is(b"EXISTS") {
                self.mailbox.exists = n;
                GenericEvent::Exists(n)
            } else if is(b"RECENT") {
                self.mailbox.recent = n;
                GenericEvent::Recent(n)
            } else if is(b"EXPUNGE") {
                self.mailbox.exists = self.mailbox.exists.saturating_sub(1);
                self.mailbox.expunged = true;
                GenericEvent::Expunge(n)
            } else {
                GenericEvent::Other(Span {
                    start: 2.min(c.end_pos()),
                    end: c.end_pos(),
                })
            });
        }
        let whole = c.rest_span();
        let word_span = c.word()?;
        let word = word_span.get(input);
        c.sp();
        let is = |s: &[u8]| word.eq_ignore_ascii_case(s);
        let greeting = self.awaiting() == Some(Pending::Greeting);
        if let Some(kind) = status_kind(word) {
            let (code, rc, text) = self.resp_text(c)?;
            if greeting {
                self.pending.remove(0);
                return Ok(match kind {
                    Word::Ok | Word::PreAuth => {
                        let preauth = kind == Word::PreAuth;
                        self.state = if preauth {
                            State::Authenticated
                        } else {
                            State::NotAuthenticated
                        };
                        GenericEvent::Greeting {
                            preauth,
                            code,
                            text,
                        }
                    }
                    _ => {
                        self.state = State::Logout;
                        let k = if kind == Word::Bye {
                            RefusalKind::Bye
                        } else {
                            RefusalKind::No
                        };
                        GenericEvent::Refused {
                            tag: 0,
                            command: Pending::Greeting,
                            refusal: Refusal::new(k, rc, text.get(input)),
                        }
                    }
                });
            }
            return Ok(match kind {
                Word::Ok => GenericEvent::Status {
                    kind: StatusKind::Ok,
                    code,
                    text,
                },
                Word::No => GenericEvent::Status {
                    kind: StatusKind::No,
                    code,
                    text,
                },
                Word::Bad => GenericEvent::Status {
                    kind: StatusKind::Bad,
                    code,
                    text,
                },
                Word::Bye => {
                    self.state = State::Logout;
                    GenericEvent::Bye {
                        refusal: Refusal::new(RefusalKind::Bye, rc, text.get(input)),
                    }
                }
                Word::PreAuth => GenericEvent::Other(whole),
            });
        }
        if greeting {
            return Err(c.err("a greeting (OK, PREAUTH or BYE)"));
        }
        Ok(if is(b"CAPABILITY") {
            self.caps.reset_advertised();
            let list = c.rest_span();
            for a in list
                .get(input)
                .split(|&b| b == b' ')
                .filter(|a| !a.is_empty())
            {
                self.caps.record(a);
            }
            GenericEvent::Capability(list)
        } else if is(b"ENABLED") {
            let list = c.rest_span();
            for a in list.get(input).split(|&b| b == b' ') {
                if a.eq_ignore_ascii_case(b"IMAP4rev2") {
                    self.caps.rev2_enabled = true;
                } else if a.eq_ignore_ascii_case(b"UTF8=ACCEPT") {
                    self.caps.utf8_enabled = true;
                } else if a.eq_ignore_ascii_case(b"CONDSTORE") || a.eq_ignore_ascii_case(b"QRESYNC")
                {
                    self.caps.condstore_enabled = true;
                }
            }
            GenericEvent::Enabled(list)
        } else if is(b"FLAGS") {
            let inner = c.paren_span()?;
            self.mailbox.flags = FlagSet::parse(inner.get(input));
            GenericEvent::MailboxFlags(inner)
        } else if is(b"LIST") || is(b"LSUB") {
            let attrs_raw = c.paren_span()?;
            c.sp();
            let delimiter = match c.nstring()? {
                None => None,
                Some(d) => {
                    let bytes = d.raw.get(input);
                    let b = if d.escaped {
                        bytes.get(1)
                    } else {
                        bytes.first()
                    };
                    b.copied()
                }
            };
            c.sp();
            let name = c.astring()?;
            GenericEvent::List(ListItem {
                attrs: MailboxAttrs::parse(attrs_raw.get(input)),
                attrs_raw,
                delimiter,
                name,
                lsub: is(b"LSUB"),
            })
        } else if is(b"STATUS") {
            let mailbox = c.astring()?;
            c.sp();
            let inner = c.paren_span()?;
            let mut k = Cursor::new(input, inner.start, inner.end);
            let mut values = StatusValues::default();
            loop {
                k.sp();
                if k.at_end() {
                    break;
                }
                let att = k.atom()?;
                k.sp();
                let n = k.number()?;
                let n32 = u32::try_from(n).ok();
                let a = |s: &[u8]| att.eq_ignore_ascii_case(s);
                if a(b"MESSAGES") {
                    values.messages = n32;
                } else if a(b"RECENT") {
                    values.recent = n32;
                } else if a(b"UIDNEXT") {
                    values.uid_next = n32;
                } else if a(b"UIDVALIDITY") {
                    values.uid_validity = n32;
                } else if a(b"UNSEEN") {
                    values.unseen = n32;
                } else if a(b"DELETED") {
                    values.deleted = n32;
                } else if a(b"SIZE") {
                    values.size = Some(n);
                } else if a(b"HIGHESTMODSEQ") {
                    values.highest_modseq = Some(n);
                }
            }
            GenericEvent::MailboxStatus { mailbox, values }
        } else if is(b"ESEARCH") {
            if c.peek() == Some(b'(') {
                c.paren_span()?;
                c.sp();
            }
            let uid = c.keyword(b"UID");
            let (mut min, mut max, mut count, mut all) = (None, None, None, None);
            loop {
                c.sp();
                if c.at_end() {
                    break;
                }
                let name = c.atom()?;
                c.sp();
                let n = |s: &[u8]| name.eq_ignore_ascii_case(s);
                if n(b"MIN") {
                    min = Some(c.number32()?);
                } else if n(b"MAX") {
                    max = Some(c.number32()?);
                } else if n(b"COUNT") {
                    count = Some(c.number32()?);
                } else if n(b"ALL") {
                    all = Some(c.atom_span()?);
                } else {
                    c.skip_value()?;
                }
            }
            GenericEvent::ESearch {
                uid,
                min,
                max,
                count,
                all,
            }
        } else if is(b"NAMESPACE") {
            let personal = c.skip_value()?;
            c.sp();
            let other = c.skip_value()?;
            c.sp();
            let shared = c.skip_value()?;
            GenericEvent::Namespace {
                personal,
                other,
                shared,
            }
        } else if is(b"QUOTA") {
            let root = c.astring()?;
            c.sp();
            let inner = c.paren_span()?;
            let mut k = Cursor::new(input, inner.start, inner.end);
            let mut values = QuotaValues::default();
            loop {
                k.sp();
                if k.at_end() {
                    break;
                }
                let res = k.atom()?;
                k.sp();
                let usage = k.number()?;
                k.sp();
                let limit = k.number()?;
                if res.eq_ignore_ascii_case(b"STORAGE") {
                    values.storage = Some((usage, limit));
                } else if res.eq_ignore_ascii_case(b"MESSAGE") {
                    values.messages = Some((usage, limit));
                }
            }
            GenericEvent::Quota { root, values }
        } else if is(b"QUOTAROOT") {
            let mailbox = c.astring()?;
            c.sp();
            GenericEvent::QuotaRoot {
                mailbox,
                roots: c.rest_span(),
            }
        } else if is(b"ID") {
            GenericEvent::Id(c.rest_span())
        } else if is(b"VANISHED") {
            let mut earlier = false;
            if c.eat(b'(') {
                earlier = c.keyword(b"EARLIER");
                c.expect(b')', "closing parenthesis of (EARLIER)")?;
                c.sp();
            }
            self.mailbox.expunged = true;
            GenericEvent::Vanished {
                earlier,
                uids: c.rest_span(),
            }
        } else {
            // Tolerance: unknown untagged data is surfaced raw, never an
            // error (servers add extensions the client did not ask for).
            GenericEvent::Other(whole)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Ok,
    No,
    Bad,
    Bye,
    PreAuth,
}

/// Tolerance: status words are matched case-insensitively (RFC 3501 §9
/// says so, and some servers and proxies do send `ok`).
fn status_kind(word: &[u8]) -> Option<Word> {
    [
        (&b"OK"[..], Word::Ok),
        (b"NO", Word::No),
        (b"BAD", Word::Bad),
        (b"BYE", Word::Bye),
        (b"PREAUTH", Word::PreAuth),
    ]
    .into_iter()
    .find(|(w, _)| w.eq_ignore_ascii_case(word))
    .map(|(_, k)| k)
}

fn status_word(c: &mut Cursor<'_>) -> Result<Word, ProtocolError> {
    let at = *c;
    let w = c.word()?.get(c.input_all());
    status_kind(w).ok_or_else(|| at.err("OK, NO or BAD"))
}

/// Recognises `* n FETCH (` at the start of a line; returns the sequence
/// number and the bytes up to and including the parenthesis.
fn fetch_start(line: &[u8]) -> Option<(u32, usize)> {
    let mut c = Cursor::new(line, 0, line.len());
    if !c.eat(b'*') {
        return None;
    }
    c.sp();
    let seq = c.number32().ok()?;
    c.sp();
    if !c.keyword(b"FETCH") {
        return None;
    }
    c.sp();
    c.eat(b'(').then_some((seq, c.pos()))
}
