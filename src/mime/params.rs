//! Structured header values: `Content-Type`, `Content-Disposition`,
//! `Content-Transfer-Encoding`, with their parameters (RFC 2045 §5.1),
//! RFC 2231 extended parameters (`name*=charset'lang'%XX`, continuations
//! `name*0*=`, `name*1=`, taken in the order they come) and RFC 2047
//! words in file names (not standard, but common).
//!
//! Parsing is lenient: comments are skipped, unquoted values run to the
//! next `;`, a parameter without `=` is ignored.

use super::part::{Disposition, Encoding, Part, BOUNDARY_LEN};
use super::text::Text;
use super::words;

/// Where the file name came from so far, for the precedence rules:
/// Content-Disposition `filename` beats Content-Type `name`, and an RFC
/// 2231 form beats a plain one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameSource {
    /// Rank of the value held: 0 none, 1 `name`, 2 `name*`, 3
    /// `filename`, 4 `filename*`.
    rank: u8,
    /// The held value is RFC 2231 (percent-decoded, charset known).
    extended: bool,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace and (nested) comments.
    fn skip_cfws(&mut self) {
        let mut depth = 0u32;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.i += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    /// A run of bytes up to one of `stops`, whitespace or a comment.
    fn token(&mut self, stops: &[u8]) -> &'a [u8] {
        let start = self.i;
        while let Some(c) = self.peek() {
            if stops.contains(&c) || matches!(c, b' ' | b'\t' | b'(' | b'\r' | b'\n') {
                break;
            }
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or(&[])
    }

    /// A parameter value: a quoted string (returned with its quotes, see
    /// [`unquote`]) or everything up to the next `;`, trimmed.
    fn value(&mut self) -> &'a [u8] {
        let start = self.i;
        if self.peek() == Some(b'"') {
            self.i += 1;
            while let Some(c) = self.peek() {
                self.i += 1;
                match c {
                    b'\\' => self.i += 1,
                    b'"' => break,
                    _ => {}
                }
            }
            self.i = self.i.min(self.s.len());
        } else {
            while self.peek().is_some_and(|c| c != b';') {
                self.i += 1;
            }
        }
        self.s.get(start..self.i).unwrap_or(&[]).trim_ascii_end()
    }
}

/// The bytes of a value, quotes and backslash escapes removed.
fn unquote(v: &[u8], mut f: impl FnMut(u8)) {
    let Some(inner) = v.strip_prefix(b"\"") else {
        v.iter().for_each(|&b| f(b));
        return;
    };
    let inner = inner.strip_suffix(b"\"").unwrap_or(inner);
    let mut escaped = false;
    for &b in inner {
        if escaped || b != b'\\' {
            f(b);
            escaped = false;
        } else {
            escaped = true;
        }
    }
}

/// Calls `f(attribute, value)` for every `; attribute=value` from the
/// cursor on.
fn params<'a>(c: &mut Cursor<'a>, mut f: impl FnMut(&'a [u8], &'a [u8])) {
    loop {
        c.skip_cfws();
        match c.peek() {
            None => return,
            Some(b';') => {
                c.i += 1;
                continue;
            }
            Some(_) => {}
        }
        let attr = c.token(b";=");
        c.skip_cfws();
        if c.peek() != Some(b'=') {
            // No value: skip to the next parameter.
            while c.peek().is_some_and(|b| b != b';') {
                c.i += 1;
            }
            continue;
        }
        c.i += 1;
        c.skip_cfws();
        let value = c.value();
        f(attr, value);
    }
}

