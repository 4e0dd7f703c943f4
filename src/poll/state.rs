//! The sync state a poll keeps across reboots, bounded and allocation-free.
//!
//! - IMAP: one [`ImapCursor`] (mailbox, UIDVALIDITY, last UID handled),
//!   and the UIDs below it that were *skipped* (above
//!   [`super::Policy::max_size`]), as up to [`SKIPPED_RUNS`] runs: every
//!   poll lists them again and fetches those its policy now admits, so a
//!   lifted size limit fetches them, as in POP3 (where a skipped message
//!   simply stays out of the seen set). When more runs would be needed,
//!   the two closest merge: the UIDs between them are listed again too
//!   and recognised as stored by the seen set or the store.
//! - Both: the RAM seen set, the keys of up to `N` messages stored (with
//!   the time each was stored, for "delete when older than"). Each entry
//!   is 13 bytes of RAM and of the persisted blob (plus a mark byte in
//!   RAM). POP3 uses it only with a store that keeps no seen set of its
//!   own ([`crate::store::MessageStore::keeps_seen`]); with one, the
//!   poll moves what an older state remembered into the store and `N`
//!   can be 1.
//!
//! Capacity and overflow: after every complete POP3 UIDL listing, entries
//! of messages no longer on the server are dropped, so the set holds at
//! most the messages still on the server. When it is full of such entries
//! a POP3 poll refuses to store more ([`super::PollError::SeenSetFull`])
//! rather than forget one and fetch it twice: raise `N`, or delete on the
//! server. An IMAP poll does not depend on the set in normal operation
//! (the cursor decides); it evicts the oldest entry when full, so a
//! UIDVALIDITY rescan deduplicates against the last `N` messages stored
//! plus whatever the store still holds.

use crate::store::{Fnv, MessageKey, StateBlob};

/// Where an IMAP poll of one mailbox got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ImapCursor {
    /// Hash of the mailbox name ([`crate::store::key_of`]).
    pub mailbox: u64,
    /// The mailbox's UIDVALIDITY the UIDs belong to.
    pub uid_validity: u32,
    /// Every UID up to this one is handled (stored, or skipped by policy).
    pub last_uid: u32,
}

/// One seen-set entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Seen {
    /// The message key.
    pub key: MessageKey,
    /// When it was stored, in the caller's clock (seconds; 0 if unknown).
    pub stored_at: u32,
    /// Only its header was stored: never deleted on the server.
    pub headers_only: bool,
}

/// The seen set is full of messages still on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeenFull;

/// Runs of skipped IMAP UIDs remembered (see the [module docs](self)).
pub const SKIPPED_RUNS: usize = 8;

/// The whole sync state. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SyncState<const N: usize> {
    cursor: Option<ImapCursor>,
    skipped: [(u32, u32); SKIPPED_RUNS],
    skipped_len: usize,
    seen: [Seen; N],
    marks: [bool; N],
    len: usize,
}

impl<const N: usize> Default for SyncState<N> {
    fn default() -> Self {
        Self::new()
    }
}

const MAGIC_V1: &[u8; 4] = b"EMS1";
const MAGIC: &[u8; 4] = b"EMS2";

impl<const N: usize> SyncState<N> {
    /// Bytes of the persisted blob when full.
    pub const ENCODED_MAX: usize = 4 + 1 + 16 + 1 + 8 * SKIPPED_RUNS + 4 + 13 * N + 8;

    /// An empty state.
    pub const fn new() -> Self {
        SyncState {
            cursor: None,
            skipped: [(0, 0); SKIPPED_RUNS],
            skipped_len: 0,
            seen: [Seen {
                key: 0,
                stored_at: 0,
                headers_only: false,
            }; N],
            marks: [false; N],
            len: 0,
        }
    }

    /// The IMAP cursor.
    pub fn cursor(&self) -> Option<ImapCursor> {
        self.cursor
    }

    /// Sets the IMAP cursor. The skipped UIDs belong to a cursor's
    /// mailbox and UIDVALIDITY: another one forgets them.
    pub fn set_cursor(&mut self, c: ImapCursor) {
        if self
            .cursor
            .is_some_and(|o| o.mailbox != c.mailbox || o.uid_validity != c.uid_validity)
        {
            self.skipped_len = 0;
        }
        self.cursor = Some(c);
    }

