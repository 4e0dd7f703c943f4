//! Benchmarks of embedded-mail (run by `scripts/bench`):
//!
//! - `em-bench net`: downloads by POP3 RETR and IMAP UID FETCH BODY.PEEK[]
//!   from the local Dovecot (users t29: 100 x 1 MiB, t30: 1 000 x 10 KiB,
//!   seeded by scripts/seed_bench.py), with our host build and a 1 KiB
//!   receive buffer, message by message and pipelined / in one command;
//!   beside each the floor (a raw socket sending the same commands and
//!   reading the bytes without parsing, only looking for the end of each
//!   response) and the peers (Python imaplib/poplib, curl), as medians of
//!   BENCH_RUNS runs (default 3) and ratios to the floor.
//! - `em-bench scale`: a poll (leave on server) that finds 1 and then 10
//!   new messages in a mailbox of 10 000 (user t27) and of 10 (t28):
//!   bytes sent and received (a counting transport) and time, IMAP and
//!   POP3, and the poll's RAM (`size_of` its state and clients).
//! - `em-bench parse`: the sessions' decoders over in-memory responses:
//!   MB/s and ns per response.
//! - `em-bench link`: the whole poll (`poll::imap` / `poll::pop3` into a
//!   Maildir on tmpfs) against the pipelined floor over the same link: a
//!   latency-adding proxy of this crate's own (BENCH_RTT_MS, default 20;
//!   0 = straight to Dovecot, with the client's CPU time), IMAP keep and
//!   delete, POP3 keep and delete, users t30 (1 000 x 10 KiB) and t26
//!   (20 x 5 MiB), reseeded before every deleting run.
//! - `em-bench mime`: the MIME walker's decoding speed (base64,
//!   quoted-printable, 7bit) on in-memory messages (benches/src/mime.rs).

mod mime;

use embedded_io_adapters::std::FromStd;
use embedded_mail::imap::{self, BodyRequest, FetchItems, GenericEvent, Section, SequenceSet};
use embedded_mail::poll::{self, Policy, SyncState};
use embedded_mail::pop3::{self, Command, Decoded, RawEvent};
use embedded_mail::store::{MessageStore, StateBlob, StoreError};
use embedded_mail::wire::RxBuffer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command as Proc;
use std::time::{Duration, Instant};

const RX: usize = 1024;

struct Env {
    pop3: u16,
    imap: u16,
    password: String,
    runs: usize,
}

