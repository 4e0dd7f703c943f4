//! Link check: firmware that calls the whole POP3 and IMAP API of
//! `embedded-mail` (blocking and async) over a dummy transport, with no
//! global allocator and no std. If it links for the bare-metal targets, the
//! library needs no heap; `scripts/link-check` also checks the ELF for
//! allocator symbols, and `scripts/size-report` measures what the library
//! adds to `.text` (per protocol, through the `pop3` and `imap` features).
//!
//! On the host (`cargo test` in this directory) the same calls run against
//! the canned server scripts and must all succeed.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
// `unsafe` only in the stack-painting build (src/stack.rs) and the
// instruction-count build (src/instr.rs).
#![cfg_attr(
    not(any(feature = "stack-paint", feature = "instr-count")),
    forbid(unsafe_code)
)]
#![cfg_attr(
    any(feature = "stack-paint", feature = "instr-count"),
    deny(unsafe_code)
)]
// The `baseline` build and the one-client / one-protocol builds leave
// parts unused.
#![cfg_attr(
    any(
        feature = "baseline",
        feature = "poll-only",
        not(all(
            feature = "blocking",
            feature = "async",
            feature = "pop3",
            feature = "imap"
        ))
    ),
    allow(dead_code, unused_imports, unused_mut, unused_macros)
)]

mod calls;
mod executor;
#[cfg(feature = "imap")]
mod imap_calls;
#[cfg(feature = "instr-count")]
mod instr;
#[cfg(all(feature = "mime", not(feature = "baseline")))]
mod mime_calls;
#[cfg(feature = "poll")]
mod poll_calls;
mod script;
#[cfg(all(
    feature = "stack-paint",
    feature = "poll",
    target_arch = "arm",
    not(test)
))]
mod stack;
#[cfg(feature = "tls")]
mod tls_calls;
#[cfg(feature = "tls")]
mod tls_replay;
mod transport;

use calls::Report;
use core::mem::size_of;
use transport::{Dummy, LinkDown};

/// `size_of` the library's types on this target, in this order: POP3
/// Session, blocking Client, async Client, Capabilities; Error; IMAP
/// Session, blocking Client, async Client, Capabilities (0 for a protocol
/// left out). `scripts/size-report` reads them out of the ELF (`nm` gives
/// the address, the section headers the file offset), which is how it
/// knows the 32-bit figures.
// Issue 12's bound, checked on every firmware target (all 32-bit): an
// error travels through every `?`, so it stays at four words.
#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<embedded_mail::Error<embedded_io::ErrorKind>>() <= 16);

pub static TYPE_SIZES: [u32; 9] = [
    POP3_SIZES[0],
    POP3_SIZES[1],
    POP3_SIZES[2],
    POP3_SIZES[3],
    size_of::<embedded_mail::Error<LinkDown>>() as u32,
    IMAP_SIZES[0],
    IMAP_SIZES[1],
    IMAP_SIZES[2],
    IMAP_SIZES[3],
];

#[cfg(feature = "pop3")]
const POP3_SIZES: [u32; 4] = {
    use embedded_mail::pop3;
    [
        size_of::<pop3::Session>() as u32,
        size_of::<pop3::Client<'static, Dummy>>() as u32,
        size_of::<pop3::asynch::Client<'static, Dummy>>() as u32,
        size_of::<pop3::Capabilities>() as u32,
    ]
};
#[cfg(not(feature = "pop3"))]
const POP3_SIZES: [u32; 4] = [0; 4];

#[cfg(feature = "imap")]
const IMAP_SIZES: [u32; 4] = {
    use embedded_mail::imap;
    [
        size_of::<imap::Session>() as u32,
        size_of::<imap::Client<'static, Dummy>>() as u32,
        size_of::<imap::asynch::Client<'static, Dummy>>() as u32,
        size_of::<imap::Capabilities>() as u32,
    ]
};
#[cfg(not(feature = "imap"))]
const IMAP_SIZES: [u32; 4] = [0; 4];

/// Everything the firmware does; returns what happened (one report per
/// client: POP3 blocking, POP3 async, IMAP blocking, IMAP async).
fn exercise() -> [Report; 4] {
    let mut blocking = Report::default();
    let mut asynch = Report::default();
    let mut imap_blocking = Report::default();
    let mut imap_asynch = Report::default();
    #[cfg(all(
        feature = "pop3",
        feature = "blocking",
        not(feature = "baseline"),
        not(feature = "poll-only")
    ))]
    calls::blocking::run(&mut blocking);
    #[cfg(all(
        feature = "pop3",
        feature = "async",
        not(feature = "baseline"),
        not(feature = "poll-only")
    ))]
    executor::block_on(calls::asynch::run(&mut asynch));
    #[cfg(all(
        feature = "imap",
        feature = "blocking",
        not(feature = "baseline"),
        not(feature = "poll-only")
    ))]
    imap_calls::blocking::run(&mut imap_blocking);
    #[cfg(all(
        feature = "imap",
        feature = "async",
        not(feature = "baseline"),
        not(feature = "poll-only")
    ))]
    executor::block_on(imap_calls::asynch::run(&mut imap_asynch));
    #[cfg(feature = "baseline")]
    baseline(&mut blocking);
    [blocking, asynch, imap_blocking, imap_asynch]
}

