//! POP3 response parsers (nom, over complete lines with CRLF removed).
//!
//! Every parser works on one line the framing layer already delimited, so
//! nothing here can read past the line or wait for more input.

use crate::error::{ProtocolError, ResponseCode};
use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::character::complete::{digit1, space0, space1};
use nom::combinator::{opt, rest};
use nom::{IResult, Parser};

/// The verdict of a status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status<'a> {
    /// `+OK` (true) or `-ERR` (false).
    pub ok: bool,
    /// The RFC 2449 response code in `[...]`, if any.
    pub code: ResponseCode,
    /// The human-readable rest of the line.
    pub text: &'a [u8],
}

fn malformed(expected: &'static str, line: &[u8], at: &[u8]) -> ProtocolError {
    ProtocolError::Malformed {
        expected,
        offset: line.len().saturating_sub(at.len()),
    }
}

fn number<T: TryFrom<u64>>(i: &[u8]) -> IResult<&[u8], T> {
    let (rest, digits) = digit1(i)?;
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(|| {
                nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge))
            })?;
    }
    let v = T::try_from(v)
        .map_err(|_| nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge)))?;
    Ok((rest, v))
}

/// Parses `+OK text` / `-ERR [CODE] text`.
///
/// Tolerance: the status word is matched case-insensitively and a missing
/// space before the text is accepted (some servers send `+OK\r\n` or
/// `-ERR[IN-USE]`).
pub fn status(line: &[u8]) -> Result<Status<'_>, ProtocolError> {
    let ok: IResult<&[u8], bool> = nom::branch::alt((
        tag_no_case(&b"+OK"[..]).map(|_| true),
        tag_no_case(&b"-ERR"[..]).map(|_| false),
    ))
    .parse(line);
    let (after, ok) = ok.map_err(|_| malformed("+OK or -ERR", line, line))?;
    let (text, _) = space0::<_, nom::error::Error<&[u8]>>(after).unwrap_or((after, &[][..]));
    let (code, text) = response_code(text);
    Ok(Status { ok, code, text })
}

/// Splits a leading `[CODE]` (RFC 2449 §8) from `text`.
pub fn response_code(text: &[u8]) -> (ResponseCode, &[u8]) {
    let parsed: IResult<&[u8], &[u8]> = (
        tag(&b"["[..]),
        take_while1(|b| b != b']' && b != b' '),
        take_while1(|b| b != b']'),
    )
        .map(|(_, atom, _)| atom)
        .parse(text)
        .or_else(|_: nom::Err<nom::error::Error<&[u8]>>| {
            (tag(&b"["[..]), take_while1(|b| b != b']'))
                .map(|(_, a)| a)
                .parse(text)
        });
    match parsed {
        Ok((after, atom)) => {
            let after = after.strip_prefix(b"]").unwrap_or(after);
            let after = after.trim_ascii_start();
            // A hierarchical code like SYS/TEMP/DISK: match the known prefix.
            let code = match ResponseCode::from_atom(atom) {
                ResponseCode::Other => atom
                    .iter()
                    .rposition(|&b| b == b'/')
                    .and_then(|p| atom.get(..p))
                    .map_or(ResponseCode::Other, ResponseCode::from_atom),
                known => known,
            };
            (code, after)
        }
        Err(_) => (ResponseCode::None, text),
    }
}

/// Parses `count size` after `+OK` of STAT.
pub fn stat(text: &[u8]) -> Result<(u32, u64), ProtocolError> {
    let r: IResult<&[u8], (u32, u64)> = (number::<u32>, space1, number::<u64>)
        .map(|(n, _, s)| (n, s))
        .parse(text);
    r.map(|(_, v)| v)
        .map_err(|_| malformed("STAT \"count size\"", text, text))
}

/// Parses a scan listing `msg size` (LIST); trailing text is ignored
/// (RFC 1939 allows servers to add information after the size).
pub fn scan_listing(line: &[u8]) -> Result<(u32, u64), ProtocolError> {
    let r: IResult<&[u8], (u32, u64)> = (space0, number::<u32>, space1, number::<u64>)
        .map(|(_, n, _, s)| (n, s))
        .parse(line);
    r.map(|(_, v)| v)
        .map_err(|_| malformed("scan listing \"msg size\"", line, line))
}

