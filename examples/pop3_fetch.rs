//! Downloads every message of a POP3 mailbox into a directory.
//!
//! ```text
//! POP3_PASSWORD=secret cargo run --example pop3_fetch --features std -- \
//!     --host 127.0.0.1 --port 110 --user alice --out mail/ [--delete]
//! ```
//!
//! It logs in with the strongest method the server offers (CRAM-MD5, APOP,
//! then USER/PASS), lists the messages with their unique ids, and streams
//! each one through a 1 KiB buffer into `OUT/<uidl>.eml`. With `--delete`
//! a message is marked for deletion only after its file was written and
//! synced, and the deletions take effect at QUIT.

use embedded_io_adapters::std::FromStd;
use embedded_mail::pop3::Client;
use embedded_mail::{Credentials, Mechanism};
use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;

struct Args {
    host: String,
    port: u16,
    user: String,
    out: PathBuf,
    delete: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".into(),
        port: 110,
        user: String::new(),
        out: PathBuf::from("mail"),
        delete: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => args.host = value()?,
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--user" => args.user = value()?,
            "--out" => args.out = value()?.into(),
            "--delete" => args.delete = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.user.is_empty() {
        return Err("--user is required".into());
    }
    Ok(args)
}

/// A file sink: `embedded_io::Write` over `std::fs::File`.
type FileSink = FromStd<File>;

fn run(args: &Args, password: &str) -> Result<(), String> {
    let tcp = TcpStream::connect((args.host.as_str(), args.port))
        .map_err(|e| format!("connect {}:{}: {e}", args.host, args.port))?;
    // Commands are single writes; don't let Nagle hold them back.
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 512]);
    let mut client = Client::connect(FromStd::new(tcp), &mut rx, &mut tx)
        .map_err(|e| format!("greeting: {e}"))?;
    let caps = client.capa().map_err(|e| format!("CAPA: {e}"))?;
    let creds = Credentials {
        user: &args.user,
        secret: password,
    };
    if caps.sasl.contains(Mechanism::CramMd5) {
        println!("login: AUTH CRAM-MD5");
        client.authenticate(Mechanism::CramMd5, creds)
    } else if client.session().apop_available() {
        println!("login: APOP");
        client.apop(&args.user, password)
    } else {
        println!("login: USER/PASS");
        client.login(&args.user, password)
    }
    .map_err(|e| format!("login: {e}"))?;

    let stat = client.stat().map_err(|e| format!("STAT: {e}"))?;
    println!("{} messages, {} bytes", stat.count, stat.size);
    if stat.count == 0 {
        client.quit().map_err(|e| format!("QUIT: {e}"))?;
        return Ok(());
    }
    // The UIDL listing streams in; the example keeps it in a Vec because a
    // host has the memory (firmware would check each id against its store).
    let mut ids: Vec<(u32, String)> = Vec::new();
    if caps.uidl {
        client
            .uidl(|msg, uid| ids.push((msg, String::from_utf8_lossy(uid).into_owned())))
            .map_err(|e| format!("UIDL: {e}"))?;
    } else {
        ids = (1..=stat.count).map(|m| (m, format!("msg-{m}"))).collect();
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut stored = Vec::new();
    for (msg, uid) in &ids {
        // Unique ids are printable ASCII but may hold '/'.
        let name: String = uid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = args.out.join(format!("{name}.eml"));
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut sink: FileSink = FromStd::new(file);
        let bytes = client
            .retr(*msg, &mut sink)
            .map_err(|e| format!("RETR {msg}: {e}"))?;
        // Durable before any deletion is even requested.
        let mut file = sink.into_inner();
        file.flush()
            .and_then(|_| file.sync_all())
            .map_err(|e| e.to_string())?;
        println!("stored message {msg} ({bytes} bytes) -> {}", path.display());
        stored.push(*msg);
    }
    if args.delete {
        client
            .delete_many(&stored)
            .map_err(|e| format!("DELE: {e}"))?;
        println!("marked {} messages for deletion", stored.len());
    }
    client.quit().map_err(|e| format!("QUIT: {e}"))?;
    if args.delete {
        println!("QUIT accepted: the server removed them");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pop3_fetch: {e}");
            eprintln!("usage: POP3_PASSWORD=... pop3_fetch --user NAME [--host H] [--port P] [--out DIR] [--delete]");
            return ExitCode::from(2);
        }
    };
    let Ok(password) = std::env::var("POP3_PASSWORD") else {
        eprintln!("pop3_fetch: set POP3_PASSWORD");
        return ExitCode::from(2);
    };
    match run(&args, &password) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3_fetch: {e}");
            ExitCode::FAILURE
        }
    }
}