fn env() -> Env {
    let port = |k: &str| -> u16 {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} not set (source the bench Dovecot's env.sh)"))
            .parse()
            .expect(k)
    };
    Env {
        pop3: port("EM_POP3_PORT"),
        imap: port("EM_IMAP_PORT"),
        password: std::env::var("EM_PASSWORD").unwrap_or_else(|_| "emtest-pass".into()),
        runs: std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to Dovecot");
    s.set_nodelay(true).unwrap();
    s
}

/// A sink that counts bytes.
#[derive(Default)]
struct Count(u64);

impl embedded_io::ErrorType for Count {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

// ---- ours --------------------------------------------------------------

fn ours_pop3_each(e: &Env, user: &str, n: u32) -> u64 {
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = pop3::Client::connect(FromStd::new(connect(e.pop3)), &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    let mut sink = Count::default();
    for i in 1..=n {
        c.retr(i, &mut sink).unwrap();
    }
    c.quit().unwrap();
    sink.0
}

/// RETR pipelined through the sans-I/O session (as a poll does where the
/// server offers PIPELINING): up to 8 commands in flight.
fn ours_pop3_pipelined(e: &Env, user: &str, n: u32) -> u64 {
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = pop3::Client::connect(FromStd::new(connect(e.pop3)), &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    let parts = c.into_parts();
    let mut sock = parts.transport.into_inner();
    let mut s = parts.session;
    let mut rx = RxBuffer::new(parts.rx);
    let tx = parts.tx;
    let (mut sent, mut done, mut total) = (0u32, 0u32, 0u64);
    let mut out = Vec::with_capacity(256);
    while done < n {
        out.clear();
        while sent < n && s.in_flight() < 8 {
            sent += 1;
            let k = s.encode(&Command::Retr(sent), tx).unwrap();
            out.extend_from_slice(&tx[..k]);
        }
        if !out.is_empty() {
            sock.write_all(&out).unwrap();
        }
        // Decode until one response ends (then top up the window).
        loop {
            match s.decode_raw(rx.data()).unwrap() {
                Decoded::NeedMore => {
                    let k = sock.read(rx.spare()).unwrap();
                    assert!(k > 0, "server closed");
                    rx.commit(k);
                }
                Decoded::Progress { consumed, event } => {
                    rx.consume(consumed);
                    match event {
                        Some(RawEvent::Body(span)) => total += (span.end - span.start) as u64,
                        Some(RawEvent::End) => {
                            done += 1;
                            break;
                        }
                        Some(RawEvent::Refused(r)) => panic!("RETR refused: {r:?}"),
                        _ => {}
                    }
                }
            }
        }
    }
    sock.write_all(b"QUIT\r\n").unwrap();
    total
}

fn ours_imap(e: &Env, user: &str, n: u32, bulk: bool) -> u64 {
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = imap::Client::connect(FromStd::new(connect(e.imap)), &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    c.examine("INBOX").unwrap();
    let mut sink = Count::default();
    if bulk {
        let items = FetchItems {
            body: Some(BodyRequest::peek(Section::Full)),
            ..FetchItems::default()
        };
        c.uid_fetch(SequenceSet::All, items, |ev| {
            if let GenericEvent::BodyChunk(b) = ev {
                sink.0 += b.len() as u64;
            }
        })
        .unwrap();
    } else {
        for uid in 1..=n {
            c.fetch_body(uid, BodyRequest::peek(Section::Full), &mut sink)
                .unwrap();
        }
    }
    c.logout().unwrap();
    sink.0
}

// ---- floor -------------------------------------------------------------

/// Reads until `count` occurrences of `pat` were seen (across reads);
/// returns the bytes read. No parsing beyond that search.
/// Bytes per read of the floor's raw socket (64 KiB; the link mode's
/// CPU comparison also runs it with the poll's 1 KiB).
static FLOOR_READ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(64 << 10);

fn read_until(sock: &mut TcpStream, pat: &[u8], mut count: usize, buf: &mut [u8]) -> u64 {
    let n = buf.len().min(FLOOR_READ.load(std::sync::atomic::Ordering::Relaxed));
    let buf = &mut buf[..n];
    let finder = memchr::memmem::Finder::new(pat);
    let mut carry: Vec<u8> = Vec::new();
    let mut total = 0u64;
    while count > 0 {
        let k = sock.read(buf).unwrap();
        assert!(k > 0, "server closed");
        total += k as u64;
        let data = &buf[..k];
        // Matches straddling the previous read.
        if !carry.is_empty() {
            let mut edge = carry.clone();
            edge.extend_from_slice(&data[..data.len().min(pat.len() - 1)]);
            count = count.saturating_sub(finder.find_iter(&edge).count());
        }
        count = count.saturating_sub(finder.find_iter(data).count());
        let keep = (pat.len() - 1).min(data.len());
        carry.clear();
        carry.extend_from_slice(&data[data.len() - keep..]);
    }
    total
}

fn floor_pop3(e: &Env, user: &str, n: u32, pipelined: bool) -> u64 {
    let mut s = connect(e.pop3);
    let mut buf = vec![0u8; 64 << 10];
    read_until(&mut s, b"\r\n", 1, &mut buf);
    s.write_all(format!("USER {user}\r\nPASS {}\r\n", e.password).as_bytes())
        .unwrap();
    read_until(&mut s, b"\r\n", 2, &mut buf);
    let mut total = 0;
    if pipelined {
        let mut cmds = String::new();
        for i in 1..=n {
            cmds += &format!("RETR {i}\r\n");
        }
        s.write_all(cmds.as_bytes()).unwrap();
        total += read_until(&mut s, b"\r\n.\r\n", n as usize, &mut buf);
    } else {
        for i in 1..=n {
            s.write_all(format!("RETR {i}\r\n").as_bytes()).unwrap();
            total += read_until(&mut s, b"\r\n.\r\n", 1, &mut buf);
        }
    }
    s.write_all(b"QUIT\r\n").unwrap();
    total
}

/// The floor of a delete poll: logged in and the mailbox opened as the
/// download floor does (a round trip each), then the pipelined download
/// with the deletion sent right behind it without waiting for anything
/// (no commit, no save: a lower bound, not a safe client), until the
/// server has deleted: IMAP `UID STORE 1:* +FLAGS.SILENT (\Deleted)` and
/// `UID EXPUNGE 1:*` after the fetch; POP3 every `DELE` and `QUIT`.
fn floor_delete(e: &Env, user: &str, n: u32, imap: bool) -> u64 {
    let mut buf = vec![0u8; 64 << 10];
    if imap {
        let mut s = connect(e.imap);
        read_until(&mut s, b"\r\n", 1, &mut buf);
        s.write_all(format!("L LOGIN {user} \"{}\"\r\n", e.password).as_bytes()).unwrap();
        read_until(&mut s, b"L OK", 1, &mut buf);
        s.write_all(b"S SELECT INBOX\r\n").unwrap();
        read_until(&mut s, b"S OK", 1, &mut buf);
        let cmds = "F UID FETCH 1:* BODY.PEEK[]\r\nD UID STORE 1:* +FLAGS.SILENT (\\Deleted)\r\nX UID EXPUNGE 1:*\r\n";
        s.write_all(cmds.as_bytes()).unwrap();
        let total = read_until(&mut s, b"\r\nX OK", 1, &mut buf);
        s.write_all(b"Z LOGOUT\r\n").unwrap();
        return total;
    }
    let mut s = connect(e.pop3);
    read_until(&mut s, b"\r\n", 1, &mut buf);
    s.write_all(format!("USER {user}\r\nPASS {}\r\n", e.password).as_bytes()).unwrap();
    read_until(&mut s, b"\r\n", 2, &mut buf);
    let mut cmds = String::new();
    (1..=n).for_each(|i| cmds += &format!("RETR {i}\r\n"));
    (1..=n).for_each(|i| cmds += &format!("DELE {i}\r\n"));
    cmds += "QUIT\r\n";
    s.write_all(cmds.as_bytes()).unwrap();
    let total = read_until(&mut s, b"\r\n.\r\n", n as usize, &mut buf);
    // The DELEs' and QUIT's status lines, then the server closes.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    total
}

fn floor_imap(e: &Env, user: &str, n: u32, bulk: bool) -> u64 {
    let mut s = connect(e.imap);
    let mut buf = vec![0u8; 64 << 10];
    read_until(&mut s, b"\r\n", 1, &mut buf);
    s.write_all(format!("L LOGIN {user} \"{}\"\r\n", e.password).as_bytes())
        .unwrap();
    read_until(&mut s, b"L OK", 1, &mut buf);
    s.write_all(b"E EXAMINE INBOX\r\n").unwrap();
    read_until(&mut s, b"E OK", 1, &mut buf);
    let mut total = 0;
    if bulk {
        s.write_all(b"F UID FETCH 1:* BODY.PEEK[]\r\n").unwrap();
        total += read_until(&mut s, b"\r\nF OK", 1, &mut buf);
    } else {
        for uid in 1..=n {
            let tag = format!("F{uid:05}");
            s.write_all(format!("{tag} UID FETCH {uid} BODY.PEEK[]\r\n").as_bytes())
                .unwrap();
            total += read_until(&mut s, format!("\r\n{tag} OK").as_bytes(), 1, &mut buf);
        }
    }
    s.write_all(b"Z LOGOUT\r\n").unwrap();
    total
}

// ---- peers -------------------------------------------------------------

const PY: &str = r#"
import imaplib, poplib, sys, time
proto, port, user, pw, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
t = time.perf_counter()
total = 0
if proto == "pop3":
    p = poplib.POP3("127.0.0.1", port)
    p.user(user); p.pass_(pw)
    for i in range(1, n + 1):
        resp, lines, octets = p.retr(i)
        total += octets
    p.quit()
else:
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, pw); m.select("INBOX", readonly=True)
    if mode == "bulk":
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        total = sum(len(d[1]) for d in data if isinstance(d, tuple))
    else:
        for uid in range(1, n + 1):
            typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
            total += sum(len(d[1]) for d in data if isinstance(d, tuple))
    m.logout()
print(time.perf_counter() - t, total)
"#;

fn python(e: &Env, proto: &str, user: &str, n: u32, mode: &str) -> Duration {
    let port = if proto == "pop3" { e.pop3 } else { e.imap };
    let out = Proc::new("python3")
        .args([
            "-c",
            PY,
            proto,
            &port.to_string(),
            user,
            &e.password,
            &n.to_string(),
            mode,
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    Duration::from_secs_f64(text.split_whitespace().next().unwrap().parse().unwrap())
}

/// curl with URL globbing: one process, one connection, one message per
/// URL (curl sends RETR n / UID FETCH n BODY[] ... for each).
fn curl(e: &Env, proto: &str, user: &str, n: u32) -> Duration {
    let url = if proto == "pop3" {
        format!("pop3://127.0.0.1:{}/[1-{n}]", e.pop3)
    } else {
        format!("imap://127.0.0.1:{}/INBOX;UID=[1-{n}]", e.imap)
    };
    let t = Instant::now();
    let out = Proc::new("curl")
        .args(["-s", "-S", "-u", &format!("{user}:{}", e.password), &url])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("curl");
    assert!(out.success(), "curl failed");
    t.elapsed()
}

// ---- the table ---------------------------------------------------------

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(runs: usize, mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = f();
        times.push(t.elapsed());
    }
    (median(times), bytes)
}

fn row(name: &str, d: Duration, bytes: Option<u64>, floor: Duration) {
    let mbs = bytes.map_or("".to_string(), |b| {
        format!("{:8.1} MB/s", b as f64 / d.as_secs_f64() / 1e6)
    });
    println!(
        "  {name:<44} {:>9.3} s {mbs:>14}   x{:.2} of floor",
        d.as_secs_f64(),
        d.as_secs_f64() / floor.as_secs_f64()
    );
}

fn net(e: &Env) {
    println!("median of {} runs; ours: host build, 1 KiB receive buffer; floor: raw socket, 64 KiB reads", e.runs);
    for (user, n, label) in [
        ("t29", 100u32, "100 x 1 MiB"),
        ("t30", 1000, "1000 x 10 KiB"),
    ] {
        let r = e.runs;
        println!("\nPOP3 RETR, {label} (user {user})");
        // Warm-up (Dovecot builds its indexes and caches at first access).
        floor_pop3(e, user, n, true);
        floor_imap(e, user, n, true);
        let (fe, _) = timed(r, || floor_pop3(e, user, n, false));
        let (fp, _) = timed(r, || floor_pop3(e, user, n, true));
        let (oe, b) = timed(r, || ours_pop3_each(e, user, n));
        let (op, _) = timed(r, || ours_pop3_pipelined(e, user, n));
        let py = median((0..r).map(|_| python(e, "pop3", user, n, "each")).collect());
        let cu = median((0..r).map(|_| curl(e, "pop3", user, n)).collect());
        row("floor, message by message", fe, None, fe);
        row("ours, message by message (Client::retr)", oe, Some(b), fe);
        row("floor, pipelined (all RETRs at once)", fp, None, fp);
        row("ours, pipelined (Session, 8 in flight)", op, Some(b), fp);
        row("python poplib, message by message", py, Some(b), fe);
        row("curl pop3:// (URL glob, one connection)", cu, Some(b), fe);

        println!("\nIMAP UID FETCH BODY.PEEK[], {label} (user {user})");
        let (fe, _) = timed(r, || floor_imap(e, user, n, false));
        let (fb, _) = timed(r, || floor_imap(e, user, n, true));
        let (oe, b) = timed(r, || ours_imap(e, user, n, false));
        let (ob, _) = timed(r, || ours_imap(e, user, n, true));
        let pe = median((0..r).map(|_| python(e, "imap", user, n, "each")).collect());
        let pb = median((0..r).map(|_| python(e, "imap", user, n, "bulk")).collect());
        let cu = median((0..r).map(|_| curl(e, "imap", user, n)).collect());
        row("floor, message by message", fe, None, fe);
        row("ours, message by message (fetch_body)", oe, Some(b), fe);
        row("floor, one UID FETCH 1:*", fb, None, fb);
        row("ours, one UID FETCH 1:* (fetch)", ob, Some(b), fb);
        row("python imaplib, message by message", pe, Some(b), fe);
        row("python imaplib, one UID FETCH 1:*", pb, Some(b), fb);
        row("curl imap:// (URL glob, one connection)", cu, Some(b), fe);
    }
}

// ---- parser benchmark --------------------------------------------------

fn corpus_fetch() -> (Vec<u8>, usize) {
    let mut s = Vec::new();
    for i in 1..=2000u32 {
        s.extend_from_slice(format!(
            "* {i} FETCH (UID {} FLAGS (\\Seen \\Answered $Forwarded) RFC822.SIZE {} ENVELOPE (\"Tue, 14 Nov 2023 22:13:{:02} +0000\" \"Re: sensor reading number {i}\" ((\"Bench Sender\" NIL \"sender\" \"example.com\")) ((\"Bench Sender\" NIL \"sender\" \"example.com\")) NIL ((\"Ops Team\" NIL \"ops\" \"example.org\") (NIL NIL \"log\" \"example.org\")) NIL NIL \"<prev-{i}@example.com>\" \"<msg-{i}@example.com>\"))\r\n",
            i + 1000, 4000 + i, i % 60
        ).as_bytes());
    }
    s.extend_from_slice(b"A0003 OK Fetch completed\r\n");
    (s, 2001)
}

fn corpus_list() -> (Vec<u8>, usize) {
    let mut s = Vec::new();
    for i in 0..1000 {
        s.extend_from_slice(
            format!("* LIST (\\HasNoChildren) \"/\" \"Archive/2023/Project &AMQ-rger {i:04}\"\r\n")
                .as_bytes(),
        );
    }
    s.extend_from_slice(b"A0003 OK List completed\r\n");
    (s, 1001)
}

fn corpus_search() -> (Vec<u8>, usize) {
    let mut s = b"* SEARCH".to_vec();
    for i in 1..=100_000u32 {
        s.extend_from_slice(format!(" {}", i * 3).as_bytes());
    }
    s.extend_from_slice(b"\r\nA0003 OK Search completed\r\n");
    (s, 2)
}

fn corpus_uidl() -> (Vec<u8>, usize) {
    let mut s = b"+OK\r\n".to_vec();
    for i in 1..=10_000u32 {
        s.extend_from_slice(
            format!(
                "{i} {:016x}{:08x}\r\n",
                u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i
            )
            .as_bytes(),
        );
    }
    s.extend_from_slice(b".\r\n");
    (s, 1)
}

/// An IMAP session logged in and selected, with `cmd` in flight.
fn imap_ready(cmd: &imap::Command<'_>) -> imap::Session {
    let mut s = imap::Session::new();
    let mut tx = [0u8; 256];
    let feed = |s: &mut imap::Session, bytes: &[u8]| {
        let mut at = 0;
        while at < bytes.len() {
            match s.decode_raw(&bytes[at..]).unwrap() {
                imap::Decoded::Progress { consumed, .. } => at += consumed,
                imap::Decoded::NeedMore => panic!("setup"),
            }
        }
    };
    feed(&mut s, b"* OK ready\r\n");
    s.encode(
        &imap::Command::Login {
            user: "u",
            password: "p",
        },
        &mut tx,
    )
    .unwrap();
    feed(&mut s, b"A0001 OK [CAPABILITY IMAP4rev1] done\r\n");
    s.encode(
        &imap::Command::Select {
            mailbox: "INBOX",
            condstore: false,
        },
        &mut tx,
    )
    .unwrap();
    feed(&mut s, b"A0002 OK [READ-WRITE] done\r\n");
    s.encode(cmd, &mut tx).unwrap();
    s
}

/// Decodes `data` as the client would with a receive buffer of `rx`
/// bytes (the corpus is in memory; the window slides over it). Returns
/// the events.
fn run_imap(mut s: imap::Session, data: &[u8], rx: usize) -> u64 {
    let (mut at, mut end, mut events) = (0usize, rx.min(data.len()), 0u64);
    loop {
        match s.decode_raw(&data[at..end]).unwrap() {
            imap::Decoded::NeedMore => {
                if end == data.len() {
                    return events;
                }
                if end - at == rx {
                    s.overflow(rx);
                    continue;
                }
                end = (at + rx).min(data.len());
            }
            imap::Decoded::Progress { consumed, event } => {
                at += consumed;
                if let Some(ev) = event {
                    events += 1;
                    if let GenericEvent::FetchItem { value, .. } = ev.resolve(&data[..end]) {
                        let _ = std::hint::black_box(imap::Envelope::parse(value));
                    }
                    if matches!(ev, GenericEvent::Done { .. }) {
                        return events;
                    }
                }
            }
        }
    }
}

fn run_pop3(data: &[u8], rx: usize) -> u64 {
    let mut s = pop3::Session::new();
    let mut tx = [0u8; 64];
    let decode_all = |s: &mut pop3::Session, bytes: &[u8]| {
        let (mut at, mut end, mut events) = (0usize, rx.min(bytes.len()), 0u64);
        loop {
            match s.decode_raw(&bytes[at..end]).unwrap() {
                Decoded::NeedMore => {
                    if end == bytes.len() {
                        return events;
                    }
                    end = (at + rx).min(bytes.len());
                }
                Decoded::Progress { consumed, event } => {
                    at += consumed;
                    events += u64::from(event.is_some());
                    if matches!(event, Some(RawEvent::End | RawEvent::Ok(_))) {
                        return events;
                    }
                }
            }
        }
    };
    decode_all(&mut s, b"+OK ready\r\n");
    s.encode(&Command::User("u"), &mut tx).unwrap();
    s.encode(&Command::Pass("p"), &mut tx).unwrap();
    decode_all(&mut s, b"+OK\r\n");
    decode_all(&mut s, b"+OK\r\n");
    s.encode(&Command::Uidl(None), &mut tx).unwrap();
    decode_all(&mut s, data)
}

fn parse() {
    let iters: u32 = std::env::var("BENCH_PARSE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("in-memory decode, 1 KiB window sliding over the corpus (as the client's receive buffer), best of {iters}");
    println!(
        "  {:<40} {:>9} {:>10} {:>9} {:>14}",
        "corpus", "bytes", "responses", "MB/s", "ns/response"
    );
    let fetch_cmd = imap::Command::Fetch {
        set: SequenceSet::All,
        uid: false,
        items: FetchItems {
            uid: true,
            flags: true,
            size: true,
            envelope: true,
            ..FetchItems::default()
        },
    };
    let list_cmd = imap::Command::List {
        reference: "",
        pattern: "*",
        special_use: false,
    };
    let search_cmd = imap::Command::Search {
        uid: true,
        criteria: "ALL",
        ret: None,
    };
    let cases: Vec<(&str, (Vec<u8>, usize), Box<dyn Fn(&[u8]) -> u64>)> = vec![
        (
            "IMAP FETCH x2000 (UID FLAGS SIZE ENVELOPE)",
            corpus_fetch(),
            Box::new(move |d| run_imap(imap_ready(&fetch_cmd), d, RX)),
        ),
        (
            "IMAP LIST of 1000 folders",
            corpus_list(),
            Box::new(move |d| run_imap(imap_ready(&list_cmd), d, RX)),
        ),
        (
            "IMAP SEARCH of 100000 numbers",
            corpus_search(),
            Box::new(move |d| run_imap(imap_ready(&search_cmd), d, RX)),
        ),
        (
            "POP3 UIDL of 10000 entries",
            corpus_uidl(),
            Box::new(|d| run_pop3(d, RX)),
        ),
    ];
    for (name, (data, responses), f) in cases {
        let mut best = Duration::MAX;
        let mut events = 0;
        for _ in 0..iters {
            let t = Instant::now();
            events = std::hint::black_box(f(&data));
            best = best.min(t.elapsed());
        }
        let secs = best.as_secs_f64();
        println!(
            "  {name:<40} {:>9} {:>10} {:>9.1} {:>14.0}   ({events} events, {:.1} ns/event)",
            data.len(),
            responses,
            data.len() as f64 / secs / 1e6,
            secs * 1e9 / responses as f64,
            secs * 1e9 / events as f64
        );
    }
}

// ---- scaling of a poll ---------------------------------------------------

/// A transport that counts the bytes each way.
struct Counting<T> {
    inner: T,
    sent: u64,
    received: u64,
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for Counting<T> {
    type Error = T::Error;
}

impl<T: embedded_io::Read> embedded_io::Read for Counting<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.inner.read(buf)?;
        self.received += n as u64;
        Ok(n)
    }
}

impl<T: embedded_io::Write> embedded_io::Write for Counting<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = self.inner.write(buf)?;
        self.sent += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

/// A store that keeps only the keys and the state blob (the messages are
/// counted, not kept): what the poll asks of a store, on the heap of the
/// host benchmark.
///
/// It keeps the POP3 seen set itself (as the Maildir and flash stores do),
/// so the poll's sync state is the same small type for any mailbox.
#[derive(Default)]
struct KeyStore {
    keys: std::collections::HashSet<u64>,
    open: Option<u64>,
    state: Option<Vec<u8>>,
    bytes: u64,
    /// key → (stored at, headers only, found since the listing began)
    seen: std::collections::HashMap<u64, (u32, bool, bool)>,
}

impl MessageStore for KeyStore {
    type Error = core::convert::Infallible;
    fn begin(&mut self, key: u64, _: u64) -> Result<(), StoreError<Self::Error>> {
        self.open = Some(key);
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        self.bytes += chunk.len() as u64;
        Ok(())
    }
    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        if let Some(k) = self.open.take() {
            self.keys.insert(k);
        }
        Ok(())
    }
    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        self.open = None;
        Ok(())
    }
    fn contains(&mut self, key: u64) -> Result<bool, StoreError<Self::Error>> {
        Ok(self.keys.contains(&key))
    }
    fn capacity(&self) -> u64 {
        u64::MAX
    }
    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(u64::MAX)
    }
    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        let mut buf = self.state.take().unwrap_or_default();
        buf.resize(SyncState::<SCALE_SEEN_IMAP>::ENCODED_MAX, 0);
        let n = state.encode(&mut buf).expect("state fits");
        buf.truncate(n);
        self.state = Some(buf);
        Ok(())
    }
    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        Ok(match &self.state {
            Some(b) => state.decode(b),
            None => false,
        })
    }
    fn keeps_seen(&self) -> bool {
        true
    }
    fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(self.seen.len() as u64)
    }
    fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        self.seen.values_mut().for_each(|v| v.2 = false);
        Ok(())
    }
    fn seen_find(
        &mut self,
        queries: &mut [embedded_mail::store::SeenQuery],
    ) -> Result<(), StoreError<Self::Error>> {
        for q in queries {
            if let Some(v) = self.seen.get_mut(&q.key) {
                v.2 = true;
                (q.found, q.stored_at, q.headers_only) = (true, v.0, v.1);
            }
        }
        Ok(())
    }
    fn seen_insert(&mut self, key: u64, at: u32, h: bool) -> Result<(), StoreError<Self::Error>> {
        self.seen.entry(key).or_insert((at, h, true));
        Ok(())
    }
    fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        let before = self.seen.len();
        self.seen.retain(|_, v| v.2);
        Ok((before - self.seen.len()) as u64)
    }
}

