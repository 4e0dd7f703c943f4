//! The poll storing selected MIME parts through `store::parts::PartStore`
//! over the in-process fake POP3 and IMAP servers: the stored PDF is the
//! bytes Python's `email` package decodes (tests/mime/reference.py); a
//! message without a PDF, or with malformed MIME, is kept raw; a cut at
//! every byte of the transcript never leaves half a message stored nor
//! deletes a message on the server before its commit.
#![cfg(all(feature = "mime", feature = "async"))]

mod poll_fake;

use std::path::Path;
use std::process::Command;

use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::store::parts::{self, MessageEnd, PartStore};
use embedded_mail::store::MessageStore;
use poll_fake::{mailbox, Proto, Server, Shared};

type Mem = MemoryStore<65536, 16, 1024>;

fn pdf_message(name: &str, pdf: &[u8], close: bool) -> Vec<u8> {
    use std::fmt::Write;
    let b64 = base64_encode(pdf);
    let mut m = String::new();
    write!(
        m,
        "From: p@example.org\r\nSubject: {name}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n\
         --zz\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --zz\r\nContent-Type: application/pdf; name=\"{name}.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"{name}.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .unwrap();
    for line in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(line).unwrap());
        m.push_str("\r\n");
    }
    if close {
        m.push_str("--zz--\r\n");
    }
    m.into_bytes()
}

/// Standard base64 with padding: the crate's own encoder (the walker's
/// decoder is a different one).
fn base64_encode(data: &[u8]) -> String {
    let mut out = vec![0u8; embedded_mail::sasl::base64::encoded_len(data.len())];
    let n = embedded_mail::sasl::base64::encode(data, &mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

/// The test mailbox: the corpus message with a PDF and a PNG, a second
/// PDF message, a text-only message, and a PDF message whose final
/// boundary is missing (malformed).
fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime");
    let pdf2: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..600u32).map(|i| (i * 7 % 251) as u8))
        .collect();
    vec![
        std::fs::read(dir.join("mixed_pdf_png.eml")).unwrap(),
        pdf_message("second", &pdf2, true),
        b"From: t@example.org\r\nSubject: text only\r\n\r\nno attachment here\r\n".to_vec(),
        pdf_message("broken", b"%PDF-1.3 cut short", false),
    ]
}

/// The decoded bodies of the `application/pdf` parts of each message,
/// by Python's `email` package.
fn reference_pdfs(msgs: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("poll-parts");
    std::fs::create_dir_all(&tmp).unwrap();
    let paths: Vec<_> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = tmp.join(format!("m{i}.eml"));
            std::fs::write(&p, m).unwrap();
            p
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime/reference.py");
    let out = Command::new("python3")
        .arg(script)
        .args(&paths)
        .output()
        .expect("python3 runs tests/mime/reference.py");
    assert!(out.status.success());
    let mut all: Vec<Vec<Vec<u8>>> = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if line.starts_with("== ") {
            all.push(Vec::new());
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        if f[0] == "part" && f[2] == "application/pdf" {
            let hex = f[7];
            let bytes = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            all.last_mut().unwrap().push(bytes);
        }
    }
    assert_eq!(all.len(), msgs.len());
    all
}

/// The PDFs of every blob in `store`, checking each blob parses whole.
fn stored_pdfs(store: &Mem) -> Vec<(Vec<u8>, MessageEnd)> {
    let mut out = Vec::new();
    for (_, blob) in store.messages() {
        let end = parts::message_end(blob).expect("every stored blob ends with its end record");
        let mut n = 0;
        for p in parts::parts(blob) {
            let p = p.expect("every stored blob parses");
            assert_eq!(p.head.media_type(), b"application/pdf");
            let mut bytes = vec![0u8; p.body.len() as usize];
            assert_eq!(p.body.copy_to(&mut bytes), Some(bytes.len()));
            out.push((bytes, end));
            n += 1;
        }
        assert_eq!(n, end.parts);
    }
    out
}

