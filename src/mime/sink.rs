//! [`PartWriter`]: an `embedded_io::Write` (and, with feature `async`, an
//! `embedded_io_async::Write`) that walks the message written into it and
//! forwards only the selected parts, decoded, to the writer it wraps.

use super::part::{Defects, Part};
use super::walker::Walker;
use super::Event;

/// Why a [`PartWriter`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SinkError<E> {
    /// The wrapped writer failed.
    Write(E),
    /// The wrapped writer accepted no bytes (`Ok(0)`).
    WriteZero,
}

impl<E: embedded_io::Error> embedded_io::Error for SinkError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            SinkError::Write(e) => e.kind(),
            SinkError::WriteZero => embedded_io::ErrorKind::WriteZero,
        }
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for SinkError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SinkError::Write(e) => write!(f, "part sink: {e:?}"),
            SinkError::WriteZero => f.write_str("part sink accepted no bytes"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for SinkError<E> {}

/// What a [`PartWriter`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Summary {
    /// Leaf parts whose (decoded) body was forwarded, complete.
    pub parts: u16,
    /// Decoded bytes forwarded.
    pub bytes: u64,
    /// What was wrong with the message (see [`Defects`]).
    pub defects: Defects,
}

/// Forwards the decoded bodies of the leaf parts `select` accepts, at
/// most `limit` of them, to `inner`; everything else written into it is
/// walked and dropped.
///
/// ```
/// use embedded_io::Write;
/// use embedded_mail::mime::PartWriter;
///
/// let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\
/// Content-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf\n\
/// Content-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n";
/// let mut line = [0u8; 256];
/// let mut pdf = [0u8; 8];
/// let mut w: PartWriter<'_, _, _> =
///     PartWriter::first(&mut line, &mut pdf[..], |p| p.is("application/pdf"));
/// w.write_all(msg).unwrap(); // what Client::retr does with a sink
/// let (_, summary) = w.finish().unwrap();
/// assert_eq!((summary.parts, summary.bytes), (1, 5));
/// assert_eq!(&pdf[..5], b"%PDF-");
/// ```
///
/// Call [`finish`](Self::finish) (or `finish_async`) once the whole
/// message has been written: the end of the last part is only known
/// then. Memory: the [`Walker`] plus the wrapped writer.
pub struct PartWriter<'b, W, F, const DEPTH: usize = 4> {
    walker: Walker<'b, DEPTH>,
    inner: W,
    select: F,
    pick: Pick,
}

#[derive(Debug, Clone, Copy)]
struct Pick {
    limit: u16,
    active: bool,
    summary: Summary,
}

impl Pick {
    /// Follows one event; returns the body bytes to forward.
    fn event<'e, F: FnMut(&Part) -> bool>(&mut self, e: Event<'e>, select: &mut F) -> &'e [u8] {
        match e {
            Event::PartStart(p) => {
                self.active = self.summary.parts < self.limit && p.leaf && select(p);
            }
            Event::Body(b) if self.active => {
                self.summary.bytes += b.len() as u64;
                return b;
            }
            Event::PartEnd(_) if self.active => {
                self.active = false;
                self.summary.parts += 1;
            }
            _ => {}
        }
        &[]
    }
}

impl<'b, W, F: FnMut(&Part) -> bool, const DEPTH: usize> PartWriter<'b, W, F, DEPTH> {
    /// Forwards every part `select` accepts. `line` is the walker's
    /// header line buffer (see [`Walker`]).
    pub fn new(line: &'b mut [u8], inner: W, select: F) -> Self {
        Self::with_limit(line, inner, select, u16::MAX)
    }

    /// Forwards only the first part `select` accepts.
    pub fn first(line: &'b mut [u8], inner: W, select: F) -> Self {
        Self::with_limit(line, inner, select, 1)
    }

    /// Forwards at most `limit` parts that `select` accepts.
    pub fn with_limit(line: &'b mut [u8], inner: W, select: F, limit: u16) -> Self {
        PartWriter {
            walker: Walker::new(line),
            inner,
            select,
            pick: Pick {
                limit,
                active: false,
                summary: Summary::default(),
            },
        }
    }

    /// What has been forwarded so far.
    pub fn summary(&self) -> Summary {
        Summary {
            defects: self.walker.defects(),
            ..self.pick.summary
        }
    }

