//! The boundary scanner: splits a body into content bytes and boundary
//! lines (RFC 2046 §5.1.1) of any enclosing multipart.
//!
//! Lines are passed through in runs: only a line that starts with `-`
//! while some multipart is open is held back, at most [`LOOK`] bytes,
//! until it is known to be a boundary or not. The line break before a
//! boundary belongs to the boundary, so each line break is held until
//! the next line has been judged; it is passed on as [`Out::Eol`].
//!
//! A boundary line is `--` boundary, then `--` for the close delimiter,
//! then spaces or tabs, then CRLF or LF (or the end of the input), the
//! same rule as Python's `email.feedparser`. Boundaries are tried from
//! the innermost multipart out, so an outer boundary closes inner
//! multiparts that never saw their close delimiter.

use super::part::BOUNDARY_LEN;
use super::text::Text;

/// Bytes of a line start held back while it may be a boundary line:
/// `--`, the boundary, `--`, up to 16 spaces or tabs and a CR.
pub(crate) const LOOK: usize = 2 + BOUNDARY_LEN + 2 + 16 + 1;

/// An open multipart.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Frame {
    pub(crate) boundary: Text<BOUNDARY_LEN>,
    /// Depth of the multipart entity itself.
    pub(crate) depth: u8,
    /// `multipart/digest`: parts default to `message/rfc822`.
    pub(crate) digest: bool,
    /// Its first boundary has been seen (the preamble is over).
    pub(crate) seen: bool,
}

/// Bytes that were held back and turned out to be content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    buf: [u8; 2 + LOOK],
    len: usize,
}

impl Held {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// One step's result.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Out {
    /// Nothing to pass on.
    None,
    /// `input[from..to]` is content.
    Content(usize, usize),
    /// A held line break is content: `\n` (1) or `\r\n` (2).
    Eol(u8),
    /// A CR held at the end of the previous input is content.
    Cr,
    /// Held bytes are content.
    Held(Held),
    /// A boundary line of `frames[frame]`; `close` for `--boundary--`.
    Boundary { frame: usize, close: bool },
}

/// The scanner's state: about 100 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanner {
    look: [u8; LOOK],
    look_len: usize,
    /// Held line break: 0 none, 1 LF, 2 CRLF.
    eol: u8,
    /// Inside a line that is not a boundary.
    mid: bool,
    /// The previous input ended with a CR inside a line.
    cr: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            look: [0; LOOK],
            look_len: 0,
            eol: 0,
            // The first line of a body directly follows the blank line of
            // the headers: it starts a line.
            mid: false,
            cr: false,
        }
    }
}

/// Whether `rest` (what follows `--boundary`) fits `(--)?[ \t]*\r?`,
/// completely (`whole`) or as a prefix; `Some(close)` if so.
fn rest_fits(rest: &[u8], whole: bool) -> Option<bool> {
    if rest == b"-" {
        return (!whole).then_some(false);
    }
    let (close, r) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let r = r.strip_suffix(b"\r").unwrap_or(r);
    r.iter().all(|&b| b == b' ' || b == b'\t').then_some(close)
}

/// The innermost frame whose boundary line `line` is (`whole`) or may
/// still become.
fn matching(line: &[u8], frames: &[Frame], whole: bool) -> Option<(usize, bool)> {
    if line.len() < 2 {
        // "-": still on its way to "--".
        return (!whole && b"--".starts_with(line))
            .then_some((frames.len().checked_sub(1)?, false));
    }
    let body = line.strip_prefix(b"--")?;
    frames.iter().enumerate().rev().find_map(|(i, f)| {
        let b = f.boundary.as_bytes();
        if body.len() < b.len() {
            (!whole && b.starts_with(body)).then_some((i, false))
        } else {
            let rest = body.strip_prefix(b)?;
            rest_fits(rest, whole).map(|close| (i, close))
        }
    })
}

