//! The poll engine: one async implementation of the POP3 and IMAP polls
//! over the client and store operations of [`io`], shared by the blocking
//! front end ([`crate::poll::pop3`], run to completion at once) and the
//! async one ([`crate::poll::asynch`]). Every rule about what to fetch,
//! when to commit and when to delete is the planners'
//! ([`crate::poll::Planner`], [`crate::poll::batch::Batch`],
//! [`crate::poll::window`]); this module moves their decisions between
//! the client and the store.

pub(crate) mod io;

#[cfg(feature = "imap")]
pub(crate) mod imap;
#[cfg(feature = "pop3")]
pub(crate) mod pop3;
#[cfg(feature = "pop3")]
pub(crate) mod seen;
pub(crate) mod watch;
