//! The blocking TLS helpers over `embedded_io::{Read, Write}`.

#[cfg(feature = "imap")]
use crate::imap::Client as ImapPlain;
#[cfg(feature = "pop3")]
use crate::pop3::Client as Pop3Plain;
use embedded_tls::blocking::TlsConnection;

tls_helpers! {
    read: embedded_io::Read,
    write: embedded_io::Write,
    conn: TlsConnection,
    async: {},
    await: {}
}
