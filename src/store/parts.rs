//! Storing selected MIME parts instead of (or beside) the raw message
//! (feature `mime`): [`PartStore`] wraps a [`MessageStore`], walks every
//! message the poll streams through it with the [`Walker`], and stores
//! only the leaf parts a caller-side predicate selects, decoded, each
//! preceded by a fixed-layout header record. [`parts`] reads a stored blob
//! back without allocation, [`Reader`] one fed in chunks. With feature
//! `async`, a `PartStore` over async stores (e.g. `FlashStore`s) is an
//! async store too, for the async poll (see `asynch`).
//!
//! ```
//! use embedded_mail::store::{memory::MemoryStore, parts, parts::PartStore, MessageStore};
//!
//! let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
//! Content-Type: text/plain\r\n\r\nhi\r\n--b\r\n\
//! Content-Type: application/pdf; name=a.pdf\r\n\
//! Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
//! let (mut pdfs, mut raw) = (MemoryStore::<4096, 4>::new(), MemoryStore::<4096, 4>::new());
//! let mut line = [0u8; 256];
//! let mut store: PartStore<'_, _, _, _> =
//!     PartStore::new(&mut line, &mut pdfs, &mut raw, |p| p.is("application/pdf"));
//! // What the poll does with every message:
//! store.begin(7, msg.len() as u64).unwrap();
//! store.write(msg).unwrap();
//! store.commit().unwrap();
//! drop(store);
//! let (_, blob) = pdfs.messages().next().unwrap();
//! let part = parts::parts(blob).next().unwrap().unwrap();
//! assert_eq!(part.head.media_type(), b"application/pdf");
//! assert_eq!(part.head.filename(), b"a.pdf");
//! let mut out = [0u8; 16];
//! assert_eq!(part.body.copy_to(&mut out), Some(5));
//! assert_eq!(&out[..5], b"%PDF-");
//! assert!(raw.is_empty()); // a part was selected: the raw message is not kept
//! ```
//!
//! # Commit and delete
//!
//! The wrapper's `commit` is the inner stores' commit: the poll deletes a
//! message on the server only after it returned `Ok` (and the state was
//! saved), exactly as with a plain store. `abort` (a cut connection, a
//! store error) aborts the inner stores: nothing of the message is left.
//!
//! # The raw message
//!
//! [`PartStore::new`] takes a second store for raw messages. The raw
//! message is streamed into it alongside the walk and committed when
//!
//! - no part was selected (the safe default: mail without a wanted part is
//!   kept whole rather than lost; the parts store then gets nothing),
//! - the walker found a [`Defects`] in the message (malformed MIME: the
//!   parts are stored by the walker's best effort, *and* the raw message
//!   is kept, so nothing is dropped silently),
//! - or always, with [`PartStore::beside`].
//!
//! Otherwise its entry is aborted. The raw store is committed first, then
//! the parts store: if the second commit fails the message is already
//! kept whole, and [`MessageStore::contains`] (true when either store
//! holds the key) keeps the poll from storing it twice.
//!
//! [`PartStore::parts_only`] has no raw store. A message with no selected
//! part is then stored as a blob holding only the end record (its
//! [`MessageEnd::parts`] is 0), and the poll deletes it as any stored
//! message under a deleting policy: the caller's explicit choice.
//!
//! The sync state goes to the parts store. `size_hint` is passed to both
//! stores as it is (the raw size: decoded parts are usually smaller, but
//! a short 7bit part can come out up to [`HEAD_LEN`] + 18 bytes larger).
//!
//! # Blob layout
//!
//! A stored blob is a sequence of records, all integers little-endian,
//! streamable forward (the store is append-only, so a part's length comes
//! after its bytes):
//!
//! | record | bytes | contents |
//! |---|---|---|
//! | part head | [`HEAD_LEN`] (220) | `H`, part index u16, depth u8, disposition u8 (0 none, 1 inline, 2 attachment, 3 other), transfer encoding u8 (0 identity, 1 base64, 2 quoted-printable), header defects u16, then four length-prefixed zero-padded fields: media type (1 + 64), charset (1 + 24), file name (1 + 96), file name charset (1 + 24) |
//! | data | 3 + n | `D`, n u16 (1 ..= 65535), n decoded bytes |
//! | part end | 11 | `E`, decoded length u64, part defects u16 |
//! | message end | 7 | `M`, version 1, flags u8 ([`MessageEnd::RAW_KEPT`]), stored part count u16, message defects u16 |
//!
//! Each selected part is a head, its data records (one per decoded piece
//! of the walker, at most 192 bytes: 1.6 % overhead), and a part end; the
//! blob ends with one message end record. Firmware that streams a blob
//! from flash can follow the same layout forward with a few bytes of
//! state; [`parts`] does it over a slice.

use core::convert::Infallible;

use super::{MessageKey, MessageStore, StateBlob, StoreError};
use crate::mime::{
    Defects, Disposition, Encoding, Event, Part, Walker, CHARSET_LEN, FILENAME_LEN, MEDIA_TYPE_LEN,
};

/// Bytes of a part head record.
pub const HEAD_LEN: usize = 8 + (1 + MEDIA_TYPE_LEN) + 2 * (1 + CHARSET_LEN) + (1 + FILENAME_LEN);
/// Bytes of a part end record.
pub const PART_END_LEN: usize = 11;
/// Bytes of the message end record.
pub const MESSAGE_END_LEN: usize = 7;

const TAG_HEAD: u8 = b'H';
const TAG_DATA: u8 = b'D';
const TAG_PART_END: u8 = b'E';
const TAG_END: u8 = b'M';
const VERSION: u8 = 1;

