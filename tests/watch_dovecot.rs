//! The watch (push over IMAP IDLE) against the seeded Dovecot: mail
//! delivered during IDLE is stored at once, IDLE is renewed before its
//! limit, a silent link is detected within its bound, and cuts during
//! IDLE or during the poll it triggers lose and duplicate nothing.
//! Users w01..w08 (one per test). Mail is delivered by APPEND through a
//! second connection.

mod common;

use embedded_mail::poll::watch::{self, Next, StdClock, Timeouts, WatchPolicy};
use embedded_mail::poll::{AfterStore, Policy, PollError, Progress, Summary, SyncState};
use embedded_mail::store::maildir::MaildirStore;
use embedded_mail::Error;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Read timeout of the watching connection: the blocking watch's tick.
const TICK: Duration = Duration::from_millis(100);

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("watch-dovecot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Delivers a message to `user`'s INBOX by APPEND (LITERAL+).
fn append(user: &str, subject: &str) {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    let msg = format!(
        "From: watch@test\r\nTo: {user}@test\r\nSubject: {subject}\r\nMessage-ID: <{subject}.{}@watch>\r\n\r\npushed body of {subject}\r\n",
        std::process::id()
    );
    c.send(&format!("b APPEND INBOX {{{}+}}", msg.len()));
    c.send(&msg);
    loop {
        let line = c.read_line();
        if line.starts_with("b ") {
            assert!(line.starts_with("b OK"), "APPEND: {line}");
            return;
        }
    }
}

type WatchResult = Result<u32, PollError<std::io::Error, std::io::ErrorKind>>;

/// Connects to `addr`, logs in as `user` and watches INBOX into the
/// Maildir at `root`.
fn run_watch(
    addr: SocketAddr,
    user: &str,
    root: &std::path::Path,
    policy: &Policy<'_>,
    wp: &WatchPolicy,
    progress: impl FnMut(Progress),
    on_poll: impl FnMut(&Summary) -> Next,
) -> WatchResult {
    let d = common::dovecot();
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(TICK)).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut c = embedded_mail::imap::Client::connect(Timeouts(tcp), &mut rx, &mut tx)
        .map_err(PollError::Mail)?;
    c.login(user, &d.password).map_err(PollError::Mail)?;
    let mut store = MaildirStore::open(root).unwrap();
    let mut state: SyncState<64> = SyncState::new();
    let polls = watch::imap(
        &mut c,
        "INBOX",
        &mut store,
        &mut state,
        policy,
        wp,
        &mut StdClock::new(),
        progress,
        on_poll,
    )?;
    c.logout().map_err(PollError::Mail)?;
    Ok(polls)
}

/// Stored messages' bodies, sorted.
fn stored(root: &std::path::Path) -> Vec<Vec<u8>> {
    let store = MaildirStore::open(root).unwrap();
    let mut v: Vec<Vec<u8>> = store
        .messages()
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    v
}

const FORWARD: u8 = 0;
const SILENT: u8 = 1;
const CUT: u8 = 2;

