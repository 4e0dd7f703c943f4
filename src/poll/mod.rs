//! The polling job: find what is new, store it, commit it, and only then
//! delete it on the server (or leave it there).
//!
//! ```text
//! for each new message:  stream to the store → commit → save sync state
//!                        → only now DELE / \Deleted + UID EXPUNGE / MOVE
//! ```
//!
//! A message is never marked for deletion unless its commit returned `Ok`
//! (or the store already held it). A cut anywhere leaves the server with
//! every message not yet committed, and the next poll stores each of them
//! exactly once.
//!
//! - [`pop3`] / [`imap`]: blocking, over [`crate::pop3::Client`] /
//!   [`crate::imap::Client`] and a [`crate::store::MessageStore`].
//! - [`asynch::pop3`] / [`asynch::imap`] (feature `async`): the same over
//!   the async clients and [`crate::store::asynch::MessageStore`].
//!
//! Both expand one driver body; every decision is the [`Planner`]'s.
//!
//! New messages: POP3 by UIDL against the seen set, which the store keeps
//! when it can ([`crate::store::MessageStore::keeps_seen`]: Maildir,
//! flash opened with a seen range) and [`SyncState`] in RAM otherwise. The
//! maildrop is listed once per poll (a plain `UIDL` looked up 32 keys at
//! a time as it streams in when the seen set answers without waiting, the
//! RAM one or a blocking store's; pipelined `UIDL n` for an async store's),
//! which also forgets what the server no longer has; the new messages are then fetched in batches of [`BATCH`]. IMAP
//! by `UID > last UID` for the mailbox's UIDVALIDITY, fetched with
//! `BODY.PEEK`. A changed UIDVALIDITY (or another mailbox) starts a
//! rescan from UID 1 that skips messages whose key is in the seen set or
//! the store.
//!
//! Skipped means remembered as skipped: a message above
//! [`Policy::max_size`] (or left by [`Policy::max_messages`] /
//! [`Policy::max_bytes`]) stays on the server, is never deleted unstored,
//! and is fetched by the first later poll whose policy admits it. POP3
//! keeps it out of the seen set, so every listing weighs it again; IMAP's
//! cursor passes it but [`SyncState::skipped`] remembers its UID (up to
//! [`state::SKIPPED_RUNS`] runs; closer runs merge when more are needed)
//! and every poll lists those again.
//!
//! POP3 without UIDL (the server refuses the command): delete mode only
//! ([`AfterStore::Delete`]; keep and move modes stop with
//! [`PollError::NeedsUidl`] before fetching anything). Every message
//! present is new, since the stored ones were deleted: for each one,
//! `TOP n 0` (or `RETR n` when TOP is refused) gives its [`HeaderKey`],
//! then RETR → commit → DELE, and QUIT at the end. A message committed
//! before a cut that lost the QUIT is still on the server at the next poll;
//! the store's `contains(key)` finds it and it is only deleted. The seen
//! set is not used (nothing would prune it), so this relies on the store
//! still holding the messages of the previous poll; two messages with the
//! same Message-ID count as one (the second is deleted unstored). Oversize
//! headers-only messages are stored under another key and left on the
//! server (skipped instead when TOP is refused).
//!
//! Keys: POP3 `key_of([uidl])`, without UIDL [`HeaderKey`] (Message-ID, or
//! size and header); IMAP `key_of` over the Message-ID header,
//! INTERNALDATE and RFC822.SIZE (stable across UIDVALIDITY changes), or
//! over UIDVALIDITY and UID for a message without Message-ID.
//!
//! RAM: the planner (policy and summary) is about 120 bytes; a pass keeps
//! [`BATCH`] candidates (IMAP 24 bytes each, ≈ 770 bytes; POP3 one batch
//! plan, ≈ 1 KiB, and a group of 32 seen-set queries, 512 bytes). The
//! whole POP3 poll future is ≈ 4.4 KiB (`tests/poll_ram.rs`) whatever the
//! mailbox. The sync state is about `17 * N + 112` bytes (64-bit host:
//! `SyncState<1>` 128, `SyncState<8>` 240); with a store that keeps the
//! seen set, `N` can be 1.

