//! Shared helpers for integration tests that talk to a real Dovecot.
//!
//! Include with `mod common;` and call [`dovecot()`]. The server is the one
//! `scripts/dovecot` runs: every user (`demo`, `reader`, `t01`..`t30`, `w01`..`w08`, `s01`..`s03`) has
//! the same seeded Maildir with fixed UIDs, so a test can compare what the
//! client fetched with [`Dovecot::inbox_messages`].
//!
//! * With `EM_DOVECOT_DIR` set (as `scripts/test` does after `source
//!   target/dovecot/env.sh`), that server is used.
//! * Otherwise `scripts/dovecot ensure target/dovecot-auto-<pid> <pid>`
//!   starts one on free ports, fresh for each `cargo test` run and shared by
//!   all its test binaries; it stops by itself when that `cargo test` ends.
//!   Concurrent runs get servers of their own.
//!
//! Mailbox rules: `reader` is for read-only tests (its POP3 sessions neither
//! lock the mailbox nor update \Seen); a test that changes a mailbox (DELE,
//! STORE, APPEND, EXPUNGE, non-PEEK FETCH, ...) uses its own `tNN` user.
//! Other POP3 logins of one user exclude each other (`-ERR [IN-USE]`).
//!
//! Only std, so every test binary can include it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The account used by the demo program.
pub const DEMO: &str = "demo";
/// The account shared by read-only tests.
pub const READER: &str = "reader";
/// UIDVALIDITY of every seeded INBOX (UIDs are 1..=N in seed order).
pub const INBOX_UIDVALIDITY: u32 = 1_700_000_000;
/// Number of messages in every seeded INBOX.
pub const SEED_INBOX_LEN: usize = 7;
/// Per-user quota (STORAGE limit, in KiB as IMAP QUOTA reports it).
pub const QUOTA_STORAGE_KIB: u64 = 20 * 1024;

/// The per-test accounts `t01`..`t30`: `test_user(1)` is `"t01"`.
pub fn test_user(n: u32) -> String {
    assert!(
        (1..=30).contains(&n),
        "test users are t01..t30, not t{n:02}"
    );
    format!("t{n:02}")
}

/// A running Dovecot and where its data is.
#[derive(Debug, Clone)]
pub struct Dovecot {
    /// Directory given to `scripts/dovecot` (config, log, env.sh).
    pub dir: PathBuf,
    pub pop3_port: u16,
    pub imap_port: u16,
    pub pop3s_port: u16,
    pub imaps_port: u16,
    /// The password of every user.
    pub password: String,
    /// `home_root/<user>/Maildir` is each user's Maildir.
    pub home_root: PathBuf,
    /// The throwaway CA that signed the server certificate, DER.
    pub ca_der_path: PathBuf,
    /// The root of the RSA chain Dovecot serves to SNI `rsa.localhost`.
    pub rsa_ca_der_path: PathBuf,
    /// The same CA, PEM.
    pub ca_pem_path: PathBuf,
}

/// One message of a seeded mailbox as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededMessage {
    pub uid: u32,
    /// The Maildir file (in `cur/` or `new/`).
    pub path: PathBuf,
    /// The file with LF turned into CRLF: exactly what IMAP `BODY[]`
    /// returns and what POP3 `LIST`/`RFC822.SIZE` count.
    pub bytes_crlf: Vec<u8>,
}

impl SeededMessage {
    /// Maildir flag letters of the file (`"FS"` for \Flagged \Seen); empty
    /// for a file in `new/`.
    pub fn maildir_flags(&self) -> String {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        match name.split_once(":2,") {
            Some((_, flags)) => flags.to_string(),
            None => String::new(),
        }
    }

    /// What a POP3 client gets from RETR once dot-unstuffed and without the
    /// terminating `.CRLF`: Dovecot ends a message that lacks a final line
    /// break with an extra CRLF before the terminator.
    pub fn pop3_retr_bytes(&self) -> Vec<u8> {
        let mut v = self.bytes_crlf.clone();
        if !v.ends_with(b"\r\n") {
            v.extend_from_slice(b"\r\n");
        }
        v
    }
}

/// The shared server: started (or found) once per test process.
///
/// Panics if Dovecot cannot be reached or started; tests never skip.
pub fn dovecot() -> &'static Dovecot {
    static SERVER: OnceLock<Dovecot> = OnceLock::new();
    SERVER.get_or_init(|| {
        let d = match std::env::var_os("EM_DOVECOT_DIR") {
            Some(dir) => Dovecot::from_env(PathBuf::from(dir)),
            None => Dovecot::ensure_started(),
        };
        d.check_reachable();
        d
    })
}

