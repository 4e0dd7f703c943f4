//! The whole poll (`poll::pop3` / `poll::imap`, blocking, into the memory
//! store) against a server whose every byte comes from the fuzzer,
//! delivered in reads of fuzzer-chosen sizes. The policy (protocol, after-
//! store action, size and count caps, pipeline depth, buffer sizes) comes
//! from the head of the input.
//!
//! Invariants:
//! - no panic (login or poll may fail, as they should on junk);
//! - bounded work: the steps (transport reads and writes, store calls,
//!   progress reports) stay under a bound linear in the server's bytes,
//!   a read at the end of the script (0 bytes) ends the poll within a few
//!   steps, and the bytes the client writes stay linear too;
//! - no deletion of an uncommitted message: every `DELE n`, every
//!   `UID STORE .. +FLAGS.. (\Deleted)`, `UID MOVE` and `UID EXPUNGE` the
//!   client writes names only messages the poll reported committed
//!   (`Progress::Stored`, whose commit the store saw) or found already held
//!   (`Progress::Skipped` right after the store's `contains` answered yes).
//!   The store starts empty, so no other message may be named, except
//!   (POP3) a message for which the server listed a UIDL the store holds:
//!   a server that repeats a UIDL makes two messages one for any client
//!   (RFC 1939 requires UIDLs to be unique; see docs/BENCHMARKS.md).
//!
//! Input: `[flags] [read seed] [knobs] [server bytes...]`.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use embedded_mail::poll::{self, AfterStore, Oversize, Policy, Progress, SyncState};
use embedded_mail::store::memory::MemoryStore;
use embedded_mail::store::{key_of, MessageKey, MessageStore, StateBlob, StoreError};
use fuzz_common::Reads;
use libfuzzer_sys::fuzz_target;

/// Steps allowed per server byte, plus a constant.
const STEPS_PER_BYTE: u64 = 64;
const STEPS_BASE: u64 = 4096;
/// Client bytes allowed per server byte, plus a constant (a pipelined
/// window is written ahead of its answers).
const WRITE_PER_BYTE: u64 = 256;
const WRITE_BASE: u64 = 64 * 1024;
/// Reads of 0 bytes (end of script) tolerated before the poll stops.
const EOF_READS: u32 = 4;

#[derive(Default)]
struct Ledger {
    steps: u64,
    limit: u64,
    eof_reads: u32,
    written: u64,
    write_limit: u64,
    /// Ids reported stored or already held: the only ones a deletion may name.
    safe: BTreeSet<u32>,
    commits: u64,
    stored_reports: u64,
    /// The store answered `contains` = true since the last progress report.
    held: bool,
    line: Vec<u8>,
    imap: bool,
    /// Keys the store committed.
    keys: BTreeSet<MessageKey>,
    /// Key of the message begun last.
    begun: Option<MessageKey>,
    /// Every byte the client read, and every line it wrote (POP3), to
    /// recover which UIDL the server gave each message number.
    heard: Vec<u8>,
    said: Vec<Vec<u8>>,
}

impl Ledger {
    fn step(&mut self) {
        self.steps += 1;
        assert!(
            self.steps <= self.limit,
            "more than {} steps for the input: unbounded work",
            self.limit
        );
    }

    fn check_ids(&self, what: &[u8], ids: &[u8]) {
        for part in ids.split(|&b| b == b',') {
            let (lo, hi) = match part.iter().position(|&b| b == b':') {
                Some(i) => (num(&part[..i]), num(&part[i + 1..])),
                None => (num(part), num(part)),
            };
            let (Some(lo), Some(hi)) = (lo, hi) else {
                panic!(
                    "deletion names `{}` (not a number set): {}",
                    String::from_utf8_lossy(part),
                    String::from_utf8_lossy(what)
                );
            };
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            // A range wider than the safe set cannot be all safe.
            assert!(
                u64::from(hi - lo) < self.safe.len() as u64 + 1,
                "deletion of {lo}:{hi} covers uncommitted messages: {}",
                String::from_utf8_lossy(what)
            );
            for id in lo..=hi {
                assert!(
                    self.safe.contains(&id) || self.held_by_uidl(id),
                    "deletion of message {id}, never committed (committed: {:?}): {}",
                    self.safe,
                    String::from_utf8_lossy(what)
                );
            }
        }
    }