pub mod batch;
pub mod doomed;
pub mod state;
pub mod watch;
#[cfg(feature = "pop3")]
pub mod window;

#[cfg(feature = "async")]
pub mod asynch;
mod blocking;
mod engine;
#[cfg(feature = "async")]
pub mod timeout;

#[cfg(feature = "imap")]
pub use blocking::imap;
#[cfg(feature = "pop3")]
pub use blocking::{pop3, pop3_login};
pub use state::{ImapCursor, Seen, SeenFull, SyncState};

use crate::error::Error;
use crate::store::{Fnv, MessageKey, StoreError};
use core::fmt;

/// New messages remembered per listing pass (a pass repeats while more
/// are pending).
pub const BATCH: usize = 32;

// A POP3 batch's RETRs all go out in one flight.
#[cfg(feature = "pop3")]
const _: () = assert!(BATCH <= crate::pop3::MAX_RUNS);

/// What happens on the server to a message once it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AfterStore<'a> {
    /// Leave it (IMAP: unread unless [`Policy::set_seen`]).
    Keep,
    /// Delete it (POP3 DELE + QUIT; IMAP `\Deleted` + UID EXPUNGE).
    Delete,
    /// IMAP: move it to this folder (MOVE, or COPY + delete). POP3: as
    /// [`AfterStore::Delete`].
    MoveTo(&'a str),
}

/// What to do with a message above [`Policy::max_size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Oversize {
    /// Do not fetch it; it stays on the server.
    Skip,
    /// Store only its header (POP3 `TOP n 0`, IMAP `BODY.PEEK[HEADER]`);
    /// it is never deleted on the server.
    HeadersOnly,
}

/// What a poll does. `Policy::default()` leaves mail on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy<'a> {
    /// Fate of a message right after it is stored.
    pub after_store: AfterStore<'a>,
    /// With [`AfterStore::Keep`]: delete a stored message once it has been
    /// stored this many seconds (checked against the seen set's time;
    /// needs [`Policy::now`]).
    pub delete_older_than: Option<u32>,
    /// The caller's clock (seconds, any epoch, monotonic across reboots);
    /// 0 if unknown.
    pub now: u32,
    /// Messages larger than this are handled per [`Policy::oversize`].
    pub max_size: Option<u64>,
    /// See [`Oversize`].
    pub oversize: Oversize,
    /// Stop after storing this many messages.
    pub max_messages: Option<u32>,
    /// Stop before a message that would bring the stored bytes above this
    /// (the first message of a poll is fetched whatever its size, so one
    /// larger than the cap does not block every later poll; use
    /// [`Policy::max_size`] to keep such messages out).
    pub max_bytes: Option<u64>,
    /// When the server reports usage above this many bytes (IMAP QUOTA
    /// STORAGE, POP3 STAT), delete stored messages, oldest first, until
    /// under it.
    pub quota_guard: Option<u64>,
    /// IMAP with [`AfterStore::Keep`]: set `\Seen` on stored messages.
    pub set_seen: bool,
    /// POP3 with PIPELINING: commands in flight at most while streaming
    /// (a `UIDL n` and a `RETR n` per message, 12 to 20 bytes each). Deeper
    /// pipelines keep a long link busy (about one message per 100 µs of
    /// round trip on a fast server); the commands written ahead wait in
    /// the TCP buffers, so keep `pipeline × 20` bytes well under what the
    /// transport and the server buffer (64 KiB and more on common
    /// servers). Costs no RAM. Default [`DEFAULT_PIPELINE`].
    pub pipeline: u16,
    /// IMAP: who the client is, `(name, version)`, sent as `ID` (RFC 2971)
    /// before SELECT/EXAMINE when the server offers ID; nothing is sent
    /// without it. Some providers refuse SELECT until a client says who it
    /// is: NetEase (163.com, 126.com, yeah.net) answers `NO ... Unsafe
    /// Login` without ID. Rides in the same write as the SELECT (no round
    /// trip of its own). Default `None`.
    pub identity: Option<(&'a str, &'a str)>,
    /// POP3: [`pop3_login`] sends `UTF8` (RFC 6856) before logging in when
    /// the server's CAPA offers it, so a message with raw 8-bit headers
    /// arrives as it was sent (without it a server may wrap such a message
    /// in a "cannot display Unicode content" notice, and the device would
    /// store the notice). Set false to opt out. Default `true`.
    pub pop3_utf8: bool,
}

