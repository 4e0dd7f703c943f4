//! Streaming quoted-printable body decoder (RFC 2045 §6.7).
//!
//! Keeps at most two bytes between pieces (`=` and one hex digit).
//! `=XX` (either case) gives the byte; `=` before a line break is a soft
//! line break and vanishes, with any spaces or tabs between the two;
//! hard line breaks pass unchanged (CRLF or LF, as they came).
//! Trailing whitespace is kept, as Python's `quopri` keeps it: deleting
//! it would mean holding back unbounded runs of spaces. A `=` that starts
//! none of these is passed on literally and counted as a defect.

/// Decoded bytes are handed on in pieces of at most this size.
const OUT: usize = 192;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum St {
    #[default]
    Text,
    /// After `=`.
    Eq,
    /// After `=` and one hex digit.
    Hex(u8),
    /// After `=` and spaces or tabs: only a line break may follow.
    EqSpace,
    /// After `=` (and maybe spaces) and CR.
    EqCr,
}

/// The streaming decoder: 3 bytes of state.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QuotedPrintable {
    st: St,
    /// A `=` that was not an escape or a soft line break was seen.
    pub(crate) defect: bool,
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

struct Out<'a, E, F: FnMut(&[u8]) -> Result<(), E>> {
    buf: [u8; OUT],
    n: usize,
    out: &'a mut F,
}

impl<E, F: FnMut(&[u8]) -> Result<(), E>> Out<'_, E, F> {
    fn put(&mut self, b: u8) -> Result<(), E> {
        if let Some(slot) = self.buf.get_mut(self.n) {
            *slot = b;
            self.n += 1;
        }
        if self.n == OUT {
            self.flush()?;
        }
        Ok(())
    }
    fn put_all(&mut self, bytes: &[u8]) -> Result<(), E> {
        if bytes.len() >= OUT {
            self.flush()?;
            return (self.out)(bytes);
        }
        for &b in bytes {
            self.put(b)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), E> {
        if self.n > 0 {
            (self.out)(self.buf.get(..self.n).unwrap_or(&[]))?;
            self.n = 0;
        }
        Ok(())
    }
}

impl QuotedPrintable {
    /// Decodes `input`, handing the bytes to `out` in pieces.
    pub(crate) fn feed<E, F: FnMut(&[u8]) -> Result<(), E>>(
        &mut self,
        input: &[u8],
        out: &mut F,
    ) -> Result<(), E> {
        let mut o = Out {
            buf: [0; OUT],
            n: 0,
            out,
        };
        let mut rest = input;
        while let Some((&c, tail)) = rest.split_first() {
            rest = tail;
            match self.st {
                St::Text => {
                    if c == b'=' {
                        self.st = St::Eq;
                    } else {
                        // Pass the run up to the next `=` in one go.
                        let run = tail.iter().position(|&b| b == b'=').unwrap_or(tail.len());
                        o.put(c)?;
                        o.put_all(tail.get(..run).unwrap_or(&[]))?;
                        rest = tail.get(run..).unwrap_or(&[]);
                    }
                }
                St::Eq => match c {
                    b'\n' => self.st = St::Text,
                    b'\r' => self.st = St::EqCr,
                    b' ' | b'\t' => self.st = St::EqSpace,
                    _ => match hex(c) {
                        Some(h) => self.st = St::Hex(h),
                        None => {
                            self.defect = true;
                            o.put(b'=')?;
                            self.st = St::Text;
                            rest = input_back(input, rest);
                        }
                    },
                },
                St::Hex(h) => match hex(c) {
                    Some(l) => {
                        o.put((h << 4) | l)?;
                        self.st = St::Text;
                    }
                    None => {
                        self.defect = true;
                        o.put(b'=')?;
                        o.put(hex_digit(h))?;
                        self.st = St::Text;
                        rest = input_back(input, rest);
                    }
                },
                St::EqSpace => match c {
                    b' ' | b'\t' => {}
                    b'\r' => self.st = St::EqCr,
                    b'\n' => self.st = St::Text,
                    _ => {
                        // `=` and spaces that end no line: keep them as text.
                        self.defect = true;
                        o.put(b'=')?;
                        o.put(b' ')?;
                        self.st = St::Text;
                        rest = input_back(input, rest);
                    }
                },
                St::EqCr => {
                    self.st = St::Text;
                    if c != b'\n' {
                        self.defect = true;
                        rest = input_back(input, rest);
                    }
                }
            }
        }
        o.flush()
    }

    /// The body ended: a dangling `=` or `=X` is passed on literally.
    pub(crate) fn finish<E>(
        &mut self,
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let st = core::mem::take(&mut self.st);
        match st {
            St::Text => Ok(()),
            // `=` at the very end (or before trailing spaces) is a soft
            // line break without the line break: nothing to add.
            St::Eq | St::EqSpace | St::EqCr => Ok(()),
            St::Hex(h) => {
                self.defect = true;
                out(&[b'=', hex_digit(h)])
            }
        }
    }
}

/// `rest` with the byte just taken off its front put back (it is
/// reprocessed in the text state).
fn input_back<'a>(input: &'a [u8], rest: &'a [u8]) -> &'a [u8] {
    let at = input.len() - rest.len();
    input.get(at.saturating_sub(1)..).unwrap_or(rest)
}

fn hex_digit(h: u8) -> u8 {
    b"0123456789ABCDEF"
        .get(usize::from(h))
        .copied()
        .unwrap_or(b'?')
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn decode(pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut d = QuotedPrintable::default();
        let mut v = Vec::new();
        let mut push = |b: &[u8]| -> Result<(), ()> {
            v.extend_from_slice(b);
            Ok(())
        };
        for p in pieces {
            d.feed(p, &mut push).unwrap();
        }
        d.finish(&mut push).unwrap();
        (v, d.defect)
    }

    fn every_split(input: &[u8]) -> (Vec<u8>, bool) {
        let whole = decode(&[input]);
        for s in 0..=input.len() {
            let (a, b) = input.split_at(s);
            assert_eq!(decode(&[a, b]), whole, "split at {s}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode(&bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn escapes_and_soft_breaks() {
        assert_eq!(
            every_split(b"caf=C3=A9 na=\r\nive=\nty\r\nend =  \r\nx"),
            ("café naivety\r\nend x".as_bytes().to_vec(), false)
        );
        assert_eq!(every_split(b"a=3d=3Db"), (b"a==b".to_vec(), false));
    }

    #[test]
    fn hard_breaks_and_trailing_space_are_kept() {
        assert_eq!(every_split(b"a  \nb\r\n"), (b"a  \nb\r\n".to_vec(), false));
    }

    #[test]
    fn broken_escapes_pass_literally() {
        assert_eq!(every_split(b"=zz=4"), (b"=zz=4".to_vec(), true));
        assert_eq!(every_split(b"1=4g"), (b"1=4g".to_vec(), true));
        assert_eq!(every_split(b"x=\ry"), (b"xy".to_vec(), true));
    }

    #[test]
    fn agrees_with_python_quopri() {
        // binascii.a2b_qp(b'abc  \r\nde=\r\nf =4a=zz =\n') == b'abc  \r\ndef J=zz '
        assert_eq!(
            every_split(b"abc  \r\nde=\r\nf =4a=zz =\n").0,
            b"abc  \r\ndef J=zz ".to_vec()
        );
    }
}
