//! `em-bench mime`: decoding speed of the MIME walker (feature `mime`) on
//! in-memory messages: one multipart/mixed message with a text part and a
//! 4 MiB attachment, base64, quoted-printable or 7bit, fed in 1 KiB pieces
//! (as a receive buffer would hand them on). MB/s of message bytes in and
//! of decoded bytes out, best of BENCH_PARSE_ITERS (default 20).

use embedded_mail::mime::{Event, Walker};
use std::time::{Duration, Instant};

const ATTACHMENT: usize = 4 << 20;

/// Deterministic pseudo-random bytes (xorshift).
fn bytes(n: usize, text: bool) -> Vec<u8> {
    let mut s = 0x9e37_79b9u32;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if text {
                // Mostly ASCII words and line breaks, some Latin-1 accents
                // as UTF-8: what QP carries in real mail.
                match s % 64 {
                    0 => b'\n',
                    1..=9 => b' ',
                    10 => 0xc3,
                    11 => 0xa9,
                    _ => b'a' + (s >> 8) as u8 % 26,
                }
            } else {
                (s >> 8) as u8
            }
        })
        .collect()
}

fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = [0u8; 76];
    for chunk in data.chunks(57) {
        let n = embedded_mail::sasl::base64::encode(chunk, &mut line).unwrap();
        out.extend_from_slice(&line[..n]);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7): line breaks as CRLF, soft breaks
/// before 76 columns.
fn quoted_printable(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut col = 0;
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
            col = 0;
            continue;
        }
        let before_break = data.get(i + 1).is_none_or(|&n| n == b'\n');
        let literal = (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' && !before_break);
        let width = if literal { 1 } else { 3 };
        if col + width > 75 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
        col += width;
    }
    out
}

fn message(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: bench@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=_bench\"\r\n\r\n--=_bench\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n--=_bench\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: {encoding}\r\n\
         Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n--=_bench--\r\n");
    m
}

fn walk(msg: &[u8]) -> u64 {
    let mut line = [0u8; 256];
    let mut w: Walker<'_, 4> = Walker::new(&mut line);
    let mut out = 0u64;
    let mut on = |e: Event<'_>| -> Result<(), ()> {
        if let Event::Body(b) = e {
            out += std::hint::black_box(b).len() as u64;
        }
        Ok(())
    };
    for piece in msg.chunks(1024) {
        w.feed(piece, &mut on).unwrap();
    }
    assert!(w.finish(&mut on).unwrap().is_empty());
    out
}

pub fn run() {
    let iters: u32 = std::env::var("BENCH_PARSE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let binary = bytes(ATTACHMENT, false);
    let text = bytes(ATTACHMENT, true);
    let cases = [
        ("base64 (4 MiB binary)", message("base64", &base64_lines(&binary)), binary.len()),
        // The encoder writes the text's line breaks as CRLF.
        (
            "quoted-printable (4 MiB text)",
            message("quoted-printable", &quoted_printable(&text)),
            text.len() + text.iter().filter(|&&b| b == b'\n').count(),
        ),
        ("7bit (4 MiB text)", message("7bit", &text), text.len()),
    ];
    println!("MIME walker, message fed in 1 KiB pieces, best of {iters}");
    println!("  {:<32} {:>10} {:>10} {:>9} {:>9}", "attachment", "in bytes", "out bytes", "MB/s in", "MB/s out");
    for (name, msg, want) in cases {
        let mut best = Duration::MAX;
        let mut out = 0;
        for _ in 0..iters {
            let t = Instant::now();
            out = walk(std::hint::black_box(&msg));
            best = best.min(t.elapsed());
        }
        // The text part's 19 bytes come on top of the attachment.
        assert_eq!(out as usize, want + 19, "{name}: decoded size");
        let s = best.as_secs_f64();
        println!(
            "  {name:<32} {:>10} {:>10} {:>9.1} {:>9.1}",
            msg.len(),
            out,
            msg.len() as f64 / s / 1e6,
            out as f64 / s / 1e6
        );
    }
}