fn poll_once(
    proto: Proto,
    mbox: &Shared,
    pdfs: &mut Mem,
    raw: &mut Mem,
    beside: bool,
    cut: Option<usize>,
    asynch: bool,
) -> Result<usize, String> {
    let policy = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    let mut line = [0u8; 256];
    let store: PartStore<'_, _, _, _> = PartStore::new(&mut line, &mut *pdfs, &mut *raw, |p| {
        p.is("application/pdf")
    });
    let mut store = if beside { store.beside() } else { store };
    let server = Server::new(mbox.clone(), proto, cut);
    let mut state: SyncState<16> = SyncState::new();
    if asynch {
        return embedded_mail::store::block_on(async {
            if proto == Proto::Imap {
                let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
                let mut c = embedded_mail::imap::asynch::Client::connect(server, &mut rx, &mut tx)
                    .await
                    .map_err(|e| e.to_string())?;
                c.login("u", "p").await.map_err(|e| e.to_string())?;
                poll::asynch::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(c.logout().await.map_err(|e| e.to_string())?.traffic)
            } else {
                let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
                let mut c = embedded_mail::pop3::asynch::Client::connect(server, &mut rx, &mut tx)
                    .await
                    .map_err(|e| e.to_string())?;
                c.login("u", "p").await.map_err(|e| e.to_string())?;
                poll::asynch::pop3(&mut c, &mut store, &mut state, &policy, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(c.into_parts().transport.traffic)
            }
        });
    }
    match proto {
        Proto::Imap => {
            let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
            let mut c = embedded_mail::imap::Client::connect(server, &mut rx, &mut tx)
                .map_err(|e| e.to_string())?;
            c.login("u", "p").map_err(|e| e.to_string())?;
            poll::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
                .map_err(|e| e.to_string())?;
            Ok(c.logout().map_err(|e| e.to_string())?.traffic)
        }
        _ => {
            let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
            let mut c = embedded_mail::pop3::Client::connect(server, &mut rx, &mut tx)
                .map_err(|e| e.to_string())?;
            c.login("u", "p").map_err(|e| e.to_string())?;
            poll::pop3(&mut c, &mut store, &mut state, &policy, |_| {})
                .map_err(|e| e.to_string())?;
            Ok(c.into_parts().transport.traffic)
        }
    }
}

fn on_server(mbox: &Shared) -> Vec<Vec<u8>> {
    mbox.borrow().msgs.iter().map(|m| m.bytes.clone()).collect()
}

fn raw_of(store: &Mem) -> Vec<Vec<u8>> {
    store.messages().map(|(_, b)| b.to_vec()).collect()
}

/// Where each message of `corpus()` must end up after a clean poll.
fn check_clean(all: &[Vec<u8>], refs: &[Vec<Vec<u8>>], pdfs: &Mem, raw: &Mem, beside: bool) {
    let got = stored_pdfs(pdfs);
    let kept = raw_of(raw);
    for (i, m) in all.iter().enumerate() {
        for pdf in &refs[i] {
            assert_eq!(
                got.iter().filter(|(g, _)| g == pdf).count(),
                1,
                "message {i}: its PDF must be stored once, byte for byte"
            );
        }
        let want_raw = beside || refs[i].is_empty() || i == 3;
        assert_eq!(
            kept.iter().filter(|k| *k == m).count(),
            usize::from(want_raw),
            "message {i}: raw kept {want_raw}"
        );
    }
    assert_eq!(got.len(), 3, "three PDFs in all");
    // The malformed one says so, and that its raw message was kept.
    let (_, end) = got.iter().find(|(g, _)| g.ends_with(b"cut short")).unwrap();
    assert_ne!(end.defects, 0);
    assert_eq!(end.flags & MessageEnd::RAW_KEPT, MessageEnd::RAW_KEPT);
}