// Offsets of the head's text fields (each a length byte, then the bytes).
const AT_TYPE: usize = 8;
const AT_CHARSET: usize = AT_TYPE + 1 + MEDIA_TYPE_LEN;
const AT_FILENAME: usize = AT_CHARSET + 1 + CHARSET_LEN;
const AT_FILENAME_CHARSET: usize = AT_FILENAME + 1 + FILENAME_LEN;

/// An error of one of the two stores a [`PartStore`] wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Either<P, R> {
    /// The parts store failed.
    Parts(P),
    /// The raw store failed.
    Raw(R),
}

fn map<E, F>(e: StoreError<E>, f: impl FnOnce(E) -> F) -> StoreError<F> {
    match e {
        StoreError::Full { needed, free } => StoreError::Full { needed, free },
        StoreError::WrongState => StoreError::WrongState,
        StoreError::StateTooLarge => StoreError::StateTooLarge,
        StoreError::SeenFull { remembered } => StoreError::SeenFull { remembered },
        StoreError::Io(e) => StoreError::Io(f(e)),
    }
}

/// The error of a [`PartStore`] over parts store `S` and raw store `R`.
pub type PartStoreError<S, R> =
    StoreError<Either<<S as MessageStore>::Error, <R as MessageStore>::Error>>;

/// The raw store of [`PartStore::parts_only`]: holds nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRaw;

impl MessageStore for NoRaw {
    type Error = Infallible;
    fn begin(&mut self, _: MessageKey, _: u64) -> Result<(), StoreError<Infallible>> {
        Ok(())
    }
    fn write(&mut self, _: &[u8]) -> Result<(), StoreError<Infallible>> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), StoreError<Infallible>> {
        Ok(())
    }
    fn abort(&mut self) -> Result<(), StoreError<Infallible>> {
        Ok(())
    }
    fn contains(&mut self, _: MessageKey) -> Result<bool, StoreError<Infallible>> {
        Ok(false)
    }
    fn capacity(&self) -> u64 {
        u64::MAX
    }
    fn free(&mut self) -> Result<u64, StoreError<Infallible>> {
        Ok(u64::MAX)
    }
    fn save_state(&mut self, _: &dyn StateBlob) -> Result<(), StoreError<Infallible>> {
        Ok(())
    }
    fn load_state(&mut self, _: &mut dyn StateBlob) -> Result<bool, StoreError<Infallible>> {
        Ok(false)
    }
}

/// What happens to the raw message (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeepRaw {
    /// Never: there is no raw store ([`PartStore::parts_only`]).
    Never,
    /// When no part was selected or the MIME was malformed (the default).
    WhenNeeded,
    /// Always ([`PartStore::beside`]).
    Always,
}

#[derive(Debug, Clone, Copy, Default)]
struct Pick {
    open: bool,
    active: bool,
    parts: u16,
    len: u64,
    /// Async only: records were dropped (see the `asynch` module).
    spoiled: bool,
}

impl Pick {
    /// Whether the raw message is committed.
    fn keep_raw(&self, keep: KeepRaw, defects: Defects) -> bool {
        match keep {
            KeepRaw::Never => false,
            KeepRaw::Always => true,
            KeepRaw::WhenNeeded => self.parts == 0 || !defects.is_empty() || self.spoiled,
        }
    }

    /// The message end record.
    fn end_record(&self, keep_raw: bool, defects: Defects) -> [u8; MESSAGE_END_LEN] {
        let n = self.parts.to_le_bytes();
        let d = defects.bits().to_le_bytes();
        let mut flags = 0;
        if keep_raw {
            flags |= MessageEnd::RAW_KEPT;
        }
        if self.spoiled {
            flags |= MessageEnd::INCOMPLETE;
        }
        [TAG_END, VERSION, flags, n[0], n[1], d[0], d[1]]
    }
}

/// A [`MessageStore`] that stores the selected parts of each message,
/// decoded, in `parts` and, when needed, the raw message in `raw`. See
/// the [module docs](self).
///
/// Memory: a [`Walker`] (`DEPTH` levels, header fields cut at the length
/// of the caller's `line` buffer) and the two stores; [`HEAD_LEN`] bytes
/// of stack while a head record is written.
pub struct PartStore<'b, S, R, F, const DEPTH: usize = 4> {
    parts: S,
    raw: R,
    walker: Walker<'b, DEPTH>,
    select: F,
    keep: KeepRaw,
    limit: u16,
    pick: Pick,
}

impl<'b, S, R, F, const DEPTH: usize> PartStore<'b, S, R, F, DEPTH>
where
    F: FnMut(&Part) -> bool,
{
    /// Stores the leaf parts `select` accepts in `parts`; a message with
    /// no selected part, or with malformed MIME, is kept whole in `raw`.
    /// `line` is the walker's header line buffer (256 bytes is enough for
    /// most mail; see [`Walker`]).
    pub fn new(line: &'b mut [u8], parts: S, raw: R, select: F) -> Self {
        PartStore {
            parts,
            raw,
            walker: Walker::new(line),
            select,
            keep: KeepRaw::WhenNeeded,
            limit: u16::MAX,
            pick: Pick::default(),
        }
    }

    /// Keeps every raw message in the raw store too, beside its parts.
    pub fn beside(mut self) -> Self {
        self.keep = KeepRaw::Always;
        self
    }

    /// Stores at most `limit` parts of a message (the first ones selected).
    pub fn limit(mut self, limit: u16) -> Self {
        self.limit = limit;
        self
    }

    /// When the raw message is kept.
    pub fn keep_raw(&self) -> KeepRaw {
        self.keep
    }

    /// The parts store.
    pub fn parts_store(&mut self) -> &mut S {
        &mut self.parts
    }

    /// The raw store.
    pub fn raw_store(&mut self) -> &mut R {
        &mut self.raw
    }

    /// The two stores, `(parts, raw)`.
    pub fn into_inner(self) -> (S, R) {
        (self.parts, self.raw)
    }
}

