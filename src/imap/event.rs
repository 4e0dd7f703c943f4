//! What the decoder reports. Every type is generic over how bytes are
//! held: `Span` (byte ranges of the decode input, [`RawEvent`]) or `&[u8]`
//! ([`Event`]); [`RawEvent::resolve`] turns one into the other.

use super::types::FlagSet;
use super::Pending;
use crate::error::Refusal;

/// A byte range `[start, end)` of a decode input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The bytes of `data` in this range (empty if out of range).
    pub fn get(self, data: &[u8]) -> &[u8] {
        data.get(self.start..self.end).unwrap_or(&[])
    }
}

/// A string value as the server sent it: `raw` is the content without
/// quotes; when `escaped`, it still holds `\"` / `\\` escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Str<B> {
    /// The bytes (without surrounding quotes or literal header).
    pub raw: B,
    /// True when `raw` came from a quoted string with backslash escapes.
    pub escaped: bool,
}

impl<B> Str<B> {
    fn map<C>(self, f: &impl Fn(B) -> C) -> Str<C> {
        Str {
            raw: f(self.raw),
            escaped: self.escaped,
        }
    }
}

impl<'b> Str<&'b [u8]> {
    /// The bytes with escapes removed, one at a time.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + 'b {
        let escaped = self.escaped;
        let mut it = self.raw.iter().copied();
        core::iter::from_fn(move || {
            let b = it.next()?;
            if escaped && b == b'\\' {
                it.next()
            } else {
                Some(b)
            }
        })
    }

    /// Copies the unescaped bytes into `out`; `None` if it is too small.
    pub fn copy_to<'o>(&self, out: &'o mut [u8]) -> Option<&'o [u8]> {
        let mut n = 0;
        for b in self.bytes() {
            *out.get_mut(n)? = b;
            n += 1;
        }
        out.get(..n)
    }

    /// The bytes when no escape is present (the common case).
    pub fn as_plain(&self) -> Option<&'b [u8]> {
        (!self.escaped).then_some(self.raw)
    }
}

/// A response code of an `OK` (tagged or untagged) or `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Code<B> {
    /// No code.
    None,
    /// `[ALERT]`: show the text to a human.
    Alert,
    /// `[CAPABILITY ...]` (already recorded by the session).
    Capability(B),
    /// `[PERMANENTFLAGS (...)]` (the inside of the list).
    PermanentFlags(B),
    /// `[UIDVALIDITY n]`.
    UidValidity(u32),
    /// `[UIDNEXT n]`.
    UidNext(u32),
    /// `[UNSEEN n]`.
    Unseen(u32),
    /// `[HIGHESTMODSEQ n]`.
    HighestModSeq(u64),
    /// `[NOMODSEQ]`.
    NoModSeq,
    /// `[READ-ONLY]`.
    ReadOnly,
    /// `[READ-WRITE]`.
    ReadWrite,
    /// `[APPENDUID validity uid]` (RFC 4315).
    AppendUid {
        /// UIDVALIDITY of the target mailbox.
        validity: u32,
        /// UID of the appended message.
        uid: u32,
    },
    /// `[COPYUID validity source-uids target-uids]` (RFC 4315); the sets in
    /// wire form (see [`super::parse_ranges`]).
    CopyUid {
        /// UIDVALIDITY of the target mailbox.
        validity: u32,
        /// The source UIDs.
        from: B,
        /// The UIDs in the target mailbox, in the same order.
        to: B,
    },
    /// `[CLOSED]` (RFC 7162): the previous mailbox was closed.
    Closed,
    /// Any other code: its atom and arguments.
    Other {
        /// The code's name.
        atom: B,
        /// The rest inside the brackets (possibly empty).
        args: B,
    },
}

