//! Complete responses (status lines, untagged data), parsed once the
//! whole response and its literals are in the buffer.

use super::event::{
    Code, GenericEvent, ListItem, MailboxAttrs, QuotaValues, RawEvent, Span, StatusKind,
    StatusValues,
};
use super::parse::{decimal, Cursor};
use super::session::*;
use super::types::{FlagSet, MailboxState, State};
use crate::error::{ProtocolError, RefusalKind, ResponseCode};

impl Session {
    pub(super) fn response(
        &mut self,
        c: &mut Cursor<'_>,
    ) -> Result<Option<RawEvent>, ProtocolError> {
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
        let first_of_flight = self.refusals.answered();
        if command == Pending::Idle {
            self.idling = false;
        }
        let refusal_kind = match kind {
            // Tolerance: some servers answer LOGOUT with a tagged BYE
            // (`A0012 BYE ...`) instead of `* BYE` + `A0012 OK`: it ends
            // LOGOUT as well as an OK would.
            Word::Ok | Word::Bye if kind == Word::Ok || command == Pending::Logout => {
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
            // A tagged BYE to anything else: the server is leaving.
            Word::Bye => {
                self.state = State::Logout;
                RefusalKind::Bye
            }
            _ => return Err(c.err("OK, NO, BAD or (for LOGOUT) BYE")),
        };
        if matches!(command, Pending::Select | Pending::Examine) {
            self.state = State::Authenticated;
        }
        let text_bytes = text.get(c.input_all());
        Ok(Some(GenericEvent::Refused {
            tag,
            command,
            refusal: self.refusals.refused(
                first_of_flight,
                crate::error::Refusal::new(refusal_kind, rc),
                text_bytes,
                self.pending.len(),
            ),
        }))
    }

    pub(super) fn on_ok(&mut self, command: Pending, code: &Code<Span>) {
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
    pub(super) fn resp_text(
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

    pub(super) fn untagged(&mut self, c: &mut Cursor<'_>) -> Result<RawEvent, ProtocolError> {
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
                            refusal: self.refuse(k, rc, text.get(input)),
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
                        refusal: self.refuse(RefusalKind::Bye, rc, text.get(input)),
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
pub(super) fn fetch_start(line: &[u8]) -> Option<(u32, usize)> {
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
