//! What one decode step of a sans-I/O session reports, and the small
//! interface a driver needs of any session.

use crate::error::ProtocolError;

/// The result of one decode step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<R> {
    /// Nothing can be decided with the bytes given: read more. If the
    /// receive buffer is already full, call the session's `overflow` and
    /// keep the bytes: the session consumes them in the next steps.
    NeedMore,
    /// `consumed` bytes were used; `event` (if any) is what they meant.
    Progress {
        /// Bytes of the input used; drop them after handling the event.
        consumed: usize,
        /// What happened, if anything worth reporting.
        event: Option<R>,
    },
}

/// The part of a sans-I/O session that a byte-moving driver calls.
pub trait Machine {
    /// The session's event, with byte ranges instead of slices.
    type Raw;
    /// Decodes the unconsumed received bytes by one step.
    fn decode_raw(&mut self, input: &[u8]) -> Result<Decoded<Self::Raw>, ProtocolError>;
    /// The receive buffer is full and the session still needs more: it
    /// must now consume the held bytes itself (skipping or counting them).
    fn overflow(&mut self, available: usize);
    /// The connection ended or failed; the session is over.
    fn close(&mut self);
}