/// Splits `filename*1*` into (`filename`, section 1, extended).
fn split_attr(attr: &[u8]) -> (&[u8], Option<u32>, bool) {
    let (attr, ext) = match attr.strip_suffix(b"*") {
        Some(a) => (a, true),
        None => (attr, false),
    };
    if let Some(star) = attr.iter().position(|&b| b == b'*') {
        let (name, num) = attr.split_at(star);
        let num = num.get(1..).unwrap_or(&[]);
        let n = core::str::from_utf8(num).ok().and_then(|s| s.parse().ok());
        if n.is_some() {
            return (name, n, ext);
        }
    }
    (attr, None, ext)
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Appends an RFC 2231 `%XX`-encoded value.
fn push_percent<const N: usize>(out: &mut Text<N>, v: &[u8]) {
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                v.get(i + 1).and_then(|&b| hexval(b)),
                v.get(i + 2).and_then(|&b| hexval(b)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

fn is_unicode(cs: &[u8]) -> bool {
    cs.is_empty()
        || cs.eq_ignore_ascii_case(b"utf-8")
        || cs.eq_ignore_ascii_case(b"utf8")
        || cs.eq_ignore_ascii_case(b"us-ascii")
}

/// One `name`/`filename` parameter (or section of one) into the part.
fn name_param(
    part: &mut Part,
    src: &mut NameSource,
    from_disposition: bool,
    attr: &[u8],
    value: &[u8],
) {
    let (_, section, ext) = split_attr(attr);
    let rank = 1 + u8::from(section.is_some() || ext) + 2 * u8::from(from_disposition);
    if rank < src.rank {
        return;
    }
    let first = section.unwrap_or(0) == 0;
    if rank > src.rank || first {
        // A better source, or a new value of the same rank: start over.
        part.filename.clear();
        part.filename_charset.clear();
        src.rank = rank;
        src.extended = section.is_some() || ext;
    }
    if ext {
        let v = value;
        let v = if first {
            // charset'language'value
            let mut it = v.splitn(3, |&b| b == b'\'');
            match (it.next(), it.next(), it.next()) {
                (Some(cs), Some(_lang), Some(rest)) => {
                    if !is_unicode(cs) {
                        part.filename_charset.set(cs);
                        part.filename_charset.make_ascii_lowercase();
                    }
                    rest
                }
                _ => v,
            }
        } else {
            v
        };
        push_percent(&mut part.filename, v);
    } else {
        unquote(value, |b| part.filename.push(b));
    }
}

/// Finishes the file name once the header block has ended: RFC 2047 words
/// in a plain (not RFC 2231) value are decoded.
pub(crate) fn finish_name(part: &mut Part, src: &NameSource) {
    if src.rank == 0 || src.extended {
        return;
    }
    if !part.filename.as_bytes().windows(2).any(|w| w == b"=?") {
        return;
    }
    let charset = &mut part.filename_charset;
    let (buf, len) = part.filename.raw_mut();
    *len = words::decode_in_place(buf, *len, |cs| {
        charset.set(cs);
        charset.make_ascii_lowercase();
    });
}

/// `Content-Type: type/subtype; params`.
pub(crate) fn content_type(
    value: &[u8],
    part: &mut Part,
    name: &mut NameSource,
    boundary: &mut Text<BOUNDARY_LEN>,
) {
    let mut c = Cursor { s: value, i: 0 };
    c.skip_cfws();
    let main = c.token(b"/;");
    c.skip_cfws();
    let sub = if c.peek() == Some(b'/') {
        c.i += 1;
        c.skip_cfws();
        c.token(b";")
    } else {
        &[]
    };
    if !main.is_empty() && !sub.is_empty() {
        part.media_type.set(main);
        part.media_type.push(b'/');
        part.media_type.extend(sub);
        part.media_type.make_ascii_lowercase();
    }
    params(&mut c, |attr, v| {
        let (base, _, _) = split_attr(attr);
        if attr.eq_ignore_ascii_case(b"boundary") {
            boundary.clear();
            unquote(v, |b| boundary.push(b));
        } else if attr.eq_ignore_ascii_case(b"charset") {
            part.charset.clear();
            unquote(v, |b| part.charset.push(b));
            part.charset.make_ascii_lowercase();
        } else if base.eq_ignore_ascii_case(b"name") {
            name_param(part, name, false, attr, v);
        }
    });
}

/// `Content-Disposition: attachment; filename=...`.
pub(crate) fn disposition(value: &[u8], part: &mut Part, name: &mut NameSource) {
    let mut c = Cursor { s: value, i: 0 };
    c.skip_cfws();
    let kind = c.token(b";");
    part.disposition = if kind.eq_ignore_ascii_case(b"attachment") {
        Disposition::Attachment
    } else if kind.eq_ignore_ascii_case(b"inline") {
        Disposition::Inline
    } else {
        Disposition::Other
    };
    params(&mut c, |attr, v| {
        let (base, _, _) = split_attr(attr);
        if base.eq_ignore_ascii_case(b"filename") {
            name_param(part, name, true, attr, v);
        }
    });
}

/// `Content-Transfer-Encoding: token`.
pub(crate) fn transfer_encoding(value: &[u8]) -> Encoding {
    let mut c = Cursor { s: value, i: 0 };
    c.skip_cfws();
    let t = c.token(b";");
    if t.eq_ignore_ascii_case(b"base64") {
        Encoding::Base64
    } else if t.eq_ignore_ascii_case(b"quoted-printable") {
        Encoding::QuotedPrintable
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(v: &str) -> (Part, Text<70>) {
        let mut p = Part::default();
        let mut n = NameSource::default();
        let mut b = Text::new();
        content_type(v.as_bytes(), &mut p, &mut n, &mut b);
        finish_name(&mut p, &n);
        (p, b)
    }

    fn cd(v: &str) -> Part {
        let mut p = Part::default();
        let mut n = NameSource::default();
        disposition(v.as_bytes(), &mut p, &mut n);
        finish_name(&mut p, &n);
        p
    }

    #[test]
    fn content_type_with_params() {
        let (p, b) =
            ct(" Multipart/Mixed (a comment) ; boundary=\"=_a \\\"b\\\"\";\r\n\tcharset=UTF-8");
        assert!(p.is("multipart/mixed"));
        assert_eq!(b.as_bytes(), b"=_a \"b\"");
        assert_eq!(p.charset.as_bytes(), b"utf-8");
        let (p, b) = ct("text/plain;charset=us-ascii;boundary=xyz ");
        assert_eq!(p.media_type.as_bytes(), b"text/plain");
        assert_eq!(b.as_bytes(), b"xyz");
        let (p, _) = ct("garbage");
        assert!(p.media_type.is_empty());
    }

    #[test]
    fn rfc2231_continuations_and_charsets() {
        // RFC 2231 §3 and §4.1.
        let p = cd("attachment; filename*0*=UTF-8''%E2%82%AC%20rates; filename*1=\".pdf\"");
        assert_eq!(p.filename.as_str(), Some("€ rates.pdf"));
        assert!(p.filename_charset.is_empty());
        assert!(p.is_attachment());
        let p = cd("inline; filename*=iso-8859-1'en'caf%E9.txt");
        assert_eq!(p.filename.as_bytes(), b"caf\xe9.txt");
        assert_eq!(p.filename_charset.as_bytes(), b"iso-8859-1");
        assert_eq!(p.disposition, Disposition::Inline);
    }

    #[test]
    fn extended_beats_plain_and_filename_beats_name() {
        let p = cd("attachment; filename=\"plain.pdf\"; filename*=utf-8''ext.pdf");
        assert_eq!(p.filename.as_str(), Some("ext.pdf"));
        let p = cd("attachment; filename*=utf-8''ext.pdf; filename=\"plain.pdf\"");
        assert_eq!(p.filename.as_str(), Some("ext.pdf"));
        let mut p = Part::default();
        let mut n = NameSource::default();
        let mut b = Text::new();
        content_type(
            b"application/pdf; name=\"by-name.pdf\"",
            &mut p,
            &mut n,
            &mut b,
        );
        disposition(b"attachment; filename=by-filename.pdf", &mut p, &mut n);
        content_type(
            b"application/pdf; name=\"again.pdf\"",
            &mut p,
            &mut n,
            &mut b,
        );
        assert_eq!(p.filename.as_str(), Some("by-filename.pdf"));
    }

    #[test]
    fn rfc2047_in_a_plain_filename() {
        let p = cd("attachment; filename=\"=?utf-8?q?caf=C3=A9?= =?utf-8?b?LnBkZg==?=\"");
        assert_eq!(p.filename.as_str(), Some("café.pdf"));
        let (p, _) = ct("application/pdf; name==?iso-8859-1?q?caf=E9.pdf?=");
        assert_eq!(p.filename.as_bytes(), b"=?iso-8859-1?q?caf=E9.pdf?=");
        assert_eq!(p.filename_charset.as_bytes(), b"iso-8859-1");
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(transfer_encoding(b" BASE64 "), Encoding::Base64);
        assert_eq!(
            transfer_encoding(b"Quoted-Printable"),
            Encoding::QuotedPrintable
        );
        assert_eq!(transfer_encoding(b"8bit"), Encoding::Identity);
        assert_eq!(transfer_encoding(b"x-uuencode"), Encoding::Identity);
    }
}