impl Scanner {
    fn held(&mut self, upto: usize) -> Held {
        let mut h = Held {
            buf: [0; 2 + LOOK],
            len: 0,
        };
        let eol: &[u8] = match self.eol {
            2 => b"\r\n",
            1 => b"\n",
            _ => b"",
        };
        let look = self.look.get(..upto.min(self.look_len)).unwrap_or(&[]);
        for &b in eol.iter().chain(look) {
            if let Some(slot) = h.buf.get_mut(h.len) {
                *slot = b;
                h.len += 1;
            }
        }
        self.eol = 0;
        self.look_len = 0;
        h
    }

    /// Looks at the front of `input`; returns how many bytes it took and
    /// what they are. Takes at least one byte, or changes state so that
    /// the next call does.
    ///
    /// `hold`: hold line breaks back (bodies). Header blocks pass them on
    /// at once, so that the walker sees the blank line that ends a block
    /// (and pushes a multipart's boundary) before the next line is judged.
    pub(crate) fn step(&mut self, input: &[u8], frames: &[Frame], hold: bool) -> (usize, Out) {
        let Some(&c) = input.first() else {
            return (0, Out::None);
        };
        if self.mid {
            if self.cr {
                self.cr = false;
                if c == b'\n' {
                    self.eol = 2;
                    self.mid = false;
                    return (1, Out::None);
                }
                return (0, Out::Cr);
            }
            return match input.iter().position(|&b| b == b'\n') {
                Some(p) if !hold => {
                    self.mid = false;
                    (p + 1, Out::Content(0, p + 1))
                }
                Some(p) => {
                    let crlf = p > 0 && input.get(p - 1) == Some(&b'\r');
                    self.eol = if crlf { 2 } else { 1 };
                    self.mid = false;
                    (p + 1, Out::Content(0, p - usize::from(crlf)))
                }
                None => {
                    let n = input.len();
                    self.cr = hold && input.last() == Some(&b'\r');
                    (n, Out::Content(0, n - usize::from(self.cr)))
                }
            };
        }
        if frames.is_empty() || (self.look_len == 0 && c != b'-') {
            self.mid = true;
            let eol = core::mem::take(&mut self.eol);
            return (0, if eol > 0 { Out::Eol(eol) } else { Out::None });
        }
        // A line that may be a boundary.
        let Some(slot) = self.look.get_mut(self.look_len) else {
            // Too long to be one.
            self.mid = true;
            return (0, Out::Held(self.held(LOOK)));
        };
        *slot = c;
        self.look_len += 1;
        let line = self.look.get(..self.look_len).unwrap_or(&[]);
        if c == b'\n' {
            let line = line.get(..line.len() - 1).unwrap_or(&[]);
            if let Some((frame, close)) = matching(line, frames, true) {
                self.look_len = 0;
                self.eol = 0;
                return (1, Out::Boundary { frame, close });
            }
            if !hold {
                return (1, Out::Held(self.held(LOOK)));
            }
            let crlf = line.last() == Some(&b'\r');
            let h = self.held(line.len() - usize::from(crlf));
            self.eol = if crlf { 2 } else { 1 };
            return (1, Out::Held(h));
        }
        if matching(line, frames, false).is_some() {
            return (1, Out::None);
        }
        // Not a boundary line after all.
        self.mid = true;
        if c == b'\r' && hold {
            // The CR may start this line's CRLF: keep it back.
            self.cr = true;
            let n = self.look_len - 1;
            return (1, Out::Held(self.held(n)));
        }
        (1, Out::Held(self.held(LOOK)))
    }

    /// The input has ended: what is still held. Call until it returns
    /// [`Out::None`].
    pub(crate) fn finish(&mut self, frames: &[Frame]) -> Out {
        if self.cr {
            self.cr = false;
            return Out::Cr;
        }
        if self.look_len > 0 {
            let line = self.look.get(..self.look_len).unwrap_or(&[]);
            if let Some((frame, close)) = matching(line, frames, true) {
                self.look_len = 0;
                self.eol = 0;
                return Out::Boundary { frame, close };
            }
            return Out::Held(self.held(LOOK));
        }
        match core::mem::take(&mut self.eol) {
            0 => Out::None,
            eol => Out::Eol(eol),
        }
    }
}
