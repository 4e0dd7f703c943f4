//! Instructions per body byte (feature `instr-count`): the library's
//! receive paths on a real core's instruction counter, each next to a
//! plain copy loop through the same buffers.
//!
//! The firmware (riscv32imc, linked for QEMU's riscv32 `virt` machine) is
//! run by `scripts/size-report instr` under
//! `qemu-system-riscv32 -M virt -bios none -icount shift=0`: with
//! `-icount`, QEMU's `minstret` counts retired instructions (without it,
//! host clock ticks), which [`hw::check_counter`] verifies on a loop of
//! known length before anything is measured. Each measurement reads
//! `minstret` just before and just after the call and prints one line on
//! the UART (`instr NAME INSTRUCTIONS BYTES OUT`); the script turns them
//! into the table of docs/BENCHMARKS.md.
//!
//! All of them move one canned message (build.rs: a multipart/mixed of
//! 34 KB, a short text part with dot-led lines and a 24 KiB base64
//! `application/pdf` attachment) from a [`Feed`] (the transport: each
//! read copies what fits into the receive buffer, as a TCP stack does)
//! into a [`Count`] sink (counts and drops the bytes):
//! - `pop3_retr`: `pop3::Client::retr` (status line, dot-unstuffing,
//!   terminator), receive buffer 512 bytes as in the poll;
//! - `imap_literal`: `imap::Client::fetch_body` (`UID FETCH 1
//!   BODY.PEEK[]`: the FETCH line, the literal, the tagged OK), 1 KiB;
//! - `mime_walker`: `mime::Walker` fed the message in the pieces a 1 KiB
//!   receive buffer gives, every leaf body decoded into the sink (the text
//!   part as is, the attachment from base64);
//! - `pop3_retr_pdf`: `retr` into a `mime::PartWriter` that keeps only
//!   the PDF: the mailbox-to-file path;
//! - `copy_512` / `copy_1024`: the copy loops, reading the same answers
//!   from the same kind of [`Feed`] into a 512 / 1024-byte buffer and
//!   writing each read to the same [`Count`] sink.
//!
//! The canned answers and the receive buffers are word-aligned
//! ([`Aligned`]): the copy loops' `memcpy` then copies word by word (1.3
//! instructions a byte on RV32IMC, against 2.6 when source and
//! destination are misaligned), so the baseline does not depend on where
//! the linker happened to put the bytes.
//!
//! On the host (`cargo test --features instr-count`) the same functions
//! run with the counter stubbed and a sink that keeps the bytes, and the
//! test checks every byte that came out.

// Off the firmware (host builds), only the tests use part of it.
#![cfg_attr(not(all(target_arch = "riscv32", not(test))), allow(dead_code))]

use core::hint::black_box;
use embedded_io::{ErrorType, Read, Write};
use embedded_mail::imap::{self, BodyRequest, Section};
use embedded_mail::mime::{Event, PartWriter, Walker};
use embedded_mail::pop3;

/// Word-aligned bytes: `memcpy` copies word by word only when source and
/// destination are aligned alike, so every canned answer and every
/// receive buffer starts on a word (the copy loops then take the fast
/// path, and where the client's reads land is the client's doing).
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// A file of OUT_DIR/instr as a word-aligned static.
macro_rules! aligned_bytes {
    ($file:literal) => {{
        static BYTES: Aligned<
            [u8; include_bytes!(concat!(env!("OUT_DIR"), "/instr/", $file)).len()],
        > = Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/instr/", $file)));
        &BYTES.0
    }};
}

/// The canned message (build.rs, `instr_messages`).
pub const MESSAGE: &[u8] = aligned_bytes!("message.eml");
/// Its attachment, decoded.
pub const ATTACHMENT: &[u8] = aligned_bytes!("attachment.bin");
/// The server's answer to `RETR 1`: status, the dot-stuffed message, `.`.
pub const POP3_RETR: &[u8] = aligned_bytes!("pop3-retr.bin");
/// The server's answer to `UID FETCH 1 BODY.PEEK[]` (tag `A0003`).
pub const IMAP_FETCH: &[u8] = aligned_bytes!("imap-fetch.bin");

/// POP3: greeting, USER, PASS, then RETR 1.
static POP3_SCRIPT: [&[u8]; 4] = [
    b"+OK POP3 server ready\r\n",
    b"+OK send PASS\r\n",
    b"+OK maildrop locked and ready\r\n",
    POP3_RETR,
];

