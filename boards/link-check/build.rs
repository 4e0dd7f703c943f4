//! Puts the `memory.x` of the target's family where the linker finds it
//! (`-Tlink.x` of cortex-m-rt / riscv-rt includes it). Host builds (the
//! transcript test) need none. Also copies the recorded TLS handshakes of
//! `EM_REPLAY_DIR` (src/tls_replay.rs) into OUT_DIR/replay, or writes
//! empty files when it is unset. With feature `instr-count` or `mime`,
//! writes the canned message of src/instr.rs and its server answers
//! (OUT_DIR/instr/*, see [`instr_messages`]).

use std::{env, fs, path::PathBuf};

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-env-changed=EM_REPLAY_DIR");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let replay = out.join("replay");
    fs::create_dir_all(&replay).expect("create OUT_DIR/replay");
    let from = env::var_os("EM_REPLAY_DIR").map(PathBuf::from);
    for f in [
        "ec.bin",
        "ec-ca.der",
        "ec-leaf.der",
        "rsa.bin",
        "rsa-ca.der",
        "rsa-leaf.der",
        "rsa-int.der",
    ] {
        let bytes = match &from {
            Some(dir) => {
                println!("cargo:rerun-if-changed={}", dir.join(f).display());
                fs::read(dir.join(f)).unwrap_or_else(|e| panic!("EM_REPLAY_DIR: {f}: {e}"))
            }
            None => Vec::new(),
        };
        fs::write(replay.join(f), bytes).expect("write OUT_DIR/replay");
    }
    if env::var_os("CARGO_FEATURE_INSTR_COUNT").is_some()
        || env::var_os("CARGO_FEATURE_MIME").is_some()
    {
        instr_messages(&out);
    }
    if os != "none" {
        return;
    }
    let file = match arch.as_str() {
        "riscv32" if env::var_os("CARGO_FEATURE_INSTR_COUNT").is_some() => {
            "memory/qemu-virt-riscv.x"
        }
        "arm" if env::var_os("CARGO_FEATURE_STACK_PAINT").is_some() => "memory/qemu-mps2-an386.x",
        "arm" => "memory/cortex-m.x",
        "riscv32" => "memory/riscv.x",
        other => panic!("link-check: no memory.x for target_arch {other}"),
    };
    fs::copy(file, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
}

/// Bytes of the PDF-like attachment of the instruction-count message.
const ATTACHMENT_LEN: usize = 24 * 1024;

/// The message src/instr.rs measures (feature `instr-count`): a
/// multipart/mixed with a short text part (some lines start with a dot,
/// so POP3 stuffs them) and a 24 KiB base64 `application/pdf`
/// attachment in 76-column lines, CRLF line ends. Writes
/// OUT_DIR/instr/{message.eml, attachment.bin, pop3-retr.bin,
/// imap-fetch.bin}: the message, the attachment's decoded bytes, and the
/// server's answers to `RETR 1` (dot-stuffed, with the terminator) and
/// to `UID FETCH 1 BODY.PEEK[]` (the message as a literal, with the
/// tagged OK). Every byte is a function of this file.
fn instr_messages(out: &std::path::Path) {
    let dir = out.join("instr");
    fs::create_dir_all(&dir).expect("create OUT_DIR/instr");
    // xorshift32: pseudo-random attachment bytes, the same on every run.
    let mut x: u32 = 0x2545_f491;
    let mut att: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    while att.len() < ATTACHMENT_LEN {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        att.push(x as u8);
    }
    let b64 = base64(&att);
    let mut m = String::new();
    for h in [
        "From: Sensor Gateway <gateway@example.org>",
        "To: Device 17 <device-17@example.org>",
        "Subject: =?UTF-8?Q?Messbericht_f=C3=BCr_Ger=C3=A4t_17?=",
        "Date: Tue, 01 Dec 2026 07:00:00 +0000",
        "Message-ID: <instr-count@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"=_instr_boundary_0\"",
        "",
        "This is a multi-part message in MIME format.",
        "",
        "--=_instr_boundary_0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
    ] {
        m.push_str(h);
        m.push_str("\r\n");
    }
    for i in 0..40 {
        // Every eighth line starts with a dot (stuffed by POP3).
        let lead = if i % 8 == 3 { "." } else { "" };
        m.push_str(&format!(
            "{lead}Line {i:02} of the report: readings nominal, battery 3.{}V, link ok.\r\n",
            i % 10
        ));
    }
    for h in [
        "",
        "--=_instr_boundary_0",
        "Content-Type: application/pdf; name=\"report.pdf\"",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment; filename=\"report.pdf\"",
        "",
    ] {
        m.push_str(h);
        m.push_str("\r\n");
    }
    for line in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        m.push_str("\r\n");
    }
    m.push_str("--=_instr_boundary_0--\r\n");
    let msg = m.into_bytes();
    let mut pop3 = format!("+OK {} octets\r\n", msg.len()).into_bytes();
    for line in msg.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            pop3.push(b'.');
        }
        pop3.extend_from_slice(line);
    }
    pop3.extend_from_slice(b".\r\n");
    let mut imap = format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", msg.len()).into_bytes();
    imap.extend_from_slice(&msg);
    imap.extend_from_slice(b")\r\nA0003 OK Fetch completed\r\n");
    fs::write(dir.join("message.eml"), &msg).expect("write message.eml");
    fs::write(dir.join("attachment.bin"), &att).expect("write attachment.bin");
    fs::write(dir.join("pop3-retr.bin"), &pop3).expect("write pop3-retr.bin");
    fs::write(dir.join("imap-fetch.bin"), &imap).expect("write imap-fetch.bin");
}

/// Standard base64 with padding (RFC 4648).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                s.push(A[(n >> shift) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}
