//! The scripted transport of every transcript test (POP3, IMAP, TLS, the
//! poll): it plays a server's side of a dialogue turn by turn and checks
//! the client's bytes.
//!
//! A turn's server bytes are released only once the client has written
//! that turn's expected bytes, as a real server would answer only after
//! the command arrived; a write that departs from the script fails at once
//! (`Unexpected`); reads never cross the chosen split point and never
//! return more than `chunk` bytes, so every framing boundary is exercised;
//! after the last server byte the connection reads as closed; `with_cut`
//! fails reads at a chosen byte.
#![allow(dead_code)]

use std::convert::Infallible;

/// A read/write failure of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptError {
    /// The client waited for bytes the server only sends after a command
    /// the client has not written (a deadlock in real life).
    WouldBlock,
    /// The test asked for a cut: the connection fails here.
    Cut,
    /// The client wrote something other than the script expects.
    Unexpected,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ScriptError {}

impl embedded_io::Error for ScriptError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// One turn: what the client must send, then what the server answers.
#[derive(Clone, Debug)]
pub struct Turn {
    pub client: Vec<u8>,
    pub server: Vec<u8>,
}

/// Total server bytes in `turns`.
pub fn server_len(turns: &[Turn]) -> usize {
    turns.iter().map(|t| t.server.len()).sum()
}

/// Builds a transcript from `(client, server)` string pairs; the first
/// pair usually has an empty client part (the greeting).
pub fn transcript(pairs: &[(&str, &str)]) -> Vec<Turn> {
    pairs
        .iter()
        .map(|(c, s)| Turn {
            client: c.as_bytes().to_vec(),
            server: s.as_bytes().to_vec(),
        })
        .collect()
}

#[derive(Debug)]
pub struct Script {
    turns: Vec<Turn>,
    expected: Vec<u8>,
    server: Vec<u8>,
    pub written: Vec<u8>,
    released: usize,
    read_pos: usize,
    chunk: usize,
    split: usize,
    /// Fail reads once this many server bytes were delivered.
    cut_at: Option<usize>,
    /// Each write call's bytes (to check write coalescing).
    pub writes: Vec<Vec<u8>>,
}

impl Script {
    pub fn new(turns: Vec<Turn>, chunk: usize, split: usize) -> Self {
        let expected = turns.iter().flat_map(|t| t.client.clone()).collect();
        let server = turns.iter().flat_map(|t| t.server.clone()).collect();
        let mut s = Script {
            turns,
            expected,
            server,
            written: Vec::new(),
            released: 0,
            read_pos: 0,
            chunk: chunk.max(1),
            split,
            cut_at: None,
            writes: Vec::new(),
        };
        s.release();
        s
    }

    pub fn with_cut(mut self, at: usize) -> Self {
        self.cut_at = Some(at);
        self
    }

    /// Total server bytes in the script.
    pub fn server_len(&self) -> usize {
        self.server.len()
    }

    /// True when the client wrote exactly the expected bytes.
    pub fn client_matches(&self) -> bool {
        self.written == self.expected
    }

    /// True when the client wrote all it should and read all there was.
    pub fn finished(&self) -> bool {
        self.client_matches() && self.read_pos == self.server.len()
    }

    /// The client's bytes so far, as text (for assertion messages).
    pub fn written_str(&self) -> String {
        String::from_utf8_lossy(&self.written).into_owned()
    }

    /// Server bytes not yet read by the client.
    pub fn unread(&self) -> usize {
        self.server.len() - self.read_pos
    }

    pub fn expected_client(&self) -> &[u8] {
        &self.expected
    }

    fn release(&mut self) {
        let mut need = 0;
        let mut released = 0;
        for t in &self.turns {
            need += t.client.len();
            if self.written.len() >= need && self.written[..need] == self.expected[..need] {
                released += t.server.len();
            } else {
                break;
            }
        }
        self.released = released;
    }

    fn do_read(&mut self, buf: &mut [u8]) -> Result<usize, ScriptError> {
        if let Some(cut) = self.cut_at {
            if self.read_pos >= cut {
                return Err(ScriptError::Cut);
            }
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.read_pos == self.server.len() {
            return Ok(0);
        }
        if self.read_pos >= self.released {
            return Err(ScriptError::WouldBlock);
        }
        let mut limit = self.released - self.read_pos;
        if self.read_pos < self.split {
            limit = limit.min(self.split - self.read_pos);
        }
        if let Some(cut) = self.cut_at {
            limit = limit.min(cut - self.read_pos);
        }
        let n = buf.len().min(self.chunk).min(limit);
        buf[..n].copy_from_slice(&self.server[self.read_pos..self.read_pos + n]);
        self.read_pos += n;
        Ok(n)
    }

    fn do_write(&mut self, buf: &[u8]) -> Result<usize, ScriptError> {
        self.written.extend_from_slice(buf);
        self.writes.push(buf.to_vec());
        if !self.expected.starts_with(&self.written) {
            return Err(ScriptError::Unexpected);
        }
        self.release();
        Ok(buf.len())
    }
}

impl embedded_io::ErrorType for Script {
    type Error = ScriptError;
}

impl embedded_io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ScriptError> {
        self.do_read(buf)
    }
}

impl embedded_io::Write for Script {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ScriptError> {
        self.do_write(buf)
    }
    fn flush(&mut self) -> Result<(), ScriptError> {
        Ok(())
    }
}

impl embedded_io_async::Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ScriptError> {
        self.do_read(buf)
    }
}

impl embedded_io_async::Write for Script {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ScriptError> {
        self.do_write(buf)
    }
    async fn flush(&mut self) -> Result<(), ScriptError> {
        Ok(())
    }
}

/// A sink collecting a body in memory.
#[derive(Default, Debug)]
pub struct Sink(pub Vec<u8>);

impl embedded_io::ErrorType for Sink {
    type Error = Infallible;
}

impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Runs a future that never waits on anything external (the script is
/// always ready): the library's own.
#[allow(unused_imports)] // not every test that includes this module runs async code
pub use embedded_mail::store::block_on;

/// Every way to cut a script's server stream into reads: each split
/// point with large reads, plus 1-byte reads.
pub fn schedules(server_len: usize) -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = (0..=server_len).map(|p| (usize::MAX, p)).collect();
    v.push((1, 0));
    v.push((7, 0));
    v
}