impl<B> Code<B> {
    fn map<C>(self, f: &impl Fn(B) -> C) -> Code<C> {
        match self {
            Code::None => Code::None,
            Code::Alert => Code::Alert,
            Code::Capability(b) => Code::Capability(f(b)),
            Code::PermanentFlags(b) => Code::PermanentFlags(f(b)),
            Code::UidValidity(n) => Code::UidValidity(n),
            Code::UidNext(n) => Code::UidNext(n),
            Code::Unseen(n) => Code::Unseen(n),
            Code::HighestModSeq(n) => Code::HighestModSeq(n),
            Code::NoModSeq => Code::NoModSeq,
            Code::ReadOnly => Code::ReadOnly,
            Code::ReadWrite => Code::ReadWrite,
            Code::AppendUid { validity, uid } => Code::AppendUid { validity, uid },
            Code::CopyUid { validity, from, to } => Code::CopyUid {
                validity,
                from: f(from),
                to: f(to),
            },
            Code::Closed => Code::Closed,
            Code::Other { atom, args } => Code::Other {
                atom: f(atom),
                args: f(args),
            },
        }
    }
}

/// Mailbox attributes of a LIST answer (RFC 3501, 5258, 3348, 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MailboxAttrs(pub u32);

impl MailboxAttrs {
    /// `\Noselect`: not a mailbox, only a level of the hierarchy.
    pub const NOSELECT: u32 = 1;
    /// `\Noinferiors`: cannot have children.
    pub const NOINFERIORS: u32 = 1 << 1;
    /// `\NonExistent` (RFC 5258; implies `\Noselect`).
    pub const NONEXISTENT: u32 = 1 << 2;
    /// `\HasChildren`.
    pub const HAS_CHILDREN: u32 = 1 << 3;
    /// `\HasNoChildren`.
    pub const HAS_NO_CHILDREN: u32 = 1 << 4;
    /// `\Marked`.
    pub const MARKED: u32 = 1 << 5;
    /// `\Unmarked`.
    pub const UNMARKED: u32 = 1 << 6;
    /// `\Subscribed`.
    pub const SUBSCRIBED: u32 = 1 << 7;
    /// `\Remote`.
    pub const REMOTE: u32 = 1 << 8;
    /// `\All` (special use).
    pub const ALL: u32 = 1 << 9;
    /// `\Archive`.
    pub const ARCHIVE: u32 = 1 << 10;
    /// `\Drafts`.
    pub const DRAFTS: u32 = 1 << 11;
    /// `\Flagged`.
    pub const FLAGGED: u32 = 1 << 12;
    /// `\Junk`.
    pub const JUNK: u32 = 1 << 13;
    /// `\Sent`.
    pub const SENT: u32 = 1 << 14;
    /// `\Trash`.
    pub const TRASH: u32 = 1 << 15;
    /// `\Important` (RFC 8457).
    pub const IMPORTANT: u32 = 1 << 16;

    /// Parses the inside of the attribute list; unknown attributes are
    /// ignored (they stay in [`ListItem::attrs_raw`]).
    pub fn parse(list: &[u8]) -> Self {
        const TABLE: &[(&[u8], u32)] = &[
            (b"\\Noselect", MailboxAttrs::NOSELECT),
            (b"\\Noinferiors", MailboxAttrs::NOINFERIORS),
            (
                b"\\NonExistent",
                MailboxAttrs::NONEXISTENT | MailboxAttrs::NOSELECT,
            ),
            (b"\\HasChildren", MailboxAttrs::HAS_CHILDREN),
            (b"\\HasNoChildren", MailboxAttrs::HAS_NO_CHILDREN),
            (b"\\Marked", MailboxAttrs::MARKED),
            (b"\\Unmarked", MailboxAttrs::UNMARKED),
            (b"\\Subscribed", MailboxAttrs::SUBSCRIBED),
            (b"\\Remote", MailboxAttrs::REMOTE),
            (b"\\All", MailboxAttrs::ALL),
            (b"\\Archive", MailboxAttrs::ARCHIVE),
            (b"\\Drafts", MailboxAttrs::DRAFTS),
            (b"\\Flagged", MailboxAttrs::FLAGGED),
            (b"\\Junk", MailboxAttrs::JUNK),
            (b"\\Sent", MailboxAttrs::SENT),
            (b"\\Trash", MailboxAttrs::TRASH),
            (b"\\Important", MailboxAttrs::IMPORTANT),
        ];
        let mut bits = 0;
        for a in list.split(|&b| b == b' ') {
            if let Some((_, b)) = TABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(a)) {
                bits |= b;
            }
        }
        MailboxAttrs(bits)
    }

    /// True when every bit of `bits` is set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// One `LIST` / `LSUB` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListItem<B> {
    /// The attributes known to this crate.
    pub attrs: MailboxAttrs,
    /// The attribute list as sent (inside the parentheses).
    pub attrs_raw: B,
    /// The hierarchy delimiter (`None` for `NIL`: a flat namespace).
    pub delimiter: Option<u8>,
    /// The name as sent: modified UTF-7, or UTF-8 once UTF8=ACCEPT is
    /// enabled; decode with [`super::decode_mailbox`].
    pub name: Str<B>,
    /// True for an `LSUB` answer.
    pub lsub: bool,
}

