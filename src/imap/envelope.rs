//! ENVELOPE (RFC 3501 §7.4.2) parsed from the raw value of a
//! [`super::GenericEvent::FetchItem`], borrowing it: no copy, no heap.

use super::event::Str;
use super::parse::Cursor;
use crate::error::ProtocolError;

/// A message's envelope. Strings keep their wire form (see [`Str`]);
/// header text may still be MIME-encoded (`=?utf-8?...?=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'b> {
    /// `Date:`.
    pub date: Option<Str<&'b [u8]>>,
    /// `Subject:`.
    pub subject: Option<Str<&'b [u8]>>,
    /// `From:`.
    pub from: AddressList<'b>,
    /// `Sender:`.
    pub sender: AddressList<'b>,
    /// `Reply-To:`.
    pub reply_to: AddressList<'b>,
    /// `To:`.
    pub to: AddressList<'b>,
    /// `Cc:`.
    pub cc: AddressList<'b>,
    /// `Bcc:`.
    pub bcc: AddressList<'b>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<Str<&'b [u8]>>,
    /// `Message-ID:`.
    pub message_id: Option<Str<&'b [u8]>>,
}

/// An address list of an envelope (possibly empty), iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressList<'b> {
    raw: &'b [u8],
}

/// One address: `name <mailbox@host>`. A `mailbox` without `host` starts
/// a group (RFC 3501 §7.4.2), a `None` for both ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<'b> {
    /// Display name.
    pub name: Option<Str<&'b [u8]>>,
    /// Source route (obsolete).
    pub adl: Option<Str<&'b [u8]>>,
    /// Local part.
    pub mailbox: Option<Str<&'b [u8]>>,
    /// Domain.
    pub host: Option<Str<&'b [u8]>>,
}

fn nstr<'b>(c: &mut Cursor<'b>) -> Result<Option<Str<&'b [u8]>>, ProtocolError> {
    let input = c.input_all();
    c.sp();
    Ok(c.nstring()?.map(|s| Str {
        raw: s.raw.get(input),
        escaped: s.escaped,
    }))
}

fn addresses<'b>(c: &mut Cursor<'b>) -> Result<AddressList<'b>, ProtocolError> {
    c.sp();
    let span = c.paren_span()?;
    Ok(AddressList {
        raw: span.get(c.input_all()),
    })
}

impl<'b> Envelope<'b> {
    /// Parses an ENVELOPE value (the parenthesised list, literals inline).
    pub fn parse(value: &'b [u8]) -> Result<Self, ProtocolError> {
        let mut c = Cursor::new(value, 0, value.len());
        c.expect(b'(', "an envelope")?;
        let env = Envelope {
            date: nstr(&mut c)?,
            subject: nstr(&mut c)?,
            from: addresses(&mut c)?,
            sender: addresses(&mut c)?,
            reply_to: addresses(&mut c)?,
            to: addresses(&mut c)?,
            cc: addresses(&mut c)?,
            bcc: addresses(&mut c)?,
            in_reply_to: nstr(&mut c)?,
            message_id: nstr(&mut c)?,
        };
        c.sp();
        c.expect(b')', "the end of the envelope")?;
        Ok(env)
    }
}

impl<'b> AddressList<'b> {
    /// True for `NIL` or `()`.
    pub fn is_empty(&self) -> bool {
        self.raw.iter().all(|&b| b == b' ')
    }

    /// The addresses; a malformed one ends the iteration.
    pub fn iter(&self) -> impl Iterator<Item = Address<'b>> + 'b {
        let mut c = Cursor::new(self.raw, 0, self.raw.len());
        core::iter::from_fn(move || {
            c.sp();
            if c.at_end() {
                return None;
            }
            let span = c.paren_span().ok()?;
            let mut a = Cursor::new(c.input_all(), span.start, span.end);
            Some(Address {
                name: nstr(&mut a).ok()?,
                adl: nstr(&mut a).ok()?,
                mailbox: nstr(&mut a).ok()?,
                host: nstr(&mut a).ok()?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_envelope() {
        let v = b"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
{35}\r\n<B27397-0100000@cac.washington.edu>)";
        let e = Envelope::parse(v).unwrap();
        assert_eq!(
            e.subject.unwrap().raw,
            b"IMAP4rev1 WG mtg summary and minutes"
        );
        assert_eq!(
            e.message_id.unwrap().raw,
            b"<B27397-0100000@cac.washington.edu>"
        );
        let from = e.from.iter().next().unwrap();
        assert_eq!(from.name.unwrap().raw, b"Terry Gray");
        assert_eq!(from.host.unwrap().raw, b"cac.washington.edu");
        let cc: [_; 2] = core::array::from_fn(|i| e.cc.iter().nth(i).unwrap().mailbox.unwrap().raw);
        assert_eq!(cc, [&b"minutes"[..], b"KLENSIN"]);
        assert!(e.bcc.is_empty() && e.in_reply_to.is_none());
        assert!(Envelope::parse(b"(NIL NIL").is_err());
    }
}
