//! `poll::timeout::WithTimeout`: every read and write of an async
//! transport bounded by the caller's timer. A server that never answers
//! (virtual time, and a real silent TCP server on loopback) ends the
//! connect, the login or the poll within the bound with a `TimedOut`
//! error; a server that answers is polled as without the wrapper.

#![cfg(all(feature = "std", feature = "async"))]

mod poll_fake;

use core::future::poll_fn;
use core::task::Poll;
use embedded_io::{Error as _, ErrorKind};
use embedded_mail::poll::asynch::watch::Timer;
use embedded_mail::poll::timeout::{within, Elapsed, TimeoutError, WithTimeout};
use embedded_mail::poll::{self, AfterStore, Policy, SyncState};
use embedded_mail::store::block_on;
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::Error;
use poll_fake::{mailbox, small_messages, Proto, Server};
use std::cell::Cell;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Virtual time: a sleep jumps the clock to its deadline at once.
#[derive(Clone, Default)]
struct VirtualTimer(Rc<Cell<u64>>);

impl Timer for VirtualTimer {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    async fn sleep_until(&mut self, at: u64) {
        if at > self.0.get() {
            self.0.set(at);
        }
    }
}

/// A transport whose peer never sends a byte (and accepts writes).
struct Silent;

impl embedded_io::ErrorType for Silent {
    type Error = ErrorKind;
}
impl embedded_io_async::Read for Silent {
    async fn read(&mut self, _: &mut [u8]) -> Result<usize, ErrorKind> {
        core::future::pending().await
    }
}
impl embedded_io_async::Write for Silent {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

fn is_timeout<E: embedded_io::Error>(e: &Error<TimeoutError<E>>, ms: u64) -> bool {
    matches!(e, Error::Transport(t @ TimeoutError::TimedOut { after_ms }) if *after_ms == ms
        && t.kind() == ErrorKind::TimedOut)
}

#[test]
fn a_silent_server_ends_the_greeting_at_the_bound_virtual_time() {
    let timer = VirtualTimer::default();
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let r = block_on(embedded_mail::pop3::asynch::Client::connect(
        WithTimeout::new(Silent, timer.clone(), 5_000),
        &mut rx,
        &mut tx,
    ));
    let e = r.err().expect("a silent server cannot greet");
    assert!(is_timeout(&e, 5_000), "{e:?}");
    assert_eq!(timer.now_ms(), 5_000, "ended exactly at the bound");
    assert!(
        e.to_string().contains("TimedOut { after_ms: 5000 }"),
        "the message names the bound: {e}"
    );

    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let r = block_on(embedded_mail::imap::asynch::Client::connect(
        WithTimeout::new(Silent, timer.clone(), 2_000),
        &mut rx,
        &mut tx,
    ));
    let e = r.err().expect("a silent server cannot greet");
    assert!(is_timeout(&e, 2_000), "{e:?}");
    assert_eq!(timer.now_ms(), 7_000);
}

#[test]
fn a_server_that_answers_is_polled_as_without_the_wrapper() {
    let msgs = small_messages();
    let bodies: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    for proto in [Proto::Pop3, Proto::Imap] {
        let mbox = mailbox(&bodies);
        let timer = VirtualTimer::default();
        let t = WithTimeout::new(Server::new(mbox.clone(), proto, None), timer.clone(), 1_000);
        let mut store = MemoryStore::<8192, 16, 1024>::new();
        let mut state: SyncState<16> = SyncState::new();
        let policy = Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        };
        let (mut rx, mut tx) = ([0u8; 256], [0u8; 128]);
        let summary = block_on(async {
            if proto == Proto::Imap {
                let mut c = embedded_mail::imap::asynch::Client::connect(t, &mut rx, &mut tx)
                    .await
                    .unwrap();
                c.login("u", "p").await.unwrap();
                poll::asynch::imap(&mut c, "INBOX", &mut store, &mut state, &policy, |_| {})
                    .await
                    .unwrap()
            } else {
                let mut c = embedded_mail::pop3::asynch::Client::connect(t, &mut rx, &mut tx)
                    .await
                    .unwrap();
                poll::asynch::pop3_login(&mut c, "u", "p", &policy)
                    .await
                    .unwrap();
                poll::asynch::pop3(&mut c, &mut store, &mut state, &policy, |_| {})
                    .await
                    .unwrap()
            }
        });
        assert_eq!(summary.stored as usize, bodies.len(), "{}", proto as u8);
        assert_eq!(
            timer.now_ms(),
            0,
            "{}: no wait reached its bound",
            proto as u8
        );
        assert!(mbox.borrow().msgs.iter().all(|m| m.deleted) || mbox.borrow().msgs.is_empty());
    }
}