/// Parses a unique-id listing `msg uid` (UIDL); the uid is 1 to 70 bytes
/// in 0x21..=0x7E (RFC 1939 §7). Longer ids are accepted (some servers
/// exceed the limit) as long as they are printable.
pub fn uid_listing(line: &[u8]) -> Result<(u32, &[u8]), ProtocolError> {
    let r: IResult<&[u8], (u32, &[u8])> = (
        space0,
        number::<u32>,
        space1,
        take_while1(|b: u8| (0x21..=0x7e).contains(&b)),
        space0,
    )
        .map(|(_, n, _, uid, _)| (n, uid))
        .parse(line);
    match r {
        Ok((&[], v)) => Ok(v),
        Ok((tail, _)) => Err(malformed("printable unique-id", line, tail)),
        Err(_) => Err(malformed("unique-id listing \"msg uid\"", line, line)),
    }
}

/// Finds the APOP timestamp `<...>` in a greeting's text (RFC 1939 §7).
pub fn apop_timestamp(text: &[u8]) -> Option<&[u8]> {
    let start = text.iter().position(|&b| b == b'<')?;
    let len = text.get(start..)?.iter().position(|&b| b == b'>')?;
    let stamp = text.get(start..=start + len)?;
    // Must look like a msg-id: one '@' inside, no spaces.
    (stamp.contains(&b'@') && !stamp.contains(&b' ')).then_some(stamp)
}

/// One capability line of CAPA split into its name and its arguments.
pub fn capability(line: &[u8]) -> (&[u8], &[u8]) {
    let r: IResult<&[u8], (&[u8], &[u8])> = (take_while1(|b: u8| b != b' '), opt(space1), rest)
        .map(|(name, _, args)| (name, args))
        .parse(line);
    r.map(|(_, v)| v).unwrap_or((line, &[][..]))
}

/// Parses a decimal argument (LOGIN-DELAY, EXPIRE).
pub fn decimal(text: &[u8]) -> Option<u32> {
    number::<u32>(text.trim_ascii()).ok().map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s = status(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>").unwrap();
        assert!(s.ok);
        assert_eq!(s.code, ResponseCode::None);
        assert_eq!(
            apop_timestamp(s.text),
            Some(&b"<1896.697170952@dbc.mtview.ca.us>"[..])
        );
        let s = status(b"-ERR [IN-USE] Do you have another POP session running?").unwrap();
        assert!(!s.ok);
        assert_eq!(s.code, ResponseCode::InUse);
        assert_eq!(s.text, b"Do you have another POP session running?");
        let s = status(b"-ERR [SYS/TEMP/DISK] full").unwrap();
        assert_eq!(s.code, ResponseCode::SysTemp);
        let s = status(b"+ok").unwrap();
        assert!(s.ok && s.text.is_empty());
        let s = status(b"-ERR [LOGIN-DELAY] wait").unwrap();
        assert_eq!(s.code, ResponseCode::LoginDelay);
        let s = status(b"-ERR [XYZ-UNKNOWN] odd").unwrap();
        assert_eq!(s.code, ResponseCode::Other);
        let s = status(b"-ERR [unclosed").unwrap();
        assert_eq!(s.code, ResponseCode::Other);
        assert!(status(b"OK").is_err());
        assert!(status(b"").is_err());
    }

    #[test]
    fn listings() {
        assert_eq!(stat(b"2 320"), Ok((2, 320)));
        assert!(stat(b"two 320").is_err());
        assert!(stat(b"99999999999 1").is_err());
        assert_eq!(scan_listing(b"1 120"), Ok((1, 120)));
        assert_eq!(scan_listing(b"1 120 extra"), Ok((1, 120)));
        assert_eq!(
            uid_listing(b"1 whqtswO00WBw418f9t5JxYwZ"),
            Ok((1, &b"whqtswO00WBw418f9t5JxYwZ"[..]))
        );
        assert!(uid_listing(b"1 ").is_err());
        assert!(uid_listing(b"1 a\x01b").is_err());
        assert_eq!(
            capability(b"SASL PLAIN LOGIN"),
            (&b"SASL"[..], &b"PLAIN LOGIN"[..])
        );
        assert_eq!(capability(b"TOP"), (&b"TOP"[..], &b""[..]));
        assert_eq!(decimal(b" 900"), Some(900));
        assert_eq!(apop_timestamp(b"ready"), None);
    }
}
