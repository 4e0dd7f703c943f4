//! Counting down the bytes of an IMAP literal as they stream through.

/// How many bytes of a `{n}` literal are still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiteralCounter {
    remaining: u64,
}

impl LiteralCounter {
    /// A literal of `len` bytes.
    pub fn new(len: u64) -> Self {
        LiteralCounter { remaining: len }
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// True once every byte has passed.
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Takes the part of `input` that belongs to the literal and counts it.
    pub fn take<'b>(&mut self, input: &'b [u8]) -> &'b [u8] {
        let n = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        self.remaining -= n as u64;
        input.get(..n).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_literal_end() {
        let mut c = LiteralCounter::new(5);
        assert_eq!(c.take(b"abc"), b"abc");
        assert_eq!(c.take(b"defgh"), b"de");
        assert!(c.is_done());
        assert_eq!(c.take(b"x"), b"");
    }
}
