//! The blocking POP3 client over `embedded_io::{Read, Write}`.

pop3_client! {
    link: blocking,
    read: embedded_io::Read,
    write: embedded_io::Write,
    async: {},
    await: {}
}