#[test]
fn reference_sees_the_pdfs() {
    let refs = reference_pdfs(&corpus());
    assert_eq!(refs.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0, 1]);
    assert!(refs[0][0].starts_with(b"%PDF"));
}

fn clean(proto: Proto, beside: bool, asynch: bool) {
    let all = corpus();
    let refs = reference_pdfs(&all);
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let (mut pdfs, mut raw) = (Box::new(Mem::new()), Box::new(Mem::new()));
    poll_once(proto, &mbox, &mut pdfs, &mut raw, beside, None, asynch).unwrap();
    check_clean(&all, &refs, &pdfs, &raw, beside);
    assert!(on_server(&mbox).is_empty(), "every stored message deleted");
    // The part records carry what firmware needs to read the part back.
    let (_, blob) = pdfs.messages().next().unwrap();
    let p = parts::parts(blob).next().unwrap().unwrap();
    assert_eq!(p.head.filename(), b"invoice.pdf");
    assert_eq!(p.head.media_type(), b"application/pdf");
    assert_eq!(
        p.head.disposition(),
        embedded_mail::mime::Disposition::Attachment
    );
    assert_eq!(p.body.len(), refs[0][0].len() as u64);
}

#[test]
fn pop3_poll_stores_pdfs_and_keeps_the_rest_raw() {
    clean(Proto::Pop3, false, false);
}

#[test]
fn async_pop3_poll_stores_pdfs_and_keeps_the_rest_raw() {
    clean(Proto::Pop3, false, true);
}

#[test]
fn async_imap_poll_stores_pdfs_beside_raw() {
    clean(Proto::Imap, true, true);
}

#[test]
fn pop3_pipelined_poll_stores_pdfs_beside_raw() {
    clean(Proto::Pop3Pipelining, true, false);
}

#[test]
fn imap_poll_stores_pdfs_and_keeps_the_rest_raw() {
    clean(Proto::Imap, false, false);
}