impl<'b, S, F, const DEPTH: usize> PartStore<'b, S, NoRaw, F, DEPTH>
where
    F: FnMut(&Part) -> bool,
{
    /// Stores only the selected parts; a message with none is stored as
    /// a blob with no part (only the end record), so a deleting poll
    /// deletes it from the server. Choose this only when such mail may go.
    pub fn parts_only(line: &'b mut [u8], parts: S, select: F) -> Self {
        let mut s = Self::new(line, parts, NoRaw, select);
        s.keep = KeepRaw::Never;
        s
    }
}

fn put_text(head: &mut [u8], at: usize, cap: usize, text: &[u8]) {
    let n = text.len().min(cap);
    if let Some(len) = head.get_mut(at) {
        *len = n as u8;
    }
    if let (Some(dst), Some(src)) = (head.get_mut(at + 1..at + 1 + n), text.get(..n)) {
        dst.copy_from_slice(src);
    }
}

fn head_record(p: &Part) -> [u8; HEAD_LEN] {
    let mut h = [0u8; HEAD_LEN];
    let d = p.defects.bits().to_le_bytes();
    let i = p.index.to_le_bytes();
    let disposition = match p.disposition {
        Disposition::None => 0,
        Disposition::Inline => 1,
        Disposition::Attachment => 2,
        Disposition::Other => 3,
    };
    let encoding = match p.encoding {
        Encoding::Identity => 0,
        Encoding::Base64 => 1,
        Encoding::QuotedPrintable => 2,
    };
    if let Some(fixed) = h.get_mut(..8) {
        fixed.copy_from_slice(&[
            TAG_HEAD,
            i[0],
            i[1],
            p.depth,
            disposition,
            encoding,
            d[0],
            d[1],
        ]);
    }
    put_text(&mut h, AT_TYPE, MEDIA_TYPE_LEN, p.media_type.as_bytes());
    put_text(&mut h, AT_CHARSET, CHARSET_LEN, p.charset.as_bytes());
    put_text(&mut h, AT_FILENAME, FILENAME_LEN, p.filename.as_bytes());
    put_text(
        &mut h,
        AT_FILENAME_CHARSET,
        CHARSET_LEN,
        p.filename_charset.as_bytes(),
    );
    h
}

/// The record that ends a part: its decoded length and defects (written
/// after the bytes: the stores are append-only).
fn part_end_record(len: u64, defects: Defects) -> [u8; PART_END_LEN] {
    let l = len.to_le_bytes();
    let d = defects.bits().to_le_bytes();
    [
        TAG_PART_END,
        l[0],
        l[1],
        l[2],
        l[3],
        l[4],
        l[5],
        l[6],
        l[7],
        d[0],
        d[1],
    ]
}

/// Follows one walker event, writing the records it completes to `store`.
fn on_event<S: MessageStore>(
    store: &mut S,
    pick: &mut Pick,
    limit: u16,
    select: &mut impl FnMut(&Part) -> bool,
    e: Event<'_>,
) -> Result<(), StoreError<S::Error>> {
    match e {
        Event::PartStart(p) if p.leaf && pick.parts < limit && select(p) => {
            store.write(&head_record(p))?;
            pick.active = true;
            pick.len = 0;
        }
        Event::Body(mut b) if pick.active => {
            pick.len += b.len() as u64;
            while !b.is_empty() {
                let n = b.len().min(usize::from(u16::MAX));
                let (now, rest) = b.split_at(n);
                let l = (n as u16).to_le_bytes();
                store.write(&[TAG_DATA, l[0], l[1]])?;
                store.write(now)?;
                b = rest;
            }
        }
        Event::PartEnd(p) if pick.active => {
            store.write(&part_end_record(pick.len, p.defects))?;
            pick.active = false;
            pick.parts = pick.parts.saturating_add(1);
        }
        _ => {}
    }
    Ok(())
}

impl<S, R, F, const DEPTH: usize> PartStore<'_, S, R, F, DEPTH>
where
    S: MessageStore,
    R: MessageStore,
    F: FnMut(&Part) -> bool,
{
    fn reset(&mut self) {
        self.walker.reset();
        self.pick = Pick::default();
    }

    fn abort_both(&mut self) -> Result<(), PartStoreError<S, R>> {
        self.reset();
        let raw = self.raw.abort().map_err(|e| map(e, Either::Raw));
        self.parts.abort().map_err(|e| map(e, Either::Parts))?;
        raw
    }
}