/// IMAP: greeting, LOGIN (A0001), SELECT (A0002), then the FETCH.
static IMAP_SCRIPT: [&[u8]; 4] = [
    b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] IMAP server ready\r\n",
    b"A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\r\n",
    b"* 1 EXISTS\r\n* OK [UIDVALIDITY 42] UIDs valid\r\nA0002 OK [READ-WRITE] Select completed\r\n",
    IMAP_FETCH,
];

/// Receive buffer of the POP3 measurements (the poll's).
pub const POP3_RX: usize = 512;
/// Receive buffer of the IMAP and MIME measurements (the poll's IMAP one).
pub const IMAP_RX: usize = 1024;

/// A server played from memory: a read copies as much of the current
/// segment as fits (never bytes of two segments: a server sends nothing
/// before the command it answers). Writes are dropped.
pub struct Feed<'a> {
    segments: &'a [&'a [u8]],
    segment: usize,
    pos: usize,
}

impl<'a> Feed<'a> {
    /// A connection whose server says `segments`, in order.
    pub fn new(segments: &'a [&'a [u8]]) -> Self {
        Feed {
            segments: black_box(segments),
            segment: 0,
            pos: 0,
        }
    }

    /// True when every segment was read.
    pub fn exhausted(&self) -> bool {
        self.segment >= self.segments.len()
            || (self.segment + 1 == self.segments.len()
                && self.segments.get(self.segment).map_or(0, |s| s.len()) <= self.pos)
    }
}

impl ErrorType for Feed<'_> {
    type Error = embedded_io::ErrorKind;
}

impl Read for Feed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        while let Some(seg) = self.segments.get(self.segment) {
            let rest = seg.get(self.pos..).unwrap_or(&[]);
            if rest.is_empty() {
                self.segment += 1;
                self.pos = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            if let (Some(d), Some(s)) = (buf.get_mut(..n), rest.get(..n)) {
                d.copy_from_slice(s);
            }
            self.pos += n;
            return Ok(n);
        }
        Ok(0)
    }
}

impl Write for Feed<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(black_box(buf).len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The firmware's sink: counts the bytes and drops them (`black_box`, so
/// that nothing about them is optimised away).
#[derive(Default)]
pub struct Count {
    /// Bytes written.
    pub len: u64,
}

impl ErrorType for Count {
    type Error = embedded_io::ErrorKind;
}

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.len += black_box(buf).len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// One measurement: instructions between the two counter reads, message
/// bytes in, bytes out of the sink.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    /// Instructions retired by the measured code.
    pub instructions: u64,
    /// Message bytes (the body the measured code delivered or walked).
    pub bytes: u64,
    /// Bytes the sink received.
    pub out: u64,
}

/// `pop3::Client::retr` of the canned message into `sink` (after a
/// login outside the measurement).
#[inline(never)]
pub fn pop3_retr<S: Write>(count: fn() -> u64, sink: &mut S) -> Result<Run, &'static str> {
    let (mut rx, mut tx) = (Aligned([0u8; POP3_RX]), [0u8; 128]);
    let mut c = pop3::Client::connect(Feed::new(&POP3_SCRIPT), &mut rx.0, &mut tx)
        .map_err(|_| "pop3 connect")?;
    c.login(black_box("device-17"), black_box("secret"))
        .map_err(|_| "pop3 login")?;
    let t0 = count();
    let n = c.retr(black_box(1), sink).map_err(|_| "pop3 retr")?;
    let t1 = count();
    if !c.into_parts().transport.exhausted() {
        return Err("pop3 retr left server bytes unread");
    }
    Ok(Run {
        instructions: t1.wrapping_sub(t0),
        bytes: MESSAGE.len() as u64,
        out: n,
    })
}

/// `pop3::Client::retr` into a `PartWriter` that keeps the first
/// `application/pdf` part, decoded, and drops the rest.
#[inline(never)]
pub fn pop3_retr_pdf<S: Write>(count: fn() -> u64, sink: &mut S) -> Result<Run, &'static str> {
    let (mut rx, mut tx) = (Aligned([0u8; POP3_RX]), [0u8; 128]);
    let mut line = [0u8; 256];
    let mut c = pop3::Client::connect(Feed::new(&POP3_SCRIPT), &mut rx.0, &mut tx)
        .map_err(|_| "pop3 connect")?;
    c.login(black_box("device-17"), black_box("secret"))
        .map_err(|_| "pop3 login")?;
    let t0 = count();
    let mut w: PartWriter<'_, _, _> =
        PartWriter::first(&mut line, sink, |p| p.is("application/pdf"));
    c.retr(black_box(1), &mut w)
        .map_err(|_| "pop3 retr (PartWriter)")?;
    let (_, summary) = w.finish().map_err(|_| "PartWriter finish")?;
    let t1 = count();
    Ok(Run {
        instructions: t1.wrapping_sub(t0),
        bytes: MESSAGE.len() as u64,
        out: summary.bytes,
    })
}

