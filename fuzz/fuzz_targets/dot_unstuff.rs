//! POP3 dot-unstuffing (`wire::DotDecoder`) at arbitrary splits, checked
//! against a simple line-by-line reference: same bytes out, same
//! terminator position, every step within its input and making progress.
#![no_main]

use embedded_mail::wire::{DotDecoder, DotStep};
use fuzz_common::Reads;
use libfuzzer_sys::fuzz_target;

/// The reference: at each line start, `.CRLF` or `.LF` ends the body, a
/// leading dot is dropped, and the line is copied through its LF. Returns
/// the body and where the terminator ends (None if there is none).
fn reference(input: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let rest = &input[i..];
        if rest.starts_with(b".\r\n") {
            return (out, Some(i + 3));
        }
        if rest.starts_with(b".\n") {
            return (out, Some(i + 2));
        }
        let j = if rest.first() == Some(&b'.') {
            i + 1
        } else {
            i
        };
        match input[j..].iter().position(|&b| b == b'\n') {
            Some(p) => {
                out.extend_from_slice(&input[j..j + p + 1]);
                i = j + p + 1;
            }
            None => {
                out.extend_from_slice(&input[j..]);
                return (out, None);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let mut reads = Reads::new(body, u32::from(seed) | 1);
    let mut buf = [0u8; 256];
    let (mut start, mut end) = (0usize, 0usize);
    let mut dec = DotDecoder::new();
    let mut out = Vec::new();
    let mut taken = 0usize; // bytes of `body` consumed
    let mut ended = None;
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps <= 4 * body.len() + 8, "super-linear work");
        let input = &buf[start..end];
        match dec.step(input) {
            DotStep::Data {
                consumed,
                emit_start,
                emit_end,
            } => {
                assert!(consumed > 0, "no progress");
                assert!(emit_start <= emit_end && emit_end <= consumed && consumed <= input.len());
                out.extend_from_slice(&input[emit_start..emit_end]);
                start += consumed;
                taken += consumed;
            }
            DotStep::End { consumed } => {
                assert!(consumed > 0 && consumed <= input.len());
                taken += consumed;
                ended = Some(taken);
                break;
            }
            DotStep::NeedMore => {
                // Compact and read more; the decoder holds at most 3 bytes.
                assert!(
                    end - start <= 3 || start == end,
                    "NeedMore with {} bytes",
                    end - start
                );
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
                let n = reads.read(&mut buf[end..]);
                if n == 0 {
                    break;
                }
                end += n;
            }
        }
    }
    let (want, want_end) = reference(body);
    assert_eq!(ended, want_end, "terminator position");
    if ended.is_some() {
        assert_eq!(out, want, "unstuffed body");
    } else {
        // Bytes held back at the end (a lone "." or ".\r" at a line start)
        // are not emitted yet.
        assert!(
            want.starts_with(&out) && want.len() - out.len() <= 2,
            "body prefix"
        );
    }
});
