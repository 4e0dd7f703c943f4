//! IMAP calls (feature `imap`), compiled only with that feature.
//!
//! Placeholder: `embedded_mail::imap` is being written. When
//! `embedded_mail::imap::Client` exists, extend this like `calls.rs`: a
//! canned IMAP server script in `script.rs`, a `Dummy` transport over it,
//! and one call of every public method (blocking and async), each result
//! noted in the `Report` so that LTO keeps it. Sketch:
//!
//! ```ignore
//! pub fn run(r: &mut Report) {
//!     let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
//!     let Some(mut c) = r.note("imap connect",
//!         embedded_mail::imap::Client::connect(Dummy::new(script::IMAP), &mut rx, &mut tx))
//!     else { return };
//!     r.note("imap login", c.login(USER, SECRET));
//!     // select, fetch into a sink, store, expunge, idle, logout, ...
//! }
//! ```

use crate::calls::Report;

/// Runs the IMAP dialogue (nothing yet).
pub fn run(_report: &mut Report) {}