impl<S, R, F, const DEPTH: usize> MessageStore for PartStore<'_, S, R, F, DEPTH>
where
    S: MessageStore,
    R: MessageStore,
    F: FnMut(&Part) -> bool,
{
    type Error = Either<S::Error, R::Error>;

    fn begin(&mut self, key: MessageKey, size_hint: u64) -> Result<(), StoreError<Self::Error>> {
        if self.pick.open {
            return Err(StoreError::WrongState);
        }
        self.raw
            .begin(key, size_hint)
            .map_err(|e| map(e, Either::Raw))?;
        if let Err(e) = self.parts.begin(key, size_hint) {
            let _ = self.raw.abort();
            return Err(map(e, Either::Parts));
        }
        self.reset();
        self.pick.open = true;
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
        if !self.pick.open {
            return Err(StoreError::WrongState);
        }
        self.raw.write(chunk).map_err(|e| map(e, Either::Raw))?;
        let (parts, pick, limit, select) = (
            &mut self.parts,
            &mut self.pick,
            self.limit,
            &mut self.select,
        );
        self.walker
            .feed(chunk, &mut |e| on_event(parts, pick, limit, select, e))
            .map_err(|e| map(e, Either::Parts))
    }

    fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
        if !self.pick.open {
            return Err(StoreError::WrongState);
        }
        let (parts, pick, limit, select) = (
            &mut self.parts,
            &mut self.pick,
            self.limit,
            &mut self.select,
        );
        let defects = self
            .walker
            .finish(&mut |e| on_event(parts, pick, limit, select, e))
            .map_err(|e| map(e, Either::Parts))?;
        let stored = self.pick.parts;
        let keep_raw = self.pick.keep_raw(self.keep, defects);
        let end = self.pick.end_record(keep_raw, defects);
        self.pick.open = false;
        self.walker.reset();
        // Raw first: once it is committed the message is kept whole.
        if keep_raw {
            self.raw.commit().map_err(|e| map(e, Either::Raw))?;
        } else {
            self.raw.abort().map_err(|e| map(e, Either::Raw))?;
        }
        if stored == 0 && self.keep != KeepRaw::Never {
            return self.parts.abort().map_err(|e| map(e, Either::Parts));
        }
        self.parts.write(&end).map_err(|e| map(e, Either::Parts))?;
        self.parts.commit().map_err(|e| map(e, Either::Parts))
    }

    fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
        self.abort_both()
    }

    fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
        if self
            .parts
            .contains(key)
            .map_err(|e| map(e, Either::Parts))?
        {
            return Ok(true);
        }
        self.raw.contains(key).map_err(|e| map(e, Either::Raw))
    }

    fn capacity(&self) -> u64 {
        self.parts.capacity()
    }

    fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
        let p = self.parts.free().map_err(|e| map(e, Either::Parts))?;
        let r = self.raw.free().map_err(|e| map(e, Either::Raw))?;
        Ok(p.min(r))
    }

    fn save_state(&mut self, state: &dyn StateBlob) -> Result<(), StoreError<Self::Error>> {
        // Completes the raw store's deferred durability (the Maildir
        // store's directory sync) before the state that lets the poll
        // delete.
        self.raw
            .save_state(&Nothing)
            .map_err(|e| map(e, Either::Raw))?;
        self.parts
            .save_state(state)
            .map_err(|e| map(e, Either::Parts))
    }

    fn load_state(&mut self, state: &mut dyn StateBlob) -> Result<bool, StoreError<Self::Error>> {
        self.parts
            .load_state(state)
            .map_err(|e| map(e, Either::Parts))
    }
}

/// The empty state saved in the raw store.
struct Nothing;

impl StateBlob for Nothing {
    fn encode(&self, _: &mut [u8]) -> Option<usize> {
        Some(0)
    }
    fn decode(&mut self, _: &[u8]) -> bool {
        true
    }
}

// ---- reading back ----

/// What is wrong with a stored blob ([`parts`], [`message_end`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FormatError {
    /// The blob ends inside a record that starts at byte `at`.
    Truncated {
        /// Offset of the record.
        at: usize,
    },
    /// Byte `at` should start a record but is `tag`.
    UnknownRecord {
        /// Offset of the byte.
        at: usize,
        /// The byte found.
        tag: u8,
    },
    /// A part's data records add up to `found` bytes, its end record says
    /// `declared`.
    LengthMismatch {
        /// From the part end record.
        declared: u64,
        /// Sum of the data records.
        found: u64,
    },
    /// The message end record's version is not 1.
    Version(u8),
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FormatError::Truncated { at } => write!(f, "part blob cut in the record at {at}"),
            FormatError::UnknownRecord { at, tag } => {
                write!(f, "part blob: byte {tag:#04x} at {at} starts no record")
            }
            FormatError::LengthMismatch { declared, found } => write!(
                f,
                "part blob: part declares {declared} bytes, its data holds {found}"
            ),
            FormatError::Version(v) => write!(f, "part blob version {v}, expected 1"),
        }
    }
}

impl core::error::Error for FormatError {}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

/// A part's head record, borrowed from the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a>(&'a [u8]);

impl<'a> Head<'a> {
    fn text(&self, at: usize, cap: usize) -> &'a [u8] {
        let n = usize::from(self.0.get(at).copied().unwrap_or(0)).min(cap);
        self.0.get(at + 1..at + 1 + n).unwrap_or(&[])
    }
    /// The part's position in the message's walk order ([`Part::index`]).
    pub fn index(&self) -> u16 {
        u16_at(self.0, 1)
    }
    /// The part's nesting depth ([`Part::depth`]).
    pub fn depth(&self) -> u8 {
        self.0.get(3).copied().unwrap_or(0)
    }
    /// The Content-Disposition.
    pub fn disposition(&self) -> Disposition {
        match self.0.get(4) {
            Some(1) => Disposition::Inline,
            Some(2) => Disposition::Attachment,
            Some(3) => Disposition::Other,
            _ => Disposition::None,
        }
    }
    /// The transfer encoding the part came in (its bytes here are decoded).
    pub fn encoding(&self) -> Encoding {
        match self.0.get(5) {
            Some(1) => Encoding::Base64,
            Some(2) => Encoding::QuotedPrintable,
            _ => Encoding::Identity,
        }
    }
    /// Defects of the part's headers.
    pub fn defects(&self) -> Defects {
        defects_from(u16_at(self.0, 6))
    }
    /// `type/subtype`, lowercased (at most [`MEDIA_TYPE_LEN`] bytes).
    pub fn media_type(&self) -> &'a [u8] {
        self.text(AT_TYPE, MEDIA_TYPE_LEN)
    }
    /// The `charset` parameter, lowercased (empty when absent).
    pub fn charset(&self) -> &'a [u8] {
        self.text(AT_CHARSET, CHARSET_LEN)
    }
    /// The file name, decoded (see [`Part::filename`]); empty when absent.
    pub fn filename(&self) -> &'a [u8] {
        self.text(AT_FILENAME, FILENAME_LEN)
    }
    /// The file name's charset when not UTF-8 ([`Part::filename_charset`]).
    pub fn filename_charset(&self) -> &'a [u8] {
        self.text(AT_FILENAME_CHARSET, CHARSET_LEN)
    }
}