pub fn pop3_addr() -> SocketAddr {
    dovecot().pop3_addr()
}
pub fn imap_addr() -> SocketAddr {
    dovecot().imap_addr()
}
pub fn pop3s_addr() -> SocketAddr {
    dovecot().pop3s_addr()
}
pub fn imaps_addr() -> SocketAddr {
    dovecot().imaps_addr()
}

/// LF → CRLF for every LF not already preceded by CR.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const INSTALL_HINT: &str = "Dovecot not installed or not startable: run scripts/test, or \
     apt-get install -y dovecot-imapd dovecot-pop3d openssl python3 and retry";

impl Dovecot {
    /// Start (or reuse, within one `cargo test` run) a server of our own in
    /// `target/dovecot-auto-<owner>`, on free ports; it stops by itself once
    /// the owner has exited.
    fn ensure_started() -> Dovecot {
        let owner = owner_pid();
        let dir = repo_root()
            .join("target")
            .join(format!("dovecot-auto-{owner}"));
        let script = repo_root().join("scripts").join("dovecot");
        let out = Command::new("bash")
            .arg(&script)
            .arg("ensure")
            .arg(&dir)
            .arg(owner.to_string())
            .output()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT}\n(running {}: {e})", script.display()));
        if !out.status.success() {
            panic!(
                "{INSTALL_HINT}\n`{} ensure {}` failed ({}):\n{}{}",
                script.display(),
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Dovecot::from_env(dir)
    }

    /// Settings from the EM_* variables, falling back to `dir/env.sh`.
    fn from_env(dir: PathBuf) -> Dovecot {
        let file = parse_env_sh(&dir.join("env.sh"));
        let get = |name: &str| -> String {
            std::env::var(name)
                .ok()
                .or_else(|| file.get(name).cloned())
                .unwrap_or_else(|| {
                    panic!(
                        "{name} is neither set nor in {}/env.sh: run scripts/dovecot start",
                        dir.display()
                    )
                })
        };
        let port = |name: &str| -> u16 {
            let v = get(name);
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a port number"))
        };
        Dovecot {
            pop3_port: port("EM_POP3_PORT"),
            imap_port: port("EM_IMAP_PORT"),
            pop3s_port: port("EM_POP3S_PORT"),
            imaps_port: port("EM_IMAPS_PORT"),
            password: get("EM_PASSWORD"),
            home_root: PathBuf::from(get("EM_HOME_ROOT")),
            ca_der_path: PathBuf::from(get("EM_CA_DER")),
            rsa_ca_der_path: PathBuf::from(get("EM_RSA_CA_DER")),
            ca_pem_path: PathBuf::from(get("EM_CA_PEM")),
            dir,
        }
    }

    fn check_reachable(&self) {
        for addr in [
            self.pop3_addr(),
            self.imap_addr(),
            self.pop3s_addr(),
            self.imaps_addr(),
        ] {
            if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                panic!(
                    "Dovecot from {} does not answer on {addr}: {e}\n\
                     (restart it with: scripts/dovecot start {}; or unset EM_DOVECOT_DIR)",
                    self.dir.display(),
                    self.dir.display()
                );
            }
        }
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }
    pub fn pop3_addr(&self) -> SocketAddr {
        Self::addr(self.pop3_port)
    }
    pub fn imap_addr(&self) -> SocketAddr {
        Self::addr(self.imap_port)
    }
    pub fn pop3s_addr(&self) -> SocketAddr {
        Self::addr(self.pop3s_port)
    }
    pub fn imaps_addr(&self) -> SocketAddr {
        Self::addr(self.imaps_port)
    }

    /// The CA certificate (DER) to pin for TLS to `localhost`/127.0.0.1.
    pub fn ca_der(&self) -> Vec<u8> {
        fs::read(&self.ca_der_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.ca_der_path.display()))
    }

    /// `user`'s Maildir (INBOX); sub-folders are `.Name.Sub` inside it.
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.home_root.join(user).join("Maildir")
    }

    /// `user`'s INBOX as it is on disk now, sorted by UID.
    pub fn inbox_messages(&self, user: &str) -> Vec<SeededMessage> {
        read_maildir(&self.maildir(user))
    }

    /// The INBOX every user started with (the untouched seed), sorted by UID.
    pub fn seed_inbox(&self) -> Vec<SeededMessage> {
        read_maildir(&self.dir.join("seed").join("Maildir"))
    }
}

