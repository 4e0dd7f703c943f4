//! Encoding commands: state and argument checks, tags, and the record
//! of what is in flight.

use super::command::{
    self, put_astring, put_fetch_items, put_flags, put_mailbox, put_quoted, Append, Command,
    Pauses, StoreOp,
};
use super::session::*;
use super::types::{MailboxState, State};
use crate::error::ProtocolError;
use crate::sasl::SaslClient;
use crate::wire::{check_text, TxCursor};

impl Session {
    /// Encodes `cmd` into `out` and records that its response is due.
    /// Returns the number of bytes to send. Nothing is recorded if the
    /// command is refused (wrong state, bad argument, buffer too small).
    pub fn encode(&mut self, cmd: &Command<'_>, out: &mut [u8]) -> Result<usize, ProtocolError> {
        use State::{Authenticated as A, NotAuthenticated as N, Selected as S};
        const ANY: &[State] = &[N, A, S];
        const AUTH: &[State] = &[A, S];
        let caps = self.caps;
        let mut c = TxCursor::new(out);
        let mut pauses = Pauses::new();
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
                put_astring(&mut c, user.as_bytes(), &caps, &mut pauses)?;
                c.put(b" ");
                put_astring(&mut c, password.as_bytes(), &caps, &mut pauses)?;
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
                put_astring(&mut c, root.as_bytes(), &caps, &mut pauses)?;
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
        if !pauses.is_empty() {
            // Responses to commands ahead of it would arrive while the
            // sender waits for the `+`, and be lost to it.
            self.alone(
                "a command with a synchronizing literal must be the only command in flight",
            )?;
        }
        if matches!(p, Pending::Select | Pending::Examine) {
            // Untagged data for the new mailbox follows; the old one is
            // deselected even if the command fails (RFC 3501 §6.3.1).
            self.mailbox = MailboxState::default();
        }
        self.commit(p);
        self.pauses = pauses;
        Ok(n)
    }

    pub(super) fn mailbox_cmd(
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
    /// [`GenericEvent::Continue`](super::GenericEvent::Continue)).
    pub fn encode_sasl_response(
        &mut self,
        sasl: &mut SaslClient<'_>,
        challenge: &[u8],
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        if self.awaiting() != Some(Pending::Authenticate) {
            return Err(ProtocolError::WrongState {
                command: "SASL response",
                state: self.state.into(),
            });
        }
        sasl.encode_response_line(challenge, out)
    }

    /// Encodes `*`, which cancels an AUTHENTICATE exchange.
    pub fn encode_sasl_cancel(&mut self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        crate::sasl::encode_cancel_line(out)
    }

    /// Encodes the APPEND command up to and including its literal header.
    /// The caller then sends exactly `append.len` message bytes followed
    /// by CRLF — after a [`GenericEvent::Continue`](super::GenericEvent::Continue) if
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
                state: self.state.into(),
            });
        }
        self.idling = false;
        let mut c = TxCursor::new(out);
        c.put(b"DONE\r\n");
        c.finish()
    }
}