/// RAM seen-set capacity of the scaling polls: the store keeps the POP3
/// seen set (every message left on the server, 10 000 + 11), so the RAM
/// one is unused; a small one shows the state does not grow.
const SCALE_SEEN: usize = 8;
/// IMAP needs only its cursor; the seen set is for UIDVALIDITY rescans.
const SCALE_SEEN_IMAP: usize = 64;

/// Delivers `k` new 1 KiB messages by IMAP APPEND (LITERAL+, raw socket).
fn deliver(e: &Env, user: &str, k: u32, tag: u32) {
    let mut s = connect(e.imap);
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).unwrap();
    s.write_all(format!("L LOGIN {user} {}\r\n", e.password).as_bytes())
        .unwrap();
    read_until(&mut s, b"L OK", 1, &mut buf);
    for i in 0..k {
        let mut msg = format!(
            "From: Bench <bench@example.com>\r\nSubject: new {tag}-{i}\r\n\
             Message-ID: <new-{tag}-{i}@example.com>\r\n\r\n"
        )
        .into_bytes();
        msg.resize(1022, b'x');
        msg.extend_from_slice(b"\r\n");
        s.write_all(format!("A{i} APPEND INBOX {{{}+}}\r\n", msg.len()).as_bytes())
            .unwrap();
        s.write_all(&msg).unwrap();
        s.write_all(b"\r\n").unwrap();
        read_until(&mut s, format!("A{i} OK").as_bytes(), 1, &mut buf);
    }
    s.write_all(b"Z LOGOUT\r\n").unwrap();
    read_until(&mut s, b"Z OK", 1, &mut buf);
}

