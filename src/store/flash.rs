//! A message store on NOR flash through sequential-storage 8 (feature
//! `flash`).
//!
//! Two flash ranges, each a whole number of erase pages:
//!
//! - `messages`: a sequential-storage queue. A message is a run of chunk
//!   items `['C', id, bytes...]` (each at most one buffer long, so it fits
//!   a page) followed by a commit item `['M', id, key, len]`. A message
//!   without its commit item (power lost, connection cut, `abort`) is
//!   never visible; items are CRC-protected by sequential-storage, and the
//!   commit item is written after every chunk, so a visible message is
//!   whole. Such leftovers are reclaimed by [`FlashStore::remove_oldest`].
//! - `state`: a sequential-storage map holding the sync-state blob.
//! - `seen` (optional, [`FlashStore::open_with_seen`]): the POP3 seen set
//!   (see below), so the poll's RAM does not grow with the mailbox.
//!
//! Overhead per message: sequential-storage's item header (8 bytes, words
//! padded) per chunk item and per commit item, plus 5 bytes per chunk and
//! 21 bytes of commit record: with 1 KiB chunks, about `13 × ⌈len/1019⌉ +
//! 32` bytes (≈ 45 bytes for a 1 KiB message, ≈ 1.3 % for large ones).
//!
//! The buffer given to [`FlashStore::open`] is where chunks are assembled
//! and items read back; it must fit in a page with the item header, and
//! its half must hold the encoded sync state.
//!
//! Blocking firmware: the store is async (sequential-storage is); wrap a
//! blocking flash driver in `embassy_embedded_hal::adapter::BlockingAsync`
//! and the store in [`super::Blocking`], which runs each call with
//! [`super::block_on`].
//!
//! ## The seen set on flash
//!
//! With [`FlashStore::open_with_seen`] the store keeps the POP3 seen set
//! ([`super::MessageStore::keeps_seen`]) in a range of its own, split in
//! two halves, each a sequential-storage queue: the *current* generation
//! and the *next*. Each remembered message is 13 bytes (key 8, time
//! stored 4, flags 1), packed up to 16 to an item (as many as the buffer
//! holds): with the 8-byte item header that is 13.5 bytes of flash per
//! remembered message (≈ 14 with page ends), and the range needs twice
//! that (two generations), plus one poll's new messages. Which half is
//! current is one byte in the `state` map.
//!
//! A listing (`seen_begin`, `seen_find` per group of keys, `seen_prune`)
//! copies every key it finds into the next half; a message stored during
//! it goes into both halves. When the listing was complete, `seen_prune`
//! makes the next half current (one map write) and erases the old one:
//! what the server no longer lists is forgotten, so flash use follows the
//! mailbox, not its history. Power lost at any point leaves the current
//! half holding everything remembered (the next one is erased when the
//! store is opened again); the flag is written only once the next half is
//! whole. New entries wait in RAM (two packs of 16) until
//! [`super::MessageStore::save_state`] writes them, which the poll does
//! before any deletion on the server. A half with no room left fails with
//! [`StoreError::SeenFull`] before anything is deleted.
//!
//! Costs: each listing rewrites the set once (13.5 bytes per message: a
//! box of 10 000 writes ≈ 135 KB and erases one half per poll), and each
//! group of 32 listed keys is one scan of the current half (a listing of
//! `n` remembered messages reads the half `n / 32` times). RAM: the two
//! packs (2 × 208 bytes) in the store, whatever the number of messages.
//!
//! Lookups (`contains`, `open`) scan the queue: fine for the few hundred
//! messages a small flash holds. Reading messages back:
//! [`FlashStore::read`] one message (a scan each),
//! [`FlashStore::read_all`] every message in one scan.

use super::{asynch::MessageStore, MessageKey, SeenQuery, StateBlob, StoreError};
use core::ops::Range;
use embedded_storage_async::nor_flash::{MultiwriteNorFlash, NorFlash};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};
use sequential_storage::queue::{QueueConfig, QueueStorage};

const CHUNK: u8 = b'C';
const COMMIT: u8 = b'M';
const CHUNK_HEADER: usize = 5;
const COMMIT_LEN: usize = 21;
const STATE_KEY: u8 = 0;
/// Map key of the seen set's current half (one byte, 0 or 1).
const SEEN_KEY: u8 = 1;
/// Bytes of one remembered message on flash.
const ENTRY: usize = 13;
/// Remembered messages per item at most.
const PACK: usize = 16;

/// Entries waiting in RAM for one half of the seen set.
#[derive(Clone, Copy)]
struct Pack {
    bytes: [u8; ENTRY * PACK],
    n: usize,
}

