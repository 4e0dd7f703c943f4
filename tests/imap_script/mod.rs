//! A scripted IMAP server for transcript tests: it releases each turn's
//! server bytes only once the client wrote that turn's expected bytes,
//! serves reads of at most `chunk` bytes that never cross `split`, and
//! records every write call (to check write coalescing).
#![allow(dead_code)]

use std::convert::Infallible;

/// Script failures surfaced as transport errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptError {
    /// The client waits for bytes the server sends only after a command
    /// the client has not written: a deadlock on a real connection.
    WouldBlock,
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

/// One turn: the client's bytes, then the server's answer.
pub struct Turn {
    pub client: Vec<u8>,
    pub server: Vec<u8>,
}

/// Builds turns from `(client, server)` pairs.
pub fn turns(pairs: &[(&str, &str)]) -> Vec<Turn> {
    pairs
        .iter()
        .map(|(c, s)| Turn {
            client: c.as_bytes().to_vec(),
            server: s.as_bytes().to_vec(),
        })
        .collect()
}

pub struct Script {
    turns: Vec<Turn>,
    expected: Vec<u8>,
    server: Vec<u8>,
    /// Everything the client wrote.
    pub written: Vec<u8>,
    /// Each write call's bytes.
    pub writes: Vec<Vec<u8>>,
    released: usize,
    read_pos: usize,
    chunk: usize,
    split: usize,
    turns_done: usize,
}

impl Script {
    pub fn new(turns: Vec<Turn>, chunk: usize, split: usize) -> Self {
        let expected = turns.iter().flat_map(|t| t.client.clone()).collect();
        let mut s = Script {
            turns,
            expected,
            server: Vec::new(),
            written: Vec::new(),
            writes: Vec::new(),
            released: 0,
            read_pos: 0,
            chunk,
            split,
            turns_done: 0,
        };
        s.release();
        s
    }

    /// Total server bytes in the script.
    pub fn server_len(turns: &[Turn]) -> usize {
        turns.iter().map(|t| t.server.len()).sum()
    }

    fn release(&mut self) {
        let mut need = 0;
        for (i, t) in self.turns.iter().enumerate() {
            need += t.client.len();
            if i >= self.turns_done && self.written.len() >= need {
                self.server.extend_from_slice(&t.server);
                self.turns_done = i + 1;
            } else if i >= self.turns_done {
                break;
            }
        }
        self.released = self.server.len();
    }

    /// True when the client wrote all it should and read all there was.
    pub fn finished(&self) -> bool {
        self.written == self.expected
            && self.read_pos == self.server.len()
            && self.turns_done == self.turns.len()
    }

    /// Server bytes not read yet.
    pub fn unread(&self) -> usize {
        self.server.len() - self.read_pos
    }

    fn do_read(&mut self, buf: &mut [u8]) -> Result<usize, ScriptError> {
        let mut avail = self.released - self.read_pos;
        if self.read_pos < self.split {
            avail = avail.min(self.split - self.read_pos);
        }
        let n = avail.min(self.chunk).min(buf.len());
        if n == 0 {
            return if buf.is_empty() {
                Ok(0)
            } else {
                Err(ScriptError::WouldBlock)
            };
        }
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

    pub fn written_str(&self) -> String {
        String::from_utf8_lossy(&self.written).into_owned()
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

/// A sink collecting a body.
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

/// Runs a future whose I/O never really waits: the library's own.
#[allow(unused_imports)] // not every test that includes this module runs async code
pub use embedded_mail::store::block_on;
