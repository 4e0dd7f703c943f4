//! The part walker: boundaries from [`scan`](super::scan), header fields
//! from [`fields`](super::fields), values from [`params`](super::params)
//! and [`words`](super::words), bodies through the decoders.
//!
//! States: `Headers` (a header block is being read: the message's, a
//! part's, or an embedded message's), `Body` (a leaf's body goes through
//! its decoder), `Skip` (a preamble or epilogue: dropped). A multipart
//! pushes a frame (its boundary); a boundary line ends whatever is open
//! and starts the next part's headers, or pops the frame.

use super::base64::Base64;
use super::fields::{Fields, Found};
use super::params::{self, NameSource};
use super::part::{Defects, Encoding, Part, BOUNDARY_LEN, CHARSET_LEN};
use super::qp::QuotedPrintable;
use super::scan::{Frame, Out, Scanner};
use super::text::Text;
use super::{words, Event, Header, HeaderName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Headers,
    Body,
    Skip,
}

#[derive(Debug, Clone, Copy)]
enum Decoder {
    Identity,
    Base64(Base64),
    Qp(QuotedPrintable),
}

/// A streaming MIME walker over one message (see the [module
/// docs](super)).
///
/// `DEPTH` caps the nesting: parts are at most `DEPTH` levels below the
/// message, so at most `DEPTH` boundaries are kept. A
/// multipart or `message/rfc822` whose parts would be deeper is delivered
/// as one leaf, undecoded, flagged [`Defects::TOO_DEEP`].
///
/// Memory: the caller's line buffer, plus `size_of` the walker: 520 +
/// 88 × `DEPTH` bytes on a 64-bit host (872 for `DEPTH` 4), less on
/// 32-bit targets. Header fields longer than the line buffer are cut
/// ([`Defects::HEADER_TOO_LONG`]); 998 bytes (RFC 5322's line limit) is
/// plenty, 256 is enough for most mail.
pub struct Walker<'b, const DEPTH: usize = 4> {
    line: &'b mut [u8],
    fields: Fields,
    scan: Scanner,
    frames: [Frame; DEPTH],
    nframes: usize,
    mode: Mode,
    part: Part,
    name: NameSource,
    boundary: Text<BOUNDARY_LEN>,
    digest_child: bool,
    decoder: Decoder,
    next_index: u16,
    defects: Defects,
}

impl<'b, const DEPTH: usize> Walker<'b, DEPTH> {
    /// A walker at the start of a message, assembling header fields in
    /// `line` (its length is the header field cap).
    pub fn new(line: &'b mut [u8]) -> Self {
        Walker {
            line,
            fields: Fields::default(),
            scan: Scanner::default(),
            frames: [Frame::default(); DEPTH],
            nframes: 0,
            mode: Mode::Headers,
            part: Part::default(),
            name: NameSource::default(),
            boundary: Text::new(),
            digest_child: false,
            decoder: Decoder::Identity,
            next_index: 0,
            defects: Defects::NONE,
        }
    }

    /// Starts over for a new message, keeping the line buffer.
    pub fn reset(&mut self) {
        let line = core::mem::take(&mut self.line);
        *self = Walker::new(line);
    }

    /// The defects seen so far (all parts).
    pub fn defects(&self) -> Defects {
        self.defects
    }

