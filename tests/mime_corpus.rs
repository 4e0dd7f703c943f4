//! The MIME walker against Python's `email` package (tests/mime/reference.py)
//! on the corpus in tests/mime/ (written by tests/mime/make_corpus.py):
//! every part's type, charset, disposition, file name and decoded body,
//! and the decoded Subject and From headers, must match byte for byte,
//! with the message fed whole, byte by byte, in pieces of several sizes
//! and split in two at every position; each message is also tried with
//! its line breaks switched (CRLF <-> LF). Then broken mail (defects and
//! the best effort), and the PartWriter sink, blocking and async.
#![cfg(feature = "mime")]

use embedded_mail::mime::{Defects, Disposition, Event, HeaderName, PartWriter, Walker};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "=".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The walker's view of a message, in reference.py's line format.
fn walk(pieces: &[&[u8]]) -> (Vec<String>, Defects) {
    let mut line = [0u8; 512];
    let mut w: Walker<'_, 6> = Walker::new(&mut line);
    let mut out = Vec::new();
    let mut body = Vec::new();
    let mut on = |e: Event<'_>| -> Result<(), ()> {
        match e {
            Event::Header(h) => {
                let name = match h.name {
                    HeaderName::Subject => "subject",
                    HeaderName::From => "from",
                };
                assert!(h.charset.is_none());
                out.push(format!("header {} {name} {}", h.depth, hex(h.value)));
            }
            Event::PartStart(p) | Event::PartEnd(p) => {
                let leaf = matches!(e, Event::PartEnd(_));
                assert!(!leaf || p.leaf);
                if leaf || !p.leaf {
                    // A container's start, or a leaf's end.
                    if !leaf {
                        assert!(body.is_empty());
                    }
                    let opt = |t: &[u8], f: &dyn Fn(&[u8]) -> String| {
                        if t.is_empty() {
                            "-".to_string()
                        } else {
                            f(t)
                        }
                    };
                    let utf8 = |t: &[u8]| String::from_utf8(t.to_vec()).unwrap();
                    out.push(format!(
                        "part {} {} {} {} {} {} {}",
                        p.depth,
                        utf8(p.media_type.as_bytes()),
                        opt(p.charset.as_bytes(), &utf8),
                        match p.disposition {
                            Disposition::None => "-",
                            Disposition::Inline => "inline",
                            Disposition::Attachment => "attachment",
                            Disposition::Other => "other",
                        },
                        opt(p.filename.as_bytes(), &hex),
                        u8::from(leaf),
                        if leaf { hex(&body) } else { "-".into() }
                    ));
                    body.clear();
                }
            }
            Event::Body(b) => {
                assert!(!b.is_empty(), "empty body piece");
                body.extend_from_slice(b)
            }
        }
        Ok(())
    };
    for p in pieces {
        w.feed(p, &mut on).unwrap();
    }
    let d = w.finish(&mut on).unwrap();
    (out, d)
}

fn swap_breaks(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "corpus missing: {files:?}");
    let mut out = Vec::new();
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        // The twin with the other line breaks.
        let twin = if data.windows(2).any(|w| w == b"\r\n") {
            swap_breaks(&data, b"\r\n", b"\n")
        } else {
            swap_breaks(&data, b"\n", b"\r\n")
        };
        out.push((name.clone(), data));
        out.push((format!("{name}.twin"), twin));
    }
    out
}

/// reference.py's lines for every message, by name.
fn reference(msgs: &[(String, Vec<u8>)]) -> HashMap<String, Vec<String>> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mime-corpus");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut paths = Vec::new();
    for (name, data) in msgs {
        let p = tmp.join(name);
        std::fs::write(&p, data).unwrap();
        paths.push(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime/reference.py");
    let out = Command::new("python3")
        .arg(script)
        .args(&paths)
        .output()
        .expect("python3 runs tests/mime/reference.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    let mut cur = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if let Some(path) = line.strip_prefix("== ") {
            cur = Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            map.insert(cur.clone(), Vec::new());
        } else {
            map.get_mut(&cur).unwrap().push(line.to_string());
        }
    }
    map
}

#[test]
fn corpus_matches_python_email_at_every_split() {
    let msgs = corpus();
    let want = reference(&msgs);
    for (name, data) in &msgs {
        let want = &want[name];
        assert!(want.iter().any(|l| l.starts_with("part ")), "{name}");
        let (got, defects) = walk(&[data]);
        assert_eq!(&got, want, "{name}: fed whole");
        assert!(defects.is_empty(), "{name}: {defects:?}");
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(&walk(&bytes).0, want, "{name}: byte by byte");
        for size in [2, 3, 5, 7, 64, 75, 76, 77, 512] {
            let pieces: Vec<&[u8]> = data.chunks(size).collect();
            assert_eq!(&walk(&pieces).0, want, "{name}: pieces of {size}");
        }
        if data.len() <= 4096 {
            for s in 0..=data.len() {
                let (a, b) = data.split_at(s);
                assert_eq!(&walk(&[a, b]).0, want, "{name}: split at {s}");
            }
        }
    }
}

