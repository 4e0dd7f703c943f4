//! `Text<N>`: a fixed-capacity byte string that remembers whether it was cut.

use core::fmt;

/// Up to `N` bytes of a header value (a media type, a charset, a file
/// name), kept inline: no heap. Longer values are cut at `N` bytes and
/// [`Text::is_truncated`] says so.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Text<N> {
    /// The empty text.
    pub const fn new() -> Self {
        Text {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }

    /// The bytes kept.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The bytes as `&str`, when they are UTF-8 (a text cut inside a
    /// multi-byte character is not).
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the value was longer than `N` bytes and was cut.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Forgets the value.
    pub fn clear(&mut self) {
        self.len = 0;
        self.truncated = false;
    }

    /// Appends one byte, or marks the text cut when it is full.
    pub fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = b;
                self.len += 1;
            }
            None => self.truncated = true,
        }
    }

    /// Appends bytes, keeping what fits.
    pub fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// Replaces the value with `bytes` (cut to `N`).
    pub fn set(&mut self, bytes: &[u8]) {
        self.clear();
        self.extend(bytes);
    }

    /// Case-insensitive (ASCII) comparison with `other`.
    pub fn eq_ignore_case(&self, other: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(other)
    }

    /// Lowercases the ASCII letters in place.
    pub fn make_ascii_lowercase(&mut self) {
        if let Some(b) = self.buf.get_mut(..self.len) {
            b.make_ascii_lowercase();
        }
    }

    /// The whole buffer and the length in use, for in-place rewriting.
    pub(crate) fn raw_mut(&mut self) -> (&mut [u8; N], &mut usize) {
        (&mut self.buf, &mut self.len)
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.as_bytes().utf8_chunks() {
            write!(f, "{}", chunk.valid().escape_debug())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str(if self.truncated { "\"…" } else { "\"" })
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Text<N> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=[u8]:a}", self.as_bytes())
    }
}
