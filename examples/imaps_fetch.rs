//! Fetches one message over IMAP with TLS, verifying the server against a
//! pinned CA.
//!
//! ```text
//! IMAP_PASSWORD=secret cargo run --example imaps_fetch --features std,tls -- \
//!     --host localhost --port 993 --ca ca.der --user alice [--starttls] [--uid 1]
//! ```
//!
//! Implicit TLS (IMAPS, port 993) by default; `--starttls` upgrades a plain
//! connection (port 143) and fails if the server does not offer STARTTLS.
//! `--ca` is the CA certificate (DER) that must have signed the server's
//! certificate, whose names must include `--host`. The message (default:
//! UID 1 of INBOX) is written to stdout exactly as the server stores it.

use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{BodyRequest, Section};
use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
use std::io::Write as _;
use std::net::TcpStream;
use std::process::ExitCode;

mod common;
use common::OsRng;

fn run() -> Result<(), String> {
    let (mut host, mut port, mut ca, mut user) = ("localhost".to_string(), None, None, None);
    let (mut mode, mut uid) = (TlsMode::Implicit, 1u32);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => host = value()?,
            "--port" => port = Some(value()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--ca" => ca = Some(value()?),
            "--user" => user = Some(value()?),
            "--uid" => uid = value()?.parse().map_err(|e| format!("--uid: {e}"))?,
            "--starttls" => mode = TlsMode::StartTls,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    let ca_path = ca.ok_or("--ca FILE (DER) is required")?;
    let user = user.ok_or("--user is required")?;
    let password = std::env::var("IMAP_PASSWORD").map_err(|_| "set IMAP_PASSWORD")?;
    let ca = std::fs::read(&ca_path).map_err(|e| format!("{ca_path}: {e}"))?;
    let port = port.unwrap_or(if mode == TlsMode::Implicit { 993 } else { 143 });

    let tcp = TcpStream::connect((host.as_str(), port)).map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let rng = OsRng::open().map_err(|e| e.to_string())?;

    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut record_read = vec![0u8; tls::READ_BUFFER_LEN];
    let mut record_write = vec![0u8; tls::WRITE_BUFFER_LEN];
    let settings = TlsSettings::pinned_ca(&host, &ca);
    let mut client = tls::imap_connect(
        FromStd::new(tcp),
        tls::Connect {
            mode,
            settings: &settings,
            tls: TlsBuffers::new(&mut record_read, &mut record_write),
            rx: &mut rx,
            tx: &mut tx,
        },
        rng,
    )
    .map_err(|e| format!("TLS connect: {e}"))?;
    client
        .login(&user, &password)
        .map_err(|e| format!("login: {e}"))?;
    let inbox = client.examine("INBOX").map_err(|e| e.to_string())?;
    eprintln!("INBOX: {} messages", inbox.exists);
    let mut out = FromStd::new(std::io::stdout().lock());
    let n = client
        .fetch_body(uid, BodyRequest::peek(Section::Full), &mut out)
        .map_err(|e| format!("fetch: {e}"))?;
    eprintln!("UID {uid}: {n} bytes");
    let stream = client.logout().map_err(|e| e.to_string())?;
    let _ = stream.close();
    std::io::stdout().flush().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imaps_fetch: {e}");
            ExitCode::FAILURE
        }
    }
}