    /// POP3: the server listed for message `id` a UIDL that the store
    /// holds (a server that repeats a UIDL makes two messages one, as far
    /// as the poll can tell). Replays the conversation: one response per
    /// command line, multi-line ones up to the `.` line.
    fn held_by_uidl(&self, id: u32) -> bool {
        if self.imap {
            return false;
        }
        let mut lines = self
            .heard
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let _greeting = lines.next();
        for cmd in &self.said {
            let Some(first) = lines.next() else { break };
            let upper = cmd.to_ascii_uppercase();
            let word = |w: &[u8]| upper == w || upper.starts_with(&[w, b" "].concat());
            let ok = first
                .get(..3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"+OK"));
            let multi = ok
                && (upper == b"CAPA"
                    || upper == b"UIDL"
                    || upper == b"LIST"
                    || word(b"RETR")
                    || word(b"TOP"));
            let listing = |l: &[u8]| -> Option<(u32, MessageKey)> {
                let mut w = l.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty());
                let n = num(w.next()?)?;
                Some((n, key_of(&[w.next()?])))
            };
            if word(b"UIDL") && upper != b"UIDL" && ok {
                // The message is the one asked for, whatever number the
                // answer gives (as the client takes it).
                let asked = cmd.get(5..).and_then(num);
                if let Some((_, key)) = first.get(3..).and_then(listing) {
                    if asked == Some(id) && self.keys.contains(&key) {
                        return true;
                    }
                }
            }
            if multi {
                for l in lines.by_ref() {
                    if l == b"." {
                        break;
                    }
                    if upper == b"UIDL" {
                        if let Some((n, key)) = listing(l) {
                            if n == id && self.keys.contains(&key) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// One complete client line.
    fn client_line(&mut self, line: &[u8]) {
        if trace() {
            eprintln!("C: {}", String::from_utf8_lossy(line));
        }
        let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if !self.imap {
            self.said.push(line.to_vec());
            if words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case(b"DELE"))
            {
                self.check_ids(line, words.get(1).copied().unwrap_or(b"?"));
            }
            return;
        }
        // `tag [UID] verb set ...`
        let Some(rest) = words.get(1..) else { return };
        let (uid, rest) = match rest.first() {
            Some(w) if w.eq_ignore_ascii_case(b"UID") => (true, &rest[1..]),
            _ => (false, rest),
        };
        let Some(verb) = rest.first() else { return };
        let set = rest.get(1).copied().unwrap_or(b"?");
        let deletes = if verb.eq_ignore_ascii_case(b"STORE") {
            let text = String::from_utf8_lossy(line).to_ascii_uppercase();
            text.contains("+FLAGS") && text.contains("\\DELETED")
        } else {
            verb.eq_ignore_ascii_case(b"MOVE")
                || (verb.eq_ignore_ascii_case(b"EXPUNGE") && rest.len() > 1)
        };
        if deletes {
            assert!(
                uid,
                "deletion by sequence number: {}",
                String::from_utf8_lossy(line)
            );
            self.check_ids(line, set);
        }
    }
}

/// `POLL_TRACE=1` prints the conversation (for reading a finding).
fn trace() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("POLL_TRACE").is_some())
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// The scripted server: reads from the fuzzer's bytes, writes checked.
struct Wire<'a> {
    reads: Reads<'a>,
    ledger: Rc<RefCell<Ledger>>,
}

impl embedded_io::ErrorType for Wire<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        let mut l = self.ledger.borrow_mut();
        l.step();
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.reads.read(buf);
        l.heard.extend_from_slice(&buf[..n]);
        if trace() {
            eprintln!("S: {:?}", String::from_utf8_lossy(&buf[..n]));
        }
        if n == 0 {
            l.eof_reads += 1;
            assert!(
                l.eof_reads <= EOF_READS,
                "the poll keeps reading a closed connection"
            );
        }
        Ok(n)
    }
}

impl embedded_io::Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
        let mut l = self.ledger.borrow_mut();
        l.step();
        l.written += buf.len() as u64;
        assert!(
            l.written <= l.write_limit,
            "the client wrote {} bytes for the input: unbounded writes",
            l.written
        );
        for &b in buf {
            if b == b'\n' {
                let mut line = std::mem::take(&mut l.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                l.client_line(&line);
            } else if l.line.len() < 4096 {
                l.line.push(b);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
        self.ledger.borrow_mut().step();
        Ok(())
    }
}

type Mem = MemoryStore<16384, 24, 1024>;

/// The memory store, with each call counted and commits recorded.
struct Store {
    inner: Mem,
    ledger: Rc<RefCell<Ledger>>,
}

impl MessageStore for Store {
    type Error = core::convert::Infallible;

    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Self::Error>> {
        let mut l = self.ledger.borrow_mut();
        l.step();
        l.begun = Some(key);
        self.inner.begin(key, size_hint)
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        self.ledger.borrow_mut().step();
        self.inner.write(chunk)
    }
    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        let mut l = self.ledger.borrow_mut();
        l.step();
        let r = self.inner.commit();
        if r.is_ok() {
            l.commits += 1;
            if let Some(k) = l.begun.take() {
                l.keys.insert(k);
            }
        }
        r
    }
    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        self.ledger.borrow_mut().step();
        self.inner.abort()
    }
    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        let mut l = self.ledger.borrow_mut();
        l.step();
        let r = self.inner.contains(key);
        if r == Ok(true) {
            l.held = true;
        }
        r
    }
    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }
    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        self.ledger.borrow_mut().step();
        self.inner.free()
    }
    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        self.ledger.borrow_mut().step();
        self.inner.save_state(state)
    }
    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        self.ledger.borrow_mut().step();
        self.inner.load_state(state)
    }
}

