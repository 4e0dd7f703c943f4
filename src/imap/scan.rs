//! Byte-level scanners that find where a response (or one value inside a
//! FETCH) ends, stepping over literals, without holding it whole. They are
//! resumable: feed any split of the input.

use crate::error::ProtocolError;
use crate::wire::find_line;

/// Recognises `{n}`, `{n+}` (and `~{n}`, whose `~` is just the byte
/// before) followed by CRLF or a bare LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Brace {
    #[default]
    None,
    Open,
    Digits(u64),
    Plus(u64),
    Close(u64),
    CloseCr(u64),
}

fn too_big() -> ProtocolError {
    ProtocolError::Malformed {
        expected: "a literal length that fits in 64 bits",
        offset: 0,
    }
}

impl Brace {
    /// Steps over byte `b`; `Some(n)` when a literal header just ended.
    fn step(&mut self, b: u8) -> Result<Option<u64>, ProtocolError> {
        let next = match (*self, b) {
            (_, b'{') => Brace::Open,
            (Brace::Open, b'0'..=b'9') => Brace::Digits(u64::from(b - b'0')),
            (Brace::Digits(n), b'0'..=b'9') => Brace::Digits(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(b - b'0')))
                    .ok_or_else(too_big)?,
            ),
            (Brace::Digits(n), b'+') => Brace::Plus(n),
            (Brace::Digits(n) | Brace::Plus(n), b'}') => Brace::Close(n),
            (Brace::Close(n), b'\r') => Brace::CloseCr(n),
            (Brace::Close(n) | Brace::CloseCr(n), b'\n') => {
                *self = Brace::None;
                return Ok(Some(n));
            }
            _ => Brace::None,
        };
        *self = next;
        Ok(None)
    }

    fn active(&self) -> bool {
        !matches!(self, Brace::None)
    }
}

/// What the scanner looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The end of a response: a line end outside literals.
    Line,
    /// The end of one value (atom, quoted string, literal or a balanced
    /// parenthesised list) inside a FETCH response.
    Value,
}

/// A resumable scanner; see [`Mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanner {
    mode: Mode,
    depth: u32,
    quoted: bool,
    escape: bool,
    started: bool,
    literal: u64,
    brace: Brace,
    /// Bytes scanned so far.
    pub counted: u64,
    /// Bytes since the last line break, literals not counted.
    pub line: u64,
}

/// One scanner step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// All the input belongs to the thing scanned; feed more.
    More,
    /// The thing ends after this many bytes of the input.
    Done(usize),
}

impl Scanner {
    pub(crate) fn new(mode: Mode) -> Self {
        Scanner {
            mode,
            depth: 0,
            quoted: false,
            escape: false,
            started: false,
            literal: 0,
            brace: Brace::None,
            counted: 0,
            line: 0,
        }
    }

    /// Bytes of a literal still to come (the next bytes are its content).
    pub(crate) fn in_literal(&self) -> u64 {
        self.literal
    }

    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<Scan, ProtocolError> {
        let r = self.feed_inner(input);
        if let Ok(s) = r {
            let n = match s {
                Scan::More => input.len(),
                Scan::Done(n) => n,
            };
            self.counted = self.counted.saturating_add(n as u64);
        }
        r
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Scan, ProtocolError> {
        let mut i = 0usize;
        while i < input.len() {
            if self.literal > 0 {
                let take = usize::try_from(self.literal)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - i);
                self.literal -= take as u64;
                i += take;
                if self.literal == 0 && self.mode == Mode::Value && self.depth == 0 {
                    return Ok(Scan::Done(i));
                }
                continue;
            }
            let Some(&b) = input.get(i) else { break };
            i += 1;
            self.line = if b == b'\n' {
                0
            } else {
                self.line.saturating_add(1)
            };
            if self.quoted {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.quoted = false;
                    if self.mode == Mode::Value && self.depth == 0 {
                        return Ok(Scan::Done(i));
                    }
                } else if b == b'\n' {
                    // A quoted string cannot hold a line end; the line ended.
                    self.quoted = false;
                    if self.mode == Mode::Line {
                        return Ok(Scan::Done(i));
                    }
                    return Err(ProtocolError::Malformed {
                        expected: "closing quote",
                        offset: 0,
                    });
                }
                continue;
            }
            let was_brace = self.brace.active();
            if let Some(n) = self.brace.step(b)? {
                self.literal = n;
                if n == 0 && self.mode == Mode::Value && self.depth == 0 {
                    return Ok(Scan::Done(i));
                }
                continue;
            }
            if self.brace.active() && (was_brace || b == b'{') {
                self.started = true;
                continue;
            }
            match self.mode {
                Mode::Line => {
                    if b == b'\n' {
                        return Ok(Scan::Done(i));
                    }
                }
                Mode::Value => match b {
                    b'"' => {
                        self.quoted = true;
                        self.started = true;
                    }
                    b'(' => {
                        self.depth = self.depth.saturating_add(1);
                        self.started = true;
                    }
                    b')' => {
                        if self.depth == 0 {
                            return Ok(Scan::Done(i - 1));
                        }
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Ok(Scan::Done(i));
                        }
                    }
                    b' ' | b'\r' | b'\n' if self.depth == 0 => {
                        if self.started {
                            return Ok(Scan::Done(i - 1));
                        }
                        if b != b' ' {
                            return Err(ProtocolError::Malformed {
                                expected: "a FETCH item value",
                                offset: 0,
                            });
                        }
                    }
                    b'\n' => {
                        return Err(ProtocolError::Malformed {
                            expected: "a closing parenthesis before the line end",
                            offset: 0,
                        })
                    }
                    _ => self.started = true,
                },
            }
        }
        Ok(Scan::More)
    }
}

