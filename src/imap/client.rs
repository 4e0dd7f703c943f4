//! The blocking IMAP client over `embedded_io::{Read, Write}`.

imap_client! {
    read: embedded_io::Read,
    write: embedded_io::Write,
    async: {},
    await: {}
}
