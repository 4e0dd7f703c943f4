//! In-process fake POP3 and IMAP servers over one mailbox that outlives
//! connections, with a byte budget after which the connection is cut
//! (reads and writes fail), for the poll's cut-at-every-byte tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cut")
    }
}
impl std::error::Error for Cut {}
impl embedded_io::Error for Cut {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::ConnectionReset
    }
}

#[derive(Debug, Clone)]
pub struct Msg {
    pub uid: u32,
    pub uidl: String,
    pub bytes: Vec<u8>,
    pub deleted: bool,
    pub seen: bool,
}

#[derive(Debug)]
pub struct Mailbox {
    pub msgs: Vec<Msg>,
    pub uid_validity: u32,
    pub next_uid: u32,
    /// Messages moved to another folder (IMAP MOVE).
    pub moved: Vec<Msg>,
}

pub type Shared = Rc<RefCell<Mailbox>>;

pub fn mailbox(bodies: &[&[u8]]) -> Shared {
    let msgs = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| Msg {
            uid: i as u32 + 1,
            uidl: format!("uidl-{:03}", i + 1),
            bytes: b.to_vec(),
            deleted: false,
            seen: false,
        })
        .collect::<Vec<_>>();
    Rc::new(RefCell::new(Mailbox {
        next_uid: msgs.len() as u32 + 1,
        msgs,
        uid_validity: 42,
        moved: Vec::new(),
    }))
}

