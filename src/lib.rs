#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// No panic may be reachable from server bytes: clippy enforces that no
// library code indexes, unwraps or panics (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![doc = include_str!("../docs/crate.md")]

#[cfg(feature = "std")]
extern crate std;

/// The README's examples, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[macro_use]
mod fmt;

pub mod error;
// The byte mover of the clients: dead code in a build without them
// (e.g. `--no-default-features --features mime`).
#[cfg(any(feature = "pop3", feature = "imap"))]
mod link;
pub mod sasl;
pub mod wire;

#[cfg(feature = "pop3")]
pub mod pop3;

#[cfg(feature = "imap")]
pub mod imap;

#[cfg(any(feature = "pop3", feature = "imap"))]
pub mod poll;
pub mod store;

#[cfg(feature = "mime")]
pub mod mime;

#[cfg(feature = "tls")]
pub mod tls;

pub use error::{
    CertificateCheck, CertificateError, Error, ProtocolError, Refusal, RefusalKind, RefusalText,
    ResponseCode, SessionState,
};
pub use sasl::{Credentials, Mechanism};
