//! Polls a mailbox into a local store, once: new messages are stored,
//! committed, and only then (by policy) deleted on the server.
//!
//! ```text
//! cargo run --example mailpoll --features std,flash -- --help
//! MAILPOLL_PASSWORD=secret cargo run --example mailpoll --features std,flash -- \
//!     pop3://user@host:110 --store DIR [--keep | --delete | --older-than DAYS] [--max-size BYTES]
//! MAILPOLL_PASSWORD=secret cargo run --example mailpoll --features std,flash -- \
//!     imap://user@host:143/INBOX --flash FILE [...]
//! ```
//!
//! `pop3s://` and `imaps://` (implicit TLS), or `--starttls` on `pop3://` /
//! `imap://`, need the example built with `tls` and `--ca FILE`, the CA
//! that signed the server's certificate (PEM or DER); the certificate must
//! name the URL's host (a DNS name, or an IP address as an `IP Address`
//! subjectAltName).
//!
//! `--timeout SECS` (default 30) bounds connecting and every read and
//! write: a server that stops answering (or a wrong port that never
//! greets) ends the poll with a message saying which step waited and what
//! to try, never a hang. IPv6 hosts go in brackets:
//! `imap://user@[::1]:10143/INBOX`.
//!
//! The password comes from `MAILPOLL_PASSWORD`, or is asked for without
//! echo when standard input is a terminal. Exit codes: 0 done, 1 the poll
//! failed, 2 usage (or no password), 3 login refused, 4 timeout (see
//! `--help`). Messages of 256 KiB and more show a progress line while
//! they download (updated in place on a terminal, every 10% otherwise).
//!
//! `--store DIR` is a Maildir (`DIR/new/<key>.*`); `--flash FILE` is a
//! 1 MiB file used as NOR flash (4 KiB pages) through the flash store.
//! Run it twice: the second poll stores nothing.
//!
//! `--watch` (plain `imap://`): after the poll, wait for new mail in IMAP
//! IDLE and store each message the moment it arrives (renewing IDLE every
//! 25 minutes, checking a link silent for 4 minutes, reconnecting after
//! a failure), until Ctrl-C, or `--watch-polls N` polls.
//!
//! `--extract TYPE` (with `--store DIR`, feature `mime`): after the poll,
//! the parts of type TYPE (`application/pdf`, `text/plain`, or `image/*`)
//! of every message in the Maildir are decoded into `DIR.extract/`, one
//! file per part, named `<message file>.<part>.<file name>`.

use embedded_io_adapters::std::FromStd;
use embedded_mail::poll::{self, AfterStore, Oversize, Policy, Progress, Summary, SyncState};
use embedded_mail::store::maildir::MaildirStore;
use embedded_mail::store::MessageStore;
use std::net::TcpStream;

mod common;
use std::process::ExitCode;

struct Args {
    scheme: String,
    user: String,
    host: String,
    port: u16,
    mailbox: String,
    store: Option<String>,
    flash: Option<String>,
    delete: bool,
    older_than_days: Option<u32>,
    max_size: Option<u64>,
    ca: Option<String>,
    starttls: bool,
    extract: Option<String>,
    timeout: std::time::Duration,
    watch: bool,
    watch_polls: Option<u32>,
}

fn parse_url(url: &str) -> Result<(String, String, String, u16, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("URL must look like pop3://user@host:port")?;
    let (userhost, mailbox) = rest.split_once('/').unwrap_or((rest, "INBOX"));
    let (user, hostport) = userhost.rsplit_once('@').ok_or("URL needs user@host")?;
    let default_port = match scheme {
        "pop3" => 110,
        "pop3s" => 995,
        "imap" => 143,
        "imaps" => 993,
        s => {
            return Err(format!(
                "unknown scheme {s}: use pop3, pop3s, imap or imaps"
            ))
        }
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        // An IPv6 literal: [addr] or [addr]:port (RFC 3986 §3.2.2).
        let (h, rest) = v6
            .split_once(']')
            .ok_or("an IPv6 host needs its closing bracket: [::1]:143")?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().map_err(|e| format!("port: {e}"))?,
            None if rest.is_empty() => default_port,
            None => return Err(format!("unexpected {rest:?} after [{h}]")),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|e| format!("port: {e}"))?),
            None => (hostport, default_port),
        }
    };
    let mailbox = if mailbox.is_empty() { "INBOX" } else { mailbox };
    Ok((
        scheme.into(),
        user.into(),
        host.into(),
        port,
        mailbox.into(),
    ))
}

