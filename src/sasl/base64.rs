//! Standard base64 (RFC 4648 §4, with padding) into caller buffers.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Bytes needed to encode `n` input bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Encodes `input` into `out`; returns the length written, or `None` if
/// `out` is shorter than [`encoded_len`].
pub fn encode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let need = encoded_len(input.len());
    let out = out.get_mut(..need)?;
    for (src, dst) in input.chunks(3).zip(out.chunks_mut(4)) {
        let b0 = src.first().copied().unwrap_or(0);
        let b1 = src.get(1).copied().unwrap_or(0);
        let b2 = src.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sym = |shift: u32| {
            ALPHABET
                .get(((n >> shift) & 63) as usize)
                .copied()
                .unwrap_or(b'=')
        };
        let quad = [
            sym(18),
            sym(12),
            if src.len() > 1 { sym(6) } else { b'=' },
            if src.len() > 2 { sym(0) } else { b'=' },
        ];
        dst.copy_from_slice(&quad);
    }
    Some(need)
}

fn value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Why base64 input could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A byte outside the alphabet, or padding in the wrong place.
    Invalid,
    /// The output buffer is too small; `needed` bytes would do.
    TooLong {
        /// Bytes the decoded value needs.
        needed: usize,
    },
}

/// Decodes `input` (padding optional, surrounding spaces ignored) into
/// `out`; returns the decoded length.
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    let input = input.trim_ascii();
    let body = input
        .strip_suffix(b"==")
        .or_else(|| input.strip_suffix(b"="))
        .unwrap_or(input);
    if body.len() % 4 == 1 {
        return Err(DecodeError::Invalid);
    }
    let needed = body.len() / 4 * 3 + (body.len() % 4).saturating_sub(1);
    if needed > out.len() {
        return Err(DecodeError::TooLong { needed });
    }
    let mut w = 0;
    for quad in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in quad.iter().enumerate() {
            n |= value(c).ok_or(DecodeError::Invalid)? << (18 - 6 * i as u32);
        }
        let produced = quad.len() - 1;
        for i in 0..produced {
            if let Some(slot) = out.get_mut(w) {
                *slot = (n >> (16 - 8 * i as u32)) as u8;
            }
            w += 1;
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_round_trip() {
        let vectors: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"f", b"Zg=="),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"fooba", b"Zm9vYmE="),
            (b"foobar", b"Zm9vYmFy"),
        ];
        for (plain, enc) in vectors {
            let mut out = [0u8; 16];
            let n = encode(plain, &mut out).unwrap();
            assert_eq!(&out[..n], *enc);
            let mut back = [0u8; 16];
            let m = decode(enc, &mut back).unwrap();
            assert_eq!(&back[..m], *plain);
        }
        assert_eq!(decode(b"Zm9v!", &mut [0u8; 8]), Err(DecodeError::Invalid));
        assert_eq!(decode(b"Z", &mut [0u8; 8]), Err(DecodeError::Invalid));
        assert_eq!(
            decode(b"Zm9vYmFy", &mut [0u8; 2]),
            Err(DecodeError::TooLong { needed: 6 })
        );
        assert_eq!(encode(b"foo", &mut [0u8; 3]), None);
    }
}