#[test]
fn the_reference_sees_what_the_corpus_promises() {
    // Guards the corpus itself: the features the tests are meant to cover
    // are really in it.
    let msgs = corpus();
    let r = reference(&msgs);
    let all: Vec<&String> = r.values().flatten().collect();
    let has = |s: &str| all.iter().any(|l| l.contains(s));
    assert!(has(" application/pdf "));
    assert!(has(" image/png "));
    assert!(has(" message/rfc822 "));
    assert!(has(" multipart/alternative "));
    assert!(has(" multipart/digest "));
    // "€ logo été.png", from RFC 2231 continuations.
    assert!(has(&hex("€ logo été.png".as_bytes())));
    // "résumé.bin", from an RFC 2047 word in a file name.
    assert!(has(&hex("résumé.bin".as_bytes())));
    // The 2047 subject.
    assert!(has(&hex("Résumé: café  and more".as_bytes())));
}

fn defects_of(msg: &str) -> (Vec<String>, Defects) {
    walk(&[msg.as_bytes()])
}

#[test]
fn missing_final_boundary_delivers_the_last_part() {
    let (parts, d) = defects_of(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n",
    );
    assert_eq!(d, Defects::MISSING_FINAL_BOUNDARY);
    assert_eq!(parts.len(), 3);
    assert!(parts[1].ends_with(&hex(b"first")));
    assert!(parts[2].ends_with(&hex(b"hello")));
}

#[test]
fn wrong_boundary_is_reported_not_looped_on() {
    let (parts, d) =
        defects_of("Content-Type: multipart/mixed; boundary=wrong\n\n--right\n\nbody\n--right--\n");
    assert_eq!(d, Defects::BOUNDARY_NOT_FOUND);
    assert_eq!(parts, ["part 0 multipart/mixed - - - 0 -"]);
}

#[test]
fn an_outer_boundary_closes_an_inner_multipart() {
    let (parts, d) = defects_of(
        "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\ninner\n--o\n\nouter\n--o--\n",
    );
    assert_eq!(d, Defects::MISSING_FINAL_BOUNDARY);
    assert!(parts[2].ends_with(&hex(b"inner")), "{parts:?}");
    assert_eq!(
        parts[3],
        format!("part 1 text/plain - - - 1 {}", hex(b"outer"))
    );
}

#[test]
fn broken_base64_is_skipped_and_flagged() {
    let (parts, d) = defects_of("Content-Transfer-Encoding: base64\n\naGVs!bG8g*d29y\nbGQ=\nQ");
    assert_eq!(d, Defects::BAD_BASE64);
    assert!(parts[0].ends_with(&hex(b"hello world")), "{parts:?}");
}

#[test]
fn broken_quoted_printable_passes_literally() {
    let (parts, d) = defects_of("Content-Transfer-Encoding: quoted-printable\n\na=ZZb=4");
    assert_eq!(d, Defects::BAD_QUOTED_PRINTABLE);
    assert!(parts[0].ends_with(&hex(b"a=ZZb=4")));
}

#[test]
fn depth_cap_delivers_the_deep_part_raw() {
    let mut msg = String::new();
    for i in 0..8 {
        msg += &format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n");
    }
    msg += "\ndeep\n";
    let (parts, d) = defects_of(&msg);
    assert!(d.contains(Defects::TOO_DEEP), "{d:?}");
    assert!(d.contains(Defects::MISSING_FINAL_BOUNDARY));
    // Six multiparts, then the seventh as a raw leaf.
    assert_eq!(parts.len(), 7, "{parts:?}");
    assert!(parts[6].starts_with("part 6 multipart/mixed - - - 1 "));
}

#[test]
fn long_header_is_cut_and_flagged() {
    let long = "x".repeat(2000);
    let (parts, d) = defects_of(&format!(
        "Content-Type: text/plain; charset=utf-8; junk=\"{long}\"\n\nbody"
    ));
    assert_eq!(d, Defects::HEADER_TOO_LONG);
    assert_eq!(
        parts.last().unwrap(),
        &format!("part 0 text/plain utf-8 - - 1 {}", hex(b"body"))
    );
}

#[test]
fn overlong_boundary_is_refused() {
    let b = "b".repeat(71);
    let (parts, d) = defects_of(&format!(
        "Content-Type: multipart/mixed; boundary={b}\n\n--{b}\n\nx\n--{b}--\n"
    ));
    assert_eq!(d, Defects::BAD_BOUNDARY);
    assert!(parts[0].starts_with("part 0 multipart/mixed - - - 1 "));
}