/// The default [`Policy::pipeline`]: 512 commands (256 messages, about
/// 8 KiB of commands written ahead).
pub const DEFAULT_PIPELINE: u16 = 512;

impl Default for Policy<'_> {
    fn default() -> Self {
        Policy {
            after_store: AfterStore::Keep,
            delete_older_than: None,
            now: 0,
            max_size: None,
            oversize: Oversize::Skip,
            max_messages: None,
            max_bytes: None,
            quota_guard: None,
            set_seen: false,
            pipeline: DEFAULT_PIPELINE,
            identity: None,
            pop3_utf8: true,
        }
    }
}

/// What a poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Summary {
    /// Messages found new (not in the seen set / above the cursor).
    pub new: u32,
    /// Messages stored and committed in this poll.
    pub stored: u32,
    /// New messages not stored: skipped by size, already in the store, or
    /// left for the next poll by a cap.
    pub skipped: u32,
    /// Messages deleted (POP3: marked, deleted at the QUIT that ended the
    /// poll) or moved away on the server.
    pub deleted: u32,
    /// Message bytes stored.
    pub bytes: u64,
    /// Messages listed as new but gone when their body was asked for
    /// (expunged by another client meanwhile): not stored, not counted
    /// in `stored` or `skipped`.
    pub gone: u32,
    /// The server refused the listing of new messages part way (IMAP
    /// `NO` after some FETCH data): what it listed was handled, the rest
    /// is left for the next poll.
    pub listing_refused: Option<crate::Refusal>,
}

/// What happened to one message, for the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Progress {
    /// Bytes of message `id` (POP3 number, IMAP UID) arrived.
    Receiving {
        /// Message number or UID.
        id: u32,
        /// Bytes so far.
        received: u64,
        /// Announced size.
        size: u64,
    },
    /// The message is committed in the store.
    Stored {
        /// Message number or UID.
        id: u32,
        /// Bytes stored.
        bytes: u64,
        /// Only the header was stored.
        headers_only: bool,
    },
    /// The message was skipped (size limit, cap, or already stored).
    Skipped {
        /// Message number or UID.
        id: u32,
        /// Its size.
        size: u64,
    },
    /// The message was deleted (or marked for deletion) on the server.
    Deleted {
        /// Message number or UID.
        id: u32,
    },
}

/// Why a poll stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PollError<T, S> {
    /// The mail protocol or transport failed.
    Mail(Error<T>),
    /// The store failed; [`StoreError::Full`] when it is full. Nothing not
    /// stored was deleted.
    Store(StoreError<S>),
    /// The RAM seen set is full of messages still on the server (see
    /// [`state`]); the poll stopped before storing more. (A store that
    /// keeps the seen set reports [`StoreError::SeenFull`] instead.)
    SeenSetFull {
        /// Its capacity.
        capacity: usize,
    },
    /// The POP3 server has no UIDL (it refused the command): only
    /// [`AfterStore::Delete`] can poll it. Keep and move modes stop with
    /// this before anything is fetched.
    NeedsUidl,
    /// The IMAP mailbox reported no UIDVALIDITY.
    NoUidValidity,
}

impl<T, S> From<Error<T>> for PollError<T, S> {
    fn from(e: Error<T>) -> Self {
        PollError::Mail(e)
    }
}

impl<T, S> From<StoreError<S>> for PollError<T, S> {
    fn from(e: StoreError<S>) -> Self {
        PollError::Store(e)
    }
}

impl<T: fmt::Debug, S: fmt::Debug> fmt::Display for PollError<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::Mail(e) => write!(f, "{e}"),
            PollError::Store(e) => write!(f, "{e}"),
            PollError::SeenSetFull { capacity } => write!(
                f,
                "seen set full ({capacity} messages kept on the server): delete some or raise N"
            ),
            PollError::NeedsUidl => {
                f.write_str("POP3 server has no UIDL: delete mode (AfterStore::Delete) is required")
            }
            PollError::NoUidValidity => f.write_str("mailbox reported no UIDVALIDITY"),
        }
    }
}