/// A part's decoded bytes: the data records between its head and end,
/// iterated as slices of the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body<'a> {
    records: &'a [u8],
    len: u64,
}

impl<'a> Body<'a> {
    /// Decoded length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// True when the part is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Copies the bytes into `out`; `None` when `out` is shorter than
    /// [`len`](Self::len).
    pub fn copy_to(&self, out: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        for piece in *self {
            out.get_mut(n..n + piece.len())?.copy_from_slice(piece);
            n += piece.len();
        }
        Some(n)
    }
}

impl<'a> Iterator for Body<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(u16_at(self.records, 1));
        let piece = self.records.get(3..3 + n)?;
        self.records = self.records.get(3 + n..).unwrap_or(&[]);
        Some(piece)
    }
}

/// One stored part: its head and its decoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPart<'a> {
    /// Content type, file name, charset, position.
    pub head: Head<'a>,
    /// The decoded bytes.
    pub body: Body<'a>,
    /// Defects of the part (headers and body).
    pub defects: Defects,
}

/// The message end record of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageEnd {
    /// Parts stored in the blob (0: none was selected).
    pub parts: u16,
    /// Defects of the whole message (malformed MIME), as
    /// [`Defects::bits`].
    pub defects: u16,
    /// Flags: [`MessageEnd::RAW_KEPT`].
    pub flags: u8,
}

impl MessageEnd {
    /// The raw message was committed to the raw store too.
    pub const RAW_KEPT: u8 = 1;
    /// Async `PartStore` only: a piece of the message produced more
    /// records than its collection buffer holds (hundreds of part heads
    /// within a few bytes: hostile mail), and some were dropped; the
    /// parts here are consistent but some are missing or short. The raw
    /// message is then kept unless there is no raw store.
    pub const INCOMPLETE: u8 = 2;
}

/// Reads the message end record at the end of `blob`.
pub fn message_end(blob: &[u8]) -> Result<MessageEnd, FormatError> {
    let at = blob.len().saturating_sub(MESSAGE_END_LEN);
    let r = blob
        .get(at..)
        .filter(|r| r.len() == MESSAGE_END_LEN)
        .ok_or(FormatError::Truncated { at })?;
    match (r.first(), r.get(1)) {
        (Some(&TAG_END), Some(&VERSION)) => Ok(MessageEnd {
            flags: r.get(2).copied().unwrap_or(0),
            parts: u16_at(r, 3),
            defects: u16_at(r, 5),
        }),
        (Some(&TAG_END), Some(&v)) => Err(FormatError::Version(v)),
        (t, _) => Err(FormatError::UnknownRecord {
            at,
            tag: t.copied().unwrap_or(0),
        }),
    }
}

/// The parts of a stored blob, in stored order, without allocation.
/// Stops at the message end record; yields one error and stops if the
/// blob is malformed.
pub fn parts(blob: &[u8]) -> Parts<'_> {
    Parts { blob, at: 0 }
}

/// The iterator of [`parts`].
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    blob: &'a [u8],
    at: usize,
}

impl<'a> Parts<'a> {
    fn part(&self) -> Result<(StoredPart<'a>, usize), FormatError> {
        let start = self.at;
        let head = self
            .blob
            .get(start..start + HEAD_LEN)
            .ok_or(FormatError::Truncated { at: start })?;
        let data = start + HEAD_LEN;
        let mut at = data;
        let mut found = 0u64;
        loop {
            match self.blob.get(at) {
                Some(&TAG_DATA) => {
                    let n = usize::from(u16_at(self.blob, at + 1));
                    if self.blob.len() < at + 3 + n {
                        return Err(FormatError::Truncated { at });
                    }
                    found += n as u64;
                    at += 3 + n;
                }
                Some(&TAG_PART_END) => break,
                Some(&tag) => return Err(FormatError::UnknownRecord { at, tag }),
                None => return Err(FormatError::Truncated { at }),
            }
        }
        let end = self
            .blob
            .get(at..at + PART_END_LEN)
            .ok_or(FormatError::Truncated { at })?;
        let mut l = [0u8; 8];
        l.copy_from_slice(end.get(1..9).unwrap_or(&[0; 8]));
        let declared = u64::from_le_bytes(l);
        if declared != found {
            return Err(FormatError::LengthMismatch { declared, found });
        }
        let defects = defects_from(u16_at(end, 9));
        let part = StoredPart {
            head: Head(head),
            body: Body {
                records: self.blob.get(data..at).unwrap_or(&[]),
                len: found,
            },
            defects,
        };
        Ok((part, at + PART_END_LEN))
    }
}

fn defects_from(bits: u16) -> Defects {
    let mut d = Defects::NONE;
    for flag in [
        Defects::MISSING_FINAL_BOUNDARY,
        Defects::BOUNDARY_NOT_FOUND,
        Defects::BAD_BOUNDARY,
        Defects::BAD_BASE64,
        Defects::BAD_QUOTED_PRINTABLE,
        Defects::HEADER_TOO_LONG,
        Defects::TOO_DEEP,
    ] {
        if bits & flag.bits() != 0 {
            d.insert(flag);
        }
    }
    d
}

