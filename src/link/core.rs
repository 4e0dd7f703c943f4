//! The async link, and through `build.rs` the blocking one: a transport,
//! the caller's receive and command buffers, and the loop that feeds
//! received bytes to a session until it reports an event.

use embedded_io_async::{Read, Write};

use crate::error::Error;
use crate::wire::{Decoded, Machine, RxBuffer};

/// A transport with its receive and command buffers.
pub(crate) struct Link<'b, T> {
    pub(crate) transport: T,
    pub(crate) rx: RxBuffer<'b>,
    pub(crate) tx: &'b mut [u8],
    /// Bytes of the last event, dropped at the next read so the
    /// event could borrow the receive buffer meanwhile.
    consumed: usize,
}

impl<'b, T> Link<'b, T>
where
    T: Read + Write,
{
    pub(crate) fn new(transport: T, rx: &'b mut [u8], tx: &'b mut [u8]) -> Self {
        Link {
            transport,
            rx: RxBuffer::new(rx),
            tx,
            consumed: 0,
        }
    }

    pub(crate) fn into_parts(self) -> (T, &'b mut [u8], &'b mut [u8]) {
        (self.transport, self.rx.into_inner(), self.tx)
    }

    /// Drops the last event's bytes and tells how many received
    /// bytes are still held (for the TLS hand-over check).
    pub(crate) fn held_after_last_event(&mut self) -> usize {
        self.rx.consume(core::mem::take(&mut self.consumed));
        self.rx.len()
    }

    /// Overwrites the command buffer (credentials were in it).
    pub(crate) fn wipe_tx(&mut self) {
        self.tx.fill(0);
    }

    /// Sends the first `n` bytes of the command buffer in one write
    /// (plus continuations if the transport takes less), then
    /// flushes. `write_all` is not used: its default panics on a
    /// zero-length write, which is a closed connection here.
    pub(crate) async fn write_tx<M: Machine>(
        &mut self,
        n: usize,
        session: &mut M,
    ) -> Result<(), Error<T::Error>> {
        self.write_span(0, n, session).await
    }

    /// Like [`Self::write_tx`] for bytes `start..end` of the
    /// command buffer (a command sent in parts, e.g. around a
    /// synchronizing literal).
    pub(crate) async fn write_span<M: Machine>(
        &mut self,
        start: usize,
        end: usize,
        session: &mut M,
    ) -> Result<(), Error<T::Error>> {
        let mut bytes = self.tx.get(start..end).unwrap_or(&[]);
        while !bytes.is_empty() {
            match self.transport.write(bytes).await {
                Ok(0) => {
                    session.close();
                    return Err(Error::ConnectionClosed);
                }
                Ok(k) => bytes = bytes.get(k..).unwrap_or(&[]),
                Err(e) => {
                    session.close();
                    return Err(Error::Transport(e));
                }
            }
        }
        self.transport.flush().await.map_err(Error::Transport)
    }

    /// The session's next event as byte ranges of the receive
    /// buffer, reading from the transport as needed.
    pub(crate) async fn next_raw<M: Machine>(
        &mut self,
        session: &mut M,
    ) -> Result<M::Raw, Error<T::Error>> {
        self.rx.consume(core::mem::take(&mut self.consumed));
        loop {
            match session.decode_raw(self.rx.data()).map_err(Error::widen)? {
                Decoded::NeedMore => {
                    if self.rx.is_full() {
                        // The session consumes the held bytes next.
                        session.overflow(self.rx.len());
                        continue;
                    }
                    let n = match self.transport.read(self.rx.spare()).await {
                        Ok(n) => n,
                        // A read that timed out took no bytes: the
                        // session stays in step and the caller may
                        // read on (the watch's tick, poll::watch).
                        Err(e)
                            if embedded_io::Error::kind(&e) == embedded_io::ErrorKind::TimedOut =>
                        {
                            return Err(Error::Transport(e));
                        }
                        Err(e) => {
                            session.close();
                            return Err(Error::Transport(e));
                        }
                    };
                    if n == 0 {
                        session.close();
                        return Err(Error::ConnectionClosed);
                    }
                    self.rx.commit(n);
                }
                // A session never reports no progress without an
                // event; refuse to spin if one ever did.
                Decoded::Progress {
                    consumed: 0,
                    event: None,
                } => {
                    session.close();
                    return Err(Error::Broken);
                }
                Decoded::Progress {
                    consumed,
                    event: None,
                } => self.rx.consume(consumed),
                Decoded::Progress {
                    consumed,
                    event: Some(event),
                } => {
                    self.consumed = consumed;
                    return Ok(event);
                }
            }
        }
    }
}

/// Writes one body piece to the caller's sink. Returns the sink's
/// error kind instead of failing, so the caller can keep reading
/// the response to its end and the session stays in step.
pub(crate) async fn write_sink<W: Write>(
    sink: &mut W,
    mut chunk: &[u8],
) -> Option<embedded_io::ErrorKind> {
    while !chunk.is_empty() {
        match sink.write(chunk).await {
            Ok(0) => return Some(embedded_io::ErrorKind::WriteZero),
            Ok(k) => chunk = chunk.get(k..).unwrap_or(&[]),
            Err(e) => return Some(embedded_io::Error::kind(&e)),
        }
    }
    None
}

/// Flushes the sink once a body is complete.
pub(crate) async fn flush_sink<W: Write>(sink: &mut W) -> Option<embedded_io::ErrorKind> {
    sink.flush()
        .await
        .err()
        .map(|e| embedded_io::Error::kind(&e))
}
