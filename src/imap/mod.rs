//! IMAP (RFC 3501 IMAP4rev1 and RFC 9051 IMAP4rev2) with the extensions
//! a small client needs: LITERAL+, SASL-IR, IDLE, UIDPLUS, MOVE, ESEARCH,
//! ENABLE, ID, NAMESPACE, QUOTA, SPECIAL-USE, UTF8=ACCEPT, CONDSTORE.
//!
//! - [`Session`]: the sans-I/O state machine; use it directly to write
//!   your own driver.
//! - [`Client`]: a blocking driver over `embedded_io::{Read, Write}`.
//! - [`asynch::Client`] (feature `async`): the same over
//!   `embedded_io_async`.
//!
//! Memory: the session is a few hundred bytes; the client borrows a
//! receive buffer and a command buffer. Message bodies stream through the
//! receive buffer in pieces (a 5 MiB message goes through 1 KiB); every
//! other response (LIST, STATUS, ENVELOPE, ...) must fit in it whole with
//! its literals, else `BufferTooSmall` names the size needed (or it is
//! skipped, see [`Session::set_skip_oversized`]). SEARCH answers stream one
//! number at a time. 1 KiB of receive buffer and 256 bytes of command
//! buffer suit a typical mailbox; long passwords or mailbox names need
//! more command buffer.
//!
//! Arguments (user names, passwords, quota roots) that hold CR, LF or
//! 8-bit bytes (without UTF8=ACCEPT) go as literals: non-synchronizing
//! (`{N+}`) with LITERAL+, or LITERAL- up to 4096 bytes (RFC 7888), else
//! synchronizing (`{N}`, RFC 3501 §7.5): the client sends up to the
//! literal, waits for the server's `+` (one round trip each, see
//! [`Session::literal_pauses`]) and sends nothing more if the server
//! refuses instead. LOGOUT answered by a tagged `BYE`, or by `* BYE` and
//! a close, succeeds.
//!
//! Keep IDLE shorter than 29 minutes (RFC 2177): servers may log out an
//! idle client after 30; end it with DONE and start it again.

mod command;
mod encode;
mod envelope;
mod event;
mod parse;
mod response;
mod scan;
mod sequence;
mod session;
mod stream;
mod types;
pub mod utf7;

/// The blocking client over `embedded_io`: `build.rs` derives it from the
/// async client's source (`driver.rs`) by dropping `async` and `.await`.
pub(crate) mod blocking {
    include!(concat!(env!("OUT_DIR"), "/blocking/imap_driver.rs"));
}
pub use blocking::Client;

#[cfg(feature = "async")]
#[path = "driver.rs"]
pub mod asynch;
pub use command::{
    Append, BodyRequest, Command, FetchItems, SearchReturn, Section, StatusItems, StoreOp,
    StoreReply,
};
pub use envelope::{Address, AddressList, Envelope};
pub use event::{
    Code, Event, GenericEvent, ListItem, MailboxAttrs, QuotaValues, RawEvent, Span, StatusKind,
    StatusValues, Str,
};
pub use sequence::{parse_ranges, SeqNum, SeqRange, SequenceSet};
pub use session::{
    AppendPlan, Decoded, Pending, Session, DEFAULT_MAX_LINE, MAX_IN_FLIGHT, MAX_PAUSES,
};
pub use types::{Capabilities, FlagSet, MailboxState, State};
pub use utf7::Utf7Error;

/// Decodes a mailbox name from a LIST/STATUS answer into `out`: modified
/// UTF-7, or UTF-8 as is when `utf8` (UTF8=ACCEPT enabled).
pub fn decode_mailbox<'o>(
    name: &Str<&[u8]>,
    utf8: bool,
    out: &'o mut [u8],
) -> Result<&'o str, Utf7Error> {
    if utf8 || name.escaped {
        let needed = name.bytes().count();
        let copied = name.copy_to(out).ok_or(Utf7Error::TooSmall { needed })?;
        let len = copied.len();
        if utf8 {
            let text = out.get(..len).unwrap_or(&[]);
            return core::str::from_utf8(text).map_err(|_| Utf7Error::Invalid);
        }
        // Rare: a quoted name with escapes. Unescape on the stack, then
        // decode.
        let mut tmp = [0u8; 256];
        let raw = name
            .copy_to(&mut tmp)
            .ok_or(Utf7Error::TooSmall { needed: 256 })?;
        return utf7::decode(raw, out);
    }
    utf7::decode(name.raw, out)
}

/// A client taken apart: its transport, its session and its buffers, to
/// wrap the transport (STARTTLS) or move the session to a new connection.
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

/// What the greeting told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Greeting {
    /// The server logged the client in already (`PREAUTH`).
    pub preauth: bool,
}

/// A summary of a SEARCH answer (hits themselves go to the callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SearchSummary {
    /// Hits reported (SEARCH numbers, or ESEARCH ALL expanded).
    pub hits: u32,
    /// ESEARCH `MIN`.
    pub min: Option<u32>,
    /// ESEARCH `MAX`.
    pub max: Option<u32>,
    /// ESEARCH `COUNT`.
    pub count: Option<u32>,
}

/// The UIDs an APPEND or COPY/MOVE got in the target mailbox (UIDPLUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Completion {
    /// `[APPENDUID validity uid]`.
    pub append_uid: Option<(u32, u32)>,
    /// `[COPYUID validity ...]`: the target's UIDVALIDITY.
    pub copy_validity: Option<u32>,
}

/// Quota usage of one root (GETQUOTAROOT / GETQUOTA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuotaInfo {
    /// How many QUOTA answers were seen.
    pub roots: u32,
    /// The first root's values.
    pub values: QuotaValues,
}

#[cfg(test)]
mod tests;
