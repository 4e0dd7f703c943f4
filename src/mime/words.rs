//! RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header values,
//! decoded in place.
//!
//! Words in UTF-8 or US-ASCII (an RFC 2231 `*language` suffix is
//! ignored) are decoded; whitespace between two adjacent encoded words is
//! dropped (RFC 2047 §6.2). A word in any other charset is left as it
//! came and its charset is named, so the caller can decide. Malformed
//! words are left as they came. Decoding never lengthens the value, so it
//! works in place in the header line buffer.

/// Decodes the encoded words in `buf[..len]` in place; returns the new
/// length. The charset of the first word left undecoded goes to `foreign`
/// (through `set_foreign`), when there is one.
pub(crate) fn decode_in_place(
    buf: &mut [u8],
    len: usize,
    mut set_foreign: impl FnMut(&[u8]),
) -> usize {
    let len = len.min(buf.len());
    let (mut r, mut w) = (0usize, 0usize);
    let mut after_word = false;
    let mut foreign_set = false;
    while r < len {
        let c = buf.get(r).copied().unwrap_or(0);
        if c == b' ' || c == b'\t' {
            let end = (r..len)
                .find(|&i| !matches!(buf.get(i), Some(b' ' | b'\t')))
                .unwrap_or(len);
            let skip = after_word && parse(buf.get(..len).unwrap_or(&[]), end).is_some();
            if !skip {
                copy(buf, r, end, &mut w);
            }
            r = end;
            continue;
        }
        if let Some(word) = parse(buf.get(..len).unwrap_or(&[]), r) {
            let cs = buf.get(word.charset.0..word.charset.1).unwrap_or(&[]);
            let cs = cs.split(|&b| b == b'*').next().unwrap_or(cs);
            if cs.eq_ignore_ascii_case(b"utf-8")
                || cs.eq_ignore_ascii_case(b"us-ascii")
                || cs.eq_ignore_ascii_case(b"utf8")
            {
                if word.b {
                    decode_b(buf, word.text, &mut w);
                } else {
                    decode_q(buf, word.text, &mut w);
                }
            } else {
                if !foreign_set {
                    set_foreign(cs);
                    foreign_set = true;
                }
                copy(buf, r, word.end, &mut w);
            }
            r = word.end;
            after_word = true;
            continue;
        }
        copy(buf, r, r + 1, &mut w);
        r += 1;
        after_word = false;
    }
    w
}

/// An encoded word's parts, as ranges of the buffer.
struct Word {
    charset: (usize, usize),
    b: bool,
    text: (usize, usize),
    end: usize,
}

/// Parses an encoded word starting at `at`.
fn parse(buf: &[u8], at: usize) -> Option<Word> {
    let s = buf.get(at..)?;
    let s = s.strip_prefix(b"=?")?;
    let cs_len = s.iter().position(|&b| b == b'?')?;
    if cs_len == 0 || s.get(..cs_len)?.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let rest = s.get(cs_len + 1..)?;
    let b = match rest.get(..2)? {
        [e, b'?'] if e.eq_ignore_ascii_case(&b'b') => true,
        [e, b'?'] if e.eq_ignore_ascii_case(&b'q') => false,
        _ => return None,
    };
    let text = rest.get(2..)?;
    let t_len = text.windows(2).position(|p| p == b"?=")?;
    if text
        .get(..t_len)?
        .iter()
        .any(|&c| c == b'?' || c.is_ascii_whitespace())
    {
        return None;
    }
    let cs_start = at + 2;
    let t_start = cs_start + cs_len + 3;
    Some(Word {
        charset: (cs_start, cs_start + cs_len),
        b,
        text: (t_start, t_start + t_len),
        end: t_start + t_len + 2,
    })
}

fn put(buf: &mut [u8], w: &mut usize, b: u8) {
    if let Some(slot) = buf.get_mut(*w) {
        *slot = b;
        *w += 1;
    }
}

fn copy(buf: &mut [u8], from: usize, to: usize, w: &mut usize) {
    for i in from..to {
        let b = buf.get(i).copied().unwrap_or(0);
        put(buf, w, b);
    }
}

fn decode_b(buf: &mut [u8], (from, to): (usize, usize), w: &mut usize) {
    let (mut acc, mut n) = (0u32, 0u8);
    for i in from..to {
        let c = buf.get(i).copied().unwrap_or(b'=');
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            let [_, a, b, c] = acc.to_be_bytes();
            // Three bytes out for four read: `w` stays behind `i`.
            put(buf, w, a);
            put(buf, w, b);
            put(buf, w, c);
            (acc, n) = (0, 0);
        }
    }
    match n {
        2 => put(buf, w, (acc >> 4) as u8),
        3 => {
            let [_, _, a, b] = (acc >> 2).to_be_bytes();
            put(buf, w, a);
            put(buf, w, b);
        }
        _ => {}
    }
}

fn decode_q(buf: &mut [u8], (from, to): (usize, usize), w: &mut usize) {
    let mut i = from;
    while i < to {
        let c = buf.get(i).copied().unwrap_or(0);
        let hex = |at: usize| buf.get(at).and_then(|&h| (h as char).to_digit(16));
        match c {
            b'_' => put(buf, w, b' '),
            b'=' => {
                if let (Some(h), Some(l), true) = (hex(i + 1), hex(i + 2), i + 2 < to) {
                    put(buf, w, (h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                put(buf, w, c);
            }
            _ => put(buf, w, c),
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn dec(s: &str) -> (String, Vec<u8>) {
        let mut buf = s.as_bytes().to_vec();
        let mut foreign = Vec::new();
        let n = decode_in_place(&mut buf, s.len(), |cs| foreign = cs.to_vec());
        (String::from_utf8(buf[..n].to_vec()).unwrap(), foreign)
    }

    #[test]
    fn rfc2047_examples() {
        // RFC 2047 §8: whitespace between adjacent words vanishes, not
        // between a word and text.
        assert_eq!(dec("=?UTF-8?Q?a?=").0, "a");
        assert_eq!(dec("=?UTF-8?Q?a?= b").0, "a b");
        assert_eq!(dec("=?UTF-8?Q?a?= =?UTF-8?Q?b?=").0, "ab");
        assert_eq!(dec("=?UTF-8?Q?a?=  \t =?UTF-8?Q?b?=").0, "ab");
        assert_eq!(dec("=?UTF-8?Q?a_b?=").0, "a b");
        assert_eq!(dec("=?US-ASCII?Q?a?= =?UTF-8?Q?=20b?=").0, "a b");
    }

    #[test]
    fn b_and_q_in_utf8() {
        assert_eq!(dec("Re: =?utf-8?b?w6l0w6k=?= ok").0, "Re: été ok");
        assert_eq!(dec("=?utf-8*en?q?caf=C3=A9?=.pdf").0, "café.pdf");
        assert_eq!(dec("=?UTF-8?B?8J+Mjg?=").0, "🌎");
    }

    #[test]
    fn foreign_charsets_pass_through_named() {
        let (s, cs) = dec("x =?iso-8859-1?q?caf=E9?= =?utf-8?q?=C3=A9?=");
        assert_eq!(s, "x =?iso-8859-1?q?caf=E9?=é");
        assert_eq!(cs, b"iso-8859-1");
    }

    #[test]
    fn malformed_words_stay() {
        for s in [
            "=?utf-8?x?a?=",
            "=?utf-8?q?a b?=",
            "=??q?a?=",
            "=?utf-8?q?a",
            "a=?b",
        ] {
            assert_eq!(dec(s).0, s);
        }
    }
}