#[test]
fn within_bounds_a_whole_step() {
    let mut timer = VirtualTimer::default();
    let r = block_on(within(&mut timer, 750, core::future::pending::<()>()));
    assert_eq!(r, Err(Elapsed { after_ms: 750 }));
    assert_eq!(timer.now_ms(), 750);
    let r = block_on(within(&mut timer, 750, async { 7 }));
    assert_eq!(r, Ok(7), "a ready step wins");
    assert_eq!(timer.now_ms(), 750, "and the timer is not waited on");
}

/// Real time, spinning (the library's `block_on` polls in a loop).
#[derive(Debug, Clone, Copy)]
struct StdTimer(Instant);

impl Timer for StdTimer {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    async fn sleep_until(&mut self, at: u64) {
        poll_fn(|cx| {
            if self.now_ms() >= at {
                Poll::Ready(())
            } else {
                std::thread::sleep(Duration::from_millis(1));
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}

/// A non-blocking std TCP stream as an async transport.
#[derive(Debug)]
struct AsyncTcp(TcpStream);

impl embedded_io::ErrorType for AsyncTcp {
    type Error = std::io::Error;
}
impl embedded_io_async::Read for AsyncTcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        poll_fn(|cx| match self.0.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            r => Poll::Ready(r),
        })
        .await
    }
}
impl embedded_io_async::Write for AsyncTcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        poll_fn(|cx| match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            r => Poll::Ready(r),
        })
        .await
    }
    async fn flush(&mut self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

/// A loopback server that sends `script` once connected, then nothing
/// (it holds the connection open for 10 s).
fn silent_after(script: &'static [u8]) -> AsyncTcp {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(script).unwrap();
        let mut sink = [0u8; 512];
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        while let Ok(n) = s.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    });
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nonblocking(true).unwrap();
    AsyncTcp(tcp)
}

const BOUND_MS: u64 = 300;

fn assert_in_bound(started: Instant) {
    let took = started.elapsed();
    assert!(
        // The timer counts whole milliseconds, so a deadline can fall up to
        // one millisecond before BOUND_MS of wall time.
        took >= Duration::from_millis(BOUND_MS - 2)
            && took < Duration::from_millis(BOUND_MS + 1_500),
        "took {took:?} for a bound of {BOUND_MS} ms"
    );
}

#[test]
fn a_silent_loopback_server_ends_the_greeting_within_the_bound() {
    let tcp = silent_after(b"");
    let timer = StdTimer(Instant::now());
    let started = Instant::now();
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let r = block_on(embedded_mail::imap::asynch::Client::connect(
        WithTimeout::new(tcp, timer, BOUND_MS),
        &mut rx,
        &mut tx,
    ));
    assert_in_bound(started);
    let e = r.err().expect("no greeting");
    assert!(is_timeout(&e, BOUND_MS), "{e:?}");
}

#[test]
fn a_server_that_goes_silent_mid_poll_ends_it_within_the_bound() {
    // Greets, answers CAPA, USER and PASS, then STAT (one message), then
    // stops: the poll's next read (the message's UIDL) never gets bytes.
    let tcp =
        silent_after(b"+OK ready\r\n+OK\r\nUIDL\r\nUSER\r\n.\r\n+OK\r\n+OK in\r\n+OK 1 100\r\n");
    let timer = StdTimer(Instant::now());
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 64]);
    let policy = Policy::default();
    let mut store = MemoryStore::<4096, 8, 512>::new();
    let mut state: SyncState<8> = SyncState::new();
    let (started, r) = block_on(async {
        let mut c = embedded_mail::pop3::asynch::Client::connect(
            WithTimeout::new(tcp, timer, BOUND_MS),
            &mut rx,
            &mut tx,
        )
        .await
        .unwrap();
        poll::asynch::pop3_login(&mut c, "u", "p", &policy)
            .await
            .unwrap();
        let started = Instant::now();
        let r = poll::asynch::pop3(&mut c, &mut store, &mut state, &policy, |_| {}).await;
        (started, r)
    });
    assert_in_bound(started);
    match r {
        Err(poll::PollError::Mail(e)) => assert!(is_timeout(&e, BOUND_MS), "{e:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(store.is_empty(), "nothing stored from a listing cut short");
}