/// Exit codes (also in `--help` and the README).
const EXIT_HELP: &str = "\
Password: from the environment variable MAILPOLL_PASSWORD, or else asked for
without echo when standard input is a terminal.

Exit codes:
  0  the poll completed (messages stored, committed, then deleted by policy)
  1  the poll failed: connection, TLS, protocol or store error (nothing not
     stored was deleted)
  2  usage: bad arguments, or no password (MAILPOLL_PASSWORD unset and no
     terminal to ask on)
  3  the server refused the login (user name or password)
  4  timeout: the server did not answer within --timeout (wrong port or TLS
     mode, or a dead link)";

/// Polls a POP3 or IMAP mailbox into a local store, once: new messages are
/// stored, committed, and only then (by policy) deleted on the server.
#[derive(clap::Parser, Debug)]
#[command(name = "mailpoll", version, after_help = EXIT_HELP)]
struct Cli {
    /// pop3://user@host[:port], pop3s://..., imap://user@host[:port][/MAILBOX]
    /// or imaps://... (IPv6 hosts in brackets: imap://u@[::1]:143/INBOX)
    url: String,
    /// A Maildir to store into (DIR/new/<key>.*)
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "flash",
        conflicts_with = "flash"
    )]
    store: Option<String>,
    /// A 1 MiB file used as NOR flash (4 KiB pages) through the flash store
    #[arg(long, value_name = "FILE")]
    flash: Option<String>,
    /// Leave messages on the server (the default)
    #[arg(long, conflicts_with = "delete")]
    keep: bool,
    /// Delete each message on the server once it is stored
    #[arg(long)]
    delete: bool,
    /// Delete stored messages on the server once they are DAYS old
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u32>,
    /// Skip messages larger than BYTES (they stay on the server)
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// The CA certificate that signed the server's (PEM or DER), for TLS
    #[arg(long, value_name = "FILE")]
    ca: Option<String>,
    /// Upgrade a plain connection with STARTTLS / STLS
    #[arg(long)]
    starttls: bool,
    /// After the poll, decode parts of TYPE (application/pdf, text/plain,
    /// image/*) of every stored message into DIR.extract/ (needs --store)
    #[arg(long, value_name = "TYPE", requires = "store")]
    extract: Option<String>,
    /// Bound on connecting and on every read and write, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Plain imap:// only: after the poll, wait in IDLE and store new mail as
    /// it arrives (until Ctrl-C)
    #[arg(long)]
    watch: bool,
    /// With --watch (implied): stop after N polls
    #[arg(long, value_name = "N")]
    watch_polls: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    use clap::Parser;
    let cli = Cli::parse();
    let (scheme, user, host, port, mailbox) = parse_url(&cli.url)?;
    let a = Args {
        scheme,
        user,
        host,
        port,
        mailbox,
        store: cli.store,
        flash: cli.flash,
        delete: cli.delete,
        older_than_days: cli.older_than,
        max_size: cli.max_size,
        ca: cli.ca,
        starttls: cli.starttls,
        extract: cli.extract,
        timeout: std::time::Duration::from_secs(cli.timeout),
        watch: cli.watch || cli.watch_polls.is_some(),
        watch_polls: cli.watch_polls,
    };
    if a.watch && (a.scheme != "imap" || a.starttls) {
        return Err("--watch is for plain imap:// in this example".into());
    }
    Ok(a)
}