/// A one-connection TCP proxy to Dovecot's IMAP port that forwards, goes
/// silent (stops carrying bytes, both ways, with both sockets open), or
/// cuts (shuts both sockets down).
struct Proxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let m = mode.clone();
        std::thread::spawn(move || {
            let (down, _) = listener.accept().unwrap();
            let up = TcpStream::connect(common::dovecot().imap_addr()).unwrap();
            for (from, to) in [
                (down.try_clone().unwrap(), up.try_clone().unwrap()),
                (up, down),
            ] {
                let m = m.clone();
                std::thread::spawn(move || pump(from, to, m));
            }
        });
        Proxy { addr, mode }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, mode: Arc<AtomicU8>) {
    from.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match mode.load(Ordering::SeqCst) {
            SILENT => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            CUT => {
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
            _ => {}
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if mode.load(Ordering::SeqCst) == CUT || to.write_all(&buf[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

#[test]
fn mail_delivered_during_idle_is_stored_within_2s() {
    let user = "w01";
    let root = tmp(user);
    let seeded = common::dovecot().inbox_messages(user).len();
    let (first_poll, polled) = mpsc::channel();
    let sent: Arc<Mutex<Option<Instant>>> = Arc::default();
    let sent2 = sent.clone();
    let root2 = root.clone();
    let watcher = std::thread::spawn(move || {
        let mut latency = None;
        let mut summaries = Vec::new();
        let r = run_watch(
            common::imap_addr(),
            user,
            &root2,
            &Policy::default(),
            // A push missed would show as a renewal's poll (5 s), not a hang.
            &WatchPolicy {
                renew_after_ms: 5000,
                max_polls: Some(10),
                ..WatchPolicy::default()
            },
            |_| {},
            |s| {
                summaries.push(*s);
                if summaries.len() == 1 {
                    first_poll.send(()).unwrap();
                    return Next::Continue;
                }
                if s.stored > 0 {
                    latency = sent2.lock().unwrap().map(|t| t.elapsed());
                    return Next::Stop;
                }
                Next::Continue
            },
        );
        (r.map_err(|e| format!("{e:?}")), latency, summaries)
    });
    polled.recv_timeout(Duration::from_secs(20)).unwrap();
    // Let the watch settle in IDLE, then deliver.
    std::thread::sleep(Duration::from_millis(500));
    *sent.lock().unwrap() = Some(Instant::now());
    append(user, "push-1");
    let (r, latency, summaries) = watcher.join().unwrap();
    let polls = r.unwrap();
    let latency = latency.expect("the pushed message was stored");
    eprintln!("delivered → stored in {latency:?} ({polls} polls: {summaries:?})");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(summaries[0].stored as usize, seeded);
    // The first poll found mail, so a second one followed at once.
    assert_eq!(summaries[1].new, 0);
    assert_eq!(summaries.last().unwrap().stored, 1);
    assert_eq!(
        summaries.iter().map(|s| s.stored as usize).sum::<usize>(),
        seeded + 1
    );
    assert_eq!(stored(&root).len(), seeded + 1);
}

#[test]
fn idle_is_renewed_before_its_limit() {
    let user = "w02";
    let root = tmp(user);
    let start = Instant::now();
    let mut at = Vec::new();
    let polls = run_watch(
        common::imap_addr(),
        user,
        &root,
        &Policy::default(),
        &WatchPolicy {
            renew_after_ms: 1000,
            max_polls: Some(5),
            ..WatchPolicy::default()
        },
        |_| {},
        |_| {
            at.push(start.elapsed());
            Next::Continue
        },
    )
    .unwrap();
    assert_eq!(polls, 5);
    // The first poll stored the seeded mail, so a second followed at once;
    // then each renewal (DONE, poll, IDLE) comes 1 s after its IDLE began,
    // within one read timeout plus a few round trips (slack for a busy
    // machine).
    let gaps: Vec<Duration> = at[1..].windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 3);
    eprintln!("polls at {at:?}, gaps {gaps:?}");
    for g in gaps {
        assert!(g >= Duration::from_millis(1000), "{g:?}");
        assert!(g < Duration::from_millis(1000) + 5 * TICK, "{g:?}");
    }
}

#[test]
fn silent_link_is_detected_within_its_bound() {
    let user = "w03";
    let root = tmp(user);
    let proxy = Proxy::start();
    let mut muted = None;
    let wp = WatchPolicy {
        check_after_ms: 600,
        answer_within_ms: 400,
        ..WatchPolicy::default()
    };
    let r = run_watch(
        proxy.addr,
        user,
        &root,
        &Policy::default(),
        &wp,
        |_| {},
        |s| {
            // The link dies silently once the watch goes to IDLE (after
            // the poll that finds nothing new).
            if s.new == 0 {
                proxy.set(SILENT);
                muted = Some(Instant::now());
            }
            Next::Continue
        },
    );
    let took = muted.unwrap().elapsed();
    eprintln!("silent link reported after {took:?}: {r:?}");
    assert!(matches!(r, Err(PollError::Mail(Error::TimedOut))), "{r:?}");
    // Silence from the moment IDLE was confirmed (just after the mute
    // began, the confirmation being on its way), plus the answer's bound.
    let bound = Duration::from_millis(u64::from(wp.check_after_ms + wp.answer_within_ms));
    assert!(
        took >= Duration::from_millis(u64::from(wp.check_after_ms)),
        "{took:?}"
    );
    assert!(took < bound + 3 * TICK, "{took:?} vs {bound:?}");
}

#[test]
fn cuts_during_idle_and_during_its_poll_lose_and_duplicate_nothing() {
    let user = "w04";
    let root = tmp(user);
    let seeded = common::dovecot().inbox_messages(user).len();
    let delete = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    // A push missed would show as a renewal's poll (5 s), not a hang.
    let wp = WatchPolicy {
        renew_after_ms: 5000,
        ..WatchPolicy::default()
    };

    // 1. Cut during IDLE, then mail arrives while the device is away.
    let proxy = Proxy::start();
    let (idle_tx, idle_rx) = mpsc::channel::<()>();
    let mode = proxy.mode.clone();
    let cutter = std::thread::spawn(move || {
        idle_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        mode.store(CUT, Ordering::SeqCst);
    });
    let r = run_watch(
        proxy.addr,
        user,
        &root,
        &delete,
        &wp,
        |_| {},
        |_| {
            let _ = idle_tx.send(());
            Next::Continue
        },
    );
    cutter.join().unwrap();
    eprintln!("cut during IDLE: {r:?}");
    assert!(r.is_err());
    assert_eq!(stored(&root).len(), seeded);
    append(user, "while-away");

    // 2. Reconnect: the watch's first poll stores it. Then mail arrives
    //    during IDLE and the link is cut while that poll receives it.
    let proxy = Proxy::start();
    let (idle_tx, idle_rx) = mpsc::channel::<()>();
    let appender = std::thread::spawn(move || {
        idle_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        append(user, "cut-in-poll");
    });
    let polls = std::cell::Cell::new(0);
    let r = run_watch(
        proxy.addr,
        user,
        &root,
        &delete,
        &wp,
        |p| {
            if let Progress::Receiving { .. } = p {
                if polls.get() > 0 {
                    proxy.set(CUT);
                }
            }
        },
        |s| {
            if polls.get() == 0 {
                assert_eq!(s.stored, 1, "the message delivered while away");
            }
            polls.set(polls.get() + 1);
            let _ = idle_tx.send(());
            Next::Continue
        },
    );
    appender.join().unwrap();
    eprintln!("cut during the triggered poll: {r:?}");
    assert!(r.is_err());

    // 3. Reconnect once more: everything is stored exactly once and gone
    //    from the server.
    let r = run_watch(
        common::imap_addr(),
        user,
        &root,
        &delete,
        &WatchPolicy {
            max_polls: Some(1),
            ..wp
        },
        |_| {},
        |_| Next::Continue,
    );
    assert_eq!(r.unwrap(), 1);
    let bodies = stored(&root);
    let mut unique = bodies.clone();
    unique.dedup();
    assert_eq!(bodies.len(), seeded + 2, "lost or duplicated");
    assert_eq!(unique.len(), bodies.len(), "duplicated");
    for subject in ["while-away", "cut-in-poll"] {
        let needle = format!("Subject: {subject}");
        assert_eq!(
            bodies
                .iter()
                .filter(|b| String::from_utf8_lossy(b).contains(&needle))
                .count(),
            1,
            "{subject}"
        );
    }
    assert_eq!(common::inbox_len(user), 0);
}

/// A non-blocking TCP stream as an async transport: a read with nothing
/// to read is `Pending` (and cancel-safe), so only the watch's [`Tick`]
/// timer can end a wait.
struct NbTcp(TcpStream);

impl embedded_io_async::ErrorType for NbTcp {
    type Error = std::io::Error;
}

impl embedded_io_async::Read for NbTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        std::future::poll_fn(|cx| match self.0.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
            r => std::task::Poll::Ready(r),
        })
        .await
    }
}

impl embedded_io_async::Write for NbTcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
                r => return r,
            }
        }
    }
    async fn flush(&mut self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

/// The async watch's timer over `Instant`: `sleep_until` is `Pending`
/// until the time has come.
struct Tick(Instant);

impl embedded_mail::poll::asynch::watch::Timer for Tick {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    async fn sleep_until(&mut self, at: u64) {
        std::future::poll_fn(|cx| {
            if self.0.elapsed().as_millis() as u64 >= at {
                std::task::Poll::Ready(())
            } else {
                std::thread::sleep(Duration::from_millis(1));
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// The async flavour, where only the caller's timer bounds a wait (the
/// transport never times out): mail delivered during IDLE is stored, and
/// a silent link is reported. The future is run by `store::block_on` (a spinning
/// executor: good enough for a test).
#[test]
fn async_watch_stores_pushed_mail_and_detects_silence() {
    use embedded_mail::poll::asynch;
    use embedded_mail::store::block_on;
    let user = "w08";
    let d = common::dovecot();
    let proxy = Proxy::start();
    let tcp = TcpStream::connect(proxy.addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_nonblocking(true).unwrap();
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
    let start = Instant::now();
    let mut at: Vec<(Duration, Summary)> = Vec::new();
    let r = block_on(async {
        let mut c = embedded_mail::imap::asynch::Client::connect(NbTcp(tcp), &mut rx, &mut tx)
            .await
            .map_err(PollError::Mail)?;
        c.login(user, &d.password).await.map_err(PollError::Mail)?;
        let mut store: Box<embedded_mail::store::memory::MemoryStore<{ 512 * 1024 }, 64>> =
            Box::new(embedded_mail::store::memory::MemoryStore::new());
        let mut state: SyncState<64> = SyncState::new();
        asynch::watch::imap(
            &mut c,
            "INBOX",
            &mut *store,
            &mut state,
            // The seeded 5 MiB message stays on the server.
            &Policy {
                max_size: Some(100_000),
                ..Policy::default()
            },
            &WatchPolicy {
                renew_after_ms: 700,
                check_after_ms: 500,
                answer_within_ms: 300,
                max_polls: Some(12),
                ..WatchPolicy::default()
            },
            &mut Tick(Instant::now()),
            |_| {},
            |s| {
                at.push((start.elapsed(), *s));
                match at.len() {
                    // After the first quiet poll, deliver mail during IDLE.
                    2 => {
                        std::thread::spawn(|| {
                            std::thread::sleep(Duration::from_millis(200));
                            append("w08", "async-push");
                        });
                    }
                    // Once it is stored (and the re-poll is quiet), the link goes silent.
                    n if n >= 4 && s.new == 0 => proxy.set(SILENT),
                    _ => {}
                }
                Next::Continue
            },
        )
        .await
    });
    let times: Vec<(Duration, u32)> = at.iter().map(|(t, s)| (*t, s.stored)).collect();
    eprintln!(
        "async watch: polls {times:?}, then {r:?} at {:?}",
        start.elapsed()
    );
    assert!(matches!(r, Err(PollError::Mail(Error::TimedOut))), "{r:?}");
    // The pushed message was stored by the third poll, < 2 s after the
    // second (0.2 s to the APPEND, ~0.5 s for Dovecot to announce it).
    assert_eq!(at[2].1.stored, 1);
    assert!(at[2].0 - at[1].0 < Duration::from_secs(2));
    // Silence from the last IDLE start: checked at 0.5 s, answer due 0.3 s
    // later (renewal at 0.7 s would come first only for a live link).
    let last = at.last().unwrap().0;
    let took = start.elapsed() - last;
    assert!(took < Duration::from_millis(1200), "{took:?}");
}

/// IMAP without IDLE (`WatchPolicy::idle = false`): NOOP at the interval
/// sees the delivery and the watch polls.
#[test]
fn noop_interval_sees_new_mail() {
    let user = "w05";
    let root = tmp("w05-noop");
    let mut at = Vec::new();
    let start = Instant::now();
    let r = run_watch(
        common::imap_addr(),
        user,
        &root,
        &Policy::default(),
        &WatchPolicy {
            idle: false,
            interval_ms: 200,
            max_polls: Some(10),
            ..WatchPolicy::default()
        },
        |_| {},
        |s| {
            at.push((start.elapsed(), *s));
            if at.len() == 2 {
                std::thread::spawn(|| append("w05", "noop-news"));
            }
            if at.len() > 2 && s.stored > 0 {
                Next::Stop
            } else {
                Next::Continue
            }
        },
    );
    eprintln!(
        "NOOP watch: {:?}",
        at.iter().map(|(t, s)| (*t, s.stored)).collect::<Vec<_>>()
    );
    r.unwrap();
    assert!(at.last().unwrap().0 - at[1].0 < Duration::from_secs(2));
}

/// POP3 has no push: the watch polls at an interval, backing off while
/// nothing is new; a delivery between polls is stored by the next one.
#[test]
fn pop3_watch_polls_at_an_interval() {
    use embedded_io_adapters::std::FromStd;
    let user = "w06";
    let root = tmp("w06-pop3");
    let d = common::dovecot();
    let mut store = MaildirStore::open(&root).unwrap();
    let mut at = Vec::new();
    let start = Instant::now();
    let polls = watch::pop3(
        &WatchPolicy {
            interval_ms: 100,
            max_interval_ms: 400,
            max_polls: Some(6),
            ..WatchPolicy::default()
        },
        &mut StdClock::new(),
        || {
            let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
            let tcp = TcpStream::connect(d.pop3_addr()).unwrap();
            let mut c = embedded_mail::pop3::Client::connect(FromStd::new(tcp), &mut rx, &mut tx)?;
            c.capa()?;
            c.login(user, &d.password)?;
            let mut state: SyncState<64> = SyncState::new();
            let s = embedded_mail::poll::pop3(
                &mut c,
                &mut store,
                &mut state,
                &Policy::default(),
                |_| {},
            )?;
            Ok::<_, PollError<std::io::Error, std::io::ErrorKind>>(s)
        },
        |s| {
            at.push((start.elapsed(), s.new));
            if at.len() == 3 {
                append("w06", "pop3-watch");
            }
            Next::Continue
        },
    )
    .unwrap();
    eprintln!("POP3 watch: {at:?}");
    assert_eq!(polls, 6);
    // The delivery after poll 3 is found by poll 4; then a re-poll at once,
    // then the back-off starts again from 100 ms.
    assert_eq!(at[3].1, 1);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(
        gaps[4] >= Duration::from_millis(100) && gaps[4] < Duration::from_millis(400),
        "{gaps:?}"
    );
}

/// The blocking watch over the crate's TLS (IMAPS): read timeouts pass
/// through the TLS layer as ticks, IDLE is renewed, and mail delivered
/// during IDLE is stored.
#[test]
fn watch_over_imaps_renews_and_stores_pushed_mail() {
    use embedded_mail::tls::{self, TlsBuffers, TlsMode, TlsSettings};
    let user = "w07";
    let root = tmp("w07-tls");
    let d = common::dovecot();
    let ca = d.ca_der();
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
    let (mut rd, mut wr) = (
        vec![0u8; tls::READ_BUFFER_LEN],
        vec![0u8; tls::WRITE_BUFFER_LEN],
    );
    let tcp = TcpStream::connect(d.imaps_addr()).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(TICK)).unwrap();
    let mut c = tls::imap_connect(
        Timeouts(tcp),
        tls::Connect {
            mode: TlsMode::Implicit,
            settings: &TlsSettings::pinned_ca("localhost", &ca),
            tls: TlsBuffers::new(&mut rd, &mut wr),
            rx: &mut rx,
            tx: &mut tx,
        },
        common::OsRng::new(),
    )
    .unwrap();
    c.login(user, &d.password).unwrap();
    let mut store = MaildirStore::open(&root).unwrap();
    let mut state: SyncState<64> = SyncState::new();
    let start = Instant::now();
    let mut at = Vec::new();
    let r = watch::imap(
        &mut c,
        "INBOX",
        &mut store,
        &mut state,
        &Policy::default(),
        &WatchPolicy {
            renew_after_ms: 1500,
            max_polls: Some(5),
            ..WatchPolicy::default()
        },
        &mut StdClock::new(),
        |_| {},
        |s| {
            at.push((start.elapsed(), s.stored));
            if at.len() == 3 {
                std::thread::spawn(|| {
                    std::thread::sleep(Duration::from_millis(100));
                    append("w07", "tls-push");
                });
            }
            Next::Continue
        },
    );
    eprintln!("IMAPS watch: {at:?} -> {r:?}");
    assert_eq!(r.unwrap(), 5);
    // Poll 3 is a renewal (1.5 s after IDLE began); it sets off the
    // delivery, and the push wakes poll 4 before the next renewal would.
    let gap = at[2].0 - at[1].0;
    assert!(gap >= Duration::from_millis(1500), "{at:?}");
    assert_eq!(at[3].1, 1, "{at:?}");
    assert!(at[3].0 - at[2].0 < Duration::from_millis(1200), "{at:?}");
    c.logout().unwrap();
}
