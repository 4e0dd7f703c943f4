//! The async poll (feature `async`): the same code as the blocking
//! [`crate::poll::pop3`] and [`crate::poll::imap`], over the async clients
//! and [`crate::store::asynch::MessageStore`].

#[cfg(feature = "imap")]
use crate::imap::asynch::Client as ImapClient;
#[cfg(feature = "pop3")]
use crate::pop3::asynch::Client as Pop3Client;
use crate::store::asynch::MessageStore as Store;
use embedded_io_async::{Read as Rd, Write as Wr};

poll_driver! {
    async: {async},
    await: {.await}
}