/// If `seg` (one line piece, without its line end) ends with a literal
/// header `{n}` / `{n+}`, its length.
pub(crate) fn literal_at_end(seg: &[u8]) -> Result<Option<u64>, ProtocolError> {
    let Some(inner) = seg.strip_suffix(b"}") else {
        return Ok(None);
    };
    let Some(open) = inner.iter().rposition(|&b| b == b'{') else {
        return Ok(None);
    };
    let digits = inner.get(open + 1..).unwrap_or(&[]);
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    super::parse::decimal(digits).map(Some).ok_or_else(too_big)
}

/// The length of the first complete response in `input` (line pieces and
/// the literals between them), or `None` when more input is needed.
pub(crate) fn response_extent(input: &[u8]) -> Result<Option<usize>, ProtocolError> {
    let mut pos = 0usize;
    loop {
        let Some(end) = input.get(pos..).and_then(find_line) else {
            return Ok(None);
        };
        let seg_end = pos + end;
        let seg = crate::wire::trim_crlf(input.get(pos..seg_end).unwrap_or(&[]));
        match literal_at_end(seg)? {
            None => return Ok(Some(seg_end)),
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| too_big())?;
                pos = seg_end.checked_add(n).ok_or_else(too_big)?;
                if pos > input.len() {
                    return Ok(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(mode: Mode, input: &[u8], chunk: usize) -> Option<usize> {
        let mut s = Scanner::new(mode);
        let mut pos = 0;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            match s.feed(&input[pos..end]).unwrap() {
                Scan::Done(n) => return Some(pos + n),
                Scan::More => pos = end,
            }
        }
        None
    }

    #[test]
    fn value_ends() {
        let cases: &[(&[u8], usize)] = &[
            (b"12 FLAGS", 2),
            (b"NIL)", 3),
            (b"\"a \\\" b\" X", 8),
            (b"(a (b \"c)\") {3}\r\n)))) rest", 21),
            (b"{5}\r\nab)cd UID", 10),
            (b"~{2}\r\n\r\n)", 8),
            (b"(\"x\" NIL {0}\r\n)", 15),
        ];
        for (input, end) in cases {
            for chunk in 1..=input.len() {
                assert_eq!(scan_all(Mode::Value, input, chunk), Some(*end), "{input:?}");
            }
        }
    }

    #[test]
    fn line_ends() {
        let input = b"* LIST () \"/\" {7}\r\na\r\nb\nc!\r\nnext";
        for chunk in 1..input.len() {
            assert_eq!(scan_all(Mode::Line, input, chunk), Some(input.len() - 4));
        }
        assert_eq!(response_extent(input).unwrap(), Some(input.len() - 4));
        assert_eq!(response_extent(b"* OK {10}\r\nabc").unwrap(), None);
        assert!(response_extent(b"* X {99999999999999999999999}\r\n").is_err());
    }
}