struct PollRun {
    summary: embedded_mail::poll::Summary,
    sent: u64,
    received: u64,
    time: Duration,
}

fn scale_imap(
    e: &Env,
    user: &str,
    store: &mut KeyStore,
    state: &mut SyncState<SCALE_SEEN_IMAP>,
) -> PollRun {
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let t0 = Instant::now();
    let t = Counting {
        inner: FromStd::new(connect(e.imap)),
        sent: 0,
        received: 0,
    };
    let mut c = imap::Client::connect(t, &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    let summary = poll::imap(&mut c, "INBOX", store, state, &Policy::default(), |_| {}).unwrap();
    let t = c.logout().unwrap();
    PollRun {
        summary,
        sent: t.sent,
        received: t.received,
        time: t0.elapsed(),
    }
}

fn scale_pop3(
    e: &Env,
    user: &str,
    store: &mut KeyStore,
    state: &mut SyncState<SCALE_SEEN>,
) -> PollRun {
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let t0 = Instant::now();
    let t = Counting {
        inner: FromStd::new(connect(e.pop3)),
        sent: 0,
        received: 0,
    };
    let mut c = pop3::Client::connect(t, &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    c.capa().unwrap();
    let summary = poll::pop3(&mut c, store, state, &Policy::default(), |_| {}).unwrap();
    let t = c.into_parts().transport;
    PollRun {
        summary,
        sent: t.sent,
        received: t.received,
        time: t0.elapsed(),
    }
}

fn scale_row(proto: &str, mailbox: u32, r: &PollRun) {
    println!(
        "{proto:<5} {mailbox:>8} {:>5} {:>6} {:>10} {:>11} {:>10.1}",
        r.summary.new,
        r.summary.stored,
        r.sent,
        r.received,
        r.time.as_secs_f64() * 1e3
    );
}

/// `em-bench scale`: users t27 (10 000 x 1 KiB) and t28 (10 x 1 KiB), as
/// seeded by `seed_bench.py DIR t27 t28`. Per protocol and user: a first
/// poll stores everything (leave on server), then 1 message is delivered
/// and a poll measured, then 10 more and a poll measured. Both protocols
/// see the same deliveries (POP3 polls run after the IMAP ones, so the
/// mailbox holds the IMAP run's 11 extra messages too).
/// Bytes a plain `UIDL` listing of `user`'s maildrop moves (command,
/// status line, entries, terminator): the floor of any POP3 poll that
/// must know what is on the server.
fn uidl_listing_bytes(e: &Env, user: &str) -> u64 {
    let mut s = connect(e.pop3);
    let mut buf = vec![0u8; 64 << 10];
    read_until(&mut s, b"\r\n", 1, &mut buf);
    s.write_all(format!("USER {user}\r\nPASS {}\r\n", e.password).as_bytes())
        .unwrap();
    read_until(&mut s, b"\r\n", 2, &mut buf);
    s.write_all(b"UIDL\r\n").unwrap();
    let n = read_until(&mut s, b"\r\n.\r\n", 1, &mut buf);
    s.write_all(b"QUIT\r\n").unwrap();
    n + 6
}

fn scale(e: &Env) {
    println!("## Scaling: a poll that finds k new messages in a mailbox of M (leave on server, 1 KiB receive buffer)");
    println!(
        "# RAM of the poll is fixed by its types: SyncState<{SCALE_SEEN}> = {} bytes (POP3; the store keeps the seen set), \
         SyncState<{SCALE_SEEN_IMAP}> = {} bytes (IMAP), imap::Client = {} bytes, pop3::Client = {} bytes, plus rx {RX} + tx 256",
        std::mem::size_of::<SyncState<SCALE_SEEN>>(),
        std::mem::size_of::<SyncState<SCALE_SEEN_IMAP>>(),
        std::mem::size_of::<imap::Client<'static, Counting<FromStd<TcpStream>>>>(),
        std::mem::size_of::<pop3::Client<'static, Counting<FromStd<TcpStream>>>>(),
    );
    println!("proto  mailbox   new stored    sent_B  received_B    time_ms");
    let mut tag = 0;
    for (user, m) in [("t28", 10u32), ("t27", 10_000)] {
        let mut store = KeyStore::default();
        let mut state = SyncState::<SCALE_SEEN_IMAP>::new();
        let first = scale_imap(e, user, &mut store, &mut state);
        scale_row("imap", m, &first);
        let mut size = m;
        for k in [1u32, 10] {
            tag += 1;
            deliver(e, user, k, tag);
            size += k;
            let r = scale_imap(e, user, &mut store, &mut state);
            assert_eq!(r.summary.stored, k, "{user}: {:?}", r.summary);
            scale_row("imap", size, &r);
        }
        let mut store = KeyStore::default();
        let mut state = SyncState::<SCALE_SEEN>::new();
        let listing = uidl_listing_bytes(e, user);
        let first = scale_pop3(e, user, &mut store, &mut state);
        scale_row("pop3", size, &first);
        assert_eq!(first.summary.stored, size, "{user}: {:?}", first.summary);
        let floor = first.summary.bytes + listing;
        println!(
            "# pop3 first poll of {size}: {} B moved for {} B of messages + {listing} B of UIDL listing = {:.3}x",
            first.sent + first.received,
            first.summary.bytes,
            (first.sent + first.received) as f64 / floor as f64
        );
        // Nothing new: one listing.
        let r = scale_pop3(e, user, &mut store, &mut state);
        assert_eq!(r.summary.stored, 0, "{user}: {:?}", r.summary);
        scale_row("pop3", size, &r);
        for k in [1u32, 10] {
            tag += 1;
            deliver(e, user, k, tag);
            size += k;
            let listing = uidl_listing_bytes(e, user);
            let r = scale_pop3(e, user, &mut store, &mut state);
            assert_eq!(r.summary.stored, k, "{user}: {:?}", r.summary);
            scale_row("pop3", size, &r);
            println!(
                "# pop3 {k} new in {size}: {} B moved = UIDL listing {listing} B + {} B of messages + {} B",
                r.sent + r.received,
                r.summary.bytes,
                (r.sent + r.received) as i64 - listing as i64 - r.summary.bytes as i64
            );
        }
    }
}

// ---- the poll over a slow link ------------------------------------------

/// A TCP proxy on 127.0.0.1 that delays every chunk by half the round trip
/// in each direction (no bandwidth limit): a link with `rtt` of latency.
fn latency_proxy(target: u16, rtt: Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let server = connect(target);
            client.set_nodelay(true).unwrap();
            for (from, to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                pump(from, to, rtt / 2);
            }
        }
    });
    port
}

