//! Stack high-water marks of the polls (feature `stack-paint`, Cortex-M
//! only, run under QEMU by scripts/size-report): before each poll, paint
//! the free stack below the caller with a pattern, run the poll once,
//! then find the lowest word the poll overwrote. Prints one line per poll
//! over semihosting (`stack NAME BYTES ok|FAILED`) and exits QEMU.
//!
//! BYTES is measured from the top of the stack (`_stack_start`), so it
//! includes the reset handler's and `main`'s frames (a few dozen bytes):
//! it is what a firmware's stack must hold for that poll.

#![allow(unsafe_code)]

use core::arch::asm;
use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0xcccc_cccc;

extern "C" {
    // cortex-m-rt's linker script: top of the stack and end of .bss/.uninit
    // (the lowest address the stack may reach).
    static _stack_start: u32;
    static _stack_end: u32;
}

fn stack_top() -> usize {
    addr_of!(_stack_start) as usize
}

fn stack_bottom() -> usize {
    addr_of!(_stack_end) as usize
}

/// Paints from the stack's end up to a little below this frame.
#[inline(never)]
fn paint() {
    let marker = 0u32;
    let sp = core::hint::black_box(addr_of!(marker) as usize);
    let mut p = (stack_bottom() + 3) & !3;
    // This function's own frame and the loop's spills stay unpainted.
    let end = sp.saturating_sub(256);
    while p < end {
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// The lowest stack address written since [`paint`].
#[inline(never)]
fn low_water() -> usize {
    let mut p = (stack_bottom() + 3) & !3;
    let top = stack_top();
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

/// Semihosting call (ARM semihosting: `bkpt 0xab`).
fn semihost(op: u32, arg: usize) -> u32 {
    let mut r0 = op;
    unsafe {
        asm!("bkpt 0xab", inout("r0") r0, in("r1") arg, options(nostack));
    }
    r0
}

/// Prints `s` (SYS_WRITE0 needs a NUL-terminated string).
fn print(s: &[u8]) {
    let mut buf = [0u8; 96];
    let n = s.len().min(buf.len() - 1);
    for (d, c) in buf.iter_mut().zip(s.iter().take(n)) {
        *d = *c;
    }
    semihost(0x04, buf.as_ptr() as usize);
}

fn report(name: &[u8], bytes: usize, ok: bool) {
    let mut line = [0u8; 80];
    let mut n = 0;
    let mut put = |b: &[u8]| {
        for c in b {
            if let Some(d) = line.get_mut(n) {
                *d = *c;
                n += 1;
            }
        }
    };
    put(b"stack ");
    put(name);
    put(b" ");
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = bytes;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    put(&digits[i..]);
    put(if ok { b" ok\n" } else { b" FAILED\n" });
    print(&line[..n]);
}

/// Runs `f` on a freshly painted stack and prints how far below this
/// frame the stack went (the poll's own cost: `f`'s frame and everything
/// it calls), and from the top of the stack (what the firmware needs).
#[inline(never)]
fn measure(name: &[u8], f: fn() -> bool) {
    let marker = 0u32;
    let here = core::hint::black_box(addr_of!(marker) as usize);
    paint();
    let ok = f();
    let low = low_water();
    report(name, here.saturating_sub(low), ok);
    let mut total = [0u8; 64];
    let mut n = 0;
    for c in b"total ".iter().chain(name) {
        if let Some(d) = total.get_mut(n) {
            *d = *c;
            n += 1;
        }
    }
    report(&total[..n], stack_top().saturating_sub(low), ok);
}

#[cfg(all(feature = "pop3", feature = "blocking"))]
#[inline(never)]
fn pop3_blocking() -> bool {
    let mut r = crate::poll_calls::PollReport::default();
    crate::poll_calls::blocking::pop3(&mut r);
    core::hint::black_box(r).ok
}

#[cfg(all(feature = "pop3", feature = "async"))]
#[inline(never)]
fn pop3_async() -> bool {
    let mut r = crate::poll_calls::PollReport::default();
    crate::executor::block_on(crate::poll_calls::asynch::pop3(&mut r));
    core::hint::black_box(r).ok
}

#[cfg(all(feature = "imap", feature = "blocking"))]
#[inline(never)]
fn imap_blocking() -> bool {
    let mut r = crate::poll_calls::PollReport::default();
    crate::poll_calls::blocking::imap(&mut r);
    core::hint::black_box(r).ok
}

#[cfg(all(feature = "imap", feature = "async"))]
#[inline(never)]
fn imap_async() -> bool {
    let mut r = crate::poll_calls::PollReport::default();
    crate::executor::block_on(crate::poll_calls::asynch::imap(&mut r));
    core::hint::black_box(r).ok
}

#[cfg(feature = "tls")]
#[inline(never)]
fn tls() -> bool {
    core::hint::black_box(crate::tls_calls::run());
    true
}

#[cfg(feature = "tls")]
#[inline(never)]
fn check_chain_ec() -> bool {
    crate::tls_replay::check_chain(&crate::tls_replay::EC, crate::tls_replay::CHAIN_EC)
}

#[cfg(feature = "tls")]
#[inline(never)]
fn check_chain_rsa() -> bool {
    crate::tls_replay::check_chain(&crate::tls_replay::RSA, crate::tls_replay::CHAIN_RSA)
}

#[cfg(feature = "tls")]
#[inline(never)]
fn handshake_ec() -> bool {
    crate::tls_replay::handshake(&crate::tls_replay::EC)
}

#[cfg(feature = "tls")]
#[inline(never)]
fn handshake_rsa() -> bool {
    crate::tls_replay::handshake(&crate::tls_replay::RSA)
}

/// Measures every poll built in, then exits QEMU.
pub fn run() -> ! {
    #[cfg(all(feature = "pop3", feature = "blocking"))]
    measure(b"poll::pop3(MemoryStore)", pop3_blocking);
    #[cfg(all(feature = "pop3", feature = "async"))]
    measure(b"poll::asynch::pop3(FlashStore)", pop3_async);
    #[cfg(all(feature = "imap", feature = "blocking"))]
    measure(b"poll::imap(MemoryStore)", imap_blocking);
    #[cfg(all(feature = "imap", feature = "async"))]
    measure(b"poll::asynch::imap(FlashStore)", imap_async);
    #[cfg(feature = "tls")]
    measure(b"tls_calls::run(handshakes)", tls);
    // Whole handshakes, replayed (src/tls_replay.rs), when recorded.
    #[cfg(feature = "tls")]
    if crate::tls_replay::EC.present() {
        measure(b"TlsSettings::check_chain(EC-P256-chain)", check_chain_ec);
        measure(b"tls::handshake(EC-P256-chain,replayed)", handshake_ec);
    }
    #[cfg(feature = "tls")]
    if crate::tls_replay::RSA.present() {
        measure(
            b"TlsSettings::check_chain(RSA-4096-root-chain)",
            check_chain_rsa,
        );
        measure(
            b"tls::handshake(RSA-4096-root-chain,replayed)",
            handshake_rsa,
        );
    }
    // SYS_EXIT with ADP_Stopped_ApplicationExit.
    semihost(0x18, 0x2_0026);
    loop {
        core::hint::spin_loop();
    }
}
