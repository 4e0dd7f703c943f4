//! IMAP commands and the encoding of their arguments.

use super::sequence::SequenceSet;
use super::types::Capabilities;
use super::utf7;
use crate::error::ProtocolError;
use crate::wire::{check_text, TxCursor};

/// Offsets in a command's bytes just after each synchronizing literal's
/// `{N}\r\n`, where the sender waits for the server's `+`.
pub(crate) type Pauses = heapless::Vec<usize, { super::session::MAX_PAUSES }>;

/// Which attributes `STATUS` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StatusItems {
    /// `MESSAGES`.
    pub messages: bool,
    /// `UIDNEXT`.
    pub uid_next: bool,
    /// `UIDVALIDITY`.
    pub uid_validity: bool,
    /// `UNSEEN`.
    pub unseen: bool,
    /// `RECENT` (IMAP4rev1 only).
    pub recent: bool,
    /// `SIZE` (IMAP4rev2 / STATUS=SIZE).
    pub size: bool,
    /// `HIGHESTMODSEQ` (CONDSTORE).
    pub highest_modseq: bool,
}

impl StatusItems {
    /// `MESSAGES UIDNEXT UIDVALIDITY UNSEEN`.
    pub const BASIC: StatusItems = StatusItems {
        messages: true,
        uid_next: true,
        uid_validity: true,
        unseen: true,
        recent: false,
        size: false,
        highest_modseq: false,
    };
}

/// The part of a message a body fetch asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Section<'a> {
    /// `[]`: the whole message.
    Full,
    /// `[HEADER]`.
    Header,
    /// `[TEXT]`: the body without the header.
    Text,
    /// `[HEADER.FIELDS (names)]`, names space-separated (`"SUBJECT FROM"`).
    HeaderFields(&'a str),
    /// A MIME part specifier as text (`"1.2"`, `"2.MIME"`, `"1.TEXT"`).
    Part(&'a str),
}

/// A body item of a FETCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BodyRequest<'a> {
    /// What to fetch.
    pub section: Section<'a>,
    /// `<offset.length>`: only this range.
    pub partial: Option<(u32, u32)>,
    /// `.PEEK`: do not set `\Seen`.
    pub peek: bool,
    /// `BINARY[...]` (RFC 3516) instead of `BODY[...]`: content transfer
    /// decoding done by the server. Needs the `BINARY` capability.
    pub binary: bool,
}

impl<'a> BodyRequest<'a> {
    /// `BODY.PEEK[section]`.
    pub const fn peek(section: Section<'a>) -> Self {
        BodyRequest {
            section,
            partial: None,
            peek: true,
            binary: false,
        }
    }
}

/// What a FETCH asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FetchItems<'a> {
    /// `UID`.
    pub uid: bool,
    /// `FLAGS`.
    pub flags: bool,
    /// `INTERNALDATE`.
    pub internal_date: bool,
    /// `RFC822.SIZE`.
    pub size: bool,
    /// `ENVELOPE` (given raw as a [`super::GenericEvent::FetchItem`]).
    pub envelope: bool,
    /// `BODYSTRUCTURE` (given raw, or skipped if too large).
    pub body_structure: bool,
    /// `MODSEQ` (CONDSTORE).
    pub modseq: bool,
    /// One body item.
    pub body: Option<BodyRequest<'a>>,
    /// A second body item after `body` (say a header field before the
    /// whole message, so both come in one response).
    pub second_body: Option<BodyRequest<'a>>,
}

/// `+FLAGS`, `-FLAGS` or `FLAGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreOp {
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
    /// `FLAGS`: replace.
    Replace,
}

/// Whether the server answers a STORE with the messages' new flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreReply {
    /// `FLAGS`: the server sends a FETCH with each message's new flags.
    NewFlags,
    /// `FLAGS.SILENT`: no FETCH answers for the changed flags.
    Silent,
}

/// What an ESEARCH (RFC 4731) answer should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SearchReturn {
    /// `MIN`.
    pub min: bool,
    /// `MAX`.
    pub max: bool,
    /// `COUNT`.
    pub count: bool,
    /// `ALL`.
    pub all: bool,
}