fn policy(flags: u8, knobs: u8) -> Policy<'static> {
    let after_store = match (flags >> 1) & 3 {
        0 => AfterStore::Keep,
        1 | 2 => AfterStore::Delete,
        _ => AfterStore::MoveTo("Done"),
    };
    Policy {
        after_store,
        delete_older_than: (knobs & 0x10 != 0).then_some(0),
        now: u32::from(knobs & 0x20 != 0) * 1_000_000,
        max_size: (flags & 0x08 != 0).then_some(64),
        oversize: if flags & 0x10 != 0 {
            Oversize::HeadersOnly
        } else {
            Oversize::Skip
        },
        max_messages: (flags & 0x20 != 0).then_some(u32::from(knobs >> 6) + 1),
        max_bytes: (knobs & 0x40 != 0).then_some(200),
        quota_guard: (flags & 0x80 != 0).then_some(100),
        set_seen: flags & 0x40 != 0,
        pipeline: 1 + u16::from(knobs & 7) * 2,
        identity: (knobs & 0x08 != 0).then_some(("fuzz", "1")),
        ..Policy::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, knobs, server @ ..] = data else {
        return;
    };
    let imap = flags & 1 != 0;
    let ledger = Rc::new(RefCell::new(Ledger {
        limit: STEPS_PER_BYTE * server.len() as u64 + STEPS_BASE,
        write_limit: WRITE_PER_BYTE * server.len() as u64 + WRITE_BASE,
        imap,
        ..Ledger::default()
    }));
    let wire = Wire {
        reads: Reads::new(server, u32::from(*seed) | 1),
        ledger: ledger.clone(),
    };
    let policy = policy(*flags, *knobs);
    let mut store = Store {
        inner: Mem::new(),
        ledger: ledger.clone(),
    };
    let mut state: SyncState<16> = SyncState::new();
    let progress_ledger = ledger.clone();
    let progress = move |p: Progress| {
        let mut l = progress_ledger.borrow_mut();
        l.step();
        if trace() {
            eprintln!("progress: {p:?}");
        }
        match p {
            Progress::Stored { id, .. } => {
                l.stored_reports += 1;
                assert!(
                    l.stored_reports <= l.commits,
                    "message {id} reported stored without a commit"
                );
                l.safe.insert(id);
            }
            Progress::Skipped { id, .. } if l.held => {
                l.safe.insert(id);
            }
            Progress::Deleted { id } => {
                assert!(
                    l.safe.contains(&id) || l.held_by_uidl(id),
                    "message {id} reported deleted, never committed"
                );
            }
            _ => {}
        }
        l.held = false;
    };
    // Small buffers (the link's minimum is a line) or roomy ones.
    let (rx_len, tx_len) = if knobs & 0x80 != 0 {
        (256, 256)
    } else {
        (2048, 1024)
    };
    let mut rx = vec![0u8; rx_len];
    let mut tx = vec![0u8; tx_len];
    if imap {
        let Ok(mut c) = embedded_mail::imap::Client::connect(wire, &mut rx, &mut tx) else {
            return;
        };
        if c.login("fred", "s3cret").is_err() {
            return;
        }
        let _ = poll::imap(&mut c, "INBOX", &mut store, &mut state, &policy, progress);
    } else {
        let Ok(mut c) = embedded_mail::pop3::Client::connect(wire, &mut rx, &mut tx) else {
            return;
        };
        // CAPA tells the poll about UIDL, PIPELINING and TOP; a refusal
        // leaves the session usable.
        let _ = c.capa();
        if c.login("fred", "s3cret").is_err() {
            return;
        }
        let _ = poll::pop3(&mut c, &mut store, &mut state, &policy, progress);
    }
});