    /// The skipped IMAP UIDs below the cursor, as ascending runs
    /// `(first, last)`.
    pub fn skipped(&self) -> &[(u32, u32)] {
        self.skipped.get(..self.skipped_len).unwrap_or(&[])
    }

    /// Forgets the skipped UIDs.
    pub fn clear_skipped(&mut self) {
        self.skipped_len = 0;
    }

    /// Remembers a skipped UID (above every one remembered so far). When
    /// every run is taken, the two closest runs merge.
    pub fn skip(&mut self, uid: u32) {
        self.skip_run(uid, uid);
    }

    /// Remembers the skipped UIDs `lo..=hi` (above every one remembered so
    /// far), as [`skip`](Self::skip) does.
    pub fn skip_run(&mut self, lo: u32, hi: u32) {
        if lo > hi {
            return;
        }
        if let Some(last) = self
            .skipped_len
            .checked_sub(1)
            .and_then(|i| self.skipped.get_mut(i))
        {
            if lo <= last.1 {
                last.1 = last.1.max(hi);
                return;
            }
            if last.1.checked_add(1) == Some(lo) {
                last.1 = hi;
                return;
            }
        }
        let uid = lo;
        if self.skipped_len == SKIPPED_RUNS {
            // Merge the two runs with the smallest gap (the new one counts).
            let mut best = (u32::MAX, SKIPPED_RUNS - 1);
            for i in 0..SKIPPED_RUNS {
                let (Some(a), next) = (self.skipped.get(i), self.skipped.get(i + 1)) else {
                    continue;
                };
                let gap = next.map_or(uid, |b| b.0).saturating_sub(a.1);
                if gap < best.0 {
                    best = (gap, i);
                }
            }
            let i = best.1;
            if i + 1 < SKIPPED_RUNS {
                if let Some(&(_, hi)) = self.skipped.get(i + 1) {
                    if let Some(a) = self.skipped.get_mut(i) {
                        a.1 = hi;
                    }
                }
                self.skipped.copy_within(i + 2.., i + 1);
                self.skipped_len -= 1;
            } else {
                if let Some(a) = self.skipped.get_mut(i) {
                    a.1 = hi;
                }
                return;
            }
        }
        if let Some(slot) = self.skipped.get_mut(self.skipped_len) {
            *slot = (lo, hi);
            self.skipped_len += 1;
        }
    }

    /// Entries in the seen set, oldest first.
    pub fn seen(&self) -> &[Seen] {
        self.seen.get(..self.len).unwrap_or(&[])
    }

    /// Capacity of the seen set.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The entry of `key`, if seen.
    pub fn find(&self, key: MessageKey) -> Option<Seen> {
        self.seen().iter().copied().find(|s| s.key == key)
    }

    /// Adds `key` (no-op if present); `Err` when full.
    pub fn insert(
        &mut self,
        key: MessageKey,
        now: u32,
        headers_only: bool,
    ) -> Result<(), SeenFull> {
        if self.find(key).is_some() {
            return Ok(());
        }
        let slot = self.seen.get_mut(self.len).ok_or(SeenFull)?;
        *slot = Seen {
            key,
            stored_at: now,
            headers_only,
        };
        if let Some(m) = self.marks.get_mut(self.len) {
            *m = true;
        }
        self.len += 1;
        Ok(())
    }

    /// Adds `key`, evicting the oldest entry when full.
    pub fn insert_evicting(&mut self, key: MessageKey, now: u32, headers_only: bool) {
        if self.insert(key, now, headers_only).is_err() && N > 0 {
            self.remove_at(0);
            let _ = self.insert(key, now, headers_only);
        }
    }

    fn remove_at(&mut self, i: usize) {
        if i < self.len {
            self.seen.copy_within(i + 1..self.len, i);
            self.marks.copy_within(i + 1..self.len, i);
            self.len -= 1;
        }
    }

    /// Starts a listing: every entry is unmarked.
    pub fn begin_listing(&mut self) {
        self.marks = [false; N];
    }

    /// Marks `key` as present on the server; returns its entry if seen.
    pub fn mark(&mut self, key: MessageKey) -> Option<Seen> {
        let i = self.seen().iter().position(|s| s.key == key)?;
        if let Some(m) = self.marks.get_mut(i) {
            *m = true;
        }
        self.seen.get(i).copied()
    }

