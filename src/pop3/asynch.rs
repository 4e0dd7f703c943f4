//! The async POP3 client over `embedded_io_async::{Read, Write}`: the same
//! code as the blocking [`Client`](super::Client), with `.await`.

pop3_client! {
    link: asynch,
    read: embedded_io_async::Read,
    write: embedded_io_async::Write,
    async: {async},
    await: {.await}
}