/// Copies `from` to `to`, each chunk delivered `delay` after it was read.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// The process's CPU time (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after ")",
    // of which the state letter was dropped by the parse.
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn reseed(user: &str) {
    let dir = std::env::var("BENCH_DOVECOT_DIR").expect("BENCH_DOVECOT_DIR (scripts/bench sets it)");
    let ok = Proc::new("python3")
        .args(["scripts/seed_bench.py", &dir, user])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "reseeding {user}");
}

/// Where the polls' Maildirs go: tmpfs when there is one.
fn maildir_base() -> std::path::PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    std::path::PathBuf::from(base).join(format!("em-bench-maildir-{}", std::process::id()))
}

/// A fresh Maildir for one poll. Removing it is not the poll's cost: the
/// link mode removes them all between measurements (`clear_maildirs`).
fn tmp_maildir() -> embedded_mail::store::maildir::MaildirStore {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = maildir_base().join(n.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    embedded_mail::store::maildir::MaildirStore::open(&dir).unwrap()
}

fn clear_maildirs() {
    let _ = std::fs::remove_dir_all(maildir_base());
}

const LINK_SEEN: usize = 1024;

fn poll_imap_via(port: u16, e: &Env, user: &str, policy: &Policy<'_>) -> u64 {
    let mut store = tmp_maildir();
    let mut state: Box<SyncState<LINK_SEEN>> = Box::new(SyncState::new());
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = imap::Client::connect(FromStd::new(connect(port)), &mut rx, &mut tx).unwrap();
    c.login(user, &e.password).unwrap();
    let s = poll::imap(&mut c, "INBOX", &mut store, &mut *state, policy, |_| {}).unwrap();
    c.logout().unwrap();
    s.bytes
}

fn poll_pop3_via(port: u16, e: &Env, user: &str, policy: &Policy<'_>) -> u64 {
    let mut store = tmp_maildir();
    let mut state: Box<SyncState<LINK_SEEN>> = Box::new(SyncState::new());
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = pop3::Client::connect(FromStd::new(connect(port)), &mut rx, &mut tx).unwrap();
    c.capa().unwrap();
    c.login(user, &e.password).unwrap();
    let s = poll::pop3(&mut c, &mut store, &mut *state, policy, |_| {}).unwrap();
    s.bytes
}

/// Median wall time and CPU time of `runs` runs, `prepare` before each.
fn timed_cpu(runs: usize, mut prepare: impl FnMut(), mut f: impl FnMut() -> u64) -> (Duration, Duration, u64) {
    let (mut walls, mut cpus, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        clear_maildirs();
        prepare();
        let (t, c) = (Instant::now(), cpu_time());
        bytes = f();
        walls.push(t.elapsed());
        cpus.push(cpu_time().saturating_sub(c));
    }
    (median(walls), median(cpus), bytes)
}

fn link(e: &Env) {
    let rtt_ms: u64 = std::env::var("BENCH_RTT_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let rtt = Duration::from_millis(rtt_ms);
    let (imap_port, pop3_port) = if rtt_ms == 0 {
        (e.imap, e.pop3)
    } else {
        (latency_proxy(e.imap, rtt), latency_proxy(e.pop3, rtt))
    };
    let via = |p: u16| Env { pop3: p, imap: p, password: e.password.clone(), runs: e.runs };
    let (ei, ep) = (via(imap_port), via(pop3_port));
    println!(
        "median of {} runs; link: {}; poll into a Maildir on tmpfs; floor: raw socket, all commands pipelined",
        e.runs,
        if rtt_ms == 0 { "loopback (CPU is the whole process's)".to_string() } else { format!("{rtt_ms} ms round trip (proxy)") }
    );
    let keep = Policy::default();
    let delete = Policy { after_store: poll::AfterStore::Delete, ..Policy::default() };
    for (user, n, label) in [("t30", 1000u32, "1000 x 10 KiB"), ("t26", 20, "20 x 5 MiB")] {
        let r = e.runs;
        reseed(user);
        floor_imap(e, user, n, true); // warm-up
        let show = |name: &str, (wall, cpu, _): (Duration, Duration, u64), floor: (Duration, Duration, u64)| {
            let cpu_note = if rtt_ms == 0 {
                format!("  cpu {:>7.3} s (x{:.1})", cpu.as_secs_f64(), cpu.as_secs_f64() / floor.1.as_secs_f64().max(1e-3))
            } else {
                String::new()
            };
            println!(
                "  {name:<32} {:>8.3} s   x{:<5.2} of floor{cpu_note}",
                wall.as_secs_f64(),
                wall.as_secs_f64() / floor.0.as_secs_f64()
            );
        };
        println!("
IMAP, {label} (user {user})");
        let floor = timed_cpu(r, || {}, || floor_imap(&ei, user, n, true));
        show("floor: one UID FETCH 1:*", floor, floor);
        if rtt_ms == 0 {
            FLOOR_READ.store(RX, std::sync::atomic::Ordering::Relaxed);
            show("floor, 1 KiB reads (as the poll)", timed_cpu(r, || {}, || floor_imap(&ei, user, n, true)), floor);
            FLOOR_READ.store(64 << 10, std::sync::atomic::Ordering::Relaxed);
        }
        show("poll, keep", timed_cpu(r, || {}, || poll_imap_via(imap_port, e, user, &keep)), floor);
        let del_floor = timed_cpu(r, || reseed(user), || floor_delete(&ei, user, n, true));
        show("floor + delete (pipelined)", del_floor, floor);
        let d = timed_cpu(r, || reseed(user), || poll_imap_via(imap_port, e, user, &delete));
        show("poll, delete", d, floor);
        show("  the same / floor + delete", d, del_floor);
        reseed(user);
        println!("POP3, {label} (user {user})");
        let floor = timed_cpu(r, || {}, || floor_pop3(&ep, user, n, true));
        show("floor: all RETRs pipelined", floor, floor);
        if rtt_ms == 0 {
            FLOOR_READ.store(RX, std::sync::atomic::Ordering::Relaxed);
            show("floor, 1 KiB reads (as the poll)", timed_cpu(r, || {}, || floor_pop3(&ep, user, n, true)), floor);
            FLOOR_READ.store(64 << 10, std::sync::atomic::Ordering::Relaxed);
        }
        show("poll, keep", timed_cpu(r, || {}, || poll_pop3_via(pop3_port, e, user, &keep)), floor);
        let del_floor = timed_cpu(r, || reseed(user), || floor_delete(&ep, user, n, false));
        show("floor + delete (pipelined)", del_floor, floor);
        let d = timed_cpu(r, || reseed(user), || poll_pop3_via(pop3_port, e, user, &delete));
        show("poll, delete", d, floor);
        show("  the same / floor + delete", d, del_floor);
        reseed(user);
    }
    clear_maildirs();
}

/// The same for an IMAP delete poll of t30.
fn trace_imap(e: &Env, port: u16, rtt_ms: u64) {
    reseed("t30");
    let t0 = Instant::now();
    let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1e3;
    let mut store = tmp_maildir();
    let mut state: Box<SyncState<LINK_SEEN>> = Box::new(SyncState::new());
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = imap::Client::connect(FromStd::new(connect(port)), &mut rx, &mut tx).unwrap();
    c.login("t30", &e.password).unwrap();
    let logged_in = Instant::now();
    let (mut first_stored, mut last_stored, mut first_deleted) = (None, None, None);
    let delete = Policy { after_store: poll::AfterStore::Delete, ..Policy::default() };
    let s = poll::imap(&mut c, "INBOX", &mut store, &mut *state, &delete, |p| match p {
        poll::Progress::Stored { .. } => {
            first_stored.get_or_insert(Instant::now());
            last_stored = Some(Instant::now());
        }
        poll::Progress::Deleted { .. } => {
            first_deleted.get_or_insert(Instant::now());
        }
        _ => {}
    })
    .unwrap();
    let done = Instant::now();
    c.logout().unwrap();
    let out = Instant::now();
    let _ = std::fs::remove_dir_all(store.root());
    println!(
        "IMAP delete, {} messages, {rtt_ms} ms link (ms from connect): logged in {:.0}, first stored {:.0}, last stored {:.0}, deletions answered {:.0}, poll done {:.0}, logged out {:.0}",
        s.stored,
        ms(logged_in),
        first_stored.map_or(0.0, ms),
        last_stored.map_or(0.0, ms),
        first_deleted.map_or(0.0, ms),
        ms(done),
        ms(out)
    );
}

/// Where a POP3 delete poll of t30 over a 20 ms link spends its time:
/// milliseconds from the connect to each phase (`em-bench trace`).
fn trace(e: &Env) {
    let rtt_ms: u64 = std::env::var("BENCH_RTT_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let via = |p: u16| if rtt_ms == 0 { p } else { latency_proxy(p, Duration::from_millis(rtt_ms)) };
    trace_imap(e, via(e.imap), rtt_ms);
    let port = via(e.pop3);
    reseed("t30");
    let t0 = Instant::now();
    let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1e3;
    let mut store = tmp_maildir();
    let mut state: Box<SyncState<LINK_SEEN>> = Box::new(SyncState::new());
    let (mut rx, mut tx) = ([0u8; RX], [0u8; 256]);
    let mut c = pop3::Client::connect(FromStd::new(connect(port)), &mut rx, &mut tx).unwrap();
    let greeted = Instant::now();
    c.capa().unwrap();
    c.login("t30", &e.password).unwrap();
    let logged_in = Instant::now();
    let (mut first_stored, mut last_stored, mut first_deleted, mut last_deleted) = (None, None, None, None);
    let delete = Policy { after_store: poll::AfterStore::Delete, ..Policy::default() };
    let s = poll::pop3(&mut c, &mut store, &mut *state, &delete, |p| match p {
        poll::Progress::Stored { .. } => {
            first_stored.get_or_insert(Instant::now());
            last_stored = Some(Instant::now());
        }
        poll::Progress::Deleted { .. } => {
            first_deleted.get_or_insert(Instant::now());
            last_deleted = Some(Instant::now());
        }
        _ => {}
    })
    .unwrap();
    let done = Instant::now();
    let _ = std::fs::remove_dir_all(store.root());
    println!(
        "POP3 delete, {} messages, {rtt_ms} ms link (ms from connect): greeting {:.0}, logged in {:.0}, first stored {:.0}, last stored {:.0}, first DELE answered {:.0}, last DELE answered {:.0}, QUIT answered {:.0}",
        s.stored,
        ms(greeted),
        ms(logged_in),
        first_stored.map_or(0.0, ms),
        last_stored.map_or(0.0, ms),
        first_deleted.map_or(0.0, ms),
        last_deleted.map_or(0.0, ms),
        ms(done)
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("trace") => trace(&env()),
        Some("link") => link(&env()),
        Some("net") => net(&env()),
        Some("scale") => scale(&env()),
        Some("parse") => parse(),
        Some("mime") => mime::run(),
        _ => {
            eprintln!("usage: em-bench net|scale|parse|link|mime");
            std::process::exit(2);
        }
    }
}
