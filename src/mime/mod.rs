//! Streaming MIME without a heap (feature `mime`): fed a message in
//! pieces of any size, the [`Walker`] reports its parts as they start and
//! passes each leaf part's body on **decoded** (base64, quoted-printable;
//! 7bit, 8bit and binary as they are), piece by piece.
//!
//! ```
//! use embedded_mail::mime::{Event, Walker};
//!
//! let msg = b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\
//! Content-Type: multipart/mixed; boundary=b\r\n\r\n\
//! --b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
//! --b\r\nContent-Type: application/pdf; name=x.pdf\r\n\
//! Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
//! let mut line = [0u8; 256];
//! let mut walker: Walker<'_, 4> = Walker::new(&mut line);
//! let mut pdf = [0u8; 16];
//! let (mut n, mut in_pdf) = (0, false);
//! let mut on = |e: Event<'_>| -> Result<(), ()> {
//!     match e {
//!         Event::Header(h) => assert_eq!(h.value, "café".as_bytes()),
//!         Event::PartStart(p) => in_pdf = p.is("application/pdf"),
//!         Event::Body(b) if in_pdf => {
//!             pdf[n..n + b.len()].copy_from_slice(b);
//!             n += b.len();
//!         }
//!         _ => {}
//!     }
//!     Ok(())
//! };
//! for piece in msg.chunks(7) {
//!     walker.feed(piece, &mut on)?;
//! }
//! let defects = walker.finish(&mut on)?;
//! assert!(defects.is_empty());
//! assert_eq!(&pdf[..n], b"%PDF-");
//! # Ok::<(), ()>(())
//! ```
//!
//! To store only the parts you want into any `embedded_io::Write` (a
//! flash writer, a file), wrap it in a [`PartWriter`] and hand that to
//! `Client::retr` or `fetch_body`.
//!
//! # Events
//!
//! In stream order: [`Event::Header`] for `Subject` and `From` of every
//! header block (RFC 2047 words decoded); [`Event::PartStart`] for every
//! entity when its headers end, containers (`multipart/*`,
//! `message/rfc822`) included; for leaf parts only, [`Event::Body`] with
//! decoded bytes and then [`Event::PartEnd`]. Depth is 0 for the message,
//! +1 inside each multipart and each `message/rfc822`.
//!
//! # Bounds
//!
//! Nothing is buffered beyond: the caller's header line buffer (fields
//! longer are cut, [`Defects::HEADER_TOO_LONG`]); boundaries of at most
//! [`BOUNDARY_LEN`] (70) octets, RFC 2046's limit (a longer one is
//! [`Defects::BAD_BOUNDARY`]); `DEPTH` levels ([`Defects::TOO_DEEP`]);
//! [`MEDIA_TYPE_LEN`], [`CHARSET_LEN`] and [`FILENAME_LEN`] bytes of
//! those values (longer ones are cut, [`Text::is_truncated`]). A line
//! starting with `-` is held back up to 91 bytes while it may be a
//! boundary. Decoded pieces are at most 192 bytes or the piece fed.
//!
//! # Broken mail
//!
//! The walker never stops or loops on bad input; it does a best effort
//! and says what was wrong in [`Defects`] (from [`Walker::finish`], and
//! per part in [`Part::defects`]):
//!
//! - a missing final boundary: the last part runs to the end of the input
//!   and is delivered ([`Defects::MISSING_FINAL_BOUNDARY`]);
//! - a wrong declared boundary: the multipart's body is all preamble,
//!   nothing of it is delivered ([`Defects::BOUNDARY_NOT_FOUND`]);
//! - broken base64: characters outside the alphabet are skipped, missing
//!   padding is forgiven, a dangling character is dropped
//!   ([`Defects::BAD_BASE64`]);
//! - broken quoted-printable: a `=` that starts no escape is kept as is
//!   ([`Defects::BAD_QUOTED_PRINTABLE`]).
//!
//! RFC 2047 words in charsets other than UTF-8 and US-ASCII are left
//! encoded and their charset named ([`Header::charset`],
//! [`Part::filename_charset`]); RFC 2231 values in other charsets are
//! percent-decoded, their bytes left in that charset, and the charset
//! named. RFC 2231 continuations are joined in the order they come.

mod base64;
mod fields;
mod params;
mod part;
mod qp;
mod scan;
mod sink;
mod text;
mod walker;
mod words;

pub use part::{
    Defects, Disposition, Encoding, Part, BOUNDARY_LEN, CHARSET_LEN, FILENAME_LEN, MEDIA_TYPE_LEN,
};
pub use sink::{PartWriter, SinkError, Summary};
pub use text::Text;
pub use walker::Walker;

/// Something the [`Walker`] found, in stream order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// `Subject` or `From` of a header block, RFC 2047 words decoded.
    Header(Header<'a>),
    /// A part's headers have ended. For containers (`multipart/*`,
    /// `message/rfc822`) the parts inside follow; for leaf parts the body
    /// follows.
    PartStart(&'a Part),
    /// A piece of the current leaf part's decoded body.
    Body(&'a [u8]),
    /// The current leaf part's body has ended.
    PartEnd(&'a Part),
}

/// Which header an [`Event::Header`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderName {
    /// `Subject`.
    Subject,
    /// `From`.
    From,
}

/// A decoded header value ([`Event::Header`]).
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// Depth of the header block (0: the message; deeper: a part or an
    /// embedded message).
    pub depth: u8,
    /// Which header.
    pub name: HeaderName,
    /// The unfolded value, RFC 2047 words in UTF-8 or US-ASCII decoded
    /// (cut to the line buffer).
    pub value: &'a [u8],
    /// The charset of the first encoded word left encoded, if any.
    pub charset: Option<&'a [u8]>,
}