/// The values of a `STATUS` answer (each `None` if not returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusValues {
    /// `MESSAGES`.
    pub messages: Option<u32>,
    /// `RECENT`.
    pub recent: Option<u32>,
    /// `UIDNEXT`.
    pub uid_next: Option<u32>,
    /// `UIDVALIDITY`.
    pub uid_validity: Option<u32>,
    /// `UNSEEN`.
    pub unseen: Option<u32>,
    /// `DELETED` (IMAP4rev2).
    pub deleted: Option<u32>,
    /// `SIZE` (IMAP4rev2).
    pub size: Option<u64>,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    pub highest_modseq: Option<u64>,
}

/// The kind of an untagged status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StatusKind {
    /// `* OK`.
    Ok,
    /// `* NO`: a warning.
    No,
    /// `* BAD`: a protocol-level error report.
    Bad,
}

/// The `(usage, limit)` pairs of a `QUOTA` answer (RFC 2087 / 9208).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuotaValues {
    /// `STORAGE`: usage and limit in KiB (units of 1024 octets).
    pub storage: Option<(u64, u64)>,
    /// `MESSAGE`: message count and limit.
    pub messages: Option<(u64, u64)>,
}

/// One decoded event. `B` is `&[u8]` for [`Event`], [`Span`] for
/// [`RawEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GenericEvent<B> {
    /// The greeting: `* OK` (`preauth` false) or `* PREAUTH`.
    Greeting {
        /// The server logged us in already (PREAUTH).
        preauth: bool,
        /// Its response code.
        code: Code<B>,
        /// Its text.
        text: B,
    },
    /// A command completed with `OK`.
    Done {
        /// The command's tag number.
        tag: u32,
        /// What the command was.
        command: Pending,
        /// The response code.
        code: Code<B>,
        /// The server's text.
        text: B,
    },
    /// A command completed with `NO` or `BAD` (or the greeting was `BYE`).
    Refused {
        /// The command's tag number (0 for the greeting).
        tag: u32,
        /// What the command was.
        command: Pending,
        /// Kind, code and text.
        refusal: Refusal,
    },
    /// `* BYE`: the server is closing the connection.
    Bye {
        /// Kind `Bye`, code and text.
        refusal: Refusal,
    },
    /// `* OK` / `* NO` / `* BAD` (not the greeting).
    Status {
        /// OK, NO or BAD.
        kind: StatusKind,
        /// The response code.
        code: Code<B>,
        /// The text.
        text: B,
    },
    /// `+ text`: a continuation request (APPEND literal, AUTHENTICATE
    /// challenge, IDLE started).
    Continue(B),
    /// `* CAPABILITY ...` (already recorded).
    Capability(B),
    /// `* ENABLED ...` (already recorded).
    Enabled(B),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT`.
    Recent(u32),
    /// `* n EXPUNGE`: message `n` is gone; higher numbers shift down.
    Expunge(u32),
    /// `* VANISHED [(EARLIER)] uid-set` (QRESYNC).
    Vanished {
        /// `(EARLIER)` was given.
        earlier: bool,
        /// The UIDs in wire form.
        uids: B,
    },
    /// `* FLAGS (...)`: flags defined in the mailbox (inside the list).
    MailboxFlags(B),
    /// `* LIST` / `* LSUB`.
    List(ListItem<B>),
    /// `* STATUS mailbox (...)`.
    MailboxStatus {
        /// The mailbox name as sent.
        mailbox: Str<B>,
        /// The values.
        values: StatusValues,
    },
    /// One number of `* SEARCH` (streamed one at a time).
    SearchHit(u32),
    /// `(MODSEQ n)` at the end of a SEARCH answer (CONDSTORE).
    SearchModSeq(u64),
    /// `* ESEARCH` (RFC 4731).
    ESearch {
        /// Numbers are UIDs.
        uid: bool,
        /// `MIN`.
        min: Option<u32>,
        /// `MAX`.
        max: Option<u32>,
        /// `COUNT`.
        count: Option<u32>,
        /// `ALL` in wire form (see [`super::parse_ranges`]).
        all: Option<B>,
    },
    /// `* n FETCH (`: a FETCH answer starts; items follow.
    FetchStart {
        /// Message sequence number.
        seq: u32,
    },
    /// FETCH `UID n`.
    Uid(u32),
    /// FETCH `FLAGS (...)`: the inside of the list; iterate with
    /// `split(|&b| b == b' ')` or parse with [`FlagSet::parse`].
    Flags(B),
    /// FETCH `INTERNALDATE "..."`.
    InternalDate(B),
    /// FETCH `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// FETCH `MODSEQ (n)`.
    ModSeq(u64),
    /// A body item starts (`BODY[section]<origin>`, `BINARY[...]`,
    /// `RFC822...`): `len` bytes follow as [`GenericEvent::BodyChunk`]s.
    BodyStart {
        /// The item name as sent, e.g. `BODY[HEADER]` or `BODY[]<0>`.
        section: B,
        /// The `<origin>` of a partial fetch.
        origin: Option<u32>,
        /// Total length of the body in bytes (0 for `NIL`).
        len: u64,
    },
    /// A piece of the body, exactly as on the wire.
    BodyChunk(B),
    /// The body item ended.
    BodyEnd,
    /// Another FETCH item, whole (`ENVELOPE`, `BODYSTRUCTURE`, ...).
    FetchItem {
        /// The item name.
        name: B,
        /// Its value as sent (literals inline).
        value: B,
    },
    /// A value too large for the receive buffer was skipped (see
    /// [`super::Session::set_skip_oversized`]).
    Skipped {
        /// Its size in bytes.
        size: u64,
    },
    /// The FETCH answer ended.
    FetchEnd,
    /// `* NAMESPACE personal other shared`, each a list or NIL as sent.
    Namespace {
        /// Personal namespaces.
        personal: B,
        /// Other users' namespaces.
        other: B,
        /// Shared namespaces.
        shared: B,
    },
    /// `* QUOTA root (...)`.
    Quota {
        /// The quota root name.
        root: Str<B>,
        /// Usage and limits.
        values: QuotaValues,
    },
    /// `* QUOTAROOT mailbox root...`.
    QuotaRoot {
        /// The mailbox.
        mailbox: Str<B>,
        /// The roots as sent (space-separated astrings).
        roots: B,
    },
    /// `* ID (...)` or `* ID NIL`, as sent.
    Id(B),
    /// Any other untagged response, as sent (without `* ` and line end).
    Other(B),
}