impl<'a> Iterator for Parts<'a> {
    type Item = Result<StoredPart<'a>, FormatError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.blob.get(self.at) {
            Some(&TAG_END) | None => None,
            Some(&TAG_HEAD) => match self.part() {
                Ok((p, next)) => {
                    self.at = next;
                    Some(Ok(p))
                }
                Err(e) => {
                    self.at = self.blob.len();
                    Some(Err(e))
                }
            },
            Some(&tag) => {
                let at = self.at;
                self.at = self.blob.len();
                Some(Err(FormatError::UnknownRecord { at, tag }))
            }
        }
    }
}

/// What a [`Reader`] found in a blob, in stored order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A part starts: its head.
    Part(Head<'a>),
    /// The next decoded bytes of the current part.
    Body(&'a [u8]),
    /// The current part ended.
    PartEnd {
        /// Its decoded length (checked against its data records).
        len: u64,
        /// Its defects (headers and body).
        defects: Defects,
    },
    /// The blob ended.
    End(MessageEnd),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Tag,
    Fixed { need: usize },
    Data { left: usize },
    Done,
    Failed,
}

/// Reads a blob fed in pieces of any size, e.g. the chunks
/// `FlashStore::read` passes on, without holding more than one head
/// record ([`HEAD_LEN`] bytes): [`parts`] for blobs that are not in one
/// slice.
///
/// ```
/// use embedded_mail::store::parts::{Reader, Record};
/// # let blob = [b'M', 1, 0, 0, 0, 0, 0];
/// let mut reader = Reader::new();
/// for chunk in blob.chunks(3) {
///     reader.feed(chunk, &mut |r| {
///         if let Record::Body(bytes) = r { /* the part's next bytes */ }
///     })?;
/// }
/// reader.finish()?;
/// # Ok::<(), embedded_mail::store::parts::FormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reader {
    buf: [u8; HEAD_LEN],
    have: usize,
    step: Step,
    at: usize,
    sum: u64,
    failure: Option<FormatError>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// A reader at the start of a blob.
    pub const fn new() -> Self {
        Reader {
            buf: [0; HEAD_LEN],
            have: 0,
            step: Step::Tag,
            at: 0,
            sum: 0,
            failure: None,
        }
    }

    fn fail(&mut self, e: FormatError) -> Result<(), FormatError> {
        self.step = Step::Failed;
        self.failure = Some(e);
        Err(e)
    }

    /// Takes the next bytes of the blob and reports the records they
    /// complete to `on`. After an error every call returns it again.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        on: &mut impl FnMut(Record<'_>),
    ) -> Result<(), FormatError> {
        while let Some(&first) = input.first() {
            match self.step {
                Step::Failed => {
                    return Err(self
                        .failure
                        .unwrap_or(FormatError::Truncated { at: self.at }))
                }
                Step::Done | Step::Tag => {
                    let need = match first {
                        TAG_HEAD if self.step == Step::Tag => HEAD_LEN,
                        TAG_DATA if self.step == Step::Tag => 3,
                        TAG_PART_END if self.step == Step::Tag => PART_END_LEN,
                        TAG_END if self.step == Step::Tag => MESSAGE_END_LEN,
                        tag => {
                            let at = self.at;
                            return self.fail(FormatError::UnknownRecord { at, tag });
                        }
                    };
                    self.buf[0] = first;
                    self.have = 1;
                    self.step = Step::Fixed { need };
                    input = input.get(1..).unwrap_or(&[]);
                    self.at += 1;
                }
                Step::Fixed { need } => {
                    let n = (need - self.have).min(input.len());
                    if let (Some(dst), Some(src)) =
                        (self.buf.get_mut(self.have..self.have + n), input.get(..n))
                    {
                        dst.copy_from_slice(src);
                    }
                    self.have += n;
                    self.at += n;
                    input = input.get(n..).unwrap_or(&[]);
                    if self.have == need {
                        self.record(need, on)?;
                    }
                }
                Step::Data { left } => {
                    let n = left.min(input.len());
                    let (piece, rest) = input.split_at(n);
                    on(Record::Body(piece));
                    self.sum += n as u64;
                    self.at += n;
                    input = rest;
                    self.step = if left == n {
                        Step::Tag
                    } else {
                        Step::Data { left: left - n }
                    };
                }
            }
        }
        Ok(())
    }

    /// A fixed record of `need` bytes is in `buf`.
    fn record(&mut self, need: usize, on: &mut impl FnMut(Record<'_>)) -> Result<(), FormatError> {
        let rec = self.buf.get(..need).unwrap_or(&[]);
        self.step = Step::Tag;
        match rec.first().copied() {
            Some(TAG_HEAD) => {
                self.sum = 0;
                on(Record::Part(Head(rec)));
            }
            Some(TAG_DATA) => {
                let left = usize::from(u16_at(rec, 1));
                if left > 0 {
                    self.step = Step::Data { left };
                }
            }
            Some(TAG_PART_END) => {
                let mut l = [0u8; 8];
                l.copy_from_slice(rec.get(1..9).unwrap_or(&[0; 8]));
                let declared = u64::from_le_bytes(l);
                if declared != self.sum {
                    let found = self.sum;
                    return self.fail(FormatError::LengthMismatch { declared, found });
                }
                on(Record::PartEnd {
                    len: declared,
                    defects: defects_from(u16_at(rec, 9)),
                });
            }
            _ => match message_end(rec) {
                Ok(end) => {
                    self.step = Step::Done;
                    on(Record::End(end));
                }
                Err(e) => return self.fail(e),
            },
        }
        Ok(())
    }

    /// The blob has ended: `Ok` when its message end record was read.
    pub fn finish(&self) -> Result<(), FormatError> {
        match (self.step, self.failure) {
            (Step::Done, _) => Ok(()),
            (_, Some(e)) => Err(e),
            _ => Err(FormatError::Truncated { at: self.at }),
        }
    }
}