    /// The wrapped writer.
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

fn write_out<W: embedded_io::Write>(w: &mut W, mut b: &[u8]) -> Result<(), SinkError<W::Error>> {
    while !b.is_empty() {
        match w.write(b).map_err(SinkError::Write)? {
            0 => return Err(SinkError::WriteZero),
            n => b = b.get(n..).unwrap_or(&[]),
        }
    }
    Ok(())
}

impl<W: embedded_io::ErrorType, F, const DEPTH: usize> embedded_io::ErrorType
    for PartWriter<'_, W, F, DEPTH>
{
    type Error = SinkError<W::Error>;
}

impl<W: embedded_io::Write, F: FnMut(&Part) -> bool, const DEPTH: usize> embedded_io::Write
    for PartWriter<'_, W, F, DEPTH>
{
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let (pick, select, inner) = (&mut self.pick, &mut self.select, &mut self.inner);
        self.walker
            .feed(buf, &mut |e| write_out(inner, pick.event(e, select)))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().map_err(SinkError::Write)
    }
}

impl<W: embedded_io::Write, F: FnMut(&Part) -> bool, const DEPTH: usize>
    PartWriter<'_, W, F, DEPTH>
{
    /// The message has ended: forwards the rest of the last part, flushes
    /// the wrapped writer and returns it with the [`Summary`].
    pub fn finish(mut self) -> Result<(W, Summary), SinkError<W::Error>> {
        let (pick, select, inner) = (&mut self.pick, &mut self.select, &mut self.inner);
        let defects = self
            .walker
            .finish(&mut |e| write_out(inner, pick.event(e, select)))?;
        self.inner.flush().map_err(SinkError::Write)?;
        Ok((
            self.inner,
            Summary {
                defects,
                ..self.pick.summary
            },
        ))
    }
}

#[cfg(feature = "async")]
mod asynch {
    //! The async sink: the walker runs on pieces of at most [`PIECE`]
    //! bytes, collecting the selected output in a stack buffer that the
    //! wrapped writer then takes with `.await`.
    use super::*;

    /// Input bytes walked per `write` call.
    const PIECE: usize = 128;
    /// Output of one piece: at most the piece, plus the bytes the scanner
    /// held back (a line start of 91 bytes, a line break, a CR) and two
    /// bytes a decoder held: 224, with room to spare.
    const COLLECT: usize = 320;

    struct Collect {
        buf: [u8; COLLECT],
        len: usize,
    }

    impl Collect {
        fn push(&mut self, b: &[u8]) {
            let n = b.len().min(COLLECT - self.len);
            if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), b.get(..n)) {
                dst.copy_from_slice(src);
                self.len += n;
            }
        }
    }

    async fn write_out<W: embedded_io_async::Write>(
        w: &mut W,
        mut b: &[u8],
    ) -> Result<(), SinkError<W::Error>> {
        while !b.is_empty() {
            match w.write(b).await.map_err(SinkError::Write)? {
                0 => return Err(SinkError::WriteZero),
                n => b = b.get(n..).unwrap_or(&[]),
            }
        }
        Ok(())
    }

    impl<W: embedded_io_async::Write, F: FnMut(&Part) -> bool, const DEPTH: usize>
        embedded_io_async::Write for PartWriter<'_, W, F, DEPTH>
    {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            let piece = buf.get(..PIECE.min(buf.len())).unwrap_or(&[]);
            let mut out = Collect {
                buf: [0; COLLECT],
                len: 0,
            };
            let (pick, select) = (&mut self.pick, &mut self.select);
            let _ = self.walker.feed(piece, &mut |e| {
                out.push(pick.event(e, select));
                Ok::<(), core::convert::Infallible>(())
            });
            write_out(&mut self.inner, out.buf.get(..out.len).unwrap_or(&[])).await?;
            Ok(piece.len())
        }

        async fn flush(&mut self) -> Result<(), Self::Error> {
            self.inner.flush().await.map_err(SinkError::Write)
        }
    }

    impl<W: embedded_io_async::Write, F: FnMut(&Part) -> bool, const DEPTH: usize>
        PartWriter<'_, W, F, DEPTH>
    {
        /// [`finish`](PartWriter::finish) for an async wrapped writer.
        pub async fn finish_async(mut self) -> Result<(W, Summary), SinkError<W::Error>> {
            let mut out = Collect {
                buf: [0; COLLECT],
                len: 0,
            };
            let (pick, select) = (&mut self.pick, &mut self.select);
            let defects = match self.walker.finish(&mut |e| {
                out.push(pick.event(e, select));
                Ok::<(), core::convert::Infallible>(())
            }) {
                Ok(d) => d,
                Err(never) => match never {},
            };
            write_out(&mut self.inner, out.buf.get(..out.len).unwrap_or(&[])).await?;
            self.inner.flush().await.map_err(SinkError::Write)?;
            Ok((
                self.inner,
                Summary {
                    defects,
                    ..self.pick.summary
                },
            ))
        }
    }
}