#[cfg(feature = "std")]
impl<T: fmt::Debug, S: fmt::Debug> std::error::Error for PollError<T, S> {}

/// How to fetch a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fetch {
    /// The whole message.
    Full,
    /// Only the header.
    HeadersOnly,
    /// Not at all (size limit).
    Skip,
    /// Not now: a per-poll cap is reached; stop the poll.
    Stop,
}

/// The sans-I/O decision core shared by every driver.
#[derive(Debug, Clone, Copy)]
pub struct Planner<'a> {
    /// The policy.
    pub policy: Policy<'a>,
    /// Counts so far.
    pub summary: Summary,
}

impl<'a> Planner<'a> {
    /// A planner for one poll.
    pub fn new(policy: Policy<'a>) -> Self {
        Planner {
            policy,
            summary: Summary::default(),
        }
    }

    /// How to fetch a new message of `size` bytes.
    pub fn fetch(&self, size: u64) -> Fetch {
        let p = &self.policy;
        if p.max_messages.is_some_and(|m| self.summary.stored >= m) {
            return Fetch::Stop;
        }
        let oversize = p.max_size.is_some_and(|m| size > m);
        let kind = match (oversize, p.oversize) {
            (false, _) => Fetch::Full,
            (true, Oversize::Skip) => return Fetch::Skip,
            (true, Oversize::HeadersOnly) => Fetch::HeadersOnly,
        };
        // Headers are small; count the full size only for full fetches.
        // The first message of a poll is fetched whatever its size, or one
        // larger than the cap would stop every poll before it forever.
        let cost = if kind == Fetch::Full { size } else { 0 };
        if self.summary.stored > 0
            && p.max_bytes
                .is_some_and(|m| self.summary.bytes.saturating_add(cost) > m)
        {
            return Fetch::Stop;
        }
        kind
    }

    /// True when a message just stored (as `fetched`) is deleted now.
    pub fn delete_after_store(&self, fetched: Fetch) -> bool {
        fetched == Fetch::Full && self.policy.after_store != AfterStore::Keep
    }

    /// True when a message stored earlier (`seen` entry) is deleted now.
    /// Never for headers-only messages.
    pub fn delete_seen(&self, seen: &Seen) -> bool {
        if seen.headers_only {
            return false;
        }
        if self.policy.after_store != AfterStore::Keep {
            return true;
        }
        match self.policy.delete_older_than {
            Some(age) if self.policy.now != 0 && seen.stored_at != 0 => {
                self.policy.now.saturating_sub(seen.stored_at) >= age
            }
            _ => false,
        }
    }

    /// Records a stored message.
    pub fn stored(&mut self, bytes: u64) {
        self.summary.stored += 1;
        self.summary.bytes += bytes;
    }
}

/// One IMAP message's listing data as FETCH responses bring it. Servers
/// may split a message's data over several responses (`* 2 FETCH (UID 7
/// RFC822.SIZE 362)` then `* 2 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)]
/// {37} ... UID 7)`): parts with the same sequence number are merged
/// before the message's key is computed, so it is listed once.
#[cfg(feature = "imap")]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Partial {
    pub(crate) seq: u32,
    pub(crate) uid: u32,
    /// RFC822.SIZE (an IMAP number: 32 bits).
    pub(crate) size: Option<u32>,
    pub(crate) deleted: bool,
    pub(crate) date: Fnv,
    id: Fnv,
    id_len: u32,
}

#[cfg(feature = "imap")]
impl Partial {
    /// The data of the message at sequence number `seq`, none yet.
    pub(crate) fn new(seq: u32) -> Self {
        Partial {
            seq,
            date: Fnv::new(),
            id: Fnv::new(),
            ..Partial::default()
        }
    }

