//! The byte-moving half of every client, shared by POP3 and IMAP: a
//! transport, the caller's receive and command buffers, and the loop that
//! feeds received bytes to a session until it reports an event.
//!
//! Written once, as async Rust, in `core.rs`; `build.rs` derives the
//! blocking twin by dropping `async` and `.await`.

/// The blocking link over `embedded_io` (the twin of `asynch`).
pub(crate) mod blocking {
    include!(concat!(env!("OUT_DIR"), "/blocking/link_core.rs"));
}

/// The async link over `embedded_io_async`.
#[cfg(feature = "async")]
#[path = "core.rs"]
pub(crate) mod asynch;