impl Pack {
    const fn new() -> Self {
        Pack {
            bytes: [0; ENTRY * PACK],
            n: 0,
        }
    }
    fn add(&mut self, key: MessageKey, at: u32, headers_only: bool) {
        let mut e = [0u8; ENTRY];
        for (d, s) in e.iter_mut().zip(
            key.to_le_bytes()
                .into_iter()
                .chain(at.to_le_bytes())
                .chain([u8::from(headers_only)]),
        ) {
            *d = s;
        }
        if let Some(d) = self.bytes.get_mut(self.n * ENTRY..(self.n + 1) * ENTRY) {
            d.copy_from_slice(&e);
            self.n += 1;
        }
    }
    fn data(&self) -> &[u8] {
        self.bytes.get(..self.n * ENTRY).unwrap_or(&[])
    }
}

/// The seen set's place and bookkeeping (see the module docs).
struct SeenArea {
    halves: (Range<u32>, Range<u32>),
    /// The current half is the second one.
    cur_b: bool,
    /// Entries in the current half (written or packed).
    len: u64,
    /// Entries in the next half (written or packed).
    next_len: u64,
    /// Something was written to the next half since it was erased.
    next_used: bool,
    /// A listing is copying what it finds into the next half.
    listing: bool,
    /// Entries per item (the buffer's room, at most [`PACK`]).
    per_item: usize,
    /// Entries waiting for the current and the next half.
    cur_pack: Pack,
    next_pack: Pack,
}

impl SeenArea {
    /// The current (`next` false) or the next half's range.
    fn half(&self, next: bool) -> Range<u32> {
        if self.cur_b != next {
            self.halves.1.clone()
        } else {
            self.halves.0.clone()
        }
    }
    fn pack(&mut self, next: bool) -> &mut Pack {
        if next {
            &mut self.next_pack
        } else {
            &mut self.cur_pack
        }
    }
}

fn entry_of(e: &[u8]) -> Option<(MessageKey, u32, bool)> {
    Some((
        u64::from_le_bytes(e.get(..8)?.try_into().ok()?),
        u32::from_le_bytes(e.get(8..12)?.try_into().ok()?),
        e.get(12)? & 1 == 1,
    ))
}

type Uncached3 = Cache<Uncached, Uncached, Uncached>;

/// A flash failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FlashError<E> {
    /// The flash driver failed.
    Flash(E),
    /// sequential-storage found corruption it could not repair.
    Corrupted,
    /// The buffer is too small for an item on flash.
    BufferTooSmall,
    /// The ranges or the buffer do not suit the flash's page size.
    BadConfig,
    /// Another sequential-storage error.
    Other,
}

fn map_err<E>(e: sequential_storage::Error<E>) -> StoreError<FlashError<E>> {
    use sequential_storage::Error as SE;
    match e {
        SE::Storage { value, .. } => StoreError::Io(FlashError::Flash(value)),
        SE::FullStorage => StoreError::Full { needed: 0, free: 0 },
        SE::Corrupted { .. } => StoreError::Io(FlashError::Corrupted),
        SE::BufferTooSmall(_) => StoreError::Io(FlashError::BufferTooSmall),
        SE::ItemTooBig => StoreError::Io(FlashError::BadConfig),
        _ => StoreError::Io(FlashError::Other),
    }
}

/// A committed message as listed by [`FlashStore::messages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageInfo {
    /// The store's sequence number of the message.
    pub id: u32,
    /// Its key.
    pub key: MessageKey,
    /// Its length in bytes.
    pub len: u64,
}

fn commit_record(item: &[u8]) -> Option<MessageInfo> {
    if item.len() != COMMIT_LEN || item.first() != Some(&COMMIT) {
        return None;
    }
    Some(MessageInfo {
        id: u32::from_le_bytes(item.get(1..5)?.try_into().ok()?),
        key: u64::from_le_bytes(item.get(5..13)?.try_into().ok()?),
        len: u64::from_le_bytes(item.get(13..21)?.try_into().ok()?),
    })
}

fn chunk_id(item: &[u8]) -> Option<u32> {
    if item.first() != Some(&CHUNK) {
        return None;
    }
    Some(u32::from_le_bytes(item.get(1..5)?.try_into().ok()?))
}

/// One step of [`FlashStore::read_all`], in flash order.
///
/// A consumer resets on `Begin`, takes the `Data` that follows, and keeps
/// what it gathered only on `End`: a message never committed (power lost,
/// `abort`) gets a `Begin` and `Data` but no `End`, and the next `Begin`
/// drops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadEvent<'a> {
    /// Message `id` starts: forget any bytes since the last `End`.
    Begin(u32),
    /// The next bytes of the message begun last (at most one chunk).
    Data(&'a [u8]),
    /// The message begun last is committed, and the `Data` since its
    /// `Begin` is all of it, `info.len` bytes.
    End(MessageInfo),
    /// The message begun last is committed but its bytes on flash do not
    /// add up to `info.len`: a chunk failed sequential-storage's CRC (and
    /// was skipped) or is missing. Its `Data` is not the message.
    Damaged(MessageInfo),
}