/// The polls (feature `poll`): POP3 blocking (MemoryStore), POP3 async
/// (FlashStore), IMAP blocking, IMAP async; a default report for each one
/// left out.
#[cfg(feature = "poll")]
fn exercise_poll() -> [poll_calls::PollReport; 4] {
    let mut r = [poll_calls::PollReport::default(); 4];
    let [pb, pa, ib, ia] = &mut r;
    #[cfg(all(feature = "pop3", feature = "blocking", not(feature = "baseline")))]
    poll_calls::blocking::pop3(pb);
    #[cfg(all(feature = "pop3", feature = "async", not(feature = "baseline")))]
    executor::block_on(poll_calls::asynch::pop3(pa));
    #[cfg(all(feature = "imap", feature = "blocking", not(feature = "baseline")))]
    poll_calls::blocking::imap(ib);
    #[cfg(all(feature = "imap", feature = "async", not(feature = "baseline")))]
    executor::block_on(poll_calls::asynch::imap(ia));
    let _ = (pb, pa, ib, ia);
    r
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
        #[cfg(all(feature = "stack-paint", feature = "poll", target_arch = "arm"))]
        super::stack::run();
        #[cfg(all(feature = "instr-count", target_arch = "riscv32"))]
        super::instr::run();
        #[cfg(not(any(
            all(feature = "stack-paint", feature = "poll", target_arch = "arm"),
            all(feature = "instr-count", target_arch = "riscv32")
        )))]
        run()
    }

    /// The firmware's loop: every call, forever.
    #[allow(dead_code)]
    fn run() -> ! {
        core::hint::black_box(&super::TYPE_SIZES);
        #[cfg(feature = "tls")]
        core::hint::black_box(&super::tls_calls::TLS_SIZES);
        loop {
            for report in super::exercise() {
                super::calls::keep(report);
            }
            #[cfg(feature = "poll")]
            core::hint::black_box(super::exercise_poll());
            #[cfg(all(feature = "mime", not(feature = "baseline")))]
            core::hint::black_box(super::mime_calls::run());
            #[cfg(all(feature = "tls", not(feature = "baseline")))]
            core::hint::black_box(super::tls_calls::run());
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
    feature = "pop3",
    feature = "imap",
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
    fn every_imap_call_succeeds_blocking_and_async() {
        let [_, _, blocking, asynch] = exercise();
        for (name, r) in [("imap blocking", &blocking), ("imap async", &asynch)] {
            assert!(r.failed.is_none(), "{name}: {:?}", r.failed);
            // Main session: 41 calls (connect .. logout, each submit and
            // complete, the LSUB read by next_event); AUTH session:
            // connect, ensure_capabilities, XOAUTH2, logout; PREAUTH: the
            // greeting.
            assert_eq!(r.ok, 41 + 4 + 1, "{name}: {r:?}");
            assert_eq!(r.leftover, 0, "{name}: server bytes left unread");
            assert_eq!(r.refused, 3, "{name}: PLAIN, LOGIN, CRAM-MD5 refused");
            assert_eq!(r.body_bytes, imap_calls::MESSAGE.len() as u64, "{name}");
        }
        assert_eq!(
            blocking.digest, asynch.digest,
            "blocking and async disagree"
        );
    }

    #[test]
    fn every_call_succeeds_blocking_and_async() {
        let [blocking, asynch, _, _] = exercise();
        check("blocking", &blocking);
        check("async", &asynch);
        assert_eq!(
            blocking.digest, asynch.digest,
            "blocking and async disagree"
        );
        assert_eq!(blocking.body_bytes, asynch.body_bytes);
    }

    /// Every poll stores the canned mailbox's two messages, and reads its
    /// dialogue to the end (the POP3 one deletes both).
    #[test]
    fn every_poll_succeeds() {
        let names = ["pop3 blocking", "pop3 async", "imap blocking", "imap async"];
        for (name, r) in names.iter().zip(exercise_poll()) {
            assert!(r.ok && r.failed.is_none(), "{name}: {r:?}");
            assert_eq!(r.summary.new, 2, "{name}: {r:?}");
            assert_eq!(r.summary.stored, 2, "{name}: {r:?}");
            assert_eq!(r.summary.bytes, 2 * 59, "{name}: {r:?}");
            assert_eq!(r.in_store, 2, "{name}: {r:?}");
            assert_eq!(r.leftover, 0, "{name}: server bytes left unread");
            let deleted = if name.starts_with("pop3") { 2 } else { 0 };
            assert_eq!(r.summary.deleted, deleted, "{name}: {r:?}");
        }
    }

    /// Host `size_of` the IMAP types, printed as `size_of NAME BYTES` for
    /// scripts/size-report (tests/sizes.rs covers POP3).
    #[test]
    fn type_sizes() {
        let names = [
            "imap::Session",
            "imap::Client<Dummy>",
            "imap::asynch::Client<Dummy>",
            "imap::Capabilities",
        ];
        for (name, size) in names.iter().zip(&TYPE_SIZES[5..]) {
            println!("size_of {name} {size}");
            assert!(*size > 0, "{name}");
        }
    }

    /// The async client's memory is its futures' state: print how much the
    /// whole run needs (host sizes; `--nocapture` shows it).
    #[test]
    fn async_future_size() {
        let mut r = Report::default();
        let fut = calls::asynch::run(&mut r);
        let size = core::mem::size_of_val(&fut);
        println!("size_of_val(calls::asynch::run future) = {size} bytes (host)");
        let mut r2 = Report::default();
        let imap_fut = imap_calls::asynch::run(&mut r2);
        let imap_size = core::mem::size_of_val(&imap_fut);
        println!("size_of_val(imap_calls::asynch::run future) = {imap_size} bytes (host)");
        // 1 KiB + 256 bytes of buffers plus the deepest call's state.
        assert!(imap_size < 8192, "{imap_size}");
        // The rx and tx buffers (768 bytes) live in it, plus the deepest
        // call's state; well under 4 KiB.
        assert!(size < 4096, "{size}");
    }
}