    /// Takes the next piece of the message (any size, even one byte) and
    /// reports what it completes to `on`. An error from `on` is returned
    /// as is; the walker is then in an unspecified (but safe) state.
    pub fn feed<E>(
        &mut self,
        mut input: &[u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !input.is_empty() {
            let frames = self.frames.get(..self.nframes).unwrap_or(&[]);
            let (used, out) = self.scan.step(input, frames, self.mode != Mode::Headers);
            self.out(out, input, on)?;
            input = input.get(used..).unwrap_or(&[]);
        }
        Ok(())
    }

    /// The message has ended: ends the open parts and returns every
    /// defect seen. A multipart still open is
    /// [`Defects::MISSING_FINAL_BOUNDARY`] (or
    /// [`Defects::BOUNDARY_NOT_FOUND`] if its boundary never came). The
    /// walker must be [`reset`](Self::reset) before another message.
    pub fn finish<E>(
        &mut self,
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<Defects, E> {
        loop {
            let frames = self.frames.get(..self.nframes).unwrap_or(&[]);
            match self.scan.finish(frames) {
                Out::None => break,
                out => self.out(out, &[], on)?,
            }
        }
        self.end_open(on)?;
        self.pop_to(0);
        self.mode = Mode::Skip;
        Ok(self.defects)
    }

    fn out<E>(
        &mut self,
        out: Out,
        input: &[u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match out {
            Out::None => Ok(()),
            Out::Content(a, b) => self.content(input.get(a..b).unwrap_or(&[]), on),
            Out::Eol(k) => self.content(if k == 2 { b"\r\n" } else { b"\n" }, on),
            Out::Cr => self.content(b"\r", on),
            Out::Held(h) => self.content(h.as_bytes(), on),
            Out::Boundary { frame, close } => self.boundary(frame, close, on),
        }
    }

    fn content<E>(
        &mut self,
        mut bytes: &[u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !bytes.is_empty() {
            match self.mode {
                Mode::Skip => return Ok(()),
                Mode::Body => return self.decode(bytes, on),
                Mode::Headers => {
                    let (n, found) = self.fields.feed(self.line, bytes);
                    bytes = bytes.get(n..).unwrap_or(&[]);
                    match found {
                        Found::More => {}
                        Found::Field { len, overflow } => {
                            self.field(len, overflow, on)?;
                            self.fields.clear();
                        }
                        Found::End => self.headers_end(false, on)?,
                    }
                }
            }
        }
        Ok(())
    }

    fn decode<E>(
        &mut self,
        bytes: &[u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut body = |b: &[u8]| on(Event::Body(b));
        match &mut self.decoder {
            Decoder::Identity => body(bytes),
            Decoder::Base64(d) => d.feed(bytes, &mut body),
            Decoder::Qp(d) => d.feed(bytes, &mut body),
        }
    }

    /// One complete header field in `line[..len]`.
    fn field<E>(
        &mut self,
        len: usize,
        overflow: bool,
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if overflow {
            self.part.defects.insert(Defects::HEADER_TOO_LONG);
        }
        let line = self.line.get(..len).unwrap_or(&[]);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Ok(());
        };
        let name = line.get(..colon).unwrap_or(&[]).trim_ascii();
        let value = line.get(colon + 1..).unwrap_or(&[]);
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"content-type") {
            params::content_type(value, &mut self.part, &mut self.name, &mut self.boundary);
        } else if is(b"content-disposition") {
            params::disposition(value, &mut self.part, &mut self.name);
        } else if is(b"content-transfer-encoding") {
            self.part.encoding = params::transfer_encoding(value);
        } else if is(b"subject") || is(b"from") {
            let which = if is(b"subject") {
                HeaderName::Subject
            } else {
                HeaderName::From
            };
            // Trim the value, then decode its words in place.
            let start = colon + 1 + value.len() - value.trim_ascii_start().len();
            let end = colon + 1 + value.trim_ascii_end().len();
            let mut charset = Text::<CHARSET_LEN>::new();
            let slot = self.line.get_mut(start..end.max(start)).unwrap_or(&mut []);
            let n = words::decode_in_place(slot, slot.len(), |cs| {
                charset.set(cs);
                charset.make_ascii_lowercase();
            });
            let value = slot.get(..n).unwrap_or(&[]);
            on(Event::Header(Header {
                depth: self.part.depth,
                name: which,
                value,
                charset: (!charset.is_empty()).then_some(charset.as_bytes()),
            }))?;
        }
        Ok(())
    }

    fn start_headers(&mut self, depth: u8, digest_child: bool) {
        self.part = Part {
            depth,
            ..Part::default()
        };
        self.name = NameSource::default();
        self.boundary.clear();
        self.digest_child = digest_child;
        self.fields.reset();
        self.mode = Mode::Headers;
    }

    /// The header block has ended (`cut`: by a boundary or the end of the
    /// input, so there is no body and nothing nested is opened).
    fn headers_end<E>(
        &mut self,
        cut: bool,
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        params::finish_name(&mut self.part, &self.name);
        if self.part.media_type.is_empty() {
            self.part.media_type.set(if self.digest_child {
                b"message/rfc822"
            } else {
                b"text/plain"
            });
        }
        self.part.index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        let depth = self.part.depth;
        let room = usize::from(depth) < DEPTH;
        let mut identity = false;
        if self.part.is_multipart() {
            let usable = !self.boundary.is_empty() && !self.boundary.is_truncated();
            if !usable {
                self.part.defects.insert(Defects::BAD_BOUNDARY);
            } else if !room || self.nframes >= DEPTH {
                self.part.defects.insert(Defects::TOO_DEEP);
            } else if !cut {
                self.defects.insert(self.part.defects);
                on(Event::PartStart(&self.part))?;
                if let Some(f) = self.frames.get_mut(self.nframes) {
                    *f = Frame {
                        boundary: self.boundary,
                        depth,
                        digest: self.part.is("multipart/digest"),
                        seen: false,
                    };
                    self.nframes += 1;
                }
                self.mode = Mode::Skip;
                return Ok(());
            }
            identity = true;
        } else if self.part.is("message/rfc822") || self.part.is("message/global") {
            if self.part.encoding != Encoding::Identity {
                // Not allowed (RFC 2046 §5.2.1): a leaf, decoded.
            } else if !room {
                self.part.defects.insert(Defects::TOO_DEEP);
                identity = true;
            } else if !cut {
                self.defects.insert(self.part.defects);
                on(Event::PartStart(&self.part))?;
                self.start_headers(depth + 1, false);
                return Ok(());
            }
        }
        self.part.leaf = true;
        self.defects.insert(self.part.defects);
        self.decoder = match (identity, self.part.encoding) {
            (false, Encoding::Base64) => Decoder::Base64(Base64::default()),
            (false, Encoding::QuotedPrintable) => Decoder::Qp(QuotedPrintable::default()),
            _ => Decoder::Identity,
        };
        on(Event::PartStart(&self.part))?;
        self.mode = Mode::Body;
        if cut {
            self.end_open(on)?;
        }
        Ok(())
    }

    /// Ends what is open: a header block cut short, or a leaf's body.
    fn end_open<E>(&mut self, on: &mut impl FnMut(Event<'_>) -> Result<(), E>) -> Result<(), E> {
        match self.mode {
            Mode::Skip => Ok(()),
            Mode::Headers => {
                if let Some((len, overflow)) = self.fields.pending() {
                    self.field(len, overflow, on)?;
                    self.fields.clear();
                }
                self.headers_end(true, on)
            }
            Mode::Body => {
                let mut body = |b: &[u8]| on(Event::Body(b));
                match &mut self.decoder {
                    Decoder::Identity => {}
                    Decoder::Base64(d) => {
                        d.finish(&mut body)?;
                        if d.defect {
                            self.part.defects.insert(Defects::BAD_BASE64);
                        }
                    }
                    Decoder::Qp(d) => {
                        d.finish(&mut body)?;
                        if d.defect {
                            self.part.defects.insert(Defects::BAD_QUOTED_PRINTABLE);
                        }
                    }
                }
                self.defects.insert(self.part.defects);
                self.mode = Mode::Skip;
                on(Event::PartEnd(&self.part))
            }
        }
    }

    /// Pops the frames above `keep`, each one a multipart left open.
    fn pop_to(&mut self, keep: usize) {
        while self.nframes > keep {
            self.nframes -= 1;
            let seen = self.frames.get(self.nframes).is_some_and(|f| f.seen);
            self.defects.insert(if seen {
                Defects::MISSING_FINAL_BOUNDARY
            } else {
                Defects::BOUNDARY_NOT_FOUND
            });
        }
    }

    fn boundary<E>(
        &mut self,
        frame: usize,
        close: bool,
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.end_open(on)?;
        self.pop_to(frame + 1);
        let Some(f) = self.frames.get_mut(frame) else {
            return Ok(());
        };
        if close {
            self.nframes = frame;
            self.mode = Mode::Skip;
        } else {
            f.seen = true;
            let (depth, digest) = (f.depth, f.digest);
            self.start_headers(depth.saturating_add(1), digest);
        }
        Ok(())
    }
}