/// The flash store. See the [module docs](self).
pub struct FlashStore<'b, S: NorFlash> {
    flash: S,
    messages: Range<u32>,
    state: Range<u32>,
    buf: &'b mut [u8],
    fill: usize,
    open: Option<(u32, MessageKey, u64)>,
    next_id: u32,
    seen: Option<SeenArea>,
}

impl<S: NorFlash> core::fmt::Debug for FlashStore<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FlashStore")
            .field("messages", &self.messages)
            .field("state", &self.state)
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl<'b, S: NorFlash> FlashStore<'b, S> {
    /// Opens the store on `flash`: `messages` and `state` are disjoint
    /// ranges of whole erase pages (`messages` ≥ 1 page, `state` ≥ 2);
    /// `buf` is the chunk and item buffer (≥ 64 bytes, ≤ a page minus
    /// the item header). Scans the queue for the next message id.
    pub async fn open(
        flash: S,
        messages: Range<u32>,
        state: Range<u32>,
        buf: &'b mut [u8],
    ) -> Result<Self, StoreError<FlashError<S::Error>>> {
        let max_item = S::ERASE_SIZE.saturating_sub(
            QueueStorage::<S, Uncached3>::item_overhead_size() as usize + 4 * S::WRITE_SIZE,
        );
        let bad = || StoreError::Io(FlashError::BadConfig);
        QueueConfig::<S>::try_new(messages.clone()).map_err(|_| bad())?;
        MapConfig::<S>::try_new(state.clone()).map_err(|_| bad())?;
        if buf.len() < 64
            || buf.len() > max_item
            || messages.end > state.start && state.end > messages.start
        {
            return Err(bad());
        }
        let mut store = FlashStore {
            flash,
            messages,
            state,
            buf,
            fill: 0,
            open: None,
            next_id: 1,
            seen: None,
        };
        let mut max = 0u32;
        store
            .scan(|item| {
                let id = commit_record(item).map(|m| m.id).or_else(|| chunk_id(item));
                max = max.max(id.unwrap_or(0));
            })
            .await?;
        store.next_id = max.wrapping_add(1).max(1);
        Ok(store)
    }

    /// Opens the store as [`open`](Self::open) does, keeping the POP3 seen
    /// set in `seen` (disjoint from the others, an even number of whole
    /// pages ≥ 2: two halves, see the module docs). A half holds
    /// `⌊page / (8 + 13 × k)⌋ × k` messages per page, `k` = 16 with a
    /// buffer of 208 bytes or more (288 per 4 KiB page). Leftovers of a
    /// listing cut short are erased here.
    pub async fn open_with_seen(
        flash: S,
        messages: Range<u32>,
        state: Range<u32>,
        seen: Range<u32>,
        buf: &'b mut [u8],
    ) -> Result<Self, StoreError<FlashError<S::Error>>> {
        let bad = || StoreError::Io(FlashError::BadConfig);
        let page = S::ERASE_SIZE as u32;
        let len = seen.end.saturating_sub(seen.start);
        if len == 0 || !len.is_multiple_of(2 * page) {
            return Err(bad());
        }
        let mid = seen.start + len / 2;
        let halves = (seen.start..mid, mid..seen.end);
        for h in [&halves.0, &halves.1] {
            QueueConfig::<S>::try_new(h.clone()).map_err(|_| bad())?;
        }
        let overlaps = |r: &Range<u32>| seen.start < r.end && r.start < seen.end;
        if overlaps(&messages) || overlaps(&state) {
            return Err(bad());
        }
        let mut store = Self::open(flash, messages, state, buf).await?;
        let per_item = (store.buf.len() / ENTRY).min(PACK);
        // Which half is current: one byte in the state map (0 if none).
        let range = store.state.clone();
        let mut map: MapStorage<u8, &mut S, _> = MapStorage::new(
            &mut store.flash,
            MapConfig::new(range),
            Cache::new_uncached(),
        );
        let cur_b = match map
            .fetch_item::<&[u8]>(store.buf, &SEEN_KEY)
            .await
            .map_err(map_err)?
        {
            Some(v) => v.first() == Some(&1),
            None => false,
        };
        store.seen = Some(SeenArea {
            halves,
            cur_b,
            len: 0,
            next_len: 0,
            next_used: false,
            listing: false,
            per_item,
            cur_pack: Pack::new(),
            next_pack: Pack::new(),
        });
        let (mut cur_len, mut next_len) = (0u64, 0u64);
        store
            .scan_seen(false, |_, _| {
                cur_len += 1;
                true
            })
            .await?;
        store
            .scan_seen(true, |_, _| {
                next_len += 1;
                true
            })
            .await?;
        if let Some(a) = store.seen.as_mut() {
            a.len = cur_len;
            // A listing cut short, or an old half not yet erased: the
            // current half holds everything remembered.
            a.next_used = next_len > 0;
        }
        store.erase_next().await?;
        Ok(store)
    }

    /// Calls `f(index, entry)` with every remembered message of the
    /// current (`next` false) or the next half, oldest first, until it
    /// returns false.
    async fn scan_seen(
        &mut self,
        next: bool,
        mut f: impl FnMut(u64, (MessageKey, u32, bool)) -> bool,
    ) -> Result<(), StoreError<FlashError<S::Error>>> {
        let Some(range) = self.seen.as_ref().map(|a| a.half(next)) else {
            return Ok(());
        };
        let mut q = QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(range),
            Cache::new_uncached(),
        );
        let mut it = q.iter().await.map_err(map_err)?;
        let mut i = 0u64;
        while let Some(item) = it.next(self.buf).await.map_err(map_err)? {
            for e in item.chunks_exact(ENTRY) {
                if let Some(e) = entry_of(e) {
                    if !f(i, e) {
                        return Ok(());
                    }
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Erases the next half if anything was written to it.
    async fn erase_next(&mut self) -> Result<(), StoreError<FlashError<S::Error>>> {
        let Some(a) = self.seen.as_mut() else {
            return Ok(());
        };
        a.next_pack = Pack::new();
        a.next_len = 0;
        if !a.next_used {
            return Ok(());
        }
        let r = a.half(true);
        self.flash
            .erase(r.start, r.end)
            .await
            .map_err(|e| StoreError::Io(FlashError::Flash(e)))?;
        if let Some(a) = self.seen.as_mut() {
            a.next_used = false;
        }
        Ok(())
    }

    /// Writes the current (`next` false) or the next half's pack as one
    /// item.
    async fn flush_pack(&mut self, next: bool) -> Result<(), StoreError<FlashError<S::Error>>> {
        let Some(a) = self.seen.as_mut() else {
            return Ok(());
        };
        if a.pack(next).n == 0 {
            return Ok(());
        }
        let range = a.half(next);
        let remembered = a.len;
        if next {
            a.next_used = true;
        }
        let mut q = QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(range),
            Cache::new_uncached(),
        );
        q.push(a.pack(next).data(), false)
            .await
            .map_err(|e| match e {
                sequential_storage::Error::FullStorage => StoreError::SeenFull { remembered },
                e => map_err(e),
            })?;
        a.pack(next).n = 0;
        Ok(())
    }

    /// Adds an entry to the current (`next` false) or the next half
    /// (written once its pack is full).
    async fn seen_add(
        &mut self,
        next: bool,
        (key, at, headers_only): (MessageKey, u32, bool),
    ) -> Result<(), StoreError<FlashError<S::Error>>> {
        let Some(a) = self.seen.as_mut() else {
            return Ok(());
        };
        if a.pack(next).n >= a.per_item {
            self.flush_pack(next).await?;
        }
        if let Some(a) = self.seen.as_mut() {
            a.pack(next).add(key, at, headers_only);
            if next {
                a.next_len += 1;
            } else {
                a.len += 1;
            }
        }
        Ok(())
    }

    /// Writes both packs: the current half first, so it never lacks what
    /// the next one has.
    async fn flush_seen(&mut self) -> Result<(), StoreError<FlashError<S::Error>>> {
        if self.seen.is_none() {
            return Ok(());
        }
        self.flush_pack(false).await?;
        self.flush_pack(true).await
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> S {
        self.flash
    }

    /// Erases both ranges (every message and the state).
    pub async fn erase_all(&mut self) -> Result<(), StoreError<FlashError<S::Error>>> {
        self.open = None;
        self.flash
            .erase(self.messages.start, self.messages.end)
            .await
            .map_err(|e| StoreError::Io(FlashError::Flash(e)))?;
        self.flash
            .erase(self.state.start, self.state.end)
            .await
            .map_err(|e| StoreError::Io(FlashError::Flash(e)))
    }

    fn queue(&mut self) -> QueueStorage<&mut S, Uncached3> {
        QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(self.messages.clone()),
            Cache::new_uncached(),
        )
    }

    /// Calls `f` with every item of the queue, oldest first.
    async fn scan(
        &mut self,
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), StoreError<FlashError<S::Error>>> {
        let messages = self.messages.clone();
        let mut q = QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(messages),
            Cache::new_uncached(),
        );
        let mut it = q.iter().await.map_err(map_err)?;
        while let Some(entry) = it.next(self.buf).await.map_err(map_err)? {
            f(&entry);
        }
        Ok(())
    }

    /// Every committed message, oldest first.
    pub async fn messages(
        &mut self,
        mut each: impl FnMut(MessageInfo),
    ) -> Result<(), StoreError<FlashError<S::Error>>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        self.scan(|item| {
            if let Some(m) = commit_record(item) {
                each(m)
            }
        })
        .await
    }

    /// Streams message `id` (committed) to `sink` chunk by chunk; returns
    /// its length, or `None` if there is no such committed message.
    pub async fn read(
        &mut self,
        id: u32,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<Option<u64>, StoreError<FlashError<S::Error>>> {
        let mut info = None;
        self.messages(|m| {
            if m.id == id {
                info = Some(m)
            }
        })
        .await?;
        let Some(info) = info else { return Ok(None) };
        let mut n = 0u64;
        self.scan(|item| {
            if chunk_id(item) == Some(id) {
                let data = item.get(CHUNK_HEADER..).unwrap_or(&[]);
                n += data.len() as u64;
                sink(data);
            }
        })
        .await?;
        if n != info.len {
            return Err(StoreError::Io(FlashError::Corrupted));
        }
        Ok(Some(n))
    }

    /// Reads every message back in one pass over the queue, oldest first,
    /// as [`ReadEvent`]s: `Begin(id)`, its chunks as `Data`, then `End`
    /// (or `Damaged`) once its commit record is reached. Costs one scan
    /// of the messages range whatever the number of messages (calling
    /// [`read`](Self::read) for each listed message costs one scan each);
    /// uses only the store's buffer. Leftovers of uncommitted messages
    /// show as a `Begin` without an `End`.
    pub async fn read_all(
        &mut self,
        mut each: impl FnMut(ReadEvent<'_>),
    ) -> Result<(), StoreError<FlashError<S::Error>>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        // The message being read (its id) and the bytes seen of it so far.
        let mut run: Option<(u32, u64)> = None;
        self.scan(|item| {
            if let Some(m) = commit_record(item) {
                let seen = match run.take() {
                    Some((id, n)) if id == m.id => n,
                    _ => {
                        each(ReadEvent::Begin(m.id));
                        0
                    }
                };
                each(if seen == m.len {
                    ReadEvent::End(m)
                } else {
                    ReadEvent::Damaged(m)
                });
            } else if let Some(id) = chunk_id(item) {
                let data = item.get(CHUNK_HEADER..).unwrap_or(&[]);
                let n = match run {
                    Some((open, n)) if open == id => n,
                    _ => {
                        each(ReadEvent::Begin(id));
                        0
                    }
                };
                run = Some((id, n + data.len() as u64));
                each(ReadEvent::Data(data));
            }
        })
        .await
    }

    /// Removes the oldest committed message (and any leftovers of
    /// uncommitted ones before it); returns it, or `None` if empty.
    pub async fn remove_oldest(
        &mut self,
    ) -> Result<Option<MessageInfo>, StoreError<FlashError<S::Error>>>
    where
        S: MultiwriteNorFlash,
    {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let messages = self.messages.clone();
        let mut q = QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(messages),
            Cache::new_uncached(),
        );
        let mut it = q.iter().await.map_err(map_err)?;
        // First find the oldest commit, then pop everything up to it.
        let mut target = None;
        while let Some(entry) = it.next(self.buf).await.map_err(map_err)? {
            if let Some(m) = commit_record(&entry) {
                target = Some(m);
                break;
            }
        }
        let Some(target) = target else {
            return Ok(None);
        };
        let mut it = q.iter().await.map_err(map_err)?;
        while let Some(entry) = it.next(self.buf).await.map_err(map_err)? {
            let done = commit_record(&entry) == Some(target);
            entry.pop().await.map_err(map_err)?;
            if done {
                break;
            }
        }
        Ok(Some(target))
    }

    async fn push_chunk(&mut self) -> Result<(), StoreError<FlashError<S::Error>>> {
        let Some((id, _, _)) = self.open else {
            return Err(StoreError::WrongState);
        };
        let mut header = [CHUNK; CHUNK_HEADER];
        header[1..].copy_from_slice(&id.to_le_bytes());
        if let Some(h) = self.buf.get_mut(..CHUNK_HEADER) {
            h.copy_from_slice(&header);
        }
        let n = CHUNK_HEADER + self.fill;
        let messages = self.messages.clone();
        let mut q = QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(messages),
            Cache::new_uncached(),
        );
        q.push(self.buf.get(..n).unwrap_or(&[]), false)
            .await
            .map_err(map_err)?;
        self.fill = 0;
        Ok(())
    }
}