#[test]
fn parts_only_stores_an_empty_record_for_a_message_without_a_pdf() {
    let all = corpus();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let mut pdfs = Box::new(Mem::new());
    let mut line = [0u8; 256];
    let mut store: PartStore<'_, _, _, _> =
        PartStore::parts_only(&mut line, &mut *pdfs, |p| p.is("application/pdf"));
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut c = embedded_mail::pop3::Client::connect(
        Server::new(mbox.clone(), Proto::Pop3, None),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.login("u", "p").unwrap();
    let mut state: SyncState<16> = SyncState::new();
    let policy = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    poll::pop3(&mut c, &mut store, &mut state, &policy, |_| {}).unwrap();
    let ends: Vec<MessageEnd> = pdfs
        .messages()
        .map(|(_, b)| parts::message_end(b).unwrap())
        .collect();
    assert_eq!(
        ends.iter().map(|e| e.parts).collect::<Vec<_>>(),
        [1, 1, 0, 1]
    );
    assert!(ends.iter().all(|e| e.flags & MessageEnd::RAW_KEPT == 0));
    assert!(on_server(&mbox).is_empty());
}

/// Cut after k bytes, for every k: the server lacks only messages that
/// are stored whole (commit before delete); no half-stored blob; after
/// a clean poll every message is where it belongs, once.
fn every_cut(proto: Proto) {
    let all = corpus();
    let refs = reference_pdfs(&all);
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let total = {
        let mbox = mailbox(&bodies);
        let (mut pdfs, mut raw) = (Box::new(Mem::new()), Box::new(Mem::new()));
        poll_once(proto, &mbox, &mut pdfs, &mut raw, false, None, false).unwrap()
    };
    assert!(total > 4000, "transcript too short: {total}");
    for k in 0..total {
        // Every third cut through the async poll and store.
        let asynch = k % 3 == 1;
        let mbox = mailbox(&bodies);
        let (mut pdfs, mut raw) = (Box::new(Mem::new()), Box::new(Mem::new()));
        let r = poll_once(proto, &mbox, &mut pdfs, &mut raw, false, Some(k), asynch);
        assert!(r.is_err(), "k={k}: poll through a cut connection succeeded");
        let got = stored_pdfs(&pdfs);
        let kept = raw_of(&raw);
        let server = on_server(&mbox);
        for (i, m) in all.iter().enumerate() {
            if server.contains(m) {
                continue;
            }
            // Deleted: must be stored, and whole.
            for pdf in &refs[i] {
                assert!(
                    got.iter().any(|(g, _)| g == pdf),
                    "k={k}: message {i} deleted before its PDF was committed"
                );
            }
            if refs[i].is_empty() || i == 3 {
                assert!(kept.contains(m), "k={k}: message {i} deleted unkept");
            }
        }
        // Reopening the stores drops what was begun and never committed.
        MessageStore::abort(&mut *pdfs).unwrap();
        MessageStore::abort(&mut *raw).unwrap();
        poll_once(proto, &mbox, &mut pdfs, &mut raw, false, None, asynch)
            .unwrap_or_else(|e| panic!("k={k}: clean poll: {e}"));
        check_clean(&all, &refs, &pdfs, &raw, false);
        assert!(on_server(&mbox).is_empty(), "k={k}");
    }
}

#[test]
fn pop3_cut_at_every_byte() {
    every_cut(Proto::Pop3);
}

#[test]
fn imap_cut_at_every_byte() {
    every_cut(Proto::Imap);
}

/// A part read back: media type, file name, body.
type Read = (Vec<u8>, Vec<u8>, Vec<u8>);

/// What `parts::parts` sees in a blob.
fn by_slice(blob: &[u8]) -> Vec<Read> {
    parts::parts(blob)
        .map(|p| {
            let p = p.unwrap();
            let body: Vec<u8> = p.body.flat_map(|s| s.iter().copied()).collect();
            assert_eq!(body.len() as u64, p.body.len());
            (
                p.head.media_type().to_vec(),
                p.head.filename().to_vec(),
                body,
            )
        })
        .collect()
}

/// The same through the push `Reader`, fed in `piece`-byte chunks.
fn by_reader(blob: &[u8], piece: usize) -> (Vec<Read>, MessageEnd) {
    let mut out: Vec<Read> = Vec::new();
    let mut end = None;
    let mut reader = parts::Reader::new();
    for chunk in blob.chunks(piece) {
        reader
            .feed(chunk, &mut |r| match r {
                parts::Record::Part(h) => {
                    out.push((h.media_type().to_vec(), h.filename().to_vec(), Vec::new()))
                }
                parts::Record::Body(b) => out.last_mut().unwrap().2.extend_from_slice(b),
                parts::Record::PartEnd { len, .. } => {
                    assert_eq!(len, out.last().unwrap().2.len() as u64)
                }
                parts::Record::End(e) => end = Some(e),
            })
            .unwrap();
    }
    reader.finish().unwrap();
    (out, end.unwrap())
}

#[test]
fn the_push_reader_reads_what_the_slice_reader_reads_at_every_piece_size() {
    let all = corpus();
    let bodies: Vec<&[u8]> = all.iter().map(|m| m.as_slice()).collect();
    let mbox = mailbox(&bodies);
    let (mut pdfs, mut raw) = (Box::new(Mem::new()), Box::new(Mem::new()));
    // Every leaf part, so heads and data records of several parts follow
    // each other.
    let mut line = [0u8; 256];
    let mut store: PartStore<'_, _, _, _> =
        PartStore::new(&mut line, &mut *pdfs, &mut *raw, |_| true);
    let (mut rx, mut tx) = ([0u8; 128], [0u8; 64]);
    let mut c = embedded_mail::pop3::Client::connect(
        Server::new(mbox.clone(), Proto::Pop3, None),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.login("u", "p").unwrap();
    let mut state: SyncState<16> = SyncState::new();
    poll::pop3(&mut c, &mut store, &mut state, &Policy::default(), |_| {}).unwrap();
    let blobs: Vec<Vec<u8>> = pdfs.messages().map(|(_, b)| b.to_vec()).collect();
    assert_eq!(blobs.len(), 4);
    let first = by_slice(&blobs[0]);
    let types: Vec<&[u8]> = first.iter().map(|p| p.0.as_slice()).collect();
    assert_eq!(
        types,
        [&b"text/plain"[..], b"application/pdf", b"image/png"]
    );
    for blob in &blobs {
        let want = by_slice(blob);
        for piece in 1..=blob.len().min(400) {
            let (got, end) = by_reader(blob, piece);
            assert_eq!(got, want, "piece {piece}");
            assert_eq!(usize::from(end.parts), want.len());
        }
        // Cut anywhere, the blob is refused, never taken for whole.
        for cut in 0..blob.len() {
            let mut reader = parts::Reader::new();
            let fed = reader.feed(&blob[..cut], &mut |_| {});
            assert!(fed.is_err() || reader.finish().is_err(), "cut {cut}");
            assert!(
                parts::message_end(&blob[..cut]).is_err() || {
                    // A cut that happens to end on an `M`-shaped tail is
                    // still caught by the slice reader's walk.
                    parts::parts(&blob[..cut]).any(|p| p.is_err())
                }
            );
        }
    }
}

/// The async store writes blobs that read back as the blocking one's
/// (its data records are cut differently), whatever the chunks, for the corpus and for a message of many tiny parts (many
/// heads within one walked piece).
#[test]
fn async_store_writes_what_the_blocking_store_writes() {
    use embedded_mail::store::asynch::MessageStore as Async;
    let mut msgs = corpus();
    let mut tiny = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
    for _ in 0..200 {
        tiny.extend_from_slice(b"--b\n\n");
    }
    tiny.extend_from_slice(b"--b--\n");
    msgs.push(tiny);
    for (i, msg) in msgs.iter().enumerate() {
        let mut want = Box::new(Mem::new());
        {
            let mut line = [0u8; 256];
            let mut s: PartStore<'_, _, _, _> =
                PartStore::parts_only(&mut line, &mut *want, |_| true);
            MessageStore::begin(&mut s, 1, 0).unwrap();
            MessageStore::write(&mut s, msg).unwrap();
            MessageStore::commit(&mut s).unwrap();
        }
        let (_, want) = want.messages().next().unwrap();
        let want = want.to_vec();
        if i == msgs.len() - 1 {
            assert_eq!(parts::message_end(&want).unwrap().parts, 200);
        }
        for chunk in [1, 7, 16, 100, 4096] {
            let mut got = Box::new(Mem::new());
            {
                let mut line = [0u8; 256];
                let mut s: PartStore<'_, _, _, _> =
                    PartStore::parts_only(&mut line, &mut *got, |_| true);
                embedded_mail::store::block_on(async {
                    Async::begin(&mut s, 1, 0).await.unwrap();
                    for c in msg.chunks(chunk) {
                        Async::write(&mut s, c).await.unwrap();
                    }
                    Async::commit(&mut s).await.unwrap();
                });
            }
            let (_, got) = got.messages().next().unwrap();
            assert_eq!(
                by_slice(got),
                by_slice(&want),
                "message {i}, chunks of {chunk}"
            );
            let end = parts::message_end(got).unwrap();
            assert_eq!(end, parts::message_end(&want).unwrap());
            assert_eq!(end.flags & MessageEnd::INCOMPLETE, 0);
            // Adjacent body pieces share a data record.
            if chunk == 4096 && i == 0 {
                assert!(got.len() < want.len(), "{} !< {}", got.len(), want.len());
            }
        }
    }
}