/// An IMAP command (RFC 3501 / RFC 9051 and the extensions named).
/// AUTHENTICATE and APPEND have their own encoders on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`: also polls for mailbox changes.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `ID` (RFC 2971) with field/value pairs, or `ID NIL` for `None`.
    Id(Option<&'a [(&'a str, &'a str)]>),
    /// `ENABLE` (RFC 5161) with capability names.
    Enable(&'a [&'a str]),
    /// `LOGIN user password`.
    Login {
        /// User name.
        user: &'a str,
        /// Password.
        password: &'a str,
    },
    /// `STARTTLS`.
    StartTls,
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `LIST reference pattern` (with `RETURN (SPECIAL-USE)` when
    /// `special_use` and the server offers it).
    List {
        /// Reference name (usually `""`).
        reference: &'a str,
        /// Pattern with `*` / `%` wildcards.
        pattern: &'a str,
        /// Ask for special-use attributes (RFC 6154).
        special_use: bool,
    },
    /// `LSUB reference pattern`.
    Lsub {
        /// Reference name.
        reference: &'a str,
        /// Pattern.
        pattern: &'a str,
    },
    /// `STATUS mailbox (items)`.
    Status {
        /// Mailbox name (UTF-8).
        mailbox: &'a str,
        /// What to ask for.
        items: StatusItems,
    },
    /// `SELECT mailbox` (`(CONDSTORE)` when `condstore`).
    Select {
        /// Mailbox name (UTF-8).
        mailbox: &'a str,
        /// Enable CONDSTORE for this mailbox.
        condstore: bool,
    },
    /// `EXAMINE mailbox`: select read-only.
    Examine(&'a str),
    /// `CREATE mailbox`.
    Create(&'a str),
    /// `DELETE mailbox`.
    Delete(&'a str),
    /// `RENAME from to`.
    Rename {
        /// Existing name.
        from: &'a str,
        /// New name.
        to: &'a str,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(&'a str),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(&'a str),
    /// `CLOSE`: expunges `\Deleted` messages and unselects.
    Close,
    /// `UNSELECT` (RFC 3691): unselects without expunging.
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set` (UIDPLUS).
    UidExpunge(SequenceSet<'a>),
    /// `CHECK`.
    Check,
    /// `[UID] SEARCH [RETURN (...)] criteria`.
    Search {
        /// Numbers are UIDs.
        uid: bool,
        /// Search criteria in IMAP syntax, sent as given (e.g. `UNSEEN`,
        /// `SINCE 1-Jan-2024`, `HEADER Subject "x"`); CR, LF, NUL refused.
        criteria: &'a str,
        /// ESEARCH return options (needs ESEARCH).
        ret: Option<SearchReturn>,
    },
    /// `[UID] FETCH set items`.
    Fetch {
        /// Which messages.
        set: SequenceSet<'a>,
        /// Numbers are UIDs.
        uid: bool,
        /// What to fetch.
        items: FetchItems<'a>,
    },
    /// `[UID] STORE set [+-]FLAGS[.SILENT] (flags)`.
    Store {
        /// Which messages.
        set: SequenceSet<'a>,
        /// Numbers are UIDs.
        uid: bool,
        /// Add, remove or replace.
        op: StoreOp,
        /// `.SILENT`: no FETCH answers.
        silent: bool,
        /// Flags, e.g. `\Seen`, `$Forwarded`.
        flags: &'a [&'a str],
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// Which messages.
        set: SequenceSet<'a>,
        /// Numbers are UIDs.
        uid: bool,
        /// Target mailbox.
        mailbox: &'a str,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851; needs MOVE).
    Move {
        /// Which messages.
        set: SequenceSet<'a>,
        /// Numbers are UIDs.
        uid: bool,
        /// Target mailbox.
        mailbox: &'a str,
    },
    /// `IDLE` (RFC 2177); end with [`super::Session::encode_idle_done`].
    Idle,
    /// `GETQUOTAROOT mailbox`.
    GetQuotaRoot(&'a str),
    /// `GETQUOTA root`.
    GetQuota(&'a str),
}

/// An APPEND command: the message itself follows as a literal of `len`
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Append<'a> {
    /// Target mailbox (UTF-8).
    pub mailbox: &'a str,
    /// Flags to set, e.g. `\Seen`.
    pub flags: &'a [&'a str],
    /// Internal date in IMAP `date-time` form (`"01-Jan-2024 10:00:00 +0000"`).
    pub date: Option<&'a str>,
    /// Size of the message in bytes (CRLF line ends).
    pub len: u32,
}

fn invalid(why: &'static str) -> ProtocolError {
    ProtocolError::InvalidArgument(why)
}

fn is_atom(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| super::parse::is_atom_char(b) && b != b'\\')
}

/// Writes `s` as a quoted string (escaping `"` and `\`).
pub(crate) fn put_quoted(c: &mut TxCursor<'_>, s: &[u8]) {
    c.put(b"\"");
    for part in s.split_inclusive(|&b| b == b'"' || b == b'\\') {
        match part.split_last() {
            Some((&last, head)) if last == b'"' || last == b'\\' => {
                c.put(head).put(b"\\").put(&[last]);
            }
            _ => {
                c.put(part);
            }
        }
    }
    c.put(b"\"");
}

/// True when `put_astring` would send `s` as a synchronizing literal (a
/// round trip of its own): a line break, or 8-bit bytes without
/// UTF8=ACCEPT, on a server without LITERAL+ (or LITERAL- for its size).
pub(crate) fn needs_sync_literal(s: &[u8], caps: &Capabilities) -> bool {
    let eight_bit = s.iter().any(|&b| b >= 0x80);
    let line_break = s.iter().any(|&b| b == b'\r' || b == b'\n');
    (line_break || (eight_bit && !caps.utf8_enabled)) && !caps.non_sync_literal(s.len() as u64)
}

/// Writes a caller string (user name, password, ...) as an atom, a quoted
/// string, or a literal (non-synchronizing with LITERAL+ / LITERAL-,
/// else synchronizing: its pause is pushed to `pauses`).
pub(crate) fn put_astring(
    c: &mut TxCursor<'_>,
    s: &[u8],
    caps: &Capabilities,
    pauses: &mut Pauses,
) -> Result<(), ProtocolError> {
    if s.contains(&0) {
        return Err(invalid("argument contains NUL"));
    }
    if is_atom(s) {
        c.put(s);
        return Ok(());
    }
    let eight_bit = s.iter().any(|&b| b >= 0x80);
    let line_break = s.iter().any(|&b| b == b'\r' || b == b'\n');
    if !line_break && (!eight_bit || caps.utf8_enabled) {
        put_quoted(c, s);
        return Ok(());
    }
    c.put(b"{").put_u64(s.len() as u64);
    if caps.non_sync_literal(s.len() as u64) {
        // LITERAL+ / LITERAL- (RFC 7888): the data follows at once.
        c.put(b"+}\r\n");
    } else {
        // A synchronizing literal (RFC 3501 §7.5): the sender stops after
        // the CRLF and waits for the server's `+`.
        c.put(b"}\r\n");
        pauses
            .push(c.len())
            .map_err(|_| invalid("too many arguments need a synchronizing literal"))?;
    }
    c.put(s);
    Ok(())
}

/// Writes a mailbox name: modified UTF-7 (or UTF-8 once UTF8=ACCEPT is
/// enabled) in a quoted string.
pub(crate) fn put_mailbox(
    c: &mut TxCursor<'_>,
    name: &str,
    caps: &Capabilities,
) -> Result<(), ProtocolError> {
    check_text(name.as_bytes())?;
    if caps.utf8_enabled {
        put_quoted(c, name.as_bytes());
    } else {
        c.put(b"\"");
        utf7::encode(name, &mut |p| {
            for &b in p {
                if b == b'"' || b == b'\\' {
                    c.put(b"\\");
                }
                c.put(&[b]);
            }
        });
        c.put(b"\"");
    }
    Ok(())
}

/// Writes a flag list `(\Seen $Label)`; each flag must be an atom,
/// optionally with a leading backslash.
pub(crate) fn put_flags(c: &mut TxCursor<'_>, flags: &[&str]) -> Result<(), ProtocolError> {
    c.put(b"(");
    for (i, f) in flags.iter().enumerate() {
        let body = f.strip_prefix('\\').unwrap_or(f);
        if !is_atom(body.as_bytes()) {
            return Err(invalid("flag is not an atom"));
        }
        if i > 0 {
            c.put(b" ");
        }
        c.put(f.as_bytes());
    }
    c.put(b")");
    Ok(())
}

/// Checks a raw text argument placed verbatim (search criteria, section
/// specifiers): no CR, LF, NUL; for sections also no `]`.
pub(crate) fn check_raw(s: &str, section: bool) -> Result<(), ProtocolError> {
    check_text(s.as_bytes())?;
    if section && (s.contains(']') || s.contains('[')) {
        return Err(invalid("section contains a bracket"));
    }
    Ok(())
}

pub(crate) fn put_fetch_items(
    c: &mut TxCursor<'_>,
    items: &FetchItems<'_>,
) -> Result<(), ProtocolError> {
    let mut first = true;
    let mut item = |c: &mut TxCursor<'_>, s: &[u8]| {
        if !first {
            c.put(b" ");
        }
        first = false;
        c.put(s);
    };
    c.put(b"(");
    let simple: [(bool, &[u8]); 7] = [
        (items.uid, b"UID"),
        (items.flags, b"FLAGS"),
        (items.internal_date, b"INTERNALDATE"),
        (items.size, b"RFC822.SIZE"),
        (items.envelope, b"ENVELOPE"),
        (items.body_structure, b"BODYSTRUCTURE"),
        (items.modseq, b"MODSEQ"),
    ];
    for (on, name) in simple {
        if on {
            item(c, name);
        }
    }
    for b in items.body.iter().chain(items.second_body.iter()) {
        item(
            c,
            match (b.binary, b.peek) {
                (false, false) => b"BODY[",
                (false, true) => b"BODY.PEEK[",
                (true, false) => b"BINARY[",
                (true, true) => b"BINARY.PEEK[",
            },
        );
        match b.section {
            Section::Full => {}
            Section::Header => {
                c.put(b"HEADER");
            }
            Section::Text => {
                c.put(b"TEXT");
            }
            Section::HeaderFields(names) => {
                check_raw(names, true)?;
                c.put(b"HEADER.FIELDS (").put(names.as_bytes()).put(b")");
            }
            Section::Part(p) => {
                check_raw(p, true)?;
                if p.is_empty() {
                    return Err(invalid("empty part specifier"));
                }
                c.put(p.as_bytes());
            }
        }
        c.put(b"]");
        if let Some((off, len)) = b.partial {
            c.put(b"<").put_u32(off).put(b".").put_u32(len).put(b">");
        }
    }
    if first {
        return Err(invalid("FETCH asks for nothing"));
    }
    c.put(b")");
    Ok(())
}
