//! A receive buffer over caller memory: bytes are read into the free tail,
//! parsed in place, consumed from the head, and compacted only when the
//! tail runs out.

/// A window `[start, end)` of valid bytes in a caller-provided buffer.
#[derive(Debug)]
pub struct RxBuffer<'a> {
    buf: &'a mut [u8],
    start: usize,
    end: usize,
}

impl<'a> RxBuffer<'a> {
    /// Wraps `buf`; it starts empty.
    pub fn new(buf: &'a mut [u8]) -> Self {
        RxBuffer {
            buf,
            start: 0,
            end: 0,
        }
    }

    /// The buffer's total size in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes received and not yet consumed.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Number of bytes received and not yet consumed.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when no unconsumed bytes are held.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True when the unconsumed bytes fill the whole buffer, so no read can
    /// add more.
    pub fn is_full(&self) -> bool {
        self.len() >= self.buf.len()
    }

    /// Marks `n` bytes at the head as consumed (clamped to what is held).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops every held byte.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The free space to read into, compacting first when the tail is full.
    /// Empty only when [`Self::is_full`].
    pub fn spare(&mut self) -> &mut [u8] {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.get_mut(self.end..).unwrap_or(&mut [])
    }

    /// Records that `n` bytes were read into [`Self::spare`].
    pub fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.buf.len());
    }

    /// Gives the caller's buffer back.
    pub fn into_inner(self) -> &'a mut [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_consumes_and_compacts() {
        let mut mem = [0u8; 8];
        let mut rx = RxBuffer::new(&mut mem);
        rx.spare()[..5].copy_from_slice(b"hello");
        rx.commit(5);
        assert_eq!(rx.data(), b"hello");
        rx.consume(3);
        assert_eq!(rx.data(), b"lo");
        assert_eq!(rx.spare().len(), 3);
        rx.spare()[..3].copy_from_slice(b"abc");
        rx.commit(3);
        assert_eq!(rx.data(), b"loabc");
        // Tail is full: spare() must compact to make room.
        assert_eq!(rx.spare().len(), 3);
        assert_eq!(rx.data(), b"loabc");
        rx.spare()[..3].copy_from_slice(b"xyz");
        rx.commit(3);
        assert!(rx.is_full());
        assert!(rx.spare().is_empty());
        rx.consume(100);
        assert!(rx.is_empty());
    }
}
