//! Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3), without a heap.
//!
//! Printable US-ASCII except `&` stands for itself, `&` is `&-`, and every
//! other run of characters is `&` + modified BASE64 (`,` instead of `/`, no
//! padding) of its UTF-16BE form + `-`.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a modified UTF-7 name could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Utf7Error {
    /// The name is not valid modified UTF-7 (bad BASE64, a lone surrogate,
    /// a byte outside printable ASCII, an unterminated shift).
    Invalid,
    /// The output buffer is too small; `needed` bytes would do.
    TooSmall {
        /// Bytes the decoded name needs.
        needed: usize,
    },
}

fn is_direct(c: char) -> bool {
    matches!(c, ' '..='~') && c != '&'
}

/// Encodes a UTF-8 mailbox name, handing the output to `emit` in pieces.
pub fn encode(name: &str, emit: &mut dyn FnMut(&[u8])) {
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '&' {
            emit(b"&-");
        } else if is_direct(c) {
            let mut b = [0u8; 4];
            emit(c.encode_utf8(&mut b).as_bytes());
        } else {
            emit(b"&");
            let mut bits: u32 = 0;
            let mut nbits = 0u32;
            let mut push_unit = |u: u16, emit: &mut dyn FnMut(&[u8])| {
                bits = (bits << 16) | u32::from(u);
                nbits += 16;
                while nbits >= 6 {
                    nbits -= 6;
                    let idx = ((bits >> nbits) & 63) as usize;
                    emit(B64.get(idx..=idx).unwrap_or(b"A"));
                }
                bits &= (1 << nbits) - 1;
            };
            let mut cur = Some(c);
            while let Some(ch) = cur {
                let mut units = [0u16; 2];
                for u in ch.encode_utf16(&mut units).iter() {
                    push_unit(*u, emit);
                }
                cur = match chars.peek() {
                    Some(&n) if !is_direct(n) && n != '&' => chars.next(),
                    _ => None,
                };
            }
            if nbits > 0 {
                let idx = ((bits << (6 - nbits)) & 63) as usize;
                emit(B64.get(idx..=idx).unwrap_or(b"A"));
            }
            emit(b"-");
        }
    }
}

/// The length of `name` once encoded.
pub fn encoded_len(name: &str) -> usize {
    let mut n = 0;
    encode(name, &mut |p| n += p.len());
    n
}

fn b64_value(b: u8) -> Option<u32> {
    B64.iter().position(|&x| x == b).map(|p| p as u32)
}

/// Decodes a modified UTF-7 name into `out`, returning the UTF-8 text.
///
/// Tolerance: 8-bit bytes that form valid UTF-8 are passed through (servers
/// with `UTF8=ACCEPT` enabled, and some that never encoded, send raw UTF-8).
pub fn decode<'o>(raw: &[u8], out: &'o mut [u8]) -> Result<&'o str, Utf7Error> {
    let mut len = 0usize;
    let mut needed = 0usize;
    let mut put = |bytes: &[u8], out: &mut [u8]| {
        needed += bytes.len();
        if let Some(dst) = out.get_mut(len..len + bytes.len()) {
            dst.copy_from_slice(bytes);
            len += bytes.len();
        } else {
            len = usize::MAX / 2;
        }
    };
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b != b'&' {
            put(raw.get(i..=i).unwrap_or(&[]), out);
            i += 1;
            continue;
        }
        // Shifted run.
        let end = raw
            .get(i + 1..)
            .and_then(|t| t.iter().position(|&x| x == b'-'))
            .ok_or(Utf7Error::Invalid)?;
        let run = raw.get(i + 1..i + 1 + end).unwrap_or(&[]);
        i += end + 2;
        if run.is_empty() {
            put(b"&", out);
            continue;
        }
        let mut bits: u32 = 0;
        let mut nbits = 0u32;
        let mut high: Option<u16> = None;
        for &c in run {
            let v = b64_value(c).ok_or(Utf7Error::Invalid)?;
            bits = ((bits << 6) | v) & 0x3f_ffff;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                let unit = ((bits >> nbits) & 0xffff) as u16;
                let ch = match (high.take(), unit) {
                    (None, 0xd800..=0xdbff) => {
                        high = Some(unit);
                        continue;
                    }
                    (None, 0xdc00..=0xdfff) => return Err(Utf7Error::Invalid),
                    (None, u) => char::from_u32(u32::from(u)),
                    (Some(h), 0xdc00..=0xdfff) => char::from_u32(
                        0x10000 + ((u32::from(h) - 0xd800) << 10) + (u32::from(unit) - 0xdc00),
                    ),
                    (Some(_), _) => return Err(Utf7Error::Invalid),
                };
                let ch = ch.ok_or(Utf7Error::Invalid)?;
                let mut buf = [0u8; 4];
                put(ch.encode_utf8(&mut buf).as_bytes(), out);
            }
        }
        if high.is_some() || nbits >= 6 || (bits & ((1 << nbits) - 1)) != 0 {
            return Err(Utf7Error::Invalid);
        }
    }
    if needed > out.len() {
        return Err(Utf7Error::TooSmall { needed });
    }
    let text = out.get(..needed).unwrap_or(&[]);
    core::str::from_utf8(text).map_err(|_| Utf7Error::Invalid)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn enc(s: &str) -> String {
        let mut v = Vec::new();
        encode(s, &mut |p| v.extend_from_slice(p));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn rfc3501_example() {
        // RFC 3501 §5.1.3.
        assert_eq!(
            enc("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        let mut out = [0u8; 64];
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-", &mut out).unwrap(),
            "~peter/mail/台北/日本語"
        );
    }

    #[test]
    fn round_trips() {
        for s in [
            "INBOX",
            "A&B",
            "Entwürfe",
            "Gesendete Objekte",
            "Ünïcödé/Sub",
            "emoji 😀 box",
            "&&",
            "Привет мир",
            "ab\u{e9}",
            "",
        ] {
            let e = enc(s);
            assert_eq!(encoded_len(s), e.len());
            assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)));
            let mut out = [0u8; 128];
            assert_eq!(decode(e.as_bytes(), &mut out).unwrap(), s, "{e}");
        }
        assert_eq!(enc("A&B"), "A&-B");
        assert_eq!(enc("Entwürfe"), "Entw&APw-rfe");
    }

    #[test]
    fn rejects_bad_input_and_reports_size() {
        let mut out = [0u8; 64];
        assert_eq!(decode(b"&U,BTFw", &mut out), Err(Utf7Error::Invalid));
        assert_eq!(decode(b"&!!-", &mut out), Err(Utf7Error::Invalid));
        assert_eq!(decode(b"&2D0-", &mut out), Err(Utf7Error::Invalid));
        let mut small = [0u8; 4];
        assert_eq!(
            decode(b"Entw&APw-rfe", &mut small),
            Err(Utf7Error::TooSmall { needed: 9 })
        );
    }
}