    /// Drops every entry not marked since [`Self::begin_listing`]: call
    /// only after a complete listing, before any deletion in the session.
    /// Returns how many were dropped.
    pub fn prune_unmarked(&mut self) -> usize {
        let mut kept = 0;
        for i in 0..self.len {
            if self.marks.get(i).copied().unwrap_or(true) {
                if let (Some(s), Some(m)) = (self.seen.get(i).copied(), self.marks.get(i).copied())
                {
                    if let Some(d) = self.seen.get_mut(kept) {
                        *d = s;
                    }
                    if let Some(d) = self.marks.get_mut(kept) {
                        *d = m;
                    }
                }
                kept += 1;
            }
        }
        let dropped = self.len - kept;
        self.len = kept;
        dropped
    }

    /// Forgets the seen set (keeps the IMAP cursor).
    pub fn clear_seen(&mut self) {
        self.seen = [Seen::default(); N];
        self.marks = [false; N];
        self.len = 0;
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (b.get(..n)?, b.get(n..)?);
    *b = rest;
    Some(head)
}

fn u32_at(b: &mut &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?))
}

fn u64_at(b: &mut &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(take(b, 8)?.try_into().ok()?))
}

struct Out<'a> {
    buf: &'a mut [u8],
    n: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        self.buf
            .get_mut(self.n..self.n + bytes.len())?
            .copy_from_slice(bytes);
        self.n += bytes.len();
        Some(())
    }
}

impl<const N: usize> StateBlob for SyncState<N> {
    fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let mut o = Out { buf: out, n: 0 };
        o.put(MAGIC)?;
        let c = self.cursor.unwrap_or_default();
        o.put(&[u8::from(self.cursor.is_some())])?;
        o.put(&c.mailbox.to_le_bytes())?;
        o.put(&c.uid_validity.to_le_bytes())?;
        o.put(&c.last_uid.to_le_bytes())?;
        o.put(&[self.skipped_len as u8])?;
        for &(a, b) in self.skipped() {
            o.put(&a.to_le_bytes())?;
            o.put(&b.to_le_bytes())?;
        }
        o.put(&(self.len as u32).to_le_bytes())?;
        for s in self.seen() {
            o.put(&s.key.to_le_bytes())?;
            o.put(&s.stored_at.to_le_bytes())?;
            o.put(&[u8::from(s.headers_only)])?;
        }
        let mut h = Fnv::new();
        h.write(o.buf.get(..o.n)?);
        o.put(&h.finish().to_le_bytes())?;
        Some(o.n)
    }

    fn decode(&mut self, bytes: &[u8]) -> bool {
        let ok = self.decode_inner(bytes).is_some();
        if !ok {
            self.clear();
        }
        ok
    }
}

