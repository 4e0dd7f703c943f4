//! Header field assembly: unfolds header lines (RFC 5322 §2.2.3) into
//! the caller's line buffer, one field at a time.
//!
//! A field is complete only when the next line is seen not to start with
//! a space or tab, so a field is reported one byte late. CRLF and bare LF
//! both end a line (a bare CR does not); unfolding removes the line break and keeps the
//! whitespace after it. A field longer than the buffer keeps its start and
//! is flagged; the rest of it is skipped without being stored.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum St {
    /// At the start of a line.
    #[default]
    LineStart,
    /// Inside a field's line.
    InLine,
    /// A CR at the start of a line: the blank line that ends the block.
    BlankCr,
}

/// What [`Fields::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// All input was taken; the field is not complete yet.
    More,
    /// A complete field is in `buf[..len]` (`overflow` when it was cut);
    /// call [`Fields::clear`] once it has been read.
    Field { len: usize, overflow: bool },
    /// The blank line ending the header block was taken.
    End,
}

/// The assembler's state: a few bytes; the field itself lives in the
/// caller's buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fields {
    len: usize,
    overflow: bool,
    /// A field has begun (bytes stored or skipped).
    open: bool,
    st: St,
}

impl Fields {
    /// Forgets the field just reported.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
        self.open = false;
    }

    /// The field so far, for a header block cut short by a boundary or the
    /// end of the input.
    pub(crate) fn pending(&self) -> Option<(usize, bool)> {
        self.open.then_some((self.len, self.overflow))
    }

    /// Starts over for a new header block.
    pub(crate) fn reset(&mut self) {
        *self = Fields::default();
    }

    fn store(&mut self, buf: &mut [u8], bytes: &[u8]) {
        self.open = true;
        let room = buf.len().saturating_sub(self.len);
        let n = bytes.len().min(room);
        if let (Some(dst), Some(src)) = (buf.get_mut(self.len..self.len + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n < bytes.len() {
            self.overflow = true;
        }
    }

    /// Takes bytes of the header block from `input` into `buf`; returns
    /// how many were taken and what was found.
    pub(crate) fn feed(&mut self, buf: &mut [u8], input: &[u8]) -> (usize, Found) {
        let mut i = 0;
        while let Some(&c) = input.get(i) {
            match self.st {
                St::LineStart => match c {
                    b' ' | b'\t' if self.open => self.st = St::InLine,
                    _ if self.open => {
                        return (
                            i,
                            Found::Field {
                                len: self.len,
                                overflow: self.overflow,
                            },
                        )
                    }
                    b'\n' => return (i + 1, Found::End),
                    b'\r' => {
                        self.st = St::BlankCr;
                        i += 1;
                    }
                    _ => self.st = St::InLine,
                },
                St::BlankCr if c == b'\n' => {
                    self.st = St::LineStart;
                    return (i + 1, Found::End);
                }
                St::BlankCr => {
                    // A bare CR is no line break: it starts a (bad) field.
                    // So the block only ends at an LF, where the scanner
                    // ends its runs of header bytes.
                    self.store(buf, b"\r");
                    self.st = St::InLine;
                }
                St::InLine => {
                    let rest = input.get(i..).unwrap_or(&[]);
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(p) => {
                            let line = rest.get(..p).unwrap_or(&[]);
                            self.store(buf, line);
                            // Drop the CR of a CRLF (if it was stored; it may
                            // have come with the previous piece).
                            let last = self.len.checked_sub(1).and_then(|i| buf.get(i));
                            if last == Some(&b'\r') && !self.overflow {
                                self.len -= 1;
                            }
                            self.st = St::LineStart;
                            i += p + 1;
                        }
                        None => {
                            self.store(buf, rest);
                            return (input.len(), Found::More);
                        }
                    }
                }
            }
        }
        (i, Found::More)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    /// Every field and whether the block ended, feeding `pieces`.
    fn run(pieces: &[&[u8]], cap: usize) -> (Vec<(String, bool)>, usize) {
        let mut buf = std::vec![0u8; cap];
        let mut f = Fields::default();
        let mut out = Vec::new();
        let mut after_end = 0;
        let mut ended = false;
        for p in pieces {
            let mut p = *p;
            while !p.is_empty() {
                if ended {
                    after_end += p.len();
                    break;
                }
                let (n, found) = f.feed(&mut buf, p);
                p = &p[n..];
                match found {
                    Found::More => {}
                    Found::Field { len, overflow } => {
                        out.push((String::from_utf8(buf[..len].to_vec()).unwrap(), overflow));
                        f.clear();
                    }
                    Found::End => ended = true,
                }
            }
        }
        assert!(ended);
        (out, after_end)
    }

    #[test]
    fn unfolds_crlf_and_lf_at_every_split() {
        for msg in [
            &b"Subject: a\r\n b\r\n\tc\r\nFrom: x\r\n\r\nbody"[..],
            &b"Subject: a\n b\n\tc\nFrom: x\n\nbody"[..],
        ] {
            let want = (
                std::vec![("Subject: a b\tc".into(), false), ("From: x".into(), false)],
                4,
            );
            for s in 0..=msg.len() {
                assert_eq!(run(&[&msg[..s], &msg[s..]], 64), want, "split {s}");
            }
            let bytes: Vec<&[u8]> = msg.chunks(1).collect();
            assert_eq!(run(&bytes, 64), want);
        }
    }

    #[test]
    fn long_fields_are_cut_and_flagged() {
        let (f, rest) = run(&[b"Subject: 0123456789\r\n more\r\nTo: y\r\n\r\nB"], 12);
        assert_eq!(
            f,
            std::vec![("Subject: 012".into(), true), ("To: y".into(), false)]
        );
        assert_eq!(rest, 1);
    }

    #[test]
    fn a_bare_cr_is_no_line_break() {
        // Found by the fuzz target: a block ending at a bare CR would end
        // in the middle of a run of bytes the scanner passed on as header.
        let (f, rest) = run(&[b"Subject: a\r\n\rX: y\r\n\r\nbody"], 64);
        assert_eq!(
            f,
            std::vec![("Subject: a".into(), false), ("\rX: y".into(), false)]
        );
        assert_eq!(rest, 4);
    }

    #[test]
    fn empty_block() {
        assert_eq!(run(&[b"\r\nbody"], 8), (Vec::new(), 4));
        assert_eq!(run(&[b"\nbody"], 8), (Vec::new(), 4));
    }
}