impl<S: NorFlash> MessageStore for FlashStore<'_, S> {
    type Error = FlashError<S::Error>;

    async fn begin(
        &mut self,
        key: MessageKey,
        size_hint: u64,
    ) -> Result<(), StoreError<Self::Error>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let free = self.free().await?;
        let chunk = (self.buf.len() - CHUNK_HEADER) as u64;
        let needed = size_hint + (size_hint / chunk + 1) * 24 + 40;
        if needed > free {
            return Err(StoreError::Full { needed, free });
        }
        self.open = Some((self.next_id, key, 0));
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.fill = 0;
        Ok(())
    }

    async fn write(&mut self, mut chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        while !chunk.is_empty() {
            let Some((_, _, len)) = self.open.as_mut() else {
                return Err(StoreError::WrongState);
            };
            let room = self.buf.len() - CHUNK_HEADER - self.fill;
            let n = room.min(chunk.len());
            let at = CHUNK_HEADER + self.fill;
            if let (Some(dst), Some(src)) = (self.buf.get_mut(at..at + n), chunk.get(..n)) {
                dst.copy_from_slice(src);
            }
            *len += n as u64;
            self.fill += n;
            chunk = chunk.get(n..).unwrap_or(&[]);
            if self.fill == self.buf.len() - CHUNK_HEADER {
                if let Err(e) = self.push_chunk().await {
                    self.open = None;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        let Some((id, key, len)) = self.open else {
            return Err(StoreError::WrongState);
        };
        if self.fill > 0 {
            if let Err(e) = self.push_chunk().await {
                self.open = None;
                return Err(e);
            }
        }
        let mut rec = [0u8; COMMIT_LEN];
        rec[0] = COMMIT;
        rec[1..5].copy_from_slice(&id.to_le_bytes());
        rec[5..13].copy_from_slice(&key.to_le_bytes());
        rec[13..21].copy_from_slice(&len.to_le_bytes());
        self.open = None;
        self.queue().push(&rec, false).await.map_err(map_err)
    }

    async fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        self.open = None;
        self.fill = 0;
        Ok(())
    }

    async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        let mut found = false;
        self.messages(|m| found |= m.key == key).await?;
        Ok(found)
    }

    fn capacity(&self) -> u64 {
        u64::from(self.messages.end - self.messages.start)
    }

    async fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        if self.open.is_some() && self.fill > 0 {
            return Err(StoreError::WrongState);
        }
        self.queue()
            .space_left()
            .await
            .map(u64::from)
            .map_err(map_err)
    }

    async fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let half = self.buf.len() / 2;
        let (work, value) = self.buf.split_at_mut(half);
        let n = state.encode(value).ok_or(StoreError::StateTooLarge)?;
        let range = self.state.clone();
        let mut map: MapStorage<u8, &mut S, _> = MapStorage::new(
            &mut self.flash,
            MapConfig::new(range),
            Cache::new_uncached(),
        );
        let blob: &[u8] = value.get(..n).unwrap_or(&[]);
        map.store_item(work, &STATE_KEY, &blob)
            .await
            .map_err(map_err)?;
        // The seen set's inserts are durable with the state.
        self.flush_seen().await
    }

    async fn load_state(
        &mut self,
        state: &mut dyn StateBlob,
    ) -> Result<bool, StoreError<Self::Error>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let range = self.state.clone();
        let mut map: MapStorage<u8, &mut S, _> = MapStorage::new(
            &mut self.flash,
            MapConfig::new(range),
            Cache::new_uncached(),
        );
        match map
            .fetch_item::<&[u8]>(self.buf, &STATE_KEY)
            .await
            .map_err(map_err)?
        {
            Some(blob) => Ok(state.decode(blob)),
            None => Ok(false),
        }
    }

    fn keeps_seen(&self) -> bool {
        self.seen.is_some()
    }

    async fn seen_len(&mut self) -> Result<u64, StoreError<Self::Error>> {
        Ok(self.seen.as_ref().map_or(0, |a| a.len))
    }

    async fn seen_begin(&mut self) -> Result<(), StoreError<Self::Error>> {
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        // What an earlier listing left in the next half is dropped: the
        // current half has all of it.
        self.erase_next().await?;
        if let Some(a) = self.seen.as_mut() {
            a.listing = true;
        }
        Ok(())
    }

    async fn seen_find(
        &mut self,
        queries: &mut [SeenQuery],
    ) -> Result<(), StoreError<Self::Error>> {
        if self.seen.is_none() {
            return Ok(());
        }
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        // Entries still in the pack are this poll's inserts: never
        // listed twice, so the scan of the half is enough.
        let mut left = queries.iter().filter(|q| !q.found).count();
        if left > 0 {
            self.scan_seen(false, |_, (key, at, h)| {
                if let Some(q) = queries.iter_mut().find(|q| q.key == key && !q.found) {
                    q.found = true;
                    q.stored_at = at;
                    q.headers_only = h;
                    left -= 1;
                }
                left > 0
            })
            .await?;
        }
        if self.seen.as_ref().is_some_and(|a| a.listing) {
            for q in queries.iter().filter(|q| q.found) {
                self.seen_add(true, (q.key, q.stored_at, q.headers_only))
                    .await?;
            }
        }
        Ok(())
    }

    async fn seen_insert(
        &mut self,
        key: MessageKey,
        stored_at: u32,
        headers_only: bool,
    ) -> Result<(), StoreError<Self::Error>> {
        let Some(listing) = self.seen.as_ref().map(|a| a.listing) else {
            return Ok(());
        };
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        self.seen_add(false, (key, stored_at, headers_only)).await?;
        if listing {
            self.seen_add(true, (key, stored_at, headers_only)).await?;
        }
        Ok(())
    }

    async fn seen_prune(&mut self) -> Result<u64, StoreError<Self::Error>> {
        let Some(a) = self.seen.as_ref() else {
            return Ok(0);
        };
        if !a.listing {
            return Ok(0);
        }
        if self.open.is_some() {
            return Err(StoreError::WrongState);
        }
        let (next_b, old_len) = (!a.cur_b, a.len);
        self.flush_seen().await?;
        // The next half is whole: make it current (one map write), then
        // erase the old one.
        let range = self.state.clone();
        let mut map: MapStorage<u8, &mut S, _> = MapStorage::new(
            &mut self.flash,
            MapConfig::new(range),
            Cache::new_uncached(),
        );
        let flag: &[u8] = &[u8::from(next_b)];
        map.store_item(self.buf, &SEEN_KEY, &flag)
            .await
            .map_err(map_err)?;
        let Some(a) = self.seen.as_mut() else {
            return Ok(0);
        };
        a.cur_b = next_b;
        a.len = a.next_len;
        a.listing = false;
        // The old half (now the next one) is erased right away.
        a.next_used = true;
        let dropped = old_len.saturating_sub(a.len);
        self.erase_next().await?;
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::store::block_on;
    use embedded_storage_async::nor_flash::{ErrorType, NorFlashErrorKind, ReadNorFlash};
    use std::vec::Vec;

    const PAGE: usize = 1024;

    /// NOR flash in RAM: programming ANDs, erasing sets 0xFF.
    struct Ram(Vec<u8>);

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Never;
    impl embedded_storage_async::nor_flash::NorFlashError for Never {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::Other
        }
    }
    impl ErrorType for Ram {
        type Error = Never;
    }
    impl ReadNorFlash for Ram {
        const READ_SIZE: usize = 1;
        async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Never> {
            let o = offset as usize;
            bytes.copy_from_slice(&self.0[o..o + bytes.len()]);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.0.len()
        }
    }
    impl NorFlash for Ram {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = PAGE;
        async fn erase(&mut self, from: u32, to: u32) -> Result<(), Never> {
            self.0[from as usize..to as usize].fill(0xff);
            Ok(())
        }
        async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Never> {
            let o = offset as usize;
            for (d, s) in self.0[o..o + bytes.len()].iter_mut().zip(bytes) {
                *d &= *s;
            }
            Ok(())
        }
    }
    impl MultiwriteNorFlash for Ram {}

    const MESSAGES: Range<u32> = 0..8 * PAGE as u32;
    const STATE: Range<u32> = 8 * PAGE as u32..10 * PAGE as u32;

    fn body(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
    }

    /// A message read back: id, key, bytes.
    type Read = (u32, u64, Vec<u8>);

    /// Every committed message, and the ids read as damaged.
    fn gather<S: NorFlash>(store: &mut FlashStore<'_, S>) -> (Vec<Read>, Vec<u32>) {
        let (mut done, mut damaged, mut cur) = (Vec::new(), Vec::new(), Vec::new());
        let mut begun = None;
        block_on(store.read_all(|ev| match ev {
            ReadEvent::Begin(id) => {
                begun = Some(id);
                cur.clear();
            }
            ReadEvent::Data(d) => cur.extend_from_slice(d),
            ReadEvent::End(m) => {
                assert_eq!(begun.take(), Some(m.id));
                assert_eq!(cur.len() as u64, m.len);
                done.push((m.id, m.key, core::mem::take(&mut cur)));
            }
            ReadEvent::Damaged(m) => {
                assert_eq!(begun.take(), Some(m.id));
                damaged.push(m.id);
            }
        }))
        .unwrap();
        (done, damaged)
    }

    #[test]
    fn read_all_gives_every_committed_message_once() {
        let mut flash = Ram(std::vec![0xff; 10 * PAGE]);
        let mut buf = [0u8; 128];
        let mut store = block_on(FlashStore::open(&mut flash, MESSAGES, STATE, &mut buf))
            .map_err(|_| ())
            .unwrap();
        let a = body(1000, 1); // several chunks
        let b = body(0, 2); // empty: a commit record alone
        let c = body(123, 3); // exactly one chunk
        let d = body(2, 4);
        let w = |s: &mut FlashStore<'_, &mut Ram>, key: u64, m: &[u8], commit: bool| {
            block_on(s.begin(key, m.len() as u64)).unwrap();
            // Odd pieces, so chunks and writes do not line up.
            for piece in m.chunks(77) {
                block_on(s.write(piece)).unwrap();
            }
            if commit {
                block_on(s.commit()).unwrap();
            } else {
                block_on(s.abort()).unwrap();
            }
        };
        w(&mut store, 10, &a, true);
        w(&mut store, 99, &body(300, 9), false); // chunks on flash, never committed
        w(&mut store, 20, &b, true);
        w(&mut store, 30, &c, true);
        w(&mut store, 40, &d, true);

        // While a message is open there is nothing consistent to read.
        block_on(store.begin(50, 1)).unwrap();
        assert!(matches!(
            block_on(store.read_all(|_| {})),
            Err(StoreError::WrongState)
        ));
        block_on(store.abort()).unwrap();

        let store = store.into_inner();
        let mut store = block_on(FlashStore::open(store, MESSAGES, STATE, &mut buf))
            .map_err(|_| ())
            .unwrap();
        let (done, damaged) = gather(&mut store);
        assert!(damaged.is_empty());
        let got: Vec<(u64, Vec<u8>)> = done.iter().map(|(_, k, m)| (*k, m.clone())).collect();
        assert_eq!(got, std::vec![(10, a), (20, b), (30, c), (40, d)]);
        // The same bytes as `read`, message by message.
        for (id, _, m) in &done {
            let mut one = Vec::new();
            let n = block_on(store.read(*id, |d| one.extend_from_slice(d))).unwrap();
            assert_eq!(n, Some(m.len() as u64));
            assert_eq!(&one, m);
        }
    }

    #[test]
    fn seen_set_costs_at_most_16_bytes_a_message_and_refuses_when_full() {
        // 8 pages of messages, 2 of state, 2 × 4 pages of seen set.
        let mut flash = Ram(std::vec![0xff; 18 * PAGE]);
        let mut buf = [0u8; 256];
        let p = PAGE as u32;
        let mut store = block_on(FlashStore::open_with_seen(
            &mut flash,
            MESSAGES,
            STATE,
            10 * p..18 * p,
            &mut buf,
        ))
        .map_err(|_| ())
        .unwrap();
        assert!(store.keeps_seen());
        let mut n = 0u64;
        let full = loop {
            match block_on(store.seen_insert(n + 1, n as u32, false)) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert!(matches!(full, StoreError::SeenFull { .. }), "{full:?}");
        // What fits in one half of 4 pages: the entries pushed before the
        // pack that did not fit.
        let per_message = (4 * PAGE) as f64 / (n - 16) as f64;
        std::eprintln!(
            "seen set: {} messages in 4 pages of {PAGE} B: {per_message:.1} B each",
            n - 16
        );
        assert!(per_message <= 16.0, "{per_message} bytes per message");
        // Reopened: every written entry is found, in one scan per group.
        let mut store = block_on(FlashStore::open_with_seen(
            store.into_inner(),
            MESSAGES,
            STATE,
            10 * p..18 * p,
            &mut buf,
        ))
        .map_err(|_| ())
        .unwrap();
        let len = block_on(store.seen_len()).unwrap();
        assert_eq!(len, n - 16);
        let mut q = [
            SeenQuery::new(1),
            SeenQuery::new(len),
            SeenQuery::new(len + 1),
        ];
        block_on(store.seen_find(&mut q)).unwrap();
        assert!(q[0].found && q[1].found && !q[2].found);
        assert_eq!(q[1].stored_at, (len - 1) as u32);
    }

    #[test]
    fn read_all_reports_a_flipped_byte_as_damaged() {
        let mut flash = Ram(std::vec![0xff; 10 * PAGE]);
        let mut buf = [0u8; 128];
        let a = body(600, 5);
        let c = body(50, 6);
        {
            let mut store = block_on(FlashStore::open(&mut flash, MESSAGES, STATE, &mut buf))
                .map_err(|_| ())
                .unwrap();
            for (key, m) in [(1u64, &a), (2, &c)] {
                block_on(store.begin(key, m.len() as u64)).unwrap();
                block_on(store.write(m)).unwrap();
                block_on(store.commit()).unwrap();
            }
        }
        // Flip one bit of the first message's bytes where they sit on flash.
        let at = flash.0.windows(16).position(|w| w == &a[200..216]).unwrap();
        flash.0[at] ^= 0x01;
        let mut store = block_on(FlashStore::open(&mut flash, MESSAGES, STATE, &mut buf))
            .map_err(|_| ())
            .unwrap();
        let (done, damaged) = gather(&mut store);
        assert_eq!(damaged, std::vec![1]);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].2, c);
        assert!(matches!(
            block_on(store.read(1, |_| {})),
            Err(StoreError::Io(FlashError::Corrupted))
        ));
    }
}
