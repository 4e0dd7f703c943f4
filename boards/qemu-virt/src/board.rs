//! The `virt` machine's fixed devices: the NS16550 UART (console), the
//! CLINT's `mtime` (10 MHz), and the SiFive test device (QEMU's exit
//! status).

use core::fmt;
use core::ptr::{read_volatile, write_volatile};

const UART: usize = 0x1000_0000;
const MTIME: usize = 0x0200_bff8;
const TEST: usize = 0x0010_0000;

/// `mtime` ticks per second on QEMU's virt machine.
pub const TICKS_PER_SEC: u64 = 10_000_000;

/// The console: NS16550 at 0x1000_0000. QEMU needs no set-up.
pub struct Uart;

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // SAFETY: the virt machine's UART registers (THR at +0, LSR at
            // +5); byte accesses have no other effect.
            unsafe {
                while read_volatile((UART + 5) as *const u8) & 0x20 == 0 {}
                write_volatile(UART as *mut u8, b);
            }
        }
        Ok(())
    }
}

/// `println!` to the UART.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::board::Uart, $($arg)*);
    }};
}

/// `print!` to the UART.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::board::Uart, $($arg)*);
    }};
}

/// `mtime`, the machine timer (10 MHz, from 0 at reset).
pub fn ticks() -> u64 {
    // SAFETY: the CLINT's mtime register, read as two 32-bit halves
    // (hi, lo, hi again so that a carry between the reads is seen).
    unsafe {
        loop {
            let hi = read_volatile((MTIME + 4) as *const u32);
            let lo = read_volatile(MTIME as *const u32);
            if read_volatile((MTIME + 4) as *const u32) == hi {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }
}

/// Milliseconds since reset.
pub fn millis() -> u64 {
    ticks() / (TICKS_PER_SEC / 1000)
}

/// Ends QEMU: status 0 for `code == 0`, else `code` (1..=0xffff).
pub fn exit(code: u16) -> ! {
    let v = if code == 0 {
        0x5555
    } else {
        (u32::from(code) << 16) | 0x3333
    };
    // SAFETY: the SiFive test device; writing FAIL/PASS stops the machine.
    unsafe { write_volatile(TEST as *mut u32, v) };
    #[allow(clippy::empty_loop)]
    loop {}
}