/// Small test messages: one has a line starting with a dot.
pub fn small_messages() -> Vec<Vec<u8>> {
    vec![
        b"From: a@example.org\r\nMessage-ID: <1@x>\r\nSubject: one\r\n\r\nHello\r\n".to_vec(),
        b"From: b@example.org\r\nMessage-ID: <2@x>\r\nSubject: two\r\n\r\n.dot line\r\nbye\r\n"
            .to_vec(),
        b"From: c@example.org\r\nSubject: three, no id\r\n\r\nText of three\r\n".to_vec(),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Pop3,
    /// POP3 that refuses UIDL (and does not list it in CAPA).
    Pop3NoUidl,
    /// POP3 that offers PIPELINING (the poll's streaming pass).
    Pop3Pipelining,
    Imap,
}

pub struct Server {
    pub mbox: Shared,
    proto: Proto,
    out: VecDeque<u8>,
    line: Vec<u8>,
    budget: Option<usize>,
    used: usize,
    pop3_marks: Vec<bool>,
    /// Total bytes moved (both directions).
    pub traffic: usize,
    selected: bool,
}

impl Server {
    pub fn new(mbox: Shared, proto: Proto, cut_after: Option<usize>) -> Server {
        let n = mbox.borrow().msgs.len();
        let mut s = Server {
            mbox,
            proto,
            out: VecDeque::new(),
            line: Vec::new(),
            budget: cut_after,
            used: 0,
            pop3_marks: vec![false; n],
            traffic: 0,
            selected: false,
        };
        match proto {
            Proto::Pop3 | Proto::Pop3NoUidl | Proto::Pop3Pipelining => {
                s.say("+OK fake pop3 ready\r\n")
            }
            Proto::Imap => s.say("* OK [CAPABILITY IMAP4rev1 UIDPLUS MOVE] fake imap\r\n"),
        }
        s
    }

    fn say(&mut self, s: &str) {
        self.out.extend(s.as_bytes());
    }
    fn say_bytes(&mut self, b: &[u8]) {
        self.out.extend(b);
    }

    fn take_budget(&mut self, want: usize) -> Result<usize, Cut> {
        match self.budget {
            Some(b) if self.used >= b => Err(Cut),
            Some(b) => Ok(want.min(b - self.used)),
            None => Ok(want),
        }
    }

    fn do_read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        let n = self.take_budget(buf.len().min(self.out.len()))?;
        if n == 0 && !buf.is_empty() {
            // Nothing to say: a real server would block; treat as EOF.
            return Ok(0);
        }
        for b in buf.iter_mut().take(n) {
            *b = self.out.pop_front().unwrap();
        }
        self.used += n;
        self.traffic += n;
        Ok(n)
    }

    fn do_write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        let n = self.take_budget(buf.len())?;
        for &b in &buf[..n] {
            self.line.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                match self.proto {
                    Proto::Pop3 | Proto::Pop3NoUidl | Proto::Pop3Pipelining => self.pop3(&text),
                    Proto::Imap => self.imap(&text),
                }
            }
        }
        self.used += n;
        self.traffic += n;
        if n == 0 {
            return Err(Cut);
        }
        Ok(n)
    }

    // ---- POP3 ----------------------------------------------------------

    fn live(&self, n: usize) -> bool {
        n >= 1
            && n <= self.pop3_marks.len()
            && !self.pop3_marks[n - 1]
            && !self.mbox.borrow().msgs[n - 1].deleted
    }

    fn pop3(&mut self, line: &str) {
        let mut w = line.split(' ');
        let cmd = w.next().unwrap_or("").to_ascii_uppercase();
        let arg: Option<usize> = w.next().and_then(|a| a.parse().ok());
        let arg2: Option<usize> = w.next().and_then(|a| a.parse().ok());
        match cmd.as_str() {
            "USER" | "PASS" | "NOOP" => self.say("+OK\r\n"),
            "CAPA" if self.proto == Proto::Pop3NoUidl => self.say("+OK\r\nTOP\r\nUSER\r\n.\r\n"),
            "UIDL" if self.proto == Proto::Pop3NoUidl => self.say("-ERR no UIDL here\r\n"),
            "CAPA" if self.proto == Proto::Pop3Pipelining => {
                self.say("+OK\r\nUIDL\r\nTOP\r\nUSER\r\nPIPELINING\r\n.\r\n")
            }
            "CAPA" => self.say("+OK\r\nUIDL\r\nTOP\r\nUSER\r\n.\r\n"),
            "STAT" => {
                let (mut c, mut s) = (0, 0);
                for i in 1..=self.pop3_marks.len() {
                    if self.live(i) {
                        c += 1;
                        s += self.mbox.borrow().msgs[i - 1].bytes.len();
                    }
                }
                self.say(&format!("+OK {c} {s}\r\n"));
            }
            "UIDL" | "LIST" => {
                let item = |s: &Server, i: usize| {
                    let m = &s.mbox.borrow().msgs[i - 1];
                    if cmd == "UIDL" {
                        format!("{i} {}", m.uidl)
                    } else {
                        format!("{i} {}", m.bytes.len())
                    }
                };
                match arg {
                    Some(i) if self.live(i) => {
                        let t = item(self, i);
                        self.say(&format!("+OK {t}\r\n"));
                    }
                    Some(_) => self.say("-ERR no such message\r\n"),
                    None => {
                        self.say("+OK\r\n");
                        for i in 1..=self.pop3_marks.len() {
                            if self.live(i) {
                                let t = item(self, i);
                                self.say(&format!("{t}\r\n"));
                            }
                        }
                        self.say(".\r\n");
                    }
                }
            }
            "RETR" | "TOP" => match arg {
                Some(i) if self.live(i) => {
                    let bytes = self.mbox.borrow().msgs[i - 1].bytes.clone();
                    let bytes = if cmd == "TOP" && arg2 == Some(0) {
                        let end = bytes
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map_or(bytes.len(), |p| p + 4);
                        bytes[..end].to_vec()
                    } else {
                        bytes
                    };
                    self.say("+OK\r\n");
                    for l in bytes.split_inclusive(|&b| b == b'\n') {
                        if l.starts_with(b".") {
                            self.say(".");
                        }
                        self.say_bytes(l);
                    }
                    self.say(".\r\n");
                }
                _ => self.say("-ERR no such message\r\n"),
            },
            "DELE" => match arg {
                Some(i) if self.live(i) => {
                    self.pop3_marks[i - 1] = true;
                    self.say("+OK marked\r\n");
                }
                _ => self.say("-ERR no such message\r\n"),
            },
            "RSET" => {
                self.pop3_marks.iter_mut().for_each(|m| *m = false);
                self.say("+OK\r\n");
            }
            "QUIT" => {
                // UPDATE state: the deletions happen now, whether or not
                // the +OK reaches the client.
                let marks = self.pop3_marks.clone();
                let mut mb = self.mbox.borrow_mut();
                for (m, d) in mb.msgs.iter_mut().zip(marks) {
                    m.deleted |= d;
                }
                mb.msgs.retain(|m| !m.deleted);
                drop(mb);
                self.say("+OK bye\r\n");
            }
            _ => self.say("-ERR unknown\r\n"),
        }
    }

    // ---- IMAP ----------------------------------------------------------

    fn imap(&mut self, line: &str) {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        let upper = rest.to_ascii_uppercase();
        let tag = tag.to_string();
        if upper.starts_with("CAPABILITY") {
            self.say("* CAPABILITY IMAP4rev1 UIDPLUS MOVE\r\n");
            self.say(&format!("{tag} OK done\r\n"));
        } else if upper.starts_with("LOGIN") {
            self.say(&format!(
                "{tag} OK [CAPABILITY IMAP4rev1 UIDPLUS MOVE] logged in\r\n"
            ));
        } else if upper.starts_with("SELECT") || upper.starts_with("EXAMINE") {
            self.selected = true;
            let mb = self.mbox.borrow();
            let (n, v, next) = (mb.msgs.len(), mb.uid_validity, mb.next_uid);
            drop(mb);
            self.say(&format!(
                "* {n} EXISTS\r\n* OK [UIDVALIDITY {v}] v\r\n* OK [UIDNEXT {next}] n\r\n{tag} OK [READ-WRITE] selected\r\n"
            ));
        } else if upper.starts_with("UID FETCH ") {
            let args = &rest[10..];
            let (set, items) = args.split_once(' ').unwrap_or((args, ""));
            let items = items.to_ascii_uppercase();
            let uids = self.resolve(set);
            for uid in uids {
                let mb = self.mbox.borrow();
                let Some((seq, m)) = mb.msgs.iter().enumerate().find(|(_, m)| m.uid == uid) else {
                    continue;
                };
                let (seq, m) = (seq + 1, m.clone());
                drop(mb);
                if items.contains("HEADER.FIELDS") {
                    let id: Vec<u8> = m
                        .bytes
                        .split_inclusive(|&b| b == b'\n')
                        .take_while(|l| *l != b"\r\n")
                        .filter(|l| l.to_ascii_lowercase().starts_with(b"message-id:"))
                        .flatten()
                        .copied()
                        .chain(*b"\r\n")
                        .collect();
                    self.say(&format!(
                        "* {seq} FETCH (UID {uid} RFC822.SIZE {} INTERNALDATE \"01-Jan-2024 00:00:0{} +0000\" BODY[HEADER.FIELDS (MESSAGE-ID)] {{{}}}\r\n",
                        m.bytes.len(),
                        uid % 10,
                        id.len()
                    ));
                    self.say_bytes(&id);
                    // The whole message in the same response when asked.
                    if items.contains("BODY.PEEK[]") {
                        self.say(&format!(" BODY[] {{{}}}\r\n", m.bytes.len()));
                        self.say_bytes(&m.bytes);
                    }
                    self.say(")\r\n");
                } else {
                    let header = items.contains("BODY.PEEK[HEADER]");
                    let bytes = if header {
                        let end = m
                            .bytes
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map_or(m.bytes.len(), |p| p + 4);
                        m.bytes[..end].to_vec()
                    } else {
                        m.bytes.clone()
                    };
                    let name = if header { "BODY[HEADER]" } else { "BODY[]" };
                    self.say(&format!(
                        "* {seq} FETCH (UID {uid} {name} {{{}}}\r\n",
                        bytes.len()
                    ));
                    self.say_bytes(&bytes);
                    self.say(")\r\n");
                }
            }
            self.say(&format!("{tag} OK fetched\r\n"));
        } else if upper.starts_with("UID STORE ") {
            let args = &rest[10..];
            let (set, flags) = args.split_once(' ').unwrap_or((args, ""));
            let del = flags.to_ascii_uppercase().contains("\\DELETED");
            for uid in self.resolve(set) {
                let mut mb = self.mbox.borrow_mut();
                if let Some(m) = mb.msgs.iter_mut().find(|m| m.uid == uid) {
                    if del {
                        m.deleted = true;
                    } else {
                        m.seen = true;
                    }
                }
            }
            self.say(&format!("{tag} OK stored\r\n"));
        } else if upper.starts_with("UID EXPUNGE ") {
            let uids = self.resolve(&rest[12..]);
            loop {
                let mb = self.mbox.borrow();
                let pos = mb
                    .msgs
                    .iter()
                    .position(|m| m.deleted && uids.contains(&m.uid));
                drop(mb);
                let Some(p) = pos else { break };
                self.mbox.borrow_mut().msgs.remove(p);
                self.say(&format!("* {} EXPUNGE\r\n", p + 1));
            }
            self.say(&format!("{tag} OK expunged\r\n"));
        } else if upper.starts_with("UID MOVE ") {
            let args = &rest[9..];
            let (set, _) = args.split_once(' ').unwrap_or((args, ""));
            for uid in self.resolve(set) {
                let pos = self.mbox.borrow().msgs.iter().position(|m| m.uid == uid);
                if let Some(p) = pos {
                    let m = self.mbox.borrow_mut().msgs.remove(p);
                    self.mbox.borrow_mut().moved.push(m);
                    self.say(&format!("* {} EXPUNGE\r\n", p + 1));
                }
            }
            self.say(&format!("{tag} OK moved\r\n"));
        } else if upper.starts_with("LOGOUT") {
            self.say(&format!("* BYE bye\r\n{tag} OK bye\r\n"));
        } else {
            self.say(&format!("{tag} BAD unknown\r\n"));
        }
    }

    fn resolve(&self, set: &str) -> Vec<u32> {
        let mb = self.mbox.borrow();
        let max = mb.msgs.iter().map(|m| m.uid).max().unwrap_or(0);
        let mut out = Vec::new();
        for part in set.split(',') {
            let (a, b) = part.split_once(':').unwrap_or((part, part));
            let p = |s: &str| {
                if s == "*" {
                    max
                } else {
                    s.parse().unwrap_or(0)
                }
            };
            let (lo, hi) = (p(a).min(p(b)), p(a).max(p(b)));
            for m in &mb.msgs {
                if m.uid >= lo && m.uid <= hi && !out.contains(&m.uid) {
                    out.push(m.uid);
                }
            }
        }
        out
    }
}

impl embedded_io::ErrorType for Server {
    type Error = Cut;
}
impl embedded_io::Read for Server {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        self.do_read(buf)
    }
}
impl embedded_io::Write for Server {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        self.do_write(buf)
    }
    fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}
impl embedded_io_async::Read for Server {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        self.do_read(buf)
    }
}
impl embedded_io_async::Write for Server {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        self.do_write(buf)
    }
    async fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}