/// The password: `MAILPOLL_PASSWORD`, or a prompt without echo when
/// standard input is a terminal.
fn password(a: &Args) -> Result<String, String> {
    use std::io::IsTerminal;
    if let Ok(p) = std::env::var("MAILPOLL_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "no password: set MAILPOLL_PASSWORD (standard input is not a terminal to ask on)"
                .into(),
        );
    }
    rpassword::prompt_password(format!("password for {}@{}: ", a.user, a.host))
        .map_err(|e| format!("reading the password: {e}"))
}

/// Messages at least this large get a progress line while they download.
const PROGRESS_FROM: u64 = 256 * 1024;

fn progress(p: Progress) {
    use std::cell::Cell;
    use std::io::{IsTerminal, Write};
    thread_local! {
        /// The percentage shown last for the message downloading now.
        static SHOWN: Cell<Option<(u32, u64)>> = const { Cell::new(None) };
    }
    let tty = std::io::stdout().is_terminal();
    // Ends a progress line left open on a terminal.
    let close = || {
        if tty && SHOWN.with(|s| s.take()).is_some() {
            println!();
        }
    };
    match p {
        Progress::Receiving { id, received, size } if size >= PROGRESS_FROM => {
            let pct = (received.min(size) * 100 / size.max(1)).min(100);
            let step = if tty { 1 } else { 10 };
            let last = SHOWN.with(|s| s.get()).filter(|&(i, _)| i == id);
            if last.is_none_or(|(_, p)| pct >= p + step) {
                SHOWN.with(|s| s.set(Some((id, pct))));
                let line = format!(
                    "  #{id}: {pct:3}% ({} of {} KiB)",
                    received / 1024,
                    size / 1024
                );
                if tty {
                    print!("\r{line}");
                    let _ = std::io::stdout().flush();
                } else {
                    println!("{line}");
                }
            }
        }
        Progress::Receiving { .. } => {}
        _ => close(),
    }
    match p {
        Progress::Receiving { .. } => {}
        Progress::Stored {
            id,
            bytes,
            headers_only,
        } => {
            println!(
                "  #{id}: stored {bytes} bytes{}",
                if headers_only { " (headers only)" } else { "" }
            )
        }
        Progress::Skipped { id, size } => println!("  #{id}: skipped ({size} bytes)"),
        Progress::Deleted { id } => println!("  #{id}: deleted on the server"),
    }
}

const SEEN: usize = 64;

fn poll_with<S: MessageStore>(
    a: &Args,
    password: &str,
    policy: &Policy<'_>,
    store: &mut S,
) -> Result<Summary, Failure>
where
    S::Error: std::fmt::Debug,
{
    let tcp = connect(a)?;
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut state: SyncState<SEEN> = SyncState::new();
    if a.watch {
        return watch_imap(a, password, policy, store);
    }
    let tls = a.scheme.ends_with('s') || a.starttls;
    if tls {
        return poll_tls(a, password, policy, store, tcp, &mut state);
    }
    if a.scheme == "pop3" {
        let mut c = embedded_mail::pop3::Client::connect(FromStd::new(tcp), &mut rx, &mut tx)
            .map_err(|e| explain(a, Step::Greeting, &e))?;
        // CAPA, UTF8 where offered (RFC 6856: before login, so 8-bit
        // messages arrive as stored rather than wrapped in a "cannot
        // display" notice), then USER/PASS.
        poll::pop3_login(&mut c, &a.user, password, policy)
            .map_err(|e| explain(a, Step::Login, &e).said(c.last_refusal()))?;
        let summary = poll::pop3(&mut c, store, &mut state, policy, progress)
            .map_err(|e| poll_failed(a, e).said(c.last_refusal()))?;
        Ok(summary)
    } else {
        let mut c = embedded_mail::imap::Client::connect(FromStd::new(tcp), &mut rx, &mut tx)
            .map_err(|e| explain(a, Step::Greeting, &e))?;
        c.login(&a.user, password)
            .map_err(|e| explain(a, Step::Login, &e).said(c.last_refusal()))?;
        let summary = poll::imap(&mut c, &a.mailbox, store, &mut state, policy, progress)
            .map_err(|e| poll_failed(a, e).said(c.last_refusal()))?;
        c.logout()
            .map_err(|e| explain(a, Step::Other("LOGOUT"), &e))?;
        Ok(summary)
    }
}

