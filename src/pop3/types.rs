//! Plain data returned by the POP3 clients.

use super::Session;

/// Longest unique id RFC 1939 allows (§7).
pub const MAX_UID_LEN: usize = 70;

/// A message's unique id, as `UIDL n` returns it.
pub type UniqueId = heapless::Vec<u8, MAX_UID_LEN>;

/// What the greeting told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Greeting {
    /// The greeting carried an APOP timestamp, so APOP login is possible.
    pub apop: bool,
}

/// The answer to STAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stat {
    /// Messages in the maildrop.
    pub count: u32,
    /// Their total size in octets.
    pub size: u64,
}

/// A client taken apart: its transport, its session and its buffers, to
/// wrap the transport (STLS) or move the session to a new connection.
#[derive(Debug)]
pub struct Parts<'b, T> {
    /// The transport.
    pub transport: T,
    /// The protocol state.
    pub session: Session,
    /// The receive buffer.
    pub rx: &'b mut [u8],
    /// The command buffer.
    pub tx: &'b mut [u8],
}
