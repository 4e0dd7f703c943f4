//! A NorFlash driver for the `virt` machine's CFI parallel flash as QEMU
//! emulates it (`pflash_cfi01`: Intel/Sharp command set, two x16 devices
//! side by side = 32-bit bank, 256 KiB erase blocks, 32 MiB per bank at
//! 0x2000_0000 and 0x2200_0000). Bank 0 is backed by the file given with
//! `-drive if=pflash,unit=0,format=raw,file=...`, whose content survives
//! a QEMU restart.
//!
//! Boot: with a unit-0 drive QEMU (7.2) starts the CPU at the bank's
//! first byte instead of at the `-kernel` image (still loaded into RAM at
//! 0x8000_0000), and a unit-1 drive would be taken for S-mode firmware
//! and the image not loaded at all. So block 0 of bank 0 holds a boot
//! stub, `lui t0, 0x80000; jr t0` (written by `scripts/qemu-demo` when it
//! creates the image, as a real board's boot flash would hold a loader),
//! and the stores use the blocks after it.
//!
//! Program = `0xE8` + count + up to 2 KiB of data + `0xD0` (buffered
//! program), erase = `0x20` + `0xD0`,
//! poll the status register (`0x70`, bit 7 ready, bits 4/5 errors), back
//! to read-array mode with `0xFF`. Reads in read-array mode are plain
//! memory reads. A write ANDs with what is there, as real NOR does
//! (QEMU's model would otherwise overwrite), so the driver honours
//! `MultiwriteNorFlash`.
//!
//! The trait is embedded-storage-async's, but every call finishes before
//! it returns: run it with `embedded_mail::store::block_on`.

use core::ptr::{read_volatile, write_volatile};
use embedded_storage_async::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Base of pflash bank 0.
pub const BANK0: usize = 0x2000_0000;
/// Bytes per bank.
pub const BANK_SIZE: u32 = 32 * 1024 * 1024;
/// Erase block.
pub const BLOCK: u32 = 256 * 1024;

const READ_ARRAY: u32 = 0x00ff_00ff;
const READ_STATUS: u32 = 0x0070_0070;
const CLEAR_STATUS: u32 = 0x0050_0050;
const BUFFERED_PROGRAM: u32 = 0x00e8_00e8;
/// Bytes of one buffered program: at most the device's write buffer
/// (QEMU: 2 KiB per x16 device, 4 KiB for the bank) and never across an
/// aligned boundary of it.
const WRITE_BUFFER: usize = 2048;
const ERASE: u32 = 0x0020_0020;
const CONFIRM: u32 = 0x00d0_00d0;

/// A window of a pflash bank: `base` (in the bank), `len` bytes.
pub struct CfiFlash {
    base: usize,
    len: u32,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// Outside the window or not aligned.
    OutOfBounds,
    /// Not aligned to WRITE_SIZE / ERASE_SIZE.
    NotAligned,
    /// The device reported a program or erase error (status bits).
    Device(u8),
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::Device(_) => NorFlashErrorKind::Other,
        }
    }
}

impl CfiFlash {
    /// The window `[offset, offset + len)` of bank 0.
    ///
    /// # Safety
    /// At most one `CfiFlash` may be in use at a time per bank (the
    /// command state machine is shared), and windows must not overlap.
    pub const unsafe fn bank0(offset: u32, len: u32) -> Self {
        CfiFlash {
            base: BANK0 + offset as usize,
            len,
        }
    }

    fn cmd(&self, offset: u32, value: u32) {
        // SAFETY: inside the bank (callers check bounds); a 32-bit write
        // to the flash is a command or program cycle.
        unsafe { write_volatile((self.base + offset as usize) as *mut u32, value) }
    }

    fn word(&self, offset: u32) -> u32 {
        // SAFETY: inside the bank, aligned; in read-array mode a read.
        unsafe { read_volatile((self.base + offset as usize) as *const u32) }
    }

    /// Waits for ready; returns the error bits (program 0x10, erase 0x20,
    /// voltage 0x08, locked 0x02) if any.
    fn wait(&self, offset: u32) -> Result<(), FlashError> {
        self.cmd(offset, READ_STATUS);
        loop {
            let s = self.word(offset) as u8;
            if s & 0x80 != 0 {
                let err = s & 0x3a;
                if err != 0 {
                    self.cmd(offset, CLEAR_STATUS);
                    self.cmd(offset, READ_ARRAY);
                    return Err(FlashError::Device(s));
                }
                return Ok(());
            }
        }
    }

    fn check(&self, offset: u32, len: usize, align: u32) -> Result<(), FlashError> {
        let end = offset as u64 + len as u64;
        if end > u64::from(self.len) {
            return Err(FlashError::OutOfBounds);
        }
        if offset % align != 0 || len as u32 % align != 0 {
            return Err(FlashError::NotAligned);
        }
        Ok(())
    }
}

impl ErrorType for CfiFlash {
    type Error = FlashError;
}

impl ReadNorFlash for CfiFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: in bounds (checked); read-array mode between calls.
            *b = unsafe { read_volatile((self.base + offset as usize + i) as *const u8) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len as usize
    }
}

impl NorFlash for CfiFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = BLOCK as usize;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        if to < from {
            return Err(FlashError::OutOfBounds);
        }
        self.check(from, (to - from) as usize, BLOCK)?;
        let mut at = from;
        while at < to {
            self.cmd(at, ERASE);
            self.cmd(at, CONFIRM);
            self.wait(at)?;
            at += BLOCK;
        }
        self.cmd(from, READ_ARRAY);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.check(offset, bytes.len(), 4)?;
        // Buffered program (0xE8), one piece per aligned write buffer:
        // QEMU writes the backing file once per buffer instead of once per
        // word. The old contents are read first, in read-array mode, so
        // that the new value is old AND data.
        let mut old = [0u32; WRITE_BUFFER / 4];
        let mut at = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = WRITE_BUFFER - (at as usize % WRITE_BUFFER);
            let (piece, next) = rest.split_at(room.min(rest.len()));
            let words = piece.len() / 4;
            let mut changed = false;
            for (i, (o, w)) in old.iter_mut().zip(piece.chunks_exact(4)).enumerate() {
                *o = self.word(at + 4 * i as u32);
                let data = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                changed |= *o & data != *o;
                *o &= data;
            }
            if changed {
                self.cmd(at, BUFFERED_PROGRAM);
                // Wait for the buffer (status bit 7; QEMU: at once).
                while self.word(at) & 0x80 == 0 {}
                let n = (words - 1) as u32;
                self.cmd(at, (n << 16) | n);
                for (i, o) in old.iter().take(words).enumerate() {
                    self.cmd(at + 4 * i as u32, *o);
                }
                self.cmd(at, CONFIRM);
                self.wait(at)?;
                self.cmd(at, READ_ARRAY);
            }
            at += piece.len() as u32;
            rest = next;
        }
        Ok(())
    }
}

impl MultiwriteNorFlash for CfiFlash {}