/// Resolves the host and connects within `--timeout`, trying each
/// address; sets the read and write timeouts on the socket.
fn connect(a: &Args) -> Result<TcpStream, Failure> {
    use std::net::ToSocketAddrs;
    let addrs = (a.host.as_str(), a.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {}: {e} (check the host name)", a.host))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, a.timeout) {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                tcp.set_read_timeout(Some(a.timeout))
                    .map_err(|e| e.to_string())?;
                tcp.set_write_timeout(Some(a.timeout))
                    .map_err(|e| e.to_string())?;
                return Ok(tcp);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) if e.kind() == std::io::ErrorKind::TimedOut => Failure {
            code: EXIT_TIMEOUT,
            msg: format!(
                "connect {addr}: no answer within {} s (a firewall? the right host and port?)",
                a.timeout.as_secs()
            ),
        },
        Some((addr, e)) => {
            format!("connect {addr}: {e} (is the server running on that port?)").into()
        }
        None => format!("resolve {}: no address", a.host).into(),
    })
}

/// The step a failure happened in, for [`explain`].
#[derive(Clone, Copy)]
enum Step {
    Greeting,
    TlsHandshake,
    Login,
    Other(&'static str),
}

/// The library's error as a message a user can act on: which step, what
/// went wrong, what to try.
fn explain<E: std::fmt::Debug>(a: &Args, step: Step, e: &embedded_mail::Error<E>) -> Failure {
    use embedded_mail::Error;
    let secs = a.timeout.as_secs();
    let imap = a.scheme.starts_with("imap");
    let (plain, tls) = if imap {
        ("imap://", "imaps://")
    } else {
        ("pop3://", "pop3s://")
    };
    let timed_out = matches!(e, Error::Transport(t) if {
        let d = format!("{t:?}");
        d.contains("TimedOut") || d.contains("WouldBlock")
    });
    let what = match step {
        Step::Greeting => "greeting",
        Step::TlsHandshake => "TLS handshake",
        Step::Login => "login",
        Step::Other(s) => s,
    };
    let hint = match (step, e) {
        (Step::Greeting, _) if timed_out => format!(
            ": the server sent no greeting within {secs} s: is this a TLS port? try {tls} (or a higher --timeout)"
        ),
        (Step::TlsHandshake, _) if timed_out => format!(
            ": no TLS answer within {secs} s: is this the right port for {}?",
            if a.starttls { "--starttls" } else { tls }
        ),
        (Step::TlsHandshake, Error::Transport(_) | Error::Malformed { .. }) => format!(
            ": is this a plain-text port? try {plain} (with --starttls), or the TLS port"
        ),
        (_, Error::Certificate(c)) => {
            use embedded_mail::CertificateCheck as C;
            match c.check() {
                C::Chain => format!(
                    " (is --ca {} the CA that signed the server's certificate, or its root?)",
                    a.ca.as_deref().unwrap_or("FILE")
                ),
                C::Name => format!(
                    " (the URL's host is {}: use a name or IP address the certificate's subjectAltName lists)",
                    a.host
                ),
                C::Time => " (check this machine's clock, and the certificate's dates)".into(),
                C::Algorithm => {
                    " (build with --features tls-rsa,tls-p384 for RSA and P-384 keys)".into()
                }
                _ => String::new(),
            }
        }
        (Step::Login, Error::Refused(_)) => {
            ": check the user name and MAILPOLL_PASSWORD (some providers want an app password)".into()
        }
        (_, _) if timed_out => format!(": the server stopped answering for {secs} s (try again, or a higher --timeout)"),
        (_, Error::ConnectionClosed) => ": the server hung up (try again later)".into(),
        (_, Error::BufferTooSmall { .. }) => {
            ": the server sent a line longer than this client accepts".into()
        }
        _ => String::new(),
    };
    let code = match (step, e) {
        _ if timed_out => EXIT_TIMEOUT,
        (Step::Login, Error::Refused(_)) => EXIT_LOGIN,
        _ => EXIT_FAILED,
    };
    Failure {
        code,
        msg: format!("{what}: {e}{hint}"),
    }
}

/// A failed poll as a message (and exit code) a user can act on.
fn poll_failed(a: &Args, e: impl std::fmt::Display) -> Failure {
    let e = e.to_string();
    if e.contains("TimedOut") || e.contains("WouldBlock") {
        Failure {
            code: EXIT_TIMEOUT,
            msg: format!(
                "poll: {e} (the server stopped answering for {} s: try again, or a higher --timeout)",
                a.timeout.as_secs()
            ),
        }
    } else {
        format!("poll: {e}").into()
    }
}

/// Exit status 1: the poll failed.
const EXIT_FAILED: u8 = 1;
/// Exit status 2: usage (clap's own code for bad arguments too).
const EXIT_USAGE: u8 = 2;
/// Exit status 3: the server refused the login.
const EXIT_LOGIN: u8 = 3;
/// Exit status 4: the server did not answer within `--timeout`.
const EXIT_TIMEOUT: u8 = 4;

/// Why mailpoll stops: the message and the exit status.
struct Failure {
    code: u8,
    msg: String,
}

impl Failure {
    /// Adds the server's own words when the failure was its refusal (the
    /// error carries only the kind and code; the client keeps the text).
    fn said(mut self, refusal: &embedded_mail::RefusalText) -> Self {
        if self.msg.contains("server refused") && !refusal.text().is_empty() {
            self.msg += &format!(" - the server said: {refusal}");
        }
        self
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Self {
        Failure {
            code: EXIT_FAILED,
            msg,
        }
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Self {
        msg.to_string().into()
    }
}

/// The CA certificate of `--ca`, as DER: the first `CERTIFICATE` block of
/// a PEM file, or a DER file as it is.
#[cfg(feature = "tls")]
fn read_ca(path: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.first() == Some(&0x30) {
        return Ok(bytes); // DER: a SEQUENCE
    }
    let text = String::from_utf8_lossy(&bytes);
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else {
        return Err(format!(
            "{path}: neither a PEM certificate (-----BEGIN CERTIFICATE-----) nor DER: give the CA's certificate"
        ));
    };
    let body = &text[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = body
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| format!("{path}: PEM certificate without its END line"))?;
    let b64: Vec<u8> = body[..end]
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let mut der = vec![0u8; b64.len() / 4 * 3 + 3];
    let n = embedded_mail::sasl::base64::decode(&b64, &mut der)
        .map_err(|e| format!("{path}: bad base64 in the PEM certificate: {e:?}"))?;
    der.truncate(n);
    Ok(der)
}

/// `--watch`: the firmware pattern on the host. Poll, wait in IDLE, poll
/// on news; on any error (a cut, a dead link) reconnect after 5 s. The
/// sync state lives in the store, so a reconnect loses and repeats
/// nothing.
fn watch_imap<S: MessageStore>(
    a: &Args,
    password: &str,
    policy: &Policy<'_>,
    store: &mut S,
) -> Result<Summary, Failure>
where
    S::Error: std::fmt::Debug,
{
    use embedded_mail::poll::watch::{self, Next, StdClock, Timeouts, WatchPolicy};
    let settings = WatchPolicy::default();
    let mut clock = StdClock::new();
    let mut total = Summary::default();
    let mut polls = 0u32;
    loop {
        let attempt = (|| -> Result<(), String> {
            let tcp = TcpStream::connect((a.host.as_str(), a.port))
                .map_err(|e| format!("connect {}:{}: {e}", a.host, a.port))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            // The blocking watch's tick: renewal and liveness are checked
            // at each read timeout.
            tcp.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .map_err(|e| e.to_string())?;
            let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
            let mut state: SyncState<SEEN> = SyncState::new();
            let mut c = embedded_mail::imap::Client::connect(Timeouts(tcp), &mut rx, &mut tx)
                .map_err(|e| e.to_string())?;
            c.login(&a.user, password).map_err(|e| e.to_string())?;
            let watch_settings = WatchPolicy {
                max_polls: a.watch_polls.map(|n| n.saturating_sub(polls)),
                ..settings
            };
            watch::imap(
                &mut c,
                &a.mailbox,
                store,
                &mut state,
                policy,
                &watch_settings,
                &mut clock,
                progress,
                |s| {
                    polls += 1;
                    total.new += s.new;
                    total.stored += s.stored;
                    total.skipped += s.skipped;
                    total.deleted += s.deleted;
                    total.bytes += s.bytes;
                    if s.new > 0 {
                        println!("poll {polls}: stored {} new, waiting in IDLE", s.stored);
                    }
                    Next::Continue
                },
            )
            .map_err(|e| e.to_string())?;
            c.logout().map_err(|e| e.to_string())?;
            Ok(())
        })();
        match attempt {
            Ok(()) => return Ok(total),
            Err(e) if a.watch_polls.is_some_and(|n| polls >= n) => return Err(e.into()),
            Err(e) => {
                eprintln!("mailpoll: {e}; reconnecting in 5 s");
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
        }
    }
}

#[cfg(not(feature = "tls"))]
fn poll_tls<S: MessageStore>(
    a: &Args,
    _: &str,
    _: &Policy<'_>,
    _: &mut S,
    _: TcpStream,
    _: &mut SyncState<SEEN>,
) -> Result<Summary, Failure> {
    Err(format!(
        "{}:// or --starttls needs the example built with --features tls",
        a.scheme
    ))
}

#[cfg(feature = "tls")]
fn poll_tls<S: MessageStore>(
    a: &Args,
    password: &str,
    policy: &Policy<'_>,
    store: &mut S,
    tcp: TcpStream,
    state: &mut SyncState<SEEN>,
) -> Result<Summary, Failure>
where
    S::Error: std::fmt::Debug,
{
    use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
    let ca_path =
        a.ca.as_deref()
            .ok_or("TLS needs --ca FILE (the CA certificate, PEM or DER)")?;
    let ca = read_ca(ca_path)?;
    let mode = if a.starttls {
        TlsMode::StartTls
    } else {
        TlsMode::Implicit
    };
    let settings = TlsSettings::pinned_ca(&a.host, &ca);
    let rng = common::OsRng::open().map_err(|e| e.to_string())?;
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let (mut rec_read, mut rec_write) = (
        vec![0u8; tls::READ_BUFFER_LEN],
        vec![0u8; tls::WRITE_BUFFER_LEN],
    );
    let buffers = TlsBuffers::new(&mut rec_read, &mut rec_write);
    let transport = FromStd::new(tcp);
    if a.scheme.starts_with("pop3") {
        let mut c = tls::pop3_connect(
            transport,
            tls::Connect {
                mode,
                settings: &settings,
                tls: buffers,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng,
        )
        .map_err(|e| explain(a, Step::TlsHandshake, &e))?;
        poll::pop3_login(&mut c, &a.user, password, policy)
            .map_err(|e| explain(a, Step::Login, &e).said(c.last_refusal()))?;
        let summary = poll::pop3(&mut c, store, state, policy, progress)
            .map_err(|e| poll_failed(a, e).said(c.last_refusal()))?;
        Ok(summary)
    } else {
        let mut c = tls::imap_connect(
            transport,
            tls::Connect {
                mode,
                settings: &settings,
                tls: buffers,
                rx: &mut rx,
                tx: &mut tx,
            },
            rng,
        )
        .map_err(|e| explain(a, Step::TlsHandshake, &e))?;
        c.login(&a.user, password)
            .map_err(|e| explain(a, Step::Login, &e).said(c.last_refusal()))?;
        let summary = poll::imap(&mut c, &a.mailbox, store, state, policy, progress)
            .map_err(|e| poll_failed(a, e).said(c.last_refusal()))?;
        c.logout()
            .map_err(|e| explain(a, Step::Other("LOGOUT"), &e))?;
        Ok(summary)
    }
}

#[cfg(feature = "flash")]
mod file_flash {
    //! A file acting as NOR flash: erase sets 0xFF, writes AND bits in.
    use embedded_storage_async::nor_flash::{
        ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
    };
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    pub const SIZE: u32 = 1 << 20;
    pub const PAGE: u32 = 4096;

    #[derive(Debug)]
    pub struct IoError(#[allow(dead_code)] pub std::io::ErrorKind);
    impl NorFlashError for IoError {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::Other
        }
    }

    pub struct FileFlash(pub File);

    impl FileFlash {
        pub fn open(path: &str) -> std::io::Result<Self> {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            if f.metadata()?.len() != u64::from(SIZE) {
                f.set_len(0)?;
                f.write_all_at(&vec![0xff; SIZE as usize], 0)?;
                f.sync_all()?;
            }
            Ok(FileFlash(f))
        }
    }

    impl ErrorType for FileFlash {
        type Error = IoError;
    }
    impl ReadNorFlash for FileFlash {
        const READ_SIZE: usize = 1;
        async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), IoError> {
            self.0
                .read_exact_at(bytes, u64::from(offset))
                .map_err(|e| IoError(e.kind()))
        }
        fn capacity(&self) -> usize {
            SIZE as usize
        }
    }
    impl NorFlash for FileFlash {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = PAGE as usize;
        async fn erase(&mut self, from: u32, to: u32) -> Result<(), IoError> {
            let ones = vec![0xff; (to - from) as usize];
            self.0
                .write_all_at(&ones, u64::from(from))
                .map_err(|e| IoError(e.kind()))?;
            self.0.sync_data().map_err(|e| IoError(e.kind()))
        }
        async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), IoError> {
            let mut old = vec![0u8; bytes.len()];
            self.0
                .read_exact_at(&mut old, u64::from(offset))
                .map_err(|e| IoError(e.kind()))?;
            for (o, b) in old.iter_mut().zip(bytes) {
                *o &= *b;
            }
            self.0
                .write_all_at(&old, u64::from(offset))
                .map_err(|e| IoError(e.kind()))?;
            self.0.sync_data().map_err(|e| IoError(e.kind()))
        }
    }
    impl MultiwriteNorFlash for FileFlash {}
}

fn run(a: &Args, password: &str) -> Result<Summary, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    let after_store = if a.delete {
        AfterStore::Delete
    } else {
        AfterStore::Keep
    };
    let policy = Policy {
        after_store,
        delete_older_than: a.older_than_days.map(|d| d.saturating_mul(86_400)),
        now,
        max_size: a.max_size,
        oversize: Oversize::Skip,
        // IMAP ID where offered (NetEase 163 refuses SELECT without it).
        identity: Some(("embedded-mail mailpoll", env!("CARGO_PKG_VERSION"))),
        ..Policy::default()
    };
    if let Some(dir) = &a.store {
        let mut store = MaildirStore::open(dir).map_err(|e| format!("{dir}: {e}"))?;
        return poll_with(a, password, &policy, &mut store);
    }
    #[cfg(feature = "flash")]
    {
        use embedded_mail::store::flash::FlashStore;
        use embedded_mail::store::{block_on, Blocking};
        let path = a.flash.as_deref().unwrap_or_default();
        let flash = file_flash::FileFlash::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut buf = [0u8; 2048];
        let (p, size) = (file_flash::PAGE, file_flash::SIZE);
        let store = block_on(FlashStore::open(
            flash,
            0..size - 2 * p,
            size - 2 * p..size,
            &mut buf,
        ))
        .map_err(|e| format!("{path}: {e}"))?;
        let mut store = Blocking(store);
        poll_with(a, password, &policy, &mut store)
    }
    #[cfg(not(feature = "flash"))]
    Err("--flash needs the example built with --features flash".into())
}

/// Decodes the parts of type `kind` of every message in the Maildir `dir`
/// into `dir.extract/`, walking each file with the streaming MIME walker.
#[cfg(feature = "mime")]
fn extract(dir: &str, kind: &str) -> Result<(), String> {
    use embedded_mail::mime::{Event, Walker};
    use std::io::{Read, Write};
    let out_dir = format!("{}.extract", dir.trim_end_matches('/'));
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{out_dir}: {e}"))?;
    let wanted = |p: &embedded_mail::mime::Part| match kind.strip_suffix("/*") {
        Some(main) => p.main_type().eq_ignore_ascii_case(main.as_bytes()),
        None => p.is(kind),
    };
    let mut files: Vec<_> = ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(format!("{dir}/{sub}")).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut written = 0;
    for path in files {
        let msg_name = path.file_name().unwrap_or_default().to_string_lossy();
        let msg_name = msg_name.split(':').next().unwrap_or_default().to_string();
        let mut file = std::fs::File::open(&path).map_err(|e| format!("{path:?}: {e}"))?;
        let mut line = [0u8; 1024];
        let mut walker: Walker<'_, 8> = Walker::new(&mut line);
        let mut out: Option<(String, std::fs::File, u64)> = None;
        let mut on = |e: Event<'_>| -> Result<(), String> {
            match e {
                Event::PartStart(p) if p.leaf && wanted(p) => {
                    // Keep the file name's safe characters only.
                    let name: String = String::from_utf8_lossy(p.filename.as_bytes())
                        .chars()
                        .map(|c| {
                            if c.is_alphanumeric() || "._-".contains(c) {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let name = if name.trim_matches('.').is_empty() {
                        "part".into()
                    } else {
                        name
                    };
                    let target = format!("{out_dir}/{msg_name}.{}.{name}", p.index);
                    let f = std::fs::File::create(&target).map_err(|e| format!("{target}: {e}"))?;
                    out = Some((target, f, 0));
                }
                Event::Body(b) => {
                    if let Some((target, f, n)) = &mut out {
                        f.write_all(b).map_err(|e| format!("{target}: {e}"))?;
                        *n += b.len() as u64;
                    }
                }
                Event::PartEnd(p) => {
                    if let Some((target, _, n)) = out.take() {
                        println!(
                            "  extracted {} ({n} bytes) to {target}",
                            String::from_utf8_lossy(p.media_type.as_bytes())
                        );
                        written += 1;
                    }
                }
                _ => {}
            }
            Ok(())
        };
        let mut buf = [0u8; 4096];
        loop {
            let n = file.read(&mut buf).map_err(|e| format!("{path:?}: {e}"))?;
            if n == 0 {
                break;
            }
            walker.feed(&buf[..n], &mut on)?;
        }
        let defects = walker.finish(&mut on)?;
        if !defects.is_empty() {
            println!("  {msg_name}: MIME defects {defects:?} (best effort)");
        }
    }
    println!("extract: {written} part(s) of type {kind} in {out_dir}");
    Ok(())
}

#[cfg(not(feature = "mime"))]
fn extract(_: &str, _: &str) -> Result<(), String> {
    Err("needs the example built with --features mime".into())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mailpoll: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let password = match password(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mailpoll: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    println!(
        "polling {}://{}@{}:{}{}",
        args.scheme,
        args.user,
        if args.host.contains(':') {
            format!("[{}]", args.host)
        } else {
            args.host.clone()
        },
        args.port,
        if args.scheme.starts_with("imap") {
            format!("/{}", args.mailbox)
        } else {
            String::new()
        }
    );
    match run(&args, &password) {
        Ok(s) => {
            println!(
                "summary: new {}, stored {}, skipped {}, deleted {}, bytes {}",
                s.new, s.stored, s.skipped, s.deleted, s.bytes
            );
            if let (Some(kind), Some(dir)) = (&args.extract, &args.store) {
                if let Err(e) = extract(dir, kind) {
                    eprintln!("mailpoll: --extract: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(Failure { code, msg }) => {
            eprintln!("mailpoll: {msg}");
            ExitCode::from(code)
        }
    }
}