/// An event borrowing the decode input.
pub type Event<'b> = GenericEvent<&'b [u8]>;

/// An event holding byte ranges of the decode input, so a driver can
/// resolve it after its read loop.
pub type RawEvent = GenericEvent<Span>;

impl<B> GenericEvent<B> {
    /// Maps every byte field.
    pub fn map<C>(self, f: impl Fn(B) -> C) -> GenericEvent<C> {
        use GenericEvent as E;
        let f = &f;
        match self {
            E::Greeting {
                preauth,
                code,
                text,
            } => E::Greeting {
                preauth,
                code: code.map(f),
                text: f(text),
            },
            E::Done {
                tag,
                command,
                code,
                text,
            } => E::Done {
                tag,
                command,
                code: code.map(f),
                text: f(text),
            },
            E::Refused {
                tag,
                command,
                refusal,
            } => E::Refused {
                tag,
                command,
                refusal,
            },
            E::Bye { refusal } => E::Bye { refusal },
            E::Status { kind, code, text } => E::Status {
                kind,
                code: code.map(f),
                text: f(text),
            },
            E::Continue(b) => E::Continue(f(b)),
            E::Capability(b) => E::Capability(f(b)),
            E::Enabled(b) => E::Enabled(f(b)),
            E::Exists(n) => E::Exists(n),
            E::Recent(n) => E::Recent(n),
            E::Expunge(n) => E::Expunge(n),
            E::Vanished { earlier, uids } => E::Vanished {
                earlier,
                uids: f(uids),
            },
            E::MailboxFlags(b) => E::MailboxFlags(f(b)),
            E::List(l) => E::List(ListItem {
                attrs: l.attrs,
                attrs_raw: f(l.attrs_raw),
                delimiter: l.delimiter,
                name: l.name.map(f),
                lsub: l.lsub,
            }),
            E::MailboxStatus { mailbox, values } => E::MailboxStatus {
                mailbox: mailbox.map(f),
                values,
            },
            E::SearchHit(n) => E::SearchHit(n),
            E::SearchModSeq(n) => E::SearchModSeq(n),
            E::ESearch {
                uid,
                min,
                max,
                count,
                all,
            } => E::ESearch {
                uid,
                min,
                max,
                count,
                all: all.map(f),
            },
            E::FetchStart { seq } => E::FetchStart { seq },
            E::Uid(n) => E::Uid(n),
            E::Flags(b) => E::Flags(f(b)),
            E::InternalDate(b) => E::InternalDate(f(b)),
            E::Rfc822Size(n) => E::Rfc822Size(n),
            E::ModSeq(n) => E::ModSeq(n),
            E::BodyStart {
                section,
                origin,
                len,
            } => E::BodyStart {
                section: f(section),
                origin,
                len,
            },
            E::BodyChunk(b) => E::BodyChunk(f(b)),
            E::BodyEnd => E::BodyEnd,
            E::FetchItem { name, value } => E::FetchItem {
                name: f(name),
                value: f(value),
            },
            E::Skipped { size } => E::Skipped { size },
            E::FetchEnd => E::FetchEnd,
            E::Namespace {
                personal,
                other,
                shared,
            } => E::Namespace {
                personal: f(personal),
                other: f(other),
                shared: f(shared),
            },
            E::Quota { root, values } => E::Quota {
                root: root.map(f),
                values,
            },
            E::QuotaRoot { mailbox, roots } => E::QuotaRoot {
                mailbox: mailbox.map(f),
                roots: f(roots),
            },
            E::Id(b) => E::Id(f(b)),
            E::Other(b) => E::Other(f(b)),
        }
    }
}

impl RawEvent {
    /// Resolves the ranges against the input the event was decoded from.
    pub fn resolve(self, data: &[u8]) -> Event<'_> {
        self.map(|s| s.get(data))
    }
}

impl Event<'_> {
    /// The flags of a [`GenericEvent::Flags`] or
    /// [`GenericEvent::MailboxFlags`] as a set.
    pub fn flag_set(&self) -> Option<FlagSet> {
        match self {
            GenericEvent::Flags(b) | GenericEvent::MailboxFlags(b) => Some(FlagSet::parse(b)),
            _ => None,
        }
    }
}
