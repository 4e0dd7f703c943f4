//! A cursor that encodes a command into a caller buffer and reports the
//! size a too-small buffer would have needed.

use crate::error::ProtocolError;

/// Appends bytes to a caller buffer, counting what did not fit.
#[derive(Debug)]
pub struct TxCursor<'a> {
    buf: &'a mut [u8],
    len: usize,
    wanted: usize,
}

impl<'a> TxCursor<'a> {
    /// Starts writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        TxCursor {
            buf,
            len: 0,
            wanted: 0,
        }
    }

    /// Appends `bytes` (or records that they did not fit).
    pub fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.wanted = self.wanted.saturating_add(bytes.len());
        if self.wanted <= self.buf.len() {
            if let Some(dst) = self.buf.get_mut(self.len..self.wanted) {
                dst.copy_from_slice(bytes);
                self.len = self.wanted;
            }
        }
        self
    }

    /// Appends a decimal number.
    pub fn put_u32(&mut self, n: u32) -> &mut Self {
        // 32-bit arithmetic only: a 32-bit core has no u64 division, and
        // every number a command carries (message numbers, UIDs, lengths
        // of arguments) fits.
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        let mut v = n;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            start -= 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(digits.get(start..).unwrap_or(&[]))
    }

    /// Appends a decimal `u64` (as [`Self::put_u32`] when it fits).
    pub fn put_u64(&mut self, n: u64) -> &mut Self {
        match u32::try_from(n) {
            Ok(small) => self.put_u32(small),
            Err(_) => {
                // Above u32::MAX: the top digits, then nine digits below.
                let (high, low) = (n / 1_000_000_000, (n % 1_000_000_000) as u32);
                self.put_u64(high);
                let mut nine = [b'0'; 9];
                let mut v = low;
                for slot in nine.iter_mut().rev() {
                    *slot = b'0' + (v % 10) as u8;
                    v /= 10;
                }
                self.put(&nine)
            }
        }
    }

    /// The free tail of the buffer, for an encoder that writes in place;
    /// follow with [`Self::advance`].
    pub fn spare(&mut self) -> &mut [u8] {
        if self.wanted > self.len {
            return &mut [];
        }
        self.buf.get_mut(self.len..).unwrap_or(&mut [])
    }

    /// Records `n` bytes written into [`Self::spare`].
    pub fn advance(&mut self, n: usize) {
        self.wanted = self.wanted.saturating_add(n);
        if self.wanted <= self.buf.len() {
            self.len = self.wanted;
        }
    }

    /// Records that `n` more bytes were needed than [`Self::spare`] had.
    pub fn overflow(&mut self, n: usize) {
        self.wanted = self.wanted.saturating_add(n).max(self.buf.len() + 1);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finishes: the length written, or `BufferTooSmall` with the size the
    /// whole command needed.
    pub fn finish(&self) -> Result<usize, ProtocolError> {
        if self.wanted > self.buf.len() {
            Err(ProtocolError::BufferTooSmall {
                needed: self.wanted,
                available: self.buf.len(),
            })
        } else {
            Ok(self.len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_width_of_number() {
        for n in [
            0u64,
            9,
            10,
            4_294_967_295,
            4_294_967_296,
            1_000_000_000_000,
            1_000_000_000_007,
            u64::MAX,
        ] {
            let mut mem = [0u8; 24];
            let mut c = TxCursor::new(&mut mem);
            c.put_u64(n);
            let len = c.finish().unwrap();
            let mut want = heapless::String::<24>::new();
            core::fmt::Write::write_fmt(&mut want, format_args!("{n}")).unwrap();
            assert_eq!(core::str::from_utf8(&mem[..len]).unwrap(), want.as_str());
        }
    }

    #[test]
    fn writes_numbers_and_reports_overflow() {
        let mut mem = [0u8; 16];
        let mut c = TxCursor::new(&mut mem);
        c.put(b"RETR ").put_u32(4294967295).put(b"\r\n");
        assert_eq!(
            c.finish(),
            Err(ProtocolError::BufferTooSmall {
                needed: 17,
                available: 16
            })
        );
        let mut mem = [0u8; 32];
        let mut c = TxCursor::new(&mut mem);
        c.put(b"TOP ").put_u32(0).put(b" ").put_u64(12).put(b"\r\n");
        let n = c.finish().unwrap();
        assert_eq!(&mem[..n], b"TOP 0 12\r\n");
        let mut mem = [0u8; 4];
        let mut c = TxCursor::new(&mut mem);
        c.put(b"NOOP\r\n");
        assert_eq!(
            c.finish(),
            Err(ProtocolError::BufferTooSmall {
                needed: 6,
                available: 4
            })
        );
    }
}