impl<const N: usize> SyncState<N> {
    fn decode_inner(&mut self, bytes: &[u8]) -> Option<()> {
        let body_len = bytes.len().checked_sub(8)?;
        let (body, mut sum) = (bytes.get(..body_len)?, bytes.get(body_len..)?);
        let mut h = Fnv::new();
        h.write(body);
        if u64_at(&mut sum)? != h.finish() {
            return None;
        }
        let mut b = body;
        let v2 = match take(&mut b, 4)? {
            m if m == MAGIC => true,
            m if m == MAGIC_V1 => false,
            _ => return None,
        };
        let has = take(&mut b, 1)?.first().copied()? == 1;
        let c = ImapCursor {
            mailbox: u64_at(&mut b)?,
            uid_validity: u32_at(&mut b)?,
            last_uid: u32_at(&mut b)?,
        };
        let mut skipped = [(0u32, 0u32); SKIPPED_RUNS];
        let mut skipped_len = 0;
        if v2 {
            skipped_len = usize::from(*take(&mut b, 1)?.first()?);
            if skipped_len > SKIPPED_RUNS {
                return None;
            }
            for run in skipped.iter_mut().take(skipped_len) {
                *run = (u32_at(&mut b)?, u32_at(&mut b)?);
            }
        }
        let len = u32_at(&mut b)? as usize;
        self.clear();
        self.cursor = has.then_some(c);
        self.skipped = skipped;
        self.skipped_len = skipped_len;
        for _ in 0..len {
            let key = u64_at(&mut b)?;
            let at = u32_at(&mut b)?;
            let h = take(&mut b, 1)?.first().copied()? == 1;
            // More entries than fit: keep the newest.
            self.insert_evicting(key, at, h);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_prune_full() {
        let mut s: SyncState<3> = SyncState::new();
        s.set_cursor(ImapCursor {
            mailbox: 9,
            uid_validity: 7,
            last_uid: 5,
        });
        s.insert(10, 1, false).unwrap();
        s.insert(11, 2, false).unwrap();
        s.insert(12, 3, true).unwrap();
        assert_eq!(s.insert(13, 4, false), Err(SeenFull));
        let mut buf = [0u8; SyncState::<3>::ENCODED_MAX];
        let n = s.encode(&mut buf).unwrap();
        assert_eq!(n, SyncState::<3>::ENCODED_MAX - 8 * SKIPPED_RUNS);
        let mut t: SyncState<3> = SyncState::new();
        assert!(t.decode(&buf[..n]));
        assert_eq!(t.seen(), s.seen());
        assert_eq!(t.cursor(), s.cursor());
        buf[7] ^= 1;
        assert!(!t.decode(&buf[..n]));
        assert!(t.seen().is_empty());
        s.begin_listing();
        s.mark(12);
        s.mark(10);
        assert_eq!(s.prune_unmarked(), 1);
        assert_eq!(s.seen().iter().map(|e| e.key).sum::<u64>(), 22);
        s.insert_evicting(20, 0, false);
        s.insert_evicting(21, 0, false);
        assert_eq!(s.seen().iter().map(|e| e.key).sum::<u64>(), 12 + 20 + 21);
    }

    #[test]
    fn skipped_runs_merge_the_closest_and_persist() {
        let mut s: SyncState<2> = SyncState::new();
        s.set_cursor(ImapCursor {
            mailbox: 1,
            uid_validity: 7,
            last_uid: 500,
        });
        for uid in [3, 4, 5, 10, 20, 21, 40, 60, 80, 100, 120] {
            s.skip(uid);
        }
        assert_eq!(
            s.skipped(),
            &[
                (3, 5),
                (10, 10),
                (20, 21),
                (40, 40),
                (60, 60),
                (80, 80),
                (100, 100),
                (120, 120)
            ]
        );
        // A ninth run: the closest pair (5..10, gap 5) merges.
        s.skip(200);
        assert_eq!(s.skipped().len(), SKIPPED_RUNS);
        assert_eq!(s.skipped()[0], (3, 10));
        assert_eq!(s.skipped()[SKIPPED_RUNS - 1], (200, 200));
        // Every skipped UID is still covered.
        for uid in [3, 4, 5, 10, 20, 21, 40, 60, 80, 100, 120, 200] {
            assert!(
                s.skipped().iter().any(|&(a, b)| a <= uid && uid <= b),
                "{uid}"
            );
        }
        let mut buf = [0u8; SyncState::<2>::ENCODED_MAX];
        let n = s.encode(&mut buf).unwrap();
        let mut t: SyncState<2> = SyncState::new();
        assert!(t.decode(&buf[..n]));
        assert_eq!(t.skipped(), s.skipped());
        // Another UIDVALIDITY forgets them.
        t.set_cursor(ImapCursor {
            mailbox: 1,
            uid_validity: 8,
            last_uid: 0,
        });
        assert!(t.skipped().is_empty());
    }

    #[test]
    fn a_version_1_blob_still_loads() {
        // EMS1: cursor, then the seen set; no skipped runs.
        let mut b = std::vec::Vec::new();
        b.extend_from_slice(b"EMS1");
        b.push(1);
        b.extend_from_slice(&9u64.to_le_bytes());
        b.extend_from_slice(&7u32.to_le_bytes());
        b.extend_from_slice(&5u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&42u64.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.push(0);
        let mut h = Fnv::new();
        h.write(&b);
        b.extend_from_slice(&h.finish().to_le_bytes());
        let mut t: SyncState<4> = SyncState::new();
        assert!(t.decode(&b));
        assert_eq!(t.cursor().unwrap().last_uid, 5);
        assert_eq!(t.seen()[0].key, 42);
        assert!(t.skipped().is_empty());
    }
}
