//! What a poll keeps in RAM, measured: the sync state and the poll's
//! future (everything the poll holds across a wait: its "stack" in the
//! async poll, and what `block_on` pins on the stack in the blocking
//! one), for a store that keeps the seen set itself. Neither depends on
//! the mailbox size: the same types poll a box of 10 and of 10 000.
#![cfg(all(feature = "async", feature = "flash"))]

use embedded_mail::poll::{self, Policy, SyncState};
use embedded_mail::store::block_on;
use embedded_mail::store::memory::MemoryStore;

/// An async transport that greets and then has nothing to say.
struct Quiet(&'static [u8]);
impl embedded_io_async::ErrorType for Quiet {
    type Error = core::convert::Infallible;
}
impl embedded_io_async::Read for Quiet {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
impl embedded_io_async::Write for Quiet {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn poll_ram_is_fixed_by_types() {
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c = block_on(embedded_mail::pop3::asynch::Client::connect(
        Quiet(b"+OK hi\r\n"),
        &mut rx,
        &mut tx,
    ))
    .unwrap();
    let mut store: MemoryStore<16, 1, 64> = MemoryStore::new();
    let mut state: SyncState<1> = SyncState::new();
    let policy = Policy::default();
    let fut = poll::asynch::pop3(&mut c, &mut store, &mut state, &policy, |_| {});
    let pop3_future = core::mem::size_of_val(&fut);
    drop(fut);
    let state_size = core::mem::size_of::<SyncState<1>>();
    eprintln!("poll RAM: SyncState<1> = {state_size} B, POP3 poll future = {pop3_future} B");
    // Fixed by the types whatever the mailbox (the seen set is the
    // store's). Issue 11 aims at 2 KiB beyond the caller's buffers; the
    // future holds the client (416 B), a batch plan (32 entries, 1 KiB),
    // its keys, and the client's own read futures (~300 B each): about
    // 4.5 KiB today. This bound catches growth.
    assert!(
        pop3_future + state_size <= 5 * 1024,
        "POP3 poll: future {pop3_future} + state {state_size} B"
    );
}
