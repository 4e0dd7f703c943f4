//! The streaming parts of the decoder: FETCH items one at a time (bodies
//! in chunks) and SEARCH numbers one at a time, never a whole response.

use super::event::{GenericEvent, Span};
use super::parse::{decimal, Cursor};
use super::scan::{Mode, Scan, Scanner};
use super::session::*;
use crate::error::ProtocolError;
use crate::wire::{find_line, trim_crlf};

impl Session {
    pub(super) fn search_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
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

    pub(super) fn fetch_step(&mut self, input: &[u8]) -> Result<Decoded, ProtocolError> {
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

    pub(super) fn body_value(
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
}
