//! Memory budget of the POP3 types, on the host (64-bit: on the 32-bit
//! firmware targets pointer-sized fields are half as big; `scripts/size-report`
//! reads the target figures out of the link-check firmware).
//!
//! `cargo test --test sizes -- --nocapture` prints them; the asserts keep
//! them under budget so a change that bloats the session (which firmware
//! often keeps in a static) shows up as a failing test.

#![cfg(feature = "pop3")]

use core::mem::size_of;
use embedded_mail::pop3::{Capabilities, Client, Parts, Session};
use embedded_mail::{Error, Refusal, RefusalText};

/// A transport that does nothing: only its size (zero) matters here.
struct Dummy;

impl embedded_io::ErrorType for Dummy {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Dummy {
    fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(0)
    }
}

impl embedded_io::Write for Dummy {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Dummy {
    async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(0)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Dummy {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Budgets, in bytes, on a 64-bit host.
const SESSION_BUDGET: usize = 512;
/// The client adds a transport (zero here), two buffer slices and a count.
const CLIENT_OVERHEAD_BUDGET: usize = 64;
/// Errors are returned by value from every call and travel through every
/// `?`: four pointer-sized words (16 bytes on a 32-bit target, where the
/// link-check firmware asserts it at compile time).
const ERROR_BUDGET: usize = 4 * size_of::<usize>();

fn row(name: &str, size: usize) {
    println!("size_of {name:<40} {size:>5} bytes");
}

#[test]
fn pop3_sizes_stay_under_budget() {
    let session = size_of::<Session>();
    let client = size_of::<Client<'static, Dummy>>();
    row("pop3::Session", session);
    row("pop3::Client<Dummy>", client);
    #[cfg(feature = "async")]
    row(
        "pop3::asynch::Client<Dummy>",
        size_of::<embedded_mail::pop3::asynch::Client<'static, Dummy>>(),
    );
    row("pop3::Parts<Dummy>", size_of::<Parts<'static, Dummy>>());
    row("pop3::Capabilities", size_of::<Capabilities>());
    row("Refusal", size_of::<Refusal>());
    row("RefusalText (in the session)", size_of::<RefusalText>());
    row(
        "Error<embedded_io::ErrorKind>",
        size_of::<Error<embedded_io::ErrorKind>>(),
    );

    assert!(
        session < SESSION_BUDGET,
        "Session is {session} bytes, budget {SESSION_BUDGET}"
    );
    assert!(
        client <= session + CLIENT_OVERHEAD_BUDGET,
        "Client is {client} bytes: more than Session ({session}) + {CLIENT_OVERHEAD_BUDGET}"
    );
    let error = size_of::<Error<embedded_io::ErrorKind>>();
    assert!(
        error <= ERROR_BUDGET,
        "Error is {error} bytes, budget {ERROR_BUDGET}"
    );
    assert_eq!(size_of::<Refusal>(), 2, "a refusal is its kind and code");
    #[cfg(feature = "async")]
    assert_eq!(
        size_of::<embedded_mail::pop3::asynch::Client<'static, Dummy>>(),
        client,
        "the async client holds the same state as the blocking one"
    );
}
