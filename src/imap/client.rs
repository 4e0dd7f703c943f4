//! The blocking IMAP client over `embedded_io::{Read, Write}`.

imap_client! {
    link: blocking,
    read: embedded_io::Read,
    write: embedded_io::Write,
    async: {},
    await: {}
}