/// The async [`PartStore`] (feature `async`): the same records over
/// [`super::asynch::MessageStore`]s, e.g. two `FlashStore`s. The walker's
/// callback cannot await, so each `write` walks the chunk in pieces of
/// [`asynch::PIECE`] bytes, collecting the records (adjacent body pieces
/// merged into one data record) in a [`asynch::COLLECT`]-byte buffer that
/// the parts store takes whenever less than [`asynch::HEADROOM`] is free,
/// and at the end of each `write`. A piece of real mail produces at most
/// a few hundred bytes; one that would produce more (many part heads within a few bytes: hostile mail)
/// loses the records that do not fit, the blob stays readable and is
/// flagged [`MessageEnd::INCOMPLETE`], and the raw message is kept (with
/// [`KeepRaw::WhenNeeded`]).
#[cfg(feature = "async")]
pub mod asynch {
    use super::super::asynch::MessageStore;
    use super::*;

    /// Input bytes walked per step.
    pub const PIECE: usize = 8;
    /// Bytes of records collected before the parts store takes them.
    pub const COLLECT: usize = 1536;
    /// Room kept free before each step: what one step may produce (two
    /// part heads and ends, as one needs at least 5 bytes of input: `--b`,
    /// a line break and the blank line; and the data the walker can
    /// release at once: a held-back line, the piece and a decoder's
    /// output, under 300 bytes).
    pub const HEADROOM: usize = 768;

    struct Collect {
        buf: [u8; COLLECT],
        len: usize,
        /// Where the last record starts if it is a data record (adjacent
        /// body pieces are merged into it).
        last_data: Option<usize>,
    }

    impl Collect {
        const fn new() -> Self {
            Collect {
                buf: [0; COLLECT],
                len: 0,
                last_data: None,
            }
        }

        /// Appends `pieces` whole if they fit with `reserve` bytes left.
        fn push(&mut self, pieces: &[&[u8]], reserve: usize) -> bool {
            let total: usize = pieces.iter().map(|p| p.len()).sum();
            if self.len + total + reserve > COLLECT {
                return false;
            }
            for p in pieces {
                if let Some(dst) = self.buf.get_mut(self.len..self.len + p.len()) {
                    dst.copy_from_slice(p);
                }
                self.len += p.len();
            }
            self.last_data = None;
            true
        }

        /// Appends body bytes, to the last data record when it is last.
        fn push_data(&mut self, b: &[u8], reserve: usize) -> bool {
            if let Some(at) = self.last_data {
                let had = usize::from(u16_at(&self.buf, at + 1));
                if had + b.len() <= usize::from(u16::MAX) && self.len + b.len() + reserve <= COLLECT
                {
                    if let Some(dst) = self.buf.get_mut(self.len..self.len + b.len()) {
                        dst.copy_from_slice(b);
                    }
                    self.len += b.len();
                    let l = ((had + b.len()) as u16).to_le_bytes();
                    if let Some(dst) = self.buf.get_mut(at + 1..at + 3) {
                        dst.copy_from_slice(&l);
                    }
                    return true;
                }
            }
            let at = self.len;
            let l = (b.len() as u16).to_le_bytes();
            if self.push(&[&[TAG_DATA, l[0], l[1]], b], reserve) {
                self.last_data = Some(at);
                true
            } else {
                false
            }
        }

        fn bytes(&self) -> &[u8] {
            self.buf.get(..self.len).unwrap_or(&[])
        }

        fn clear(&mut self) {
            self.len = 0;
            self.last_data = None;
        }
    }

    /// [`on_event`](super::on_event) into a buffer. A part end always
    /// fits: every other record leaves room for one.
    fn collect_event(
        out: &mut Collect,
        pick: &mut Pick,
        limit: u16,
        select: &mut impl FnMut(&Part) -> bool,
        e: Event<'_>,
    ) {
        match e {
            Event::PartStart(p) if p.leaf && pick.parts < limit && select(p) => {
                if out.push(&[&head_record(p)], PART_END_LEN) {
                    pick.active = true;
                    pick.len = 0;
                } else {
                    pick.spoiled = true;
                }
            }
            Event::Body(b) if pick.active => {
                for now in b.chunks(usize::from(u16::MAX)) {
                    if out.push_data(now, PART_END_LEN) {
                        pick.len += now.len() as u64;
                    } else {
                        pick.spoiled = true;
                    }
                }
            }
            Event::PartEnd(p) if pick.active => {
                if !out.push(&[&super::part_end_record(pick.len, p.defects)], 0) {
                    pick.spoiled = true;
                }
                pick.active = false;
                pick.parts = pick.parts.saturating_add(1);
            }
            _ => {}
        }
    }

