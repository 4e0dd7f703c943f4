//! The byte layer shared by POP3 and IMAP: the receive buffer the drivers
//! fill, CRLF line framing, the POP3 dot-unstuffing stream, and the
//! argument checks that keep caller strings from breaking
//! out of their place on the wire.
//!
//! Nothing here allocates or does I/O; every buffer belongs to the caller.

mod args;
mod decoded;
mod dot;
mod line;
mod rx;
mod tx;

pub use args::{check_arg, check_text, ArgError};
pub use decoded::{Decoded, Machine};
pub use dot::{DotDecoder, DotStep};
pub use line::{find_line, trim_crlf};
pub use rx::RxBuffer;
pub use tx::TxCursor;
