//! The async TLS helpers over `embedded_io_async::{Read, Write}`: the same
//! code as the blocking ones in [`crate::tls`], with `.await`, returning
//! [`crate::pop3::asynch::Client`] and [`crate::imap::asynch::Client`].

#[cfg(feature = "imap")]
use crate::imap::asynch::Client as ImapPlain;
#[cfg(feature = "pop3")]
use crate::pop3::asynch::Client as Pop3Plain;
use embedded_tls::TlsConnection;

tls_helpers! {
    read: embedded_io_async::Read,
    write: embedded_io_async::Write,
    conn: TlsConnection,
    async: {async},
    await: {.await}
}