    /// Takes one of a FETCH response's key items (UID, RFC822.SIZE,
    /// INTERNALDATE, FLAGS); false for any other event. The listing and
    /// the streaming pass both read their items here.
    pub(crate) fn item<B: AsRef<[u8]>>(&mut self, ev: &crate::imap::GenericEvent<B>) -> bool {
        use crate::imap::GenericEvent as E;
        match ev {
            E::Uid(u) => self.uid = *u,
            // An IMAP number is 32 bits.
            E::Rfc822Size(n) => self.size = Some(u32::try_from(*n).unwrap_or(u32::MAX)),
            E::InternalDate(d) => self.date.write(d.as_ref()),
            E::Flags(f) => {
                self.deleted |= f
                    .as_ref()
                    .split(|&b| b == b' ' || b == b'(' || b == b')')
                    .any(|f| f.eq_ignore_ascii_case(b"\\Deleted"))
            }
            _ => return false,
        }
        true
    }

    /// Bytes of the Message-ID header field's literal.
    pub(crate) fn message_id(&mut self, bytes: &[u8]) {
        self.id.write(bytes);
        let visible = bytes.iter().filter(|c| !c.is_ascii_whitespace()).count();
        self.id_len = self
            .id_len
            .saturating_add(u32::try_from(visible).unwrap_or(u32::MAX));
    }

    /// Takes what `other` (a later response for the same message) knows.
    pub(crate) fn merge(&mut self, other: &Partial) {
        if other.uid != 0 {
            self.uid = other.uid;
        }
        if other.size.is_some() {
            self.size = other.size;
        }
        self.deleted |= other.deleted;
        if other.id_len > 0 {
            self.id = other.id;
            self.id_len = other.id_len;
        }
        if other.date.finish() != Fnv::new().finish() {
            self.date = other.date;
        }
    }

    /// The message's key: its Message-ID, INTERNALDATE and size where it
    /// has a Message-ID, else its UID under `validity`.
    pub(crate) fn key(&self, validity: u32) -> MessageKey {
        if self.id_len > 0 {
            let mut k = self.id;
            k.write(&self.date.finish().to_le_bytes());
            k.write(&u64::from(self.size.unwrap_or(0)).to_le_bytes());
            k.finish()
        } else {
            crate::store::key_of(&[
                b"imap-uid",
                &validity.to_le_bytes(),
                &self.uid.to_le_bytes(),
            ])
        }
    }
}

/// The key of a POP3 message on a server without UIDL, from its header
/// (fed as `TOP n 0` or `RETR n` delivers it; bytes after the header's
/// blank line are ignored): the hash of the Message-ID field's value
/// (whitespace ignored), or without one, of the message's size and its
/// whole header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderKey {
    done: bool,
    line_len: usize,
    prefix: [u8; 11],
    continuation: bool,
    in_id: bool,
    id: Fnv,
    id_len: usize,
    header: Fnv,
}

impl Default for HeaderKey {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderKey {
    /// A fresh hasher.
    pub const fn new() -> Self {
        HeaderKey {
            done: false,
            line_len: 0,
            prefix: [0; 11],
            continuation: false,
            in_id: false,
            id: Fnv::new(),
            id_len: 0,
            header: Fnv::new(),
        }
    }

    /// Feeds the next bytes of the message.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.done {
                return;
            }
            self.header.write(&[b]);
            match b {
                b'\n' => {
                    if self.line_len == 0 {
                        self.done = true;
                    }
                    self.line_len = 0;
                    continue;
                }
                b'\r' => continue,
                _ => {}
            }
            if self.line_len == 0 {
                self.continuation = b == b' ' || b == b'\t';
                if !self.continuation {
                    self.in_id = false;
                }
            }
            if !self.continuation {
                if let Some(slot) = self.prefix.get_mut(self.line_len) {
                    *slot = b;
                    if self.line_len + 1 == self.prefix.len() {
                        self.in_id = self.prefix.eq_ignore_ascii_case(b"message-id:");
                        self.line_len += 1;
                        continue;
                    }
                }
            }
            self.line_len += 1;
            if self.in_id && !b.is_ascii_whitespace() {
                self.id.write(&[b]);
                self.id_len += 1;
            }
        }
    }

    /// The key of a message of `size` bytes; `headers_only` gives the key
    /// under which only its header is stored (another key, so a stored
    /// header never passes for the whole message).
    pub fn key(&self, size: u64, headers_only: bool) -> MessageKey {
        let mut k = Fnv::new();
        if self.id_len > 0 {
            k.write(b"pop3-message-id");
            k.write(&self.id.finish().to_le_bytes());
        } else {
            k.write(b"pop3-size-header");
            k.write(&size.to_le_bytes());
            k.write(&self.header.finish().to_le_bytes());
        }
        if headers_only {
            k.write(b"headers-only");
        }
        k.finish()
    }
}

