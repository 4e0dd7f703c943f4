//! Shared pieces of the fuzz targets: the input layout, a read schedule
//! and the work bound.
//!
//! Session targets read their input as
//! `[flags] [chunk seed] [command count n] [n command bytes] [server bytes...]`:
//! the commands a client has in flight are decided by the first bytes,
//! the rest is what the server sends, delivered in reads whose sizes come
//! from the seed (1 byte up to the whole spare buffer), into a receive
//! buffer whose size comes from the flags.

#![forbid(unsafe_code)]

/// The head of a session target's input.
pub struct Layout<'a> {
    /// Option bits (target-specific).
    pub flags: u8,
    /// Receive buffer size, 16..=1024 bytes.
    pub rx_len: usize,
    /// Commands to encode, one byte each (target-specific meaning).
    pub commands: &'a [u8],
    /// The server's bytes.
    pub server: &'a [u8],
    /// Seeds the read sizes.
    pub seed: u32,
}

impl<'a> Layout<'a> {
    /// Splits `data`; `None` if it is too short for the head.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let (&seed, rest) = rest.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let n = usize::from(n % 24).min(rest.len());
        let (commands, server) = rest.split_at(n);
        let rx_len = match flags & 3 {
            0 => 16,
            1 => 64,
            2 => 256,
            _ => 1024,
        };
        Some(Layout {
            flags,
            rx_len,
            commands,
            server,
            seed: u32::from(seed) | 1,
        })
    }
}

/// The server side of the connection: hands out `server` in reads of
/// pseudo-random sizes (a xorshift of the seed); seed 1 .. 0xff.
pub struct Reads<'a> {
    rest: &'a [u8],
    state: u32,
}

impl<'a> Reads<'a> {
    /// Reads of `server`, sized by `seed`.
    pub fn new(server: &'a [u8], seed: u32) -> Self {
        Reads {
            rest: server,
            state: seed.wrapping_mul(0x9e37_79b9) | 1,
        }
    }

    /// Fills up to `spare.len()` bytes; 0 at the end of the script.
    pub fn read(&mut self, spare: &mut [u8]) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        // Mostly small reads (splits everywhere), sometimes all there is.
        let want = match self.state % 4 {
            0 => spare.len(),
            1 => 1,
            _ => 1 + (self.state >> 8) as usize % 64,
        };
        let n = want.min(spare.len()).min(self.rest.len());
        let (now, later) = self.rest.split_at(n);
        if let Some(dst) = spare.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        self.rest = later;
        n
    }

    /// True once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Counts decode steps and checks the work stays linear in the input.
pub struct Budget {
    steps: u64,
    limit: u64,
    stalls: u32,
}

impl Budget {
    /// At most `per_byte` steps per server byte plus `per_command` per
    /// command (and a constant), and never more than 8 steps in a row that
    /// neither consume a byte nor report an event.
    pub fn new(server_len: usize, commands: usize, per_byte: u64, per_command: u64) -> Self {
        Budget {
            steps: 0,
            limit: per_byte * server_len as u64 + per_command * (commands as u64 + 1) + 64,
            stalls: 0,
        }
    }

    /// Records one decode step that consumed `consumed` bytes and reported
    /// an event or not; panics (a fuzz finding) past the bound.
    pub fn step(&mut self, consumed: usize, event: bool) {
        self.steps += 1;
        assert!(
            self.steps <= self.limit,
            "more than {} decode steps: super-linear work",
            self.limit
        );
        if consumed == 0 && !event {
            self.stalls += 1;
            assert!(self.stalls <= 8, "decode steps make no progress");
        } else {
            self.stalls = 0;
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}
