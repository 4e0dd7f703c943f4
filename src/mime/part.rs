//! What the walker reports about a part: [`Part`], [`Encoding`],
//! [`Disposition`] and [`Defects`].

use super::text::Text;

/// Bytes kept of a media type (`type/subtype`, lowercased).
pub const MEDIA_TYPE_LEN: usize = 64;
/// Bytes kept of a charset name (lowercased).
pub const CHARSET_LEN: usize = 24;
/// Bytes kept of a file name (decoded).
pub const FILENAME_LEN: usize = 96;
/// The longest multipart boundary (RFC 2046 §5.1.1: 1 to 70 octets).
pub const BOUNDARY_LEN: usize = 70;

/// A part's Content-Transfer-Encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Encoding {
    /// `7bit` (the default), `8bit`, `binary` or an unknown token: the
    /// body is passed on as it came.
    #[default]
    Identity,
    /// `base64`: decoded.
    Base64,
    /// `quoted-printable`: decoded.
    QuotedPrintable,
}

/// A part's Content-Disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Disposition {
    /// No Content-Disposition header.
    #[default]
    None,
    /// `inline`.
    Inline,
    /// `attachment`.
    Attachment,
    /// Another token.
    Other,
}

/// Things that were wrong with a message, as bits. The walker never stops
/// on them: it does the documented best effort and says so here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Defects(u16);

impl Defects {
    /// No defect.
    pub const NONE: Defects = Defects(0);
    /// A multipart ended (the input ended, or an enclosing boundary came)
    /// without its close delimiter `--boundary--`. Every byte up to that
    /// point was delivered; the last part may be incomplete.
    pub const MISSING_FINAL_BOUNDARY: Defects = Defects(1);
    /// A multipart's declared boundary never appeared in its body (a wrong
    /// boundary): its body was taken for preamble and no part of it was
    /// delivered.
    pub const BOUNDARY_NOT_FOUND: Defects = Defects(1 << 1);
    /// A multipart without a usable boundary (missing, empty, or longer
    /// than 70 octets): its body was delivered as one leaf part, undecoded.
    pub const BAD_BOUNDARY: Defects = Defects(1 << 2);
    /// Base64 with characters outside the alphabet (skipped) or a dangling
    /// single character at the end (dropped).
    pub const BAD_BASE64: Defects = Defects(1 << 3);
    /// Quoted-printable with a `=` that starts no escape (passed on as is).
    pub const BAD_QUOTED_PRINTABLE: Defects = Defects(1 << 4);
    /// A header field longer than the line buffer: its start was used.
    pub const HEADER_TOO_LONG: Defects = Defects(1 << 5);
    /// Nesting deeper than the walker's depth cap: the part was delivered
    /// as one leaf, its body undecoded.
    pub const TOO_DEEP: Defects = Defects(1 << 6);

    /// True when no defect is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every bit of `other` is set.
    pub const fn contains(self, other: Defects) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Defects) {
        self.0 |= other.0;
    }
}

/// One MIME entity, as reported when its headers end
/// ([`Event::PartStart`](super::Event::PartStart)). 280 bytes on a 64-bit host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Part {
    /// 0 for the message itself, +1 for each multipart or
    /// `message/rfc822` level around the part.
    pub depth: u8,
    /// Position in walk order: 0 for the message, then 1, 2, … for every
    /// part (containers included) as it starts.
    pub index: u16,
    /// `type/subtype`, lowercased; the RFC 2045 default `text/plain`
    /// (`message/rfc822` inside `multipart/digest`) when absent.
    pub media_type: Text<MEDIA_TYPE_LEN>,
    /// The `charset` parameter, lowercased (empty when absent).
    pub charset: Text<CHARSET_LEN>,
    /// The Content-Disposition.
    pub disposition: Disposition,
    /// The file name: Content-Disposition `filename`, else Content-Type
    /// `name`; RFC 2231 continuations and charsets and RFC 2047 words
    /// decoded. UTF-8 unless [`Part::filename_charset`] names a charset.
    pub filename: Text<FILENAME_LEN>,
    /// Empty when [`Part::filename`] is UTF-8 (or ASCII). Otherwise the
    /// charset its bytes are in (RFC 2231), or of the RFC 2047 word left
    /// encoded in it.
    pub filename_charset: Text<CHARSET_LEN>,
    /// The Content-Transfer-Encoding; the body events carry the decoded
    /// bytes.
    pub encoding: Encoding,
    /// True when the part's body follows ([`Event::Body`](super::Event::Body)
    /// pieces, then [`Event::PartEnd`](super::Event::PartEnd)); false for a
    /// container whose parts follow instead. A multipart or
    /// `message/rfc822` that is not walked into (too deep, no usable
    /// boundary) is a leaf.
    pub leaf: bool,
    /// Defects of this part's headers (for instance
    /// [`Defects::HEADER_TOO_LONG`], [`Defects::BAD_BOUNDARY`],
    /// [`Defects::TOO_DEEP`]).
    pub defects: Defects,
}

impl Part {
    /// True when the media type is `media_type` (ASCII case-insensitive),
    /// e.g. `part.is("application/pdf")`.
    pub fn is(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_case(media_type.as_bytes())
    }

    /// The top-level type (`text` of `text/plain`).
    pub fn main_type(&self) -> &[u8] {
        let t = self.media_type.as_bytes();
        t.split(|&b| b == b'/').next().unwrap_or(t)
    }

    /// True for `multipart/*` (a container: its parts follow).
    pub fn is_multipart(&self) -> bool {
        self.main_type() == b"multipart"
    }

    /// True when Content-Disposition is `attachment`.
    pub fn is_attachment(&self) -> bool {
        self.disposition == Disposition::Attachment
    }
}
