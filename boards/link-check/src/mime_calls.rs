//! The MIME walker (feature `mime`): one `mime::Walker<4>` with one
//! callback over the canned multipart message of build.rs (the one
//! src/instr.rs measures), and with `mime-writer` also a
//! `mime::PartWriter` keeping its first `application/pdf` part, and with
//! `mime-store` a `store::parts::PartStore` storing it into a
//! `MemoryStore` as the poll would. For
//! scripts/size-report: this build's .text minus the `baseline` build's is
//! what the walker costs a firmware.

use crate::transport::Sink;
use core::hint::black_box;
use embedded_mail::mime::{Event, Walker};

/// The canned message (build.rs, `instr_messages`).
const MESSAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/instr/message.eml"));

/// Walks the message in 1 KiB pieces; returns the decoded bytes of its
/// leaf parts (and of the PDF, with `mime-writer`) and the defects' bits.
#[inline(never)]
pub fn run() -> (u64, u64, bool) {
    let msg = black_box(MESSAGE);
    let mut line = [0u8; 256];
    let mut walker: Walker<'_, 4> = Walker::new(&mut line);
    let mut decoded = 0u64;
    let mut on = |e: Event<'_>| -> Result<(), ()> {
        if let Event::Body(b) = e {
            decoded += black_box(b).len() as u64;
        }
        Ok(())
    };
    let mut ok = msg.chunks(1024).all(|p| walker.feed(p, &mut on).is_ok());
    ok &= walker.finish(&mut on).is_ok_and(|d| d.is_empty());
    (decoded, writer(msg) ^ part_store(msg), ok)
}

/// A `PartStore` keeping the PDF of `msg` in a `MemoryStore` (the raw
/// message in another when no PDF is found or the MIME is malformed), fed
/// in 512-byte pieces as the poll feeds a store; the PDF's length.
#[cfg(feature = "mime-store")]
fn part_store(msg: &[u8]) -> u64 {
    use embedded_mail::store::memory::MemoryStore;
    use embedded_mail::store::parts::{self, PartStore};
    use embedded_mail::store::MessageStore;
    let (mut pdfs, mut raw) = (
        MemoryStore::<40960, 1, 64>::new(),
        MemoryStore::<1024, 1, 64>::new(),
    );
    let mut line = [0u8; 256];
    let mut store: PartStore<'_, _, _, _> =
        PartStore::new(&mut line, &mut pdfs, &mut raw, |p| p.is("application/pdf"));
    let fed = store.begin(1, msg.len() as u64).is_ok()
        && msg.chunks(512).all(|p| store.write(p).is_ok())
        && store.commit().is_ok();
    if !fed {
        return 0;
    }
    let Some((_, blob)) = pdfs.messages().next() else {
        return 0;
    };
    parts::parts(blob)
        .filter_map(Result::ok)
        .map(|p| p.body.len())
        .sum()
}

#[cfg(not(feature = "mime-store"))]
fn part_store(_: &[u8]) -> u64 {
    0
}

/// `PartWriter::first` for `application/pdf` into a sink; the bytes kept.
#[cfg(feature = "mime-writer")]
fn writer(msg: &[u8]) -> u64 {
    use embedded_io::Write;
    use embedded_mail::mime::PartWriter;
    let mut line = [0u8; 256];
    let mut w: PartWriter<'_, _, _> =
        PartWriter::first(&mut line, Sink::default(), |p| p.is("application/pdf"));
    if msg.chunks(512).any(|p| w.write_all(p).is_err()) {
        return 0;
    }
    w.finish()
        .map_or(0, |(sink, summary)| summary.bytes ^ u64::from(sink.hash))
}

#[cfg(not(feature = "mime-writer"))]
fn writer(_: &[u8]) -> u64 {
    0
}

#[cfg(all(test, feature = "mime-writer"))]
mod tests {
    /// The walker decodes the text part and the 24 KiB attachment with
    /// no defect.
    #[test]
    fn walker_decodes_the_canned_message() {
        let (decoded, _, ok) = super::run();
        assert!(ok);
        assert!(decoded > 24 * 1024, "{decoded}");
    }
}