#[test]
fn garbage_never_panics_or_hangs() {
    // A cheap stand-in for the fuzz target: pseudo-random messages built
    // from MIME-ish fragments, fed in random pieces.
    let frags: &[&[u8]] = &[
        b"--b\r\n",
        b"--b--\n",
        b"\n",
        b"\r\n",
        b"Content-Type: multipart/mixed; boundary=b\n",
        b"Content-Type: message/rfc822\n",
        b"Content-Transfer-Encoding: base64\n",
        b"Content-Transfer-Encoding: quoted-printable\n",
        b"=?utf-8?q?a?=",
        b"=",
        b"=4",
        b"=\r",
        b"Zm9v",
        b" ",
        b"\t",
        b"-",
        b"--",
        b"filename*0*=utf-8''%",
        b"Subject: =?x?b?",
        b"\r",
    ];
    let mut seed = 0x2545_f491u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for _ in 0..3000 {
        let mut msg = Vec::new();
        for _ in 0..next() % 40 {
            msg.extend_from_slice(frags[next() as usize % frags.len()]);
        }
        let whole = walk(&[&msg]);
        let mut pieces = Vec::new();
        let mut rest = &msg[..];
        while !rest.is_empty() {
            let n = (next() as usize % 9 + 1).min(rest.len());
            pieces.push(&rest[..n]);
            rest = &rest[n..];
        }
        assert_eq!(walk(&pieces), whole, "{:?}", String::from_utf8_lossy(&msg));
    }
}

/// A growing sink, blocking and async.
struct VecSink<'a>(&'a mut Vec<u8>);
impl embedded_io::ErrorType for VecSink<'_> {
    type Error = std::convert::Infallible;
}
impl embedded_io::Write for VecSink<'_> {
    fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io_async::Write for VecSink<'_> {
    async fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn mixed_pdf_png() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mime/mixed_pdf_png.eml"))
        .unwrap()
}

#[test]
fn part_writer_stores_the_first_pdf_and_the_text() {
    use embedded_io::Write;
    let msg = mixed_pdf_png();
    let mut line = [0u8; 256];
    let mut out = Vec::new();
    let mut w: PartWriter<'_, _, _> =
        PartWriter::first(&mut line, VecSink(&mut out), |p| p.is("application/pdf"));
    for piece in msg.chunks(100) {
        assert_eq!(w.write(piece).unwrap(), piece.len());
    }
    let (_, s) = w.finish().unwrap();
    assert_eq!(s.parts, 1);
    assert_eq!(s.bytes, out.len() as u64);
    assert!(
        out.starts_with(b"%PDF-1.4\n") && out.ends_with(b"%%EOF\n"),
        "{:?}",
        &out[..20]
    );

    let mut line = [0u8; 256];
    let mut text = Vec::new();
    let mut w: PartWriter<'_, _, _> =
        PartWriter::new(&mut line, VecSink(&mut text), |p| p.main_type() == b"text");
    w.write_all(&msg).unwrap();
    let (_, s) = w.finish().unwrap();
    assert_eq!(s.parts, 1);
    assert!(text.starts_with(b"Please print the attached invoice.\r\n-- \r\n"));
    assert!(text.ends_with(b"is not a boundary either.\r\n"));
}

#[test]
fn part_writer_reports_a_full_sink() {
    use embedded_io::Write;
    let msg = mixed_pdf_png();
    let mut line = [0u8; 256];
    let mut small = [0u8; 100];
    let mut w: PartWriter<'_, _, _> =
        PartWriter::new(&mut line, &mut small[..], |p| p.is("image/png"));
    let err = w.write_all(&msg).unwrap_err();
    assert_eq!(
        embedded_io::Error::kind(&err),
        embedded_io::ErrorKind::WriteZero
    );
}

#[test]
fn async_part_writer_matches_the_blocking_one() {
    use embedded_io_async::Write as _;
    let msg = mixed_pdf_png();
    let png = |pieces: usize| {
        let mut line = [0u8; 256];
        let mut out = Vec::new();
        let mut w: PartWriter<'_, _, _> =
            PartWriter::new(&mut line, VecSink(&mut out), |p| p.is("image/png"));
        embedded_mail::store::block_on(async {
            for piece in msg.chunks(pieces) {
                w.write_all(piece).await.unwrap();
            }
            let (_, s) = w.finish_async().await.unwrap();
            assert_eq!(s.parts, 1);
        });
        out
    };
    let a = png(1);
    assert!(a.starts_with(b"\x89PNG\r\n\x1a\n") && a.ends_with(b"IEND\xae\x42\x60\x82"));
    assert_eq!(png(1000), a);
    assert_eq!(png(33), a);
}
