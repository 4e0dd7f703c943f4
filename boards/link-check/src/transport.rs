//! A dummy transport and sink: the server's bytes come from a canned script
//! in flash, what the client writes is folded into a checksum and dropped.
//!
//! Both implement the blocking `embedded_io` traits and the
//! `embedded_io_async` ones (whose futures are always ready), so the same
//! values drive the blocking and the async client. `black_box` keeps LTO
//! from seeing through the script or discarding the written bytes, so every
//! parser and encoder path stays in the binary.

use core::hint::black_box;

/// The transport's error: a real link can fail, so the client's transport
/// error paths must stay in the binary too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkDown;

impl core::fmt::Display for LinkDown {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("link down")
    }
}

impl core::error::Error for LinkDown {}

impl embedded_io::Error for LinkDown {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::ConnectionReset
    }
}

/// A server played from a script: each segment is what the server sends in
/// one go (a read never returns bytes of two segments, as a real server
/// sends nothing before the command it answers; STLS depends on that).
/// After the last segment reads return 0 (connection closed).
pub struct Dummy {
    segments: &'static [&'static [u8]],
    segment: usize,
    pos: usize,
    /// Bytes the client wrote, folded (FNV-1a).
    pub written: u32,
    /// Number of flushes.
    pub flushes: u32,
}

impl Dummy {
    /// A connection whose server says `segments`, one after the other.
    pub fn new(segments: &'static [&'static [u8]]) -> Self {
        Dummy {
            // Opaque to the optimiser: nothing about the dialogue can be
            // computed at build time.
            segments: black_box(segments),
            segment: 0,
            pos: 0,
            written: 0x811c_9dc5,
            flushes: 0,
        }
    }

    /// True when the whole script was read.
    pub fn exhausted(&self) -> bool {
        self.segments
            .get(self.segment..)
            .unwrap_or(&[])
            .iter()
            .map(|s| s.len())
            .sum::<usize>()
            <= self.pos
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        if black_box(false) {
            return Err(LinkDown);
        }
        while let Some(seg) = self.segments.get(self.segment) {
            let rest = seg.get(self.pos..).unwrap_or(&[]);
            if rest.is_empty() {
                self.segment += 1;
                self.pos = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            for (dst, src) in buf.iter_mut().zip(rest) {
                *dst = *src;
            }
            self.pos += n;
            return Ok(n);
        }
        Ok(0)
    }

    fn write_bytes(&mut self, buf: &[u8]) -> Result<usize, LinkDown> {
        if black_box(false) {
            return Err(LinkDown);
        }
        self.written = fnv(self.written, black_box(buf));
        Ok(buf.len())
    }

    fn flush_all(&mut self) -> Result<(), LinkDown> {
        self.flushes += 1;
        Ok(())
    }
}

impl embedded_io::ErrorType for Dummy {
    type Error = LinkDown;
}

impl embedded_io::Read for Dummy {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        self.read_bytes(buf)
    }
}

impl embedded_io::Write for Dummy {
    fn write(&mut self, buf: &[u8]) -> Result<usize, LinkDown> {
        self.write_bytes(buf)
    }

    fn flush(&mut self) -> Result<(), LinkDown> {
        self.flush_all()
    }
}

impl embedded_io_async::Read for Dummy {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        self.read_bytes(buf)
    }
}

impl embedded_io_async::Write for Dummy {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, LinkDown> {
        self.write_bytes(buf)
    }

    async fn flush(&mut self) -> Result<(), LinkDown> {
        self.flush_all()
    }
}

/// Where message bodies go (flash, an SD card, ... in real firmware): here
/// a byte count and a checksum.
#[derive(Default)]
pub struct Sink {
    /// Bytes received.
    pub len: u64,
    /// Their FNV-1a hash.
    pub hash: u32,
}

impl embedded_io::ErrorType for Sink {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.len += buf.len() as u64;
        self.hash = fnv(self.hash, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn fnv(mut h: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}
