//! The blocking poll (see [`crate::poll`]).

#[cfg(feature = "imap")]
use crate::imap::Client as ImapClient;
#[cfg(feature = "pop3")]
use crate::pop3::Client as Pop3Client;
use crate::store::MessageStore as Store;
use embedded_io::{Read as Rd, Write as Wr};

poll_driver! {
    async: {},
    await: {}
}