/// The process whose lifetime the auto-started server shares: the `cargo`
/// (or `cargo-nextest`) process running this test binary, so that all test
/// binaries of one run share one server; this process when run otherwise.
fn owner_pid() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let comm = fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
    if comm.starts_with("cargo") {
        parent
    } else {
        std::process::id()
    }
}

/// `export NAME='value'` lines of an env.sh written by scripts/dovecot.
fn parse_env_sh(path: &Path) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    let Ok(text) = fs::read_to_string(path) else {
        return vars;
    };
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("export ") else {
            continue;
        };
        if let Some((name, value)) = rest.split_once('=') {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            vars.insert(name.trim().to_string(), value.to_string());
        }
    }
    vars
}

/// Messages of one Maildir folder, mapped to UIDs through its
/// `dovecot-uidlist` (format 3: a header line, then `<uid> [ext...] :<base name>`).
fn read_maildir(maildir: &Path) -> Vec<SeededMessage> {
    let uidlist_path = maildir.join("dovecot-uidlist");
    let uidlist = fs::read_to_string(&uidlist_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", uidlist_path.display()));

    // Base name (before ":2,flags") -> file, over cur/ and new/.
    let mut files = HashMap::new();
    for sub in ["cur", "new"] {
        let d = maildir.join(sub);
        let entries = fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
            let name = entry.file_name().to_string_lossy().into_owned();
            let base = name.split(':').next().unwrap_or_default().to_string();
            files.insert(base, entry.path());
        }
    }

    let mut out = Vec::new();
    for line in uidlist.lines().skip(1) {
        let Some((head, base)) = line.split_once(" :") else {
            continue;
        };
        let Some(uid) = head.split(' ').next().and_then(|u| u.parse::<u32>().ok()) else {
            continue;
        };
        // A line may briefly outlive its expunged file.
        let Some(path) = files.get(base) else {
            continue;
        };
        let Ok(bytes) = fs::read(path) else {
            continue;
        };
        out.push(SeededMessage {
            uid,
            path: path.clone(),
            bytes_crlf: crlf(&bytes),
        });
    }
    out.sort_by_key(|m| m.uid);
    out
}

/// A minimal line-based client for harness checks and test set-up
/// (plain TCP, CRLF lines, no literals).
pub struct LineConn {
    reader: BufReader<TcpStream>,
}

impl LineConn {
    pub fn connect(addr: SocketAddr) -> LineConn {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.set_nodelay(true).unwrap();
        LineConn {
            reader: BufReader::new(s),
        }
    }

    /// Next line without its CRLF; panics at EOF.
    pub fn read_line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut buf)
            .unwrap_or_else(|e| panic!("reading from server: {e}"));
        assert!(n > 0, "server closed the connection");
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Sends `line` plus CRLF.
    pub fn send(&mut self, line: &str) {
        let s = self.reader.get_mut();
        s.write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("writing to server: {e}"));
    }

    /// Sends `line`, returns the next line.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(line);
        self.read_line()
    }

    /// IMAP: sends `<tag> <command>`, returns (untagged lines, tagged line).
    pub fn imap(&mut self, tag: &str, command: &str) -> (Vec<String>, String) {
        self.send(&format!("{tag} {command}"));
        let mut untagged = Vec::new();
        loop {
            let line = self.read_line();
            if line.starts_with(&format!("{tag} ")) {
                return (untagged, line);
            }
            untagged.push(line);
        }
    }
}

/// A CSPRNG for the tests: the kernel's.
pub struct OsRng(std::fs::File);

impl OsRng {
    pub fn new() -> Self {
        OsRng(std::fs::File::open("/dev/urandom").expect("/dev/urandom"))
    }
}

impl rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        std::io::Read::read_exact(&mut self.0, dest).expect("reading /dev/urandom");
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for OsRng {}

/// Messages in `user`'s INBOX, counted through a connection of its own.
pub fn inbox_len(user: &str) -> usize {
    let d = dovecot();
    let mut c = LineConn::connect(d.imap_addr());
    c.read_line();
    c.imap("a", &format!("LOGIN {user} {}", d.password));
    let (untagged, _) = c.imap("b", "EXAMINE INBOX");
    untagged
        .iter()
        .find_map(|l| {
            l.strip_suffix(" EXISTS")
                .and_then(|l| l.strip_prefix("* "))
                .and_then(|n| n.parse().ok())
        })
        .expect("EXAMINE reports EXISTS")
}