    impl MessageStore for NoRaw {
        type Error = Infallible;
        async fn begin(&mut self, _: MessageKey, _: u64) -> Result<(), StoreError<Infallible>> {
            Ok(())
        }
        async fn write(&mut self, _: &[u8]) -> Result<(), StoreError<Infallible>> {
            Ok(())
        }
        async fn commit(&mut self) -> Result<(), StoreError<Infallible>> {
            Ok(())
        }
        async fn abort(&mut self) -> Result<(), StoreError<Infallible>> {
            Ok(())
        }
        async fn contains(&mut self, _: MessageKey) -> Result<bool, StoreError<Infallible>> {
            Ok(false)
        }
        fn capacity(&self) -> u64 {
            u64::MAX
        }
        async fn free(&mut self) -> Result<u64, StoreError<Infallible>> {
            Ok(u64::MAX)
        }
        async fn save_state(&mut self, _: &dyn StateBlob) -> Result<(), StoreError<Infallible>> {
            Ok(())
        }
        async fn load_state(
            &mut self,
            _: &mut dyn StateBlob,
        ) -> Result<bool, StoreError<Infallible>> {
            Ok(false)
        }
    }

    impl<S, R, F, const DEPTH: usize> MessageStore for PartStore<'_, S, R, F, DEPTH>
    where
        S: MessageStore,
        R: MessageStore,
        F: FnMut(&Part) -> bool,
    {
        type Error = Either<S::Error, R::Error>;

        async fn begin(
            &mut self,
            key: MessageKey,
            size_hint: u64,
        ) -> Result<(), StoreError<Self::Error>> {
            if self.pick.open {
                return Err(StoreError::WrongState);
            }
            self.raw
                .begin(key, size_hint)
                .await
                .map_err(|e| map(e, Either::Raw))?;
            if let Err(e) = self.parts.begin(key, size_hint).await {
                let _ = self.raw.abort().await;
                return Err(map(e, Either::Parts));
            }
            self.walker.reset();
            self.pick = Pick {
                open: true,
                ..Pick::default()
            };
            Ok(())
        }

        async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError<Self::Error>> {
            if !self.pick.open {
                return Err(StoreError::WrongState);
            }
            self.raw
                .write(chunk)
                .await
                .map_err(|e| map(e, Either::Raw))?;
            let mut out = Collect::new();
            for piece in chunk.chunks(PIECE) {
                let (pick, limit, select) = (&mut self.pick, self.limit, &mut self.select);
                let _ = self.walker.feed(piece, &mut |e| {
                    collect_event(&mut out, pick, limit, select, e);
                    Ok::<(), Infallible>(())
                });
                if out.len + HEADROOM > COLLECT {
                    self.parts
                        .write(out.bytes())
                        .await
                        .map_err(|e| map(e, Either::Parts))?;
                    out.clear();
                }
            }
            if out.len > 0 {
                self.parts
                    .write(out.bytes())
                    .await
                    .map_err(|e| map(e, Either::Parts))?;
            }
            Ok(())
        }

        async fn commit(&mut self) -> Result<(), StoreError<Self::Error>> {
            if !self.pick.open {
                return Err(StoreError::WrongState);
            }
            let mut out = Collect::new();
            let (pick, limit, select) = (&mut self.pick, self.limit, &mut self.select);
            let defects = match self.walker.finish(&mut |e| {
                collect_event(&mut out, pick, limit, select, e);
                Ok::<(), Infallible>(())
            }) {
                Ok(d) => d,
                Err(never) => match never {},
            };
            if out.len > 0 {
                self.parts
                    .write(out.bytes())
                    .await
                    .map_err(|e| map(e, Either::Parts))?;
            }
            let stored = self.pick.parts;
            let keep_raw = self.pick.keep_raw(self.keep, defects);
            let end = self.pick.end_record(keep_raw, defects);
            self.pick.open = false;
            self.walker.reset();
            // Raw first: once it is committed the message is kept whole.
            if keep_raw {
                self.raw.commit().await.map_err(|e| map(e, Either::Raw))?;
            } else {
                self.raw.abort().await.map_err(|e| map(e, Either::Raw))?;
            }
            if stored == 0 && self.keep != KeepRaw::Never {
                return self.parts.abort().await.map_err(|e| map(e, Either::Parts));
            }
            self.parts
                .write(&end)
                .await
                .map_err(|e| map(e, Either::Parts))?;
            self.parts.commit().await.map_err(|e| map(e, Either::Parts))
        }

        async fn abort(&mut self) -> Result<(), StoreError<Self::Error>> {
            self.walker.reset();
            self.pick = Pick::default();
            let raw = self.raw.abort().await.map_err(|e| map(e, Either::Raw));
            self.parts
                .abort()
                .await
                .map_err(|e| map(e, Either::Parts))?;
            raw
        }

        async fn contains(&mut self, key: MessageKey) -> Result<bool, StoreError<Self::Error>> {
            if self
                .parts
                .contains(key)
                .await
                .map_err(|e| map(e, Either::Parts))?
            {
                return Ok(true);
            }
            self.raw
                .contains(key)
                .await
                .map_err(|e| map(e, Either::Raw))
        }

        fn capacity(&self) -> u64 {
            self.parts.capacity()
        }

        async fn free(&mut self) -> Result<u64, StoreError<Self::Error>> {
            let p = self.parts.free().await.map_err(|e| map(e, Either::Parts))?;
            let r = self.raw.free().await.map_err(|e| map(e, Either::Raw))?;
            Ok(p.min(r))
        }

        async fn save_state(
            &mut self,
            state: &dyn StateBlob,
        ) -> Result<(), StoreError<Self::Error>> {
            self.raw
                .save_state(&Nothing)
                .await
                .map_err(|e| map(e, Either::Raw))?;
            self.parts
                .save_state(state)
                .await
                .map_err(|e| map(e, Either::Parts))
        }

        async fn load_state(
            &mut self,
            state: &mut dyn StateBlob,
        ) -> Result<bool, StoreError<Self::Error>> {
            self.parts
                .load_state(state)
                .await
                .map_err(|e| map(e, Either::Parts))
        }
    }
}
