//! Link check: firmware that calls the whole POP3 API of `embedded-mail`
//! (blocking and async) over a dummy transport, with no global allocator
//! and no std. If it links for the bare-metal targets, the library needs no
//! heap; `scripts/link-check` also checks the ELF for allocator symbols,
//! and `scripts/size-report` measures what the library adds to `.text`.
//!
//! On the host (`cargo test` in this directory) the same calls run against
//! the canned server script and must all succeed.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![forbid(unsafe_code)]
// The `baseline` build and the one-client builds leave parts unused.
#![cfg_attr(
    any(
        feature = "baseline",
        not(all(feature = "blocking", feature = "async"))
    ),
    allow(dead_code, unused_imports, unused_mut)
)]

mod calls;
mod executor;
#[cfg(feature = "imap")]
mod imap_calls;
mod script;
mod transport;

use calls::Report;
use core::mem::size_of;
use embedded_mail::pop3::{self, Capabilities, Session};
use transport::{Dummy, LinkDown};

/// `size_of` the library's types on this target, in this order: Session,
/// blocking Client, async Client, Capabilities, Error. `scripts/size-report`
/// reads them out of the ELF (`nm` gives the address, the section headers
/// the file offset), which is how it knows the 32-bit figures.
pub static TYPE_SIZES: [u32; 5] = [
    size_of::<Session>() as u32,
    size_of::<pop3::Client<'static, Dummy>>() as u32,
    size_of::<pop3::asynch::Client<'static, Dummy>>() as u32,
    size_of::<Capabilities>() as u32,
    size_of::<embedded_mail::Error<LinkDown>>() as u32,
];

/// Everything the firmware does; returns what happened (one report per
/// client).
fn exercise() -> [Report; 2] {
    let mut blocking = Report::default();
    let mut asynch = Report::default();
    #[cfg(all(feature = "blocking", not(feature = "baseline")))]
    calls::blocking::run(&mut blocking);
    #[cfg(all(feature = "async", not(feature = "baseline")))]
    executor::block_on(calls::asynch::run(&mut asynch));
    #[cfg(all(feature = "imap", not(feature = "baseline")))]
    imap_calls::run(&mut blocking);
    #[cfg(feature = "baseline")]
    baseline(&mut blocking);
    [blocking, asynch]
}

/// The baseline: the same runtime, transport, sink and executor, with the
/// mail calls compiled out. The transport's bytes are copied into the sink
/// so that their code stays in the binary too.
#[cfg(feature = "baseline")]
fn baseline(report: &mut Report) {
    use embedded_io::{Read, Write};
    let mut sink = transport::Sink::default();
    let mut buf = [0u8; 512];
    for s in [script::MAIN, script::APOP, script::AUTH] {
        let mut t = transport::Dummy::new(s);
        while let Ok(n @ 1..) = t.read(&mut buf) {
            let _ = t.write(buf.get(..n).unwrap_or(&[]));
            let _ = sink.write(buf.get(..n).unwrap_or(&[]));
        }
        let _ = t.flush();
        report.mix(u64::from(t.written));
        report.leftover += u32::from(!t.exhausted());
    }
    report.body_bytes = executor::block_on(async { sink.len });
    report.mix(u64::from(sink.hash));
}

#[cfg(not(test))]
mod firmware {
    #[cfg(target_arch = "arm")]
    use cortex_m_rt::entry;
    #[cfg(target_arch = "riscv32")]
    use riscv_rt::entry;

    #[entry]
    fn main() -> ! {
        core::hint::black_box(&super::TYPE_SIZES);
        loop {
            for report in super::exercise() {
                super::calls::keep(report);
            }
        }
    }

    /// Halts: no formatting of the panic message, so no `core::fmt`.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        loop {
            core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[cfg(all(
    test,
    feature = "blocking",
    feature = "async",
    not(feature = "baseline")
))]
mod tests {
    use super::*;

    fn check(name: &str, r: &Report) {
        assert!(r.failed.is_none(), "{name}: {:?}", r.failed);
        // Every call of the three dialogues succeeded: 18 in the main
        // session, 2 in the APOP one, connect + capabilities + XOAUTH2 +
        // quit in the AUTH one; and each script was read to its end.
        assert_eq!(r.ok, 18 + 2 + 4, "{name}: {r:?}");
        assert_eq!(r.leftover, 0, "{name}: server bytes left unread");
        assert_eq!(r.refused, 3, "{name}: PLAIN, LOGIN, CRAM-MD5 refused");
        // RETR 1 unstuffed (87 bytes) and TOP 2 0 (61 bytes).
        assert_eq!(r.body_bytes, 87 + 61, "{name}: {r:?}");
    }

    #[test]
    fn every_call_succeeds_blocking_and_async() {
        let [blocking, asynch] = exercise();
        check("blocking", &blocking);
        check("async", &asynch);
        assert_eq!(
            blocking.digest, asynch.digest,
            "blocking and async disagree"
        );
        assert_eq!(blocking.body_bytes, asynch.body_bytes);
    }

    /// The async client's memory is its futures' state: print how much the
    /// whole run needs (host sizes; `--nocapture` shows it).
    #[test]
    fn async_future_size() {
        let mut r = Report::default();
        let fut = calls::asynch::run(&mut r);
        let size = core::mem::size_of_val(&fut);
        println!("size_of_val(calls::asynch::run future) = {size} bytes (host)");
        // The rx and tx buffers (768 bytes) live in it, plus the deepest
        // call's state; well under 4 KiB.
        assert!(size < 4096, "{size}");
    }
}
