//! The MIME walker (`mime::Walker`) on arbitrary messages: the events must
//! not depend on how the input is split (whole vs reads of pseudo-random
//! sizes), bodies only come between a leaf's start and its end and every
//! leaf that starts ends, depths stay within the cap, decoding never
//! yields more bytes than came in, and `PartWriter` forwards exactly the
//! body bytes the walker reports.
//!
//! Input: `[read seed] [line buffer size] [message...]`.
#![no_main]

use embedded_mail::mime::{Event, PartWriter, Walker};
use fuzz_common::Reads;
use libfuzzer_sys::fuzz_target;

const DEPTH: usize = 3;

#[derive(Debug, PartialEq)]
enum Seen {
    Header(u8, Vec<u8>),
    Start(u8, bool, Vec<u8>, Vec<u8>, u16),
    Body(Vec<u8>),
    End,
}

/// Walks `pieces`, merging adjacent body pieces (their sizes may differ
/// between splits; their bytes may not).
fn walk<'a>(line_len: usize, pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<Seen>, u16) {
    let mut line = vec![0u8; line_len];
    let mut w: Walker<'_, DEPTH> = Walker::new(&mut line);
    let mut seen = Vec::new();
    let mut in_leaf = false;
    let mut on = |e: Event<'_>| -> Result<(), ()> {
        match e {
            Event::Header(h) => {
                assert!(!in_leaf);
                seen.push(Seen::Header(h.depth, h.value.to_vec()))
            }
            Event::PartStart(p) => {
                assert!(!in_leaf, "a part started inside a leaf");
                assert!(usize::from(p.depth) <= DEPTH);
                in_leaf = p.leaf;
                seen.push(Seen::Start(
                    p.depth,
                    p.leaf,
                    p.media_type.as_bytes().to_vec(),
                    p.filename.as_bytes().to_vec(),
                    p.defects.bits(),
                ));
            }
            Event::Body(b) => {
                assert!(in_leaf, "body outside a leaf");
                assert!(!b.is_empty());
                match seen.last_mut() {
                    Some(Seen::Body(v)) => v.extend_from_slice(b),
                    _ => seen.push(Seen::Body(b.to_vec())),
                }
            }
            Event::PartEnd(p) => {
                assert!(in_leaf && p.leaf, "end without a leaf");
                in_leaf = false;
                seen.push(Seen::End);
            }
        }
        Ok(())
    };
    for p in pieces {
        w.feed(p, &mut on).unwrap();
    }
    let d = w.finish(&mut on).unwrap();
    assert!(!in_leaf, "a leaf never ended");
    (seen, d.bits())
}

fuzz_target!(|data: &[u8]| {
    let [seed, line_len, msg @ ..] = data else {
        return;
    };
    let line_len = 16 + usize::from(*line_len) * 4;
    let whole = walk(line_len, std::iter::once(msg));

    let mut reads = Reads::new(msg, u32::from(*seed));
    let mut pieces = Vec::new();
    let mut buf = [0u8; 300];
    loop {
        let n = reads.read(&mut buf);
        if n == 0 {
            break;
        }
        pieces.push(buf[..n].to_vec());
    }
    let split = walk(line_len, pieces.iter().map(|p| p.as_slice()));
    assert_eq!(whole, split, "depends on the split");

    let body: Vec<u8> = whole
        .0
        .iter()
        .filter_map(|s| match s {
            Seen::Body(b) => Some(b.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    assert!(body.len() <= msg.len(), "decoding grew the input");

    // The sink forwards exactly the same bytes.
    let mut line = vec![0u8; line_len];
    let mut out = vec![0u8; msg.len()];
    let mut w: PartWriter<'_, _, _, DEPTH> = PartWriter::new(&mut line, &mut out[..], |_| true);
    for p in &pieces {
        embedded_io::Write::write_all(&mut w, p).unwrap();
    }
    let (_, summary) = w.finish().unwrap();
    assert_eq!(summary.bytes as usize, body.len());
    assert_eq!(&out[..body.len()], &body[..]);
});
