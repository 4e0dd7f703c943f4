//! Round trips of a poll against the real Dovecot: a transport wrapper
//! counts each read that follows a write (the client turning round to
//! wait for the server). An IMAP poll without limits streams every new
//! message in one request: 1, 10, 32 or 100 messages cost the same. In
//! batch mode (IMAP with a size limit, POP3) 1, 10 or 32 (one batch) cost
//! the same and 100 one batch's worth more per extra batch, never one per
//! message. Users t23..t30 (one per test).

mod common;

use embedded_mail::poll::{self, AfterStore, Policy, SyncState, BATCH};
use embedded_mail::store::memory::MemoryStore;
use std::io::{Read, Write};
use std::net::TcpStream;

/// A TCP stream that counts turnarounds (a read right after a write).
struct Counting {
    tcp: TcpStream,
    wrote: bool,
    round_trips: u32,
}

impl Counting {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        Counting {
            tcp,
            wrote: false,
            round_trips: 0,
        }
    }
}

impl embedded_io::ErrorType for Counting {
    type Error = std::io::Error;
}
impl embedded_io::Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        if std::mem::take(&mut self.wrote) {
            self.round_trips += 1;
        }
        self.tcp.read(buf)
    }
}
impl embedded_io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        self.wrote = true;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> Result<(), std::io::Error> {
        self.tcp.flush()
    }
}

type Mem = MemoryStore<{ 64 * 1024 }, 128, 4096>;

/// Empties `user`'s INBOX (and the Archive folder) and delivers `n` small
/// messages, through a second connection.
fn refill(user: &str, n: usize) {
    let d = common::dovecot();
    let mut c = common::LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    c.imap("b", "CREATE Archive");
    for mbox in ["INBOX", "Archive"] {
        c.imap("c", &format!("SELECT {mbox}"));
        c.imap("d", "STORE 1:* +FLAGS.SILENT (\\Deleted)");
        c.imap("e", "EXPUNGE");
    }
    for i in 0..n {
        let msg = format!(
            "Message-ID: <rt-{user}-{n}-{i}@example>\r\nSubject: round trip {i}\r\n\r\nbody {i}\r\n"
        );
        c.send(&format!("f APPEND INBOX {{{}+}}", msg.len()));
        // The literal (its last CRLF added by `send`), then the line end.
        c.send(msg.trim_end_matches("\r\n"));
        c.send("");
        let line = c.read_line();
        assert!(line.starts_with("f OK"), "APPEND: {line}");
    }
    c.imap("z", "LOGOUT");
}

fn imap_round_trips(user: &str, n: usize, policy: &Policy<'_>) -> u32 {
    refill(user, n);
    let d = common::dovecot();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c =
        embedded_mail::imap::Client::connect(Counting::connect(d.imap_addr()), &mut rx, &mut tx)
            .unwrap();
    c.login(user, &d.password).unwrap();
    let mut store = Box::new(Mem::new());
    let mut state: SyncState<128> = SyncState::new();
    let s = poll::imap(&mut c, "INBOX", &mut *store, &mut state, policy, |_| {}).unwrap();
    assert_eq!(s.stored as usize, n);
    c.logout().unwrap().round_trips
}

fn pop3_round_trips(user: &str, n: usize, policy: &Policy<'_>) -> u32 {
    refill(user, n);
    let d = common::dovecot();
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 256]);
    let mut c =
        embedded_mail::pop3::Client::connect(Counting::connect(d.pop3_addr()), &mut rx, &mut tx)
            .unwrap();
    c.capa().unwrap();
    c.login(user, &d.password).unwrap();
    let mut store = Box::new(Mem::new());
    let mut state: SyncState<128> = SyncState::new();
    let s = poll::pop3(&mut c, &mut *store, &mut state, policy, |_| {}).unwrap();
    let t = c.into_parts().transport;
    assert_eq!(s.stored as usize, n);
    t.round_trips
}

/// 1, 10 and one full batch cost the same; 100 messages cost at most
/// `per_batch` more for each further batch (0: exactly the same).
fn check(what: &str, per_batch: u32, mut rt: impl FnMut(usize) -> u32) {
    let one = rt(1);
    let ten = rt(10);
    let full = rt(BATCH);
    let hundred = rt(100);
    eprintln!("{what}: round trips for 1/10/{BATCH}/100 messages: {one}/{ten}/{full}/{hundred}");
    assert_eq!(
        (one, ten, full),
        (one, one, one),
        "{what}: one batch, one cost"
    );
    let extra_batches = (100u32).div_ceil(BATCH as u32) - 1;
    assert!(
        hundred <= one + extra_batches * per_batch,
        "{what}: 100 messages took {hundred} round trips (1 took {one})"
    );
}

#[test]
fn imap_keep_costs_the_same_round_trips_for_any_number_of_messages() {
    check("IMAP keep", 0, |n| {
        imap_round_trips("t23", n, &Policy::default())
    });
}

#[test]
fn imap_delete_costs_the_same_round_trips_for_any_number_of_messages() {
    let p = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    check("IMAP delete", 0, |n| imap_round_trips("t24", n, &p));
}

#[test]
fn imap_move_costs_the_same_round_trips_for_any_number_of_messages() {
    let p = Policy {
        after_store: AfterStore::MoveTo("Archive"),
        ..Policy::default()
    };
    check("IMAP move", 0, |n| imap_round_trips("t25", n, &p));
}

/// A size limit makes the IMAP poll list before it fetches (batches).
const LIMIT: Option<u64> = Some(1 << 20);

#[test]
fn imap_keep_in_batches_costs_round_trips_per_batch_not_per_message() {
    let p = Policy {
        max_size: LIMIT,
        ..Policy::default()
    };
    check("IMAP keep, batches", 2, |n| imap_round_trips("t28", n, &p));
}

#[test]
fn imap_delete_in_batches_costs_round_trips_per_batch_not_per_message() {
    let p = Policy {
        after_store: AfterStore::Delete,
        max_size: LIMIT,
        ..Policy::default()
    };
    check("IMAP delete, batches", 3, |n| {
        imap_round_trips("t29", n, &p)
    });
}

#[test]
fn imap_move_in_batches_costs_round_trips_per_batch_not_per_message() {
    let p = Policy {
        after_store: AfterStore::MoveTo("Archive"),
        max_size: LIMIT,
        ..Policy::default()
    };
    check("IMAP move, batches", 3, |n| imap_round_trips("t30", n, &p));
}

#[test]
fn pop3_keep_costs_round_trips_per_batch_not_per_message() {
    check("POP3 keep", 3, |n| {
        pop3_round_trips("t26", n, &Policy::default())
    });
}

#[test]
fn pop3_delete_costs_round_trips_per_batch_not_per_message() {
    let p = Policy {
        after_store: AfterStore::Delete,
        ..Policy::default()
    };
    check("POP3 delete", 4, |n| pop3_round_trips("t27", n, &p));
}
