//! Parsers over one complete response (its line pieces and literals all
//! in the buffer). A [`Cursor`] walks the bytes; strings come out as
//! [`Span`]s of the decode input so events can borrow them later.

use super::event::{Span, Str};
use crate::error::ProtocolError;
use nom::bytes::complete::take_while1;
use nom::{IResult, Parser};

/// Parses an unsigned decimal (no sign, no spaces), `None` on overflow.
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// True for ATOM-CHAR plus `\` and `]`-free flag characters: what may
/// appear in an atom, a flag (`\Seen`) or a capability (`AUTH=PLAIN`).
pub(crate) fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'"' | b']' | b'%' | b'*')
}

fn atom_chars(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| is_atom_char(b) || b == b'*' || b == b'%').parse(i)
}

/// A position in one complete response. Offsets are relative to the
/// decode input, whose first `base` bytes precede the response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `input[start..end]` (end excludes the final line end).
    pub(crate) fn new(input: &'a [u8], start: usize, end: usize) -> Self {
        Cursor {
            input,
            pos: start,
            end: end.min(input.len()),
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole decode input (spans index into it).
    pub(crate) fn input_all(&self) -> &'a [u8] {
        self.input
    }

    /// Where the response (without its line end) ends.
    pub(crate) fn end_pos(&self) -> usize {
        self.end
    }

    /// A status word or response name: an atom that also stops at `[`.
    ///
    /// Tolerance: `* OK[ALERT] text` (no space before the code).
    pub(crate) fn word(&mut self) -> Result<Span, ProtocolError> {
        let start = self.pos;
        let n = self
            .rest()
            .iter()
            .take_while(|&&b| is_atom_char(b) && b != b'[')
            .count();
        if n == 0 {
            return Err(self.err("a word"));
        }
        self.pos += n;
        Ok(Span {
            start,
            end: self.pos,
        })
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..self.end).unwrap_or(&[])
    }

    pub(crate) fn rest_span(&self) -> Span {
        Span {
            start: self.pos,
            end: self.end.max(self.pos),
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    pub(crate) fn err(&self, expected: &'static str) -> ProtocolError {
        ProtocolError::Malformed {
            expected,
            offset: self.pos,
        }
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, b: u8, what: &'static str) -> Result<(), ProtocolError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// Skips spaces.
    ///
    /// Tolerance: any number of spaces (zero included) is accepted where
    /// the grammar has exactly one; servers send doubled spaces (e.g.
    /// after a response code) or none (`* OK[ALERT]`).
    pub(crate) fn sp(&mut self) {
        while self.eat(b' ') {}
    }

    /// An atom (also flags, `AUTH=` capabilities, `*`/`%` in patterns).
    pub(crate) fn atom(&mut self) -> Result<&'a [u8], ProtocolError> {
        let r: IResult<&[u8], &[u8]> = atom_chars(self.rest());
        match r {
            Ok((_, a)) => {
                self.pos += a.len();
                Ok(a)
            }
            Err(_) => Err(self.err("an atom")),
        }
    }

    /// The span of an atom.
    pub(crate) fn atom_span(&mut self) -> Result<Span, ProtocolError> {
        let start = self.pos;
        self.atom()?;
        Ok(Span {
            start,
            end: self.pos,
        })
    }

    pub(crate) fn number(&mut self) -> Result<u64, ProtocolError> {
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let v = decimal(self.rest().get(..digits).unwrap_or(&[]))
            .ok_or_else(|| self.err("a number"))?;
        self.pos += digits;
        Ok(v)
    }

    pub(crate) fn number32(&mut self) -> Result<u32, ProtocolError> {
        let at = *self;
        u32::try_from(self.number()?).map_err(|_| at.err("a 32-bit number"))
    }

    /// True (and consumed) when the next atom is `word`, case-insensitive.
    pub(crate) fn keyword(&mut self, word: &[u8]) -> bool {
        let mut c = *self;
        match c.atom() {
            Ok(a) if a.eq_ignore_ascii_case(word) => {
                *self = c;
                true
            }
            _ => false,
        }
    }

    /// A quoted string or a literal; `None` for `NIL`.
    pub(crate) fn nstring(&mut self) -> Result<Option<Str<Span>>, ProtocolError> {
        match self.peek() {
            Some(b'"') => self.quoted().map(Some),
            Some(b'{') | Some(b'~') => self.literal().map(Some),
            _ if self.keyword(b"NIL") => Ok(None),
            _ => Err(self.err("a string or NIL")),
        }
    }

    /// An astring: atom, quoted string or literal.
    ///
    /// Tolerance: `NIL` where a string is due is read as the atom `NIL`
    /// (an empty value for some servers' ID and METADATA answers); the
    /// caller decides what it means.
    pub(crate) fn astring(&mut self) -> Result<Str<Span>, ProtocolError> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') | Some(b'~') => self.literal(),
            _ => {
                let start = self.pos;
                // ASTRING-CHAR includes ']' (resp-specials).
                let n = self
                    .rest()
                    .iter()
                    .take_while(|&&b| is_atom_char(b) || b == b']' || b == b'*' || b == b'%')
                    .count();
                if n == 0 {
                    return Err(self.err("an astring"));
                }
                self.pos += n;
                Ok(Str {
                    raw: Span {
                        start,
                        end: self.pos,
                    },
                    escaped: false,
                })
            }
        }
    }

    pub(crate) fn quoted(&mut self) -> Result<Str<Span>, ProtocolError> {
        self.expect(b'"', "a quoted string")?;
        let start = self.pos;
        let mut escaped = false;
        let mut i = start;
        loop {
            match self.input.get(i) {
                Some(b'\\') if i < self.end => {
                    escaped = true;
                    i += 2;
                }
                Some(b'"') if i < self.end => break,
                Some(b'\r' | b'\n') | None => return Err(self.err("a closing quote")),
                Some(_) if i >= self.end => return Err(self.err("a closing quote")),
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(Str {
            raw: Span { start, end: i },
            escaped,
        })
    }

    pub(crate) fn literal(&mut self) -> Result<Str<Span>, ProtocolError> {
        self.eat(b'~');
        self.expect(b'{', "a literal")?;
        let n = self.number()?;
        self.eat(b'+');
        self.expect(b'}', "a closing brace")?;
        self.eat(b'\r');
        self.expect(b'\n', "a line end after a literal header")?;
        let start = self.pos;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&e| e <= self.end)
            .ok_or_else(|| self.err("a literal within the response"))?;
        self.pos = end;
        Ok(Str {
            raw: Span { start, end },
            escaped: false,
        })
    }

    /// A parenthesised list: returns the span inside the parentheses.
    /// Tolerance: a bare `NIL` is read as an empty list.
    pub(crate) fn paren_span(&mut self) -> Result<Span, ProtocolError> {
        if self.keyword(b"NIL") {
            return Ok(Span {
                start: self.pos,
                end: self.pos,
            });
        }
        self.expect(b'(', "an opening parenthesis")?;
        let start = self.pos;
        self.skip_until_close()?;
        let end = self.pos;
        self.expect(b')', "a closing parenthesis")?;
        Ok(Span { start, end })
    }

    /// Skips values until the `)` closing the current level (not consumed).
    fn skip_until_close(&mut self) -> Result<(), ProtocolError> {
        loop {
            self.sp();
            match self.peek() {
                None => return Err(self.err("a closing parenthesis")),
                Some(b')') => return Ok(()),
                _ => {
                    self.skip_value()?;
                }
            }
        }
    }

    /// Skips one value: atom, string, literal or list.
    pub(crate) fn skip_value(&mut self) -> Result<Span, ProtocolError> {
        let start = self.pos;
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                self.skip_until_close()?;
                self.pos += 1;
            }
            Some(b'"') | Some(b'{') | Some(b'~') => {
                self.nstring()?;
            }
            _ => {
                // An atom, possibly with a [section] and <partial>.
                let n = self
                    .rest()
                    .iter()
                    .take_while(|&&b| !matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n'))
                    .count();
                if n == 0 {
                    return Err(self.err("a value"));
                }
                self.pos += n;
            }
        }
        Ok(Span {
            start,
            end: self.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_lists() {
        let input = b"\"a\\\"b\" {3}\r\nxyz NIL atom] (a (b) \"c)\") rest";
        let mut c = Cursor::new(input, 0, input.len());
        let q = c.quoted().unwrap();
        assert!(q.escaped);
        assert_eq!(q.raw.get(input), b"a\\\"b");
        c.sp();
        assert_eq!(c.nstring().unwrap().unwrap().raw.get(input), b"xyz");
        c.sp();
        assert!(c.nstring().unwrap().is_none());
        c.sp();
        assert_eq!(c.astring().unwrap().raw.get(input), b"atom]");
        c.sp();
        assert_eq!(c.paren_span().unwrap().get(input), b"a (b) \"c)\"");
        c.sp();
        assert_eq!(c.atom().unwrap(), b"rest");
        assert!(c.at_end());
        let bad = b"{10}\r\nabc";
        let mut c = Cursor::new(bad, 0, bad.len());
        assert!(c.literal().is_err());
    }
}
