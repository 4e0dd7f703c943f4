//! Streaming base64 body decoder (RFC 2045 §6.8).
//!
//! Fed the encoded body in pieces of any size; keeps at most three
//! sextets between pieces. Line breaks and other characters outside the
//! alphabet are skipped, as RFC 2045 asks; stray ones (anything but
//! whitespace) are counted as a defect. Padding ends a quantum; decoding
//! resumes after it, so bodies glued from several encodings still decode.
//! At the end, two or three left-over sextets give their bytes (missing
//! padding is forgiven); a single left-over sextet cannot hold a byte and
//! is a defect.

/// Decoded bytes are handed on in pieces of at most this size: a line of
/// base64 (76 characters, 57 bytes) fits, and the buffer, zeroed at each
/// call, stays small.
const OUT: usize = 96;

/// The streaming decoder: 8 bytes of state.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Base64 {
    acc: u32,
    sextets: u8,
    /// A character that is neither base64 nor whitespace was seen, or the
    /// input ended inside a quantum that cannot hold a byte.
    pub(crate) defect: bool,
}

/// [`CLASS`] entries that are not sextets.
const SKIP: u8 = 64;
const PAD: u8 = 65;
const STRAY: u8 = 66;

/// Each byte's sextet, or what else it is: one load per character instead
/// of a chain of range tests.
// Indexing here runs at compile time: out of bounds would fail the build,
// never the firmware.
#[allow(clippy::indexing_slicing)]
const CLASS: [u8; 256] = {
    let mut t = [STRAY; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'=' as usize] = PAD;
    t[b'\r' as usize] = SKIP;
    t[b'\n' as usize] = SKIP;
    t[b' ' as usize] = SKIP;
    t[b'\t' as usize] = SKIP;
    t
};

impl Base64 {
    /// Decodes `input`, handing the bytes to `out` in pieces.
    pub(crate) fn feed<E>(
        &mut self,
        input: &[u8],
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = [0u8; OUT];
        let mut n = 0;
        // The quantum in locals: the loop touches no memory but the input
        // and `buf`.
        let (mut acc, mut sextets) = (self.acc, self.sextets);
        for &c in input {
            let v = CLASS.get(usize::from(c)).copied().unwrap_or(STRAY);
            if v < 64 {
                acc = (acc << 6) | u32::from(v);
                sextets += 1;
                if sextets == 4 {
                    let [_, a, b, c] = acc.to_be_bytes();
                    if let Some(dst) = buf.get_mut(n..n + 3) {
                        dst.copy_from_slice(&[a, b, c]);
                        n += 3;
                    }
                    acc = 0;
                    sextets = 0;
                }
            } else if v == PAD {
                (self.acc, self.sextets) = (acc, sextets);
                n += self.flush_into(buf.get_mut(n..).unwrap_or(&mut []));
                (acc, sextets) = (0, 0);
            } else if v == STRAY {
                self.defect = true;
            }
            if n + 3 > OUT {
                (self.acc, self.sextets) = (acc, sextets);
                out(buf.get(..n).unwrap_or(&[]))?;
                n = 0;
            }
        }
        (self.acc, self.sextets) = (acc, sextets);
        if n > 0 {
            out(buf.get(..n).unwrap_or(&[]))?;
        }
        Ok(())
    }

    /// Ends a quantum early (padding or the end of the body); returns the
    /// bytes written into `dst`.
    fn flush_into(&mut self, dst: &mut [u8]) -> usize {
        let (k, v) = match self.sextets {
            2 => (1, [(self.acc >> 4) as u8, 0]),
            3 => {
                let [_, _, a, b] = (self.acc >> 2).to_be_bytes();
                (2, [a, b])
            }
            1 => {
                self.defect = true;
                (0, [0, 0])
            }
            _ => (0, [0, 0]),
        };
        let mut written = 0;
        for (d, s) in dst.iter_mut().zip(v.iter().take(k)) {
            *d = *s;
            written += 1;
        }
        self.acc = 0;
        self.sextets = 0;
        written
    }

    /// The body ended: hands on what the last, unpadded quantum holds.
    pub(crate) fn finish<E>(
        &mut self,
        out: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = [0u8; 2];
        let n = self.flush_into(&mut buf);
        if n > 0 {
            out(buf.get(..n).unwrap_or(&[]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn decode_split(input: &[u8], split: usize) -> (Vec<u8>, bool) {
        let mut d = Base64::default();
        let mut v = Vec::new();
        let mut push = |b: &[u8]| -> Result<(), ()> {
            v.extend_from_slice(b);
            Ok(())
        };
        let (a, b) = input.split_at(split);
        d.feed(a, &mut push).unwrap();
        d.feed(b, &mut push).unwrap();
        d.finish(&mut push).unwrap();
        (v, d.defect)
    }

    #[test]
    fn rfc4648_vectors_at_every_split() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"Zg==", b"f"),
            (b"Zm8=", b"fo"),
            (b"Zm9v", b"foo"),
            (b"Zm9vYg==", b"foob"),
            (b"Zm9vYmE=", b"fooba"),
            (b"Zm9v\r\nYmFy\r\n", b"foobar"),
        ];
        for (enc, dec) in cases {
            for s in 0..=enc.len() {
                assert_eq!(
                    decode_split(enc, s),
                    (dec.to_vec(), false),
                    "{enc:?} at {s}"
                );
            }
        }
    }

    #[test]
    fn long_input_crosses_the_output_buffer() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut enc = [0u8; 1400];
        let n = crate::sasl::base64::encode(&data, &mut enc).unwrap();
        for s in [0, 1, 77, 500, n] {
            assert_eq!(decode_split(&enc[..n], s), (data.clone(), false));
        }
    }

    #[test]
    fn missing_padding_is_forgiven_a_lone_sextet_is_not() {
        assert_eq!(decode_split(b"Zm8", 1), (b"fo".to_vec(), false));
        assert_eq!(decode_split(b"Zm9vY", 2), (b"foo".to_vec(), true));
    }

    #[test]
    fn stray_characters_are_skipped_and_flagged() {
        assert_eq!(decode_split(b"Zm9v!YmFy", 4), (b"foobar".to_vec(), true));
        assert_eq!(decode_split(b"Zm9v YmFy\t", 4), (b"foobar".to_vec(), false));
    }

    #[test]
    fn decoding_resumes_after_padding() {
        assert_eq!(decode_split(b"Zg==Zg==", 3), (b"ff".to_vec(), false));
    }
}