/// `d-Mon-yyyy` (IMAP date) of a Unix time, for `SEARCH BEFORE`.
pub fn imap_date(unix: u64, out: &mut [u8; 11]) -> &str {
    // Civil from days (H. Hinnant's algorithm).
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let mon = MONTHS.get((m - 1) as usize).copied().unwrap_or(b"Jan");
    let y = y.clamp(0, 9999) as u32;
    *out = [
        b'0' + (d / 10) as u8,
        b'0' + (d % 10) as u8,
        b'-',
        mon[0],
        mon[1],
        mon[2],
        b'-',
        b'0' + (y / 1000 % 10) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
    ];
    core::str::from_utf8(out).unwrap_or("01-Jan-1970")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planner_caps_and_sizes() {
        let mut p = Planner::new(Policy {
            max_size: Some(100),
            max_messages: Some(2),
            max_bytes: Some(150),
            ..Policy::default()
        });
        assert_eq!(p.fetch(50), Fetch::Full);
        assert_eq!(p.fetch(101), Fetch::Skip);
        p.stored(90);
        assert_eq!(p.fetch(70), Fetch::Stop);
        assert_eq!(p.fetch(60), Fetch::Full);
        p.stored(60);
        assert_eq!(p.fetch(1), Fetch::Stop);
        assert!(!p.delete_after_store(Fetch::Full));
        // The first message of a poll passes the byte cap.
        let p = Planner::new(Policy {
            max_bytes: Some(10),
            ..Policy::default()
        });
        assert_eq!(p.fetch(1000), Fetch::Full);
        let p = Planner::new(Policy {
            delete_older_than: Some(10),
            now: 100,
            ..Policy::default()
        });
        assert!(p.delete_seen(&Seen {
            key: 1,
            stored_at: 90,
            headers_only: false
        }));
        assert!(!p.delete_seen(&Seen {
            key: 1,
            stored_at: 91,
            headers_only: false
        }));
    }

    #[test]
    fn header_key() {
        let key = |m: &[u8], size, h| {
            let mut k = HeaderKey::new();
            for c in m.chunks(3) {
                k.feed(c);
            }
            k.key(size, h)
        };
        let a = key(b"From: x\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n", 30, false);
        // Same Message-ID, folded, another size and body: same key.
        let b = key(
            b"message-id:\r\n <1@x>\r\nSubject: s\r\n\r\nother\r\n",
            99,
            false,
        );
        assert_eq!(a, b);
        assert_ne!(a, key(b"Message-ID: <2@x>\r\n\r\n", 30, false));
        assert_ne!(a, key(b"From: x\r\nMessage-ID: <1@x>\r\n\r\n", 30, true));
        // No Message-ID: size and header; the body is not read.
        let c = key(b"From: x\r\n\r\nbody one\r\n", 40, false);
        assert_eq!(c, key(b"From: x\r\n\r\nbody two\r\n", 40, false));
        assert_ne!(c, key(b"From: x\r\n\r\nbody one\r\n", 41, false));
        assert_ne!(c, key(b"From: y\r\n\r\nbody one\r\n", 40, false));
        // A Message-ID in the body does not count.
        assert_eq!(c, key(b"From: x\r\n\r\nMessage-ID: <1@x>\r\n", 40, false));
    }

    #[test]
    fn dates() {
        let mut b = [0; 11];
        assert_eq!(imap_date(0, &mut b), "01-Jan-1970");
        assert_eq!(imap_date(1_700_000_000, &mut b), "14-Nov-2023");
        assert_eq!(imap_date(951_782_400, &mut b), "29-Feb-2000");
    }
}
