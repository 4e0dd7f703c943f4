//! `store::parts::PartStore` under the poll against the real Dovecot:
//! the corpus message with a PDF and a PNG (tests/mime/mixed_pdf_png.eml)
//! and a text-only message are APPENDed to users p01 (POP3) and p02
//! (IMAP), then polled in delete mode. The stored PDF is byte-identical
//! to what Python's `email` package decodes; the text-only message is
//! kept raw; a connection cut inside the PDF message leaves nothing of it
//! stored and the message on the server.
#![cfg(feature = "mime")]

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use embedded_io_adapters::std::FromStd;
use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::store::parts::{self, PartStore};
use embedded_mail::store::MessageStore;

type Mem = MemoryStore<65536, 16, 1024>;

const TEXT_ONLY: &[u8] = b"From: t@example.org\r\nSubject: parts text only\r\n\r\nno pdf\r\n";

fn pdf_message() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime/mixed_pdf_png.eml");
    common::crlf(&std::fs::read(p).unwrap())
}

/// The `application/pdf` body of `msg`, decoded by tests/mime/reference.py.
fn reference_pdf(msg: &[u8]) -> Vec<u8> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parts-dovecot.eml");
    std::fs::write(&tmp, msg).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime/reference.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&tmp)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(2) == Some("application/pdf"))
        .expect("the reference finds the PDF");
    let hex = line.split(' ').nth(7).unwrap();
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Empties `user`'s INBOX and APPENDs the PDF message and a text-only one.
fn fill(user: &str) {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    let (_, ok) = c.imap("a", &format!("LOGIN {user} {}", d.password));
    assert!(ok.starts_with("a OK"), "{ok}");
    c.imap("b", "SELECT INBOX");
    c.imap("c", "STORE 1:* +FLAGS.SILENT (\\Deleted)");
    c.imap("d", "EXPUNGE");
    for msg in [TEXT_ONLY.to_vec(), pdf_message()] {
        c.send(&format!("f APPEND INBOX {{{}+}}", msg.len()));
        let s = String::from_utf8(msg).unwrap();
        c.send(s.strip_suffix("\r\n").unwrap());
        c.send("");
        let mut line = c.read_line();
        while line.starts_with("* ") {
            line = c.read_line();
        }
        assert!(line.starts_with("f OK"), "APPEND: {line}");
    }
    c.imap("z", "LOGOUT");
}

/// A TCP transport whose reads fail once `budget` bytes were read.
struct Cut {
    inner: FromStd<TcpStream>,
    budget: usize,
}

impl embedded_io::ErrorType for Cut {
    type Error = std::io::Error;
}

impl embedded_io::Read for Cut {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if self.budget == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut",
            ));
        }
        let n = buf.len().min(self.budget);
        let n = self.inner.read(&mut buf[..n])?;
        self.budget -= n;
        Ok(n)
    }
}

impl embedded_io::Write for Cut {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

fn poll(
    user: &str,
    imap: bool,
    pdfs: &mut Mem,
    raw: &mut Mem,
    budget: usize,
) -> Result<(), String> {
    let d = common::dovecot();
    let policy = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    let mut line = [0u8; 512];
    let mut store: PartStore<'_, _, _, _> = PartStore::new(&mut line, &mut *pdfs, &mut *raw, |p| {
        p.is("application/pdf")
    });
    let mut state: SyncState<16> = SyncState::new();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let addr = if imap { d.imap_addr() } else { d.pop3_addr() };
    let t = Cut {
        inner: FromStd::new(TcpStream::connect(addr).unwrap()),
        budget,
    };
    if imap {
        let mut c =
            embedded_mail::imap::Client::connect(t, &mut rx, &mut tx).map_err(|e| e.to_string())?;
        c.login(user, &d.password).map_err(|e| e.to_string())?;
        poll::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
            .map_err(|e| e.to_string())?;
        c.logout().map_err(|e| e.to_string())?;
    } else {
        let mut c =
            embedded_mail::pop3::Client::connect(t, &mut rx, &mut tx).map_err(|e| e.to_string())?;
        c.login(user, &d.password).map_err(|e| e.to_string())?;
        poll::pop3(&mut c, &mut store, &mut state, &policy, |_| {}).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn stored_pdfs(store: &Mem) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (_, blob) in store.messages() {
        let end = parts::message_end(blob).unwrap();
        assert_eq!(end.parts, 1);
        for p in parts::parts(blob) {
            let p = p.unwrap();
            assert_eq!(p.head.filename(), b"invoice.pdf");
            let mut b = vec![0; p.body.len() as usize];
            p.body.copy_to(&mut b).unwrap();
            out.push(b);
        }
    }
    out
}

fn run(user: &str, imap: bool) {
    fill(user);
    let msg = pdf_message();
    let want = reference_pdf(&msg);
    assert!(want.starts_with(b"%PDF"));
    let d = common::dovecot();
    // The PDF message is the larger one and comes second: cut the
    // connection once about half of it has arrived.
    let cut_at = TEXT_ONLY.len() + 600 + msg.len() / 2;
    let (mut pdfs, mut raw) = (Box::new(Mem::new()), Box::new(Mem::new()));
    let r = poll(user, imap, &mut pdfs, &mut raw, cut_at);
    assert!(r.is_err(), "the cut poll failed");
    assert!(
        pdfs.messages().next().is_none(),
        "nothing of the PDF message stored"
    );
    let on_server = d.inbox_messages(user);
    assert!(
        on_server.iter().any(|m| m.bytes_crlf == msg),
        "the PDF message is still on the server"
    );
    // The stores are reopened (what was begun is dropped), then a clean poll.
    pdfs.abort().unwrap();
    raw.abort().unwrap();
    poll(user, imap, &mut pdfs, &mut raw, usize::MAX).unwrap();
    assert_eq!(stored_pdfs(&pdfs), [want], "the PDF, byte for byte");
    let kept: Vec<&[u8]> = raw.messages().map(|(_, b)| b).collect();
    assert_eq!(kept, [TEXT_ONLY], "the text-only message kept raw, once");
    assert!(
        d.inbox_messages(user).is_empty(),
        "both messages deleted after their commit"
    );
}

#[test]
fn pop3_poll_stores_the_pdf_of_dovecot_mail() {
    run("p01", false);
}

#[test]
fn imap_poll_stores_the_pdf_of_dovecot_mail() {
    run("p02", true);
}
