//! Streaming removal of POP3 dot-stuffing (RFC 1939 §3) and detection of
//! the `CRLF . CRLF` terminator, correct at any split of the input.
//!
//! The decoder never copies: each step names a sub-slice of its input to
//! pass on, so a body streams from the receive buffer straight to the sink.
//! Lines may be of any length; at most three bytes of look-ahead are needed
//! at the start of a line.

/// One step of [`DotDecoder::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotStep {
    /// Consume `consumed` bytes of the input and pass on
    /// `input[emit_start..emit_end]` (possibly empty).
    Data {
        /// Bytes of input this step used.
        consumed: usize,
        /// Start of the bytes to pass on.
        emit_start: usize,
        /// End of the bytes to pass on.
        emit_end: usize,
    },
    /// More input is needed to decide (the input was empty, or it ends
    /// inside a possible terminator at the start of a line).
    NeedMore,
    /// The terminator was found; consume `consumed` bytes. The body is
    /// complete.
    End {
        /// Bytes of input this step used (the terminator itself).
        consumed: usize,
    },
}

/// The decoder's position in the line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DotDecoder {
    mid_line: bool,
}

impl DotDecoder {
    /// A decoder at the start of the first body line (just after the
    /// `+OK` status line).
    pub fn new() -> Self {
        DotDecoder { mid_line: false }
    }

    /// Decodes as much of `input` as can be decided now.
    pub fn step(&mut self, input: &[u8]) -> DotStep {
        if input.is_empty() {
            return DotStep::NeedMore;
        }
        if !self.mid_line {
            match input {
                [] => return DotStep::NeedMore,
                [b'.', b'\r', b'\n', ..] => return DotStep::End { consumed: 3 },
                // Tolerance: a terminator with a bare LF (non-conforming
                // servers behind LF-only gateways).
                [b'.', b'\n', ..] => return DotStep::End { consumed: 2 },
                [b'.'] | [b'.', b'\r'] => return DotStep::NeedMore,
                [b'.', ..] => {
                    // A stuffed dot: drop it and carry on with the line.
                    self.mid_line = true;
                    return DotStep::Data {
                        consumed: 1,
                        emit_start: 1,
                        emit_end: 1,
                    };
                }
                _ => {}
            }
        }
        // Pass on whole lines until one starts with a dot (or input ends).
        let mut end = input.len();
        self.mid_line = true;
        let mut i = 0;
        while let Some(off) = input.get(i..).and_then(find_lf) {
            let next = i + off + 1;
            match input.get(next) {
                None => {
                    self.mid_line = false;
                    end = next;
                    break;
                }
                Some(b'.') => {
                    self.mid_line = false;
                    end = next;
                    break;
                }
                Some(_) => i = next,
            }
        }
        DotStep::Data {
            consumed: end,
            emit_start: 0,
            emit_end: end,
        }
    }
}

/// The first `\n` in `s`. Eight bytes per turn, each a load and a
/// compare, with the loop's own cost shared by eight: the search is most
/// of what a POP3 body byte costs, and this halves it on a small core
/// (5.52 against 7.50 instructions per body byte on riscv32imc, where a
/// plain copy costs 1.50; docs/BENCHMARKS.md).
fn find_lf(s: &[u8]) -> Option<usize> {
    let mut octets = s.chunks_exact(8);
    let mut base = 0;
    for octet in &mut octets {
        if let [a, b, c, d, e, f, g, h] = *octet {
            if a == b'\n' || b == b'\n' || c == b'\n' || d == b'\n' {
                break;
            }
            if e == b'\n' || f == b'\n' || g == b'\n' || h == b'\n' {
                break;
            }
        }
        base += 8;
    }
    s.get(base..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|k| base + k)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn find_lf_agrees_with_a_plain_search_at_every_position() {
        for len in 0..40 {
            let mut s = std::vec![b'x'; len];
            assert_eq!(find_lf(&s), None);
            for at in 0..len {
                s.fill(b'x');
                s[at] = b'\n';
                if at + 3 < len {
                    s[at + 3] = b'\n';
                }
                assert_eq!(find_lf(&s), Some(at), "len {len} at {at}");
            }
        }
    }

    /// Feeds `wire` in pieces of `chunk` bytes (with a carry-over like a
    /// receive buffer) and returns the decoded body and the bytes left
    /// after the terminator.
    fn decode(wire: &[u8], chunk: usize) -> (Vec<u8>, Vec<u8>) {
        let mut dec = DotDecoder::new();
        let mut out = Vec::new();
        let mut held: Vec<u8> = Vec::new();
        let mut fed = 0;
        loop {
            match dec.step(&held) {
                DotStep::Data {
                    consumed,
                    emit_start,
                    emit_end,
                } => {
                    out.extend_from_slice(&held[emit_start..emit_end]);
                    held.drain(..consumed);
                    if consumed == 0 {
                        unreachable!("no progress");
                    }
                }
                DotStep::End { consumed } => {
                    held.drain(..consumed);
                    held.extend_from_slice(&wire[fed..]);
                    return (out, held);
                }
                DotStep::NeedMore => {
                    assert!(fed < wire.len(), "ran out of input");
                    let n = chunk.min(wire.len() - fed);
                    held.extend_from_slice(&wire[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    #[test]
    fn unstuffs_at_every_split() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\n.\r\n";
        let wire2: &[u8] = b"line\r\n... three\r\n. \r\n..\r\nend\r\n.\r\nNEXT";
        for chunk in 1..wire2.len() + 1 {
            let (body, rest) = decode(wire, chunk);
            assert_eq!(body, b"Subject: x\r\n\r\n.leading dot\r\n");
            assert!(rest.is_empty());
            let (body, rest) = decode(wire2, chunk);
            assert_eq!(body, b"line\r\n.. three\r\n \r\n.\r\nend\r\n");
            assert_eq!(rest, b"NEXT");
        }
    }

    #[test]
    fn empty_body_and_long_lines() {
        assert_eq!(decode(b".\r\n", 1).0, b"");
        let mut wire = Vec::new();
        wire.extend(std::iter::repeat_n(b'a', 10_000));
        wire.extend_from_slice(b"\r\n.\r\n");
        let (body, _) = decode(&wire, 7);
        assert_eq!(body.len(), 10_002);
    }
}