/// `imap::Client::fetch_body` (`UID FETCH 1 BODY.PEEK[]`) of the canned
/// message into `sink` (after LOGIN and SELECT outside the measurement).
#[inline(never)]
pub fn imap_literal<S: Write>(count: fn() -> u64, sink: &mut S) -> Result<Run, &'static str> {
    let (mut rx, mut tx) = (Aligned([0u8; IMAP_RX]), [0u8; 256]);
    let mut c = imap::Client::connect(Feed::new(&IMAP_SCRIPT), &mut rx.0, &mut tx)
        .map_err(|_| "imap connect")?;
    c.login(black_box("device-17"), black_box("secret"))
        .map_err(|_| "imap login")?;
    c.select(black_box("INBOX")).map_err(|_| "imap select")?;
    let t0 = count();
    let n = c
        .fetch_body(black_box(1), BodyRequest::peek(Section::Full), sink)
        .map_err(|_e| {
            #[cfg(test)]
            std::eprintln!("{_e:?}");
            "imap fetch_body"
        })?;
    let t1 = count();
    if !c.into_parts().transport.exhausted() {
        return Err("imap fetch left server bytes unread");
    }
    Ok(Run {
        instructions: t1.wrapping_sub(t0),
        bytes: MESSAGE.len() as u64,
        out: n,
    })
}

/// `mime::Walker<4>` over the canned message as a 1 KiB receive buffer
/// hands it on, every leaf part's decoded body into `sink`.
#[inline(never)]
pub fn mime_walker<S: Write>(count: fn() -> u64, sink: &mut S) -> Result<Run, &'static str> {
    let mut rx = Aligned([0u8; IMAP_RX]);
    let mut line = [0u8; 256];
    let segments = [MESSAGE];
    let mut feed = Feed::new(&segments);
    let t0 = count();
    let mut walker: Walker<'_, 4> = Walker::new(&mut line);
    let mut out = 0u64;
    let mut on = |e: Event<'_>| -> Result<(), &'static str> {
        if let Event::Body(b) = e {
            sink.write_all(b).map_err(|_| "mime sink")?;
            out += b.len() as u64;
        }
        Ok(())
    };
    loop {
        let n = feed.read(&mut rx.0).map_err(|_| "mime read")?;
        if n == 0 {
            break;
        }
        walker.feed(rx.0.get(..n).unwrap_or(&[]), &mut on)?;
    }
    let defects = walker.finish(&mut on)?;
    let t1 = count();
    if !defects.is_empty() {
        return Err("mime walker saw defects in the canned message");
    }
    Ok(Run {
        instructions: t1.wrapping_sub(t0),
        bytes: MESSAGE.len() as u64,
        out,
    })
}

/// The copy loop: reads `answer` from a [`Feed`] into an `RX`-byte buffer
/// and writes each read to `sink`, until the feed ends.
#[inline(never)]
pub fn copy<const RX: usize, S: Write>(
    count: fn() -> u64,
    answer: &'static [u8],
    sink: &mut S,
) -> Result<Run, &'static str> {
    let mut rx = Aligned([0u8; RX]);
    let segments = [answer];
    let mut feed = Feed::new(&segments);
    let t0 = count();
    let mut out = 0u64;
    loop {
        let n = feed.read(&mut rx.0).map_err(|_| "copy read")?;
        if n == 0 {
            break;
        }
        sink.write_all(rx.0.get(..n).unwrap_or(&[]))
            .map_err(|_| "copy write")?;
        out += n as u64;
    }
    let t1 = count();
    Ok(Run {
        instructions: t1.wrapping_sub(t0),
        bytes: MESSAGE.len() as u64,
        out,
    })
}

/// The firmware side: the counter, the UART, QEMU's exit device.
#[cfg(all(target_arch = "riscv32", not(test)))]
#[allow(unsafe_code)]
mod hw {
    use core::arch::asm;
    use core::ptr::write_volatile;

    /// QEMU virt's NS16550A UART: a write to THR is sent at once.
    const UART_THR: usize = 0x1000_0000;
    /// QEMU virt's SiFive test device: 0x5555 exits with status 0,
    /// `code << 16 | 0x3333` with `code`.
    const TEST_DEVICE: usize = 0x0010_0000;

