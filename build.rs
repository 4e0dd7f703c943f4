//! Two jobs: the TLS verifier's time floor, and the blocking twins of the
//! async driver sources.
//!
//! The clients, the TLS helpers and the link are written once, as plain
//! async Rust (`src/**/driver.rs`, `src/link/core.rs`): rustfmt formats them,
//! rust-analyzer and clippy read them. The async flavour compiles that file
//! as is. The blocking flavour compiles a copy from which this script drops
//! the `async` keyword and every `.await` (outside comments, strings and
//! character literals) and in which the path segments `embedded_io_async`
//! and `asynch` become `embedded_io` and `blocking`; nothing else changes,
//! so both flavours make the same protocol decisions. The copies land in `OUT_DIR/blocking/` and are pulled
//! in with `include!`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Paths that differ between the flavours: the async source names the
/// async one, the twin the blocking one (`crate::link::asynch::Link` ->
/// `crate::link::blocking::Link`).
const RENAMES: &[(&str, &str)] = &[("embedded_io_async", "embedded_io"), ("asynch", "blocking")];

/// The async sources that get a blocking twin.
const SOURCES: &[&str] = &[
    "src/link/core.rs",
    "src/pop3/driver.rs",
    "src/imap/driver.rs",
    "src/tls/driver.rs",
];

fn main() {
    time_floor();
    blocking_twins();
}

/// Records when the crate was compiled: the TLS verifier's time floor
/// (`tls::BUILD_TIME_FLOOR`), used when the firmware has no clock.
fn time_floor() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EMBEDDED_MAIL_TIME_FLOOR");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let floor = from_env("EMBEDDED_MAIL_TIME_FLOOR")
        .or_else(|| from_env("SOURCE_DATE_EPOCH"))
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=EMBEDDED_MAIL_TIME_FLOOR={floor}");
}

/// Writes the blocking twin of each async driver source.
fn blocking_twins() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dir = Path::new(&out).join("blocking");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/blocking");
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
        let text = std::fs::read_to_string(source).unwrap_or_else(|e| panic!("read {source}: {e}"));
        let blocking = to_blocking(&text).unwrap_or_else(|e| panic!("{source}: {e}"));
        // src/pop3/driver.rs -> OUT_DIR/blocking/pop3_driver.rs
        let name = source.trim_start_matches("src/").replace('/', "_");
        std::fs::write(dir.join(name), blocking).expect("write the blocking twin");
    }
}

/// The text with `async` and `.await` removed from the code. Inner doc
/// comments (`//!`) become plain comments: `include!` takes items only.
pub(crate) fn to_blocking(src: &str) -> Result<String, String> {
    let bytes = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        let rest = &src[i..];
        let c = bytes[i];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            let comment = &rest[..end];
            match comment.strip_prefix("//!") {
                Some(text) => {
                    out.push_str("//");
                    out.push_str(text);
                }
                None => out.push_str(comment),
            }
            i += end;
        } else if rest.starts_with("/*") {
            let end = block_comment_len(rest).ok_or(format!("line {line}: unclosed comment"))?;
            line += rest[..end].matches('\n').count();
            out.push_str(&rest[..end]);
            i += end;
        } else if starts_string(rest) {
            let end = string_len(rest).ok_or(format!("line {line}: unclosed string"))?;
            line += rest[..end].matches('\n').count();
            out.push_str(&rest[..end]);
            i += end;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = char_literal_len(rest).unwrap_or(1);
            out.push_str(&rest[..end]);
            i += end;
        } else if c == b'.' && rest.starts_with(".await") && !is_ident(rest.as_bytes().get(6)) {
            i += ".await".len();
        } else if is_ident(Some(&c)) {
            let end = rest
                .bytes()
                .position(|b| !is_ident(Some(&b)))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            if let Some((_, twin)) = RENAMES.iter().find(|(from, _)| *from == word) {
                out.push_str(twin);
                i += end;
            } else if word == "async" {
                let after = rest[end..].trim_start();
                if !after.starts_with("fn ") {
                    return Err(format!(
                        "line {line}: `async` not before `fn` has no blocking twin"
                    ));
                }
                i += end + (rest[end..].len() - after.len());
            } else {
                out.push_str(word);
                i += end;
            }
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            if ch == '\n' {
                line += 1;
            }
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

/// True if `s` starts with a string literal: `"`, `b"`, `r"`, `r#"`,
/// `br"`, `br#"` (not an identifier such as `break` or `r#type`).
fn starts_string(s: &str) -> bool {
    let letters = if s.starts_with("br") {
        2
    } else if s.starts_with('b') || s.starts_with('r') {
        1
    } else {
        0
    };
    let raw = s[..letters].contains('r');
    let after = &s[letters..];
    let after = if raw {
        after.trim_start_matches('#')
    } else {
        after
    };
    after.starts_with('"')
}

fn is_ident(b: Option<&u8>) -> bool {
    matches!(b, Some(b) if b.is_ascii_alphanumeric() || *b == b'_')
}

/// Length of a (nested) block comment at the start of `s`.
fn block_comment_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("/*") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with("*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += s[i..].chars().next()?.len_utf8();
        }
    }
    None
}

/// Length of a string literal (plain, byte or raw) at the start of `s`.
fn string_len(s: &str) -> Option<usize> {
    let prefix = s.find(['"', '#'])?;
    let raw = s[..prefix].contains('r');
    if raw {
        let hashes = s[prefix..].bytes().take_while(|b| *b == b'#').count();
        let open = prefix + hashes;
        let close = format!("\"{}", "#".repeat(hashes));
        return Some(open + 1 + s[open + 1..].find(&close)? + close.len());
    }
    let mut i = prefix + 1;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Length of a character literal at the start of `s`, or `None` for a
/// lifetime.
fn char_literal_len(s: &str) -> Option<usize> {
    let body = &s[1..];
    if let Some(escaped) = body.strip_prefix('\\') {
        return Some(2 + escaped.find('\'')? + 1);
    }
    let ch = body.chars().next()?;
    let after = &body[ch.len_utf8()..];
    after.starts_with('\'').then(|| 1 + ch.len_utf8() + 1)
}