    /// `minstret`/`minstreth` as one 64-bit value (the high half read
    /// twice, so that a carry between the reads is seen).
    #[inline(always)]
    pub fn instret() -> u64 {
        loop {
            let (hi, lo, hi2): (u32, u32, u32);
            unsafe {
                asm!("csrr {0}, minstreth", "csrr {1}, minstret", "csrr {2}, minstreth",
                    out(reg) hi, out(reg) lo, out(reg) hi2, options(nomem, nostack));
            }
            if hi == hi2 {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }

    /// The counter function the measurements take.
    #[inline(never)]
    pub fn counter() -> u64 {
        instret()
    }

    /// Reads `minstret` around a loop of exactly `2 * n` instructions
    /// (`addi` + `bnez`, `n` times); returns the difference. With
    /// `-icount` it is `2 * n + 1` (the loop and the first read); with
    /// host ticks it is anything.
    pub fn check_counter(n: u32) -> u32 {
        let (a, b): (u32, u32);
        unsafe {
            asm!(
                "csrr {a}, minstret",
                "1:",
                "addi {n}, {n}, -1",
                "bnez {n}, 1b",
                "csrr {b}, minstret",
                a = out(reg) a,
                b = out(reg) b,
                n = inout(reg) n => _,
                options(nomem, nostack),
            );
        }
        b.wrapping_sub(a)
    }

    /// Sends `s` on the UART.
    pub fn print(s: &[u8]) {
        for &c in s {
            unsafe { write_volatile(UART_THR as *mut u8, c) };
        }
    }

    /// Ends QEMU with `code` (0: success).
    pub fn exit(code: u16) -> ! {
        let v = if code == 0 {
            0x5555
        } else {
            (u32::from(code) << 16) | 0x3333
        };
        unsafe { write_volatile(TEST_DEVICE as *mut u32, v) };
        loop {
            core::hint::spin_loop();
        }
    }
}

/// Appends `v` in decimal to `line` at `n`.
#[cfg(all(target_arch = "riscv32", not(test)))]
fn put_u64(line: &mut [u8], n: &mut usize, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    put(line, n, digits.get(i..).unwrap_or(&[]));
}

#[cfg(all(target_arch = "riscv32", not(test)))]
fn put(line: &mut [u8], n: &mut usize, s: &[u8]) {
    for &c in s {
        if let Some(d) = line.get_mut(*n) {
            *d = c;
            *n += 1;
        }
    }
}

/// Prints `instr NAME INSTRUCTIONS BYTES OUT`, or `instr NAME FAILED
/// why`; returns whether it ran.
#[cfg(all(target_arch = "riscv32", not(test)))]
fn report(name: &[u8], r: Result<Run, &'static str>) -> bool {
    let mut line = [0u8; 128];
    let mut n = 0;
    put(&mut line, &mut n, b"instr ");
    put(&mut line, &mut n, name);
    let ok = match r {
        Ok(r) => {
            for v in [r.instructions, r.bytes, r.out] {
                put(&mut line, &mut n, b" ");
                put_u64(&mut line, &mut n, v);
            }
            true
        }
        Err(why) => {
            put(&mut line, &mut n, b" FAILED ");
            put(&mut line, &mut n, why.as_bytes());
            false
        }
    };
    put(&mut line, &mut n, b"\n");
    hw::print(line.get(..n).unwrap_or(&[]));
    ok
}

/// Checks the counter, runs every measurement once, prints the lines and
/// exits QEMU (status 1 if anything failed).
#[cfg(all(target_arch = "riscv32", not(test)))]
pub fn run() -> ! {
    // The counter must count instructions: 2n + 1 for the loop of
    // check_counter, exactly, whatever n.
    let mut ok = true;
    for n in [1000u32, 100_000] {
        let got = hw::check_counter(n);
        let mut line = [0u8; 96];
        let mut k = 0;
        put(&mut line, &mut k, b"counter loop ");
        put_u64(&mut line, &mut k, u64::from(2 * n + 1));
        put(&mut line, &mut k, b" instructions, minstret says ");
        put_u64(&mut line, &mut k, u64::from(got));
        put(&mut line, &mut k, b"\n");
        hw::print(line.get(..k).unwrap_or(&[]));
        ok &= got == 2 * n + 1;
    }
    if !ok {
        hw::print(
            b"instr FAILED minstret does not count instructions (run QEMU with -icount shift=0)\n",
        );
        hw::exit(2);
    }
    // Two reads back to back: the cost of a measurement's own reads.
    let a = hw::counter();
    let b = hw::counter();
    ok &= report(
        b"overhead",
        Ok(Run {
            instructions: b.wrapping_sub(a),
            bytes: 0,
            out: 0,
        }),
    );
    let c = hw::counter;
    ok &= report(b"pop3_retr", pop3_retr(c, &mut Count::default()));
    ok &= report(
        b"copy_512",
        copy::<POP3_RX, _>(c, POP3_RETR, &mut Count::default()),
    );
    ok &= report(b"imap_literal", imap_literal(c, &mut Count::default()));
    ok &= report(
        b"copy_1024",
        copy::<IMAP_RX, _>(c, IMAP_FETCH, &mut Count::default()),
    );
    ok &= report(b"mime_walker", mime_walker(c, &mut Count::default()));
    ok &= report(
        b"copy_1024_message",
        copy::<IMAP_RX, _>(c, MESSAGE, &mut Count::default()),
    );
    ok &= report(b"pop3_retr_pdf", pop3_retr_pdf(c, &mut Count::default()));
    hw::print(if ok {
        b"instr done\n"
    } else {
        b"instr FAILED\n"
    });
    hw::exit(if ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that keeps every byte (host only).
    #[derive(Default)]
    struct Keep(std::vec::Vec<u8>);

    impl ErrorType for Keep {
        type Error = embedded_io::ErrorKind;
    }

    impl Write for Keep {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    fn no_counter() -> u64 {
        0
    }

    /// The text part of the canned message, as the walker delivers it
    /// (without the CRLF that belongs to the boundary).
    fn text_part() -> &'static [u8] {
        let s = MESSAGE;
        let start = s
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .and_then(|h| {
                let after = h + 4;
                let p = s[after..].windows(8).position(|w| w == b"7bit\r\n\r\n")?;
                Some(after + p + 8)
            })
            .expect("text part headers");
        let end = start
            + s[start..]
                .windows(22)
                .position(|w| w == b"\r\n--=_instr_boundary_0")
                .expect("boundary after the text");
        &s[start..end]
    }

    #[test]
    fn the_canned_message_is_what_build_rs_promises() {
        assert!(MESSAGE.len() > 30_000, "{}", MESSAGE.len());
        assert_eq!(ATTACHMENT.len(), 24 * 1024);
        assert!(ATTACHMENT.starts_with(b"%PDF-1.4\n"));
        // Some lines need stuffing.
        let stuffed = MESSAGE
            .split(|&b| b == b'\n')
            .filter(|l| l.first() == Some(&b'.'))
            .count();
        assert_eq!(stuffed, 5);
        let status = std::format!("+OK {} octets\r\n", MESSAGE.len());
        assert_eq!(POP3_RETR.len(), status.len() + MESSAGE.len() + stuffed + 3);
    }

    #[test]
    fn pop3_retr_delivers_the_message_unstuffed() {
        let mut k = Keep::default();
        let r = pop3_retr(no_counter, &mut k).unwrap();
        assert_eq!(k.0, MESSAGE);
        assert_eq!(r.out, MESSAGE.len() as u64);
    }

    #[test]
    fn imap_literal_delivers_the_message() {
        let mut k = Keep::default();
        let r = imap_literal(no_counter, &mut k).unwrap();
        assert_eq!(k.0, MESSAGE);
        assert_eq!(r.out, MESSAGE.len() as u64);
    }

    #[test]
    fn mime_walker_decodes_the_text_and_the_attachment() {
        let mut k = Keep::default();
        let r = mime_walker(no_counter, &mut k).unwrap();
        let mut want = text_part().to_vec();
        want.extend_from_slice(ATTACHMENT);
        assert_eq!(k.0.len(), want.len());
        assert!(k.0 == want, "decoded bodies differ");
        assert_eq!(r.out, want.len() as u64);
    }

    #[test]
    fn pop3_retr_pdf_keeps_only_the_attachment() {
        let mut k = Keep::default();
        let r = pop3_retr_pdf(no_counter, &mut k).unwrap();
        assert!(k.0 == ATTACHMENT, "the PDF differs");
        assert_eq!(r.out, ATTACHMENT.len() as u64);
    }

    #[test]
    fn copy_loops_move_every_byte() {
        for (answer, r) in [
            (
                POP3_RETR,
                copy::<POP3_RX, _>(no_counter, POP3_RETR, &mut Keep::default()),
            ),
            (
                IMAP_FETCH,
                copy::<IMAP_RX, _>(no_counter, IMAP_FETCH, &mut Keep::default()),
            ),
        ] {
            assert_eq!(r.unwrap().out, answer.len() as u64);
        }
        let mut k = Keep::default();
        copy::<IMAP_RX, _>(no_counter, MESSAGE, &mut k).unwrap();
        assert_eq!(k.0, MESSAGE);
    }
}
