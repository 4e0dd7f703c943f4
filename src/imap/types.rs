//! Plain data: protocol states, capabilities, flags and the selected
//! mailbox's state.

use crate::sasl::{Mechanism, Mechanisms};

/// The IMAP connection states (RFC 3501 §3, RFC 9051 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Waiting for the server greeting.
    Greeting,
    /// Not Authenticated: log in (or STARTTLS) first.
    NotAuthenticated,
    /// STARTTLS was accepted; the TLS handshake comes next.
    TlsHandshake,
    /// Authenticated: mailbox commands allowed, none selected.
    Authenticated,
    /// Selected: a mailbox is open.
    Selected,
    /// Logout: the server said BYE or LOGOUT completed.
    Logout,
}

impl From<State> for crate::error::SessionState {
    fn from(state: State) -> Self {
        use crate::error::SessionState as S;
        match state {
            State::Greeting => S::Greeting,
            State::NotAuthenticated => S::NotAuthenticated,
            State::TlsHandshake => S::TlsHandshake,
            State::Authenticated => S::Authenticated,
            State::Selected => S::Selected,
            State::Logout => S::Logout,
        }
    }
}

impl State {
    /// The state's name as RFC 3501 writes it.
    pub fn name(self) -> &'static str {
        match self {
            State::Greeting => "GREETING",
            State::NotAuthenticated => "NOT AUTHENTICATED",
            State::TlsHandshake => "TLS-HANDSHAKE",
            State::Authenticated => "AUTHENTICATED",
            State::Selected => "SELECTED",
            State::Logout => "LOGOUT",
        }
    }
}

/// What the server advertised (CAPABILITY response or `[CAPABILITY ...]`
/// code) and what was ENABLEd. Unknown capabilities are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// A capability list was received since the last change of state that
    /// may alter it (login, STARTTLS).
    pub known: bool,
    /// `IMAP4rev1`.
    pub imap4rev1: bool,
    /// `IMAP4rev2` (RFC 9051).
    pub imap4rev2: bool,
    /// `STARTTLS`.
    pub starttls: bool,
    /// `LOGINDISABLED`: LOGIN is refused (usually until TLS).
    pub login_disabled: bool,
    /// `SASL-IR` (RFC 4959): initial response in AUTHENTICATE.
    pub sasl_ir: bool,
    /// `LITERAL+` (RFC 7888): non-synchronizing literals of any size.
    pub literal_plus: bool,
    /// `LITERAL-` (RFC 7888): non-synchronizing literals up to 4096 bytes.
    pub literal_minus: bool,
    /// `IDLE` (RFC 2177).
    pub idle: bool,
    /// `NAMESPACE` (RFC 2342).
    pub namespace: bool,
    /// `UIDPLUS` (RFC 4315): UID EXPUNGE, APPENDUID, COPYUID.
    pub uidplus: bool,
    /// `MOVE` (RFC 6851).
    pub move_: bool,
    /// `CONDSTORE` (RFC 7162).
    pub condstore: bool,
    /// `QRESYNC` (RFC 7162).
    pub qresync: bool,
    /// `ESEARCH` (RFC 4731).
    pub esearch: bool,
    /// `ENABLE` (RFC 5161).
    pub enable: bool,
    /// `ID` (RFC 2971).
    pub id: bool,
    /// `QUOTA` (RFC 2087 / 9208).
    pub quota: bool,
    /// `SPECIAL-USE` (RFC 6154).
    pub special_use: bool,
    /// `LIST-EXTENDED` (RFC 5258).
    pub list_extended: bool,
    /// `LIST-STATUS` (RFC 5819).
    pub list_status: bool,
    /// `UNSELECT` (RFC 3691).
    pub unselect: bool,
    /// `UTF8=ACCEPT` (RFC 6855).
    pub utf8_accept: bool,
    /// `BINARY` (RFC 3516).
    pub binary: bool,
    /// `CHILDREN` (RFC 3348).
    pub children: bool,
    /// The `AUTH=` mechanisms this crate knows that the server offers.
    pub sasl: Mechanisms,
    /// IMAP4rev2 was ENABLEd.
    pub rev2_enabled: bool,
    /// UTF8=ACCEPT was ENABLEd: mailbox names travel as UTF-8.
    pub utf8_enabled: bool,
    /// CONDSTORE was ENABLEd (or implied).
    pub condstore_enabled: bool,
}

impl Capabilities {
    /// Records one capability atom (case-insensitive).
    pub fn record(&mut self, atom: &[u8]) {
        self.known = true;
        if let Some(m) = strip_prefix_ci(atom, b"AUTH=") {
            if let Some(m) = Mechanism::from_name(m) {
                self.sasl.insert(m);
            }
            return;
        }
        let flags: [(&[u8], &mut bool); 24] = [
            (b"IMAP4REV1", &mut self.imap4rev1),
            (b"IMAP4REV2", &mut self.imap4rev2),
            (b"STARTTLS", &mut self.starttls),
            (b"LOGINDISABLED", &mut self.login_disabled),
            (b"SASL-IR", &mut self.sasl_ir),
            (b"LITERAL+", &mut self.literal_plus),
            (b"LITERAL-", &mut self.literal_minus),
            (b"IDLE", &mut self.idle),
            (b"NAMESPACE", &mut self.namespace),
            (b"UIDPLUS", &mut self.uidplus),
            (b"MOVE", &mut self.move_),
            (b"CONDSTORE", &mut self.condstore),
            (b"QRESYNC", &mut self.qresync),
            (b"ESEARCH", &mut self.esearch),
            (b"ENABLE", &mut self.enable),
            (b"ID", &mut self.id),
            (b"QUOTA", &mut self.quota),
            (b"SPECIAL-USE", &mut self.special_use),
            (b"LIST-EXTENDED", &mut self.list_extended),
            (b"LIST-STATUS", &mut self.list_status),
            (b"UNSELECT", &mut self.unselect),
            (b"UTF8=ACCEPT", &mut self.utf8_accept),
            (b"BINARY", &mut self.binary),
            (b"CHILDREN", &mut self.children),
        ];
        for (name, flag) in flags {
            if name.eq_ignore_ascii_case(atom) {
                *flag = true;
                return;
            }
        }
        // QUOTA=RES-STORAGE etc. (RFC 9208) imply QUOTA.
        if strip_prefix_ci(atom, b"QUOTA=").is_some() {
            self.quota = true;
        }
    }

    /// Forgets the advertised list, keeping what was ENABLEd.
    pub fn reset_advertised(&mut self) {
        *self = Capabilities {
            rev2_enabled: self.rev2_enabled,
            utf8_enabled: self.utf8_enabled,
            condstore_enabled: self.condstore_enabled,
            ..Capabilities::default()
        };
    }

    /// True when a literal of `len` bytes may be sent without waiting for
    /// a continuation request.
    pub fn non_sync_literal(&self, len: u64) -> bool {
        self.literal_plus || (self.literal_minus && len <= 4096)
    }
}

pub(crate) fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..).unwrap_or(&[]))
}

/// A set of the system flags (RFC 3501 §2.3.2) plus whether keywords were
/// present; keywords themselves are given raw in the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlagSet(u16);

impl FlagSet {
    /// `\Seen`.
    pub const SEEN: u16 = 1;
    /// `\Answered`.
    pub const ANSWERED: u16 = 2;
    /// `\Flagged`.
    pub const FLAGGED: u16 = 4;
    /// `\Deleted`.
    pub const DELETED: u16 = 8;
    /// `\Draft`.
    pub const DRAFT: u16 = 16;
    /// `\Recent` (IMAP4rev1 only).
    pub const RECENT: u16 = 32;
    /// `\*`: new keywords may be created (PERMANENTFLAGS).
    pub const MAY_CREATE: u16 = 64;
    /// At least one keyword (a flag without a backslash) was listed.
    pub const KEYWORDS: u16 = 128;

    /// Parses a space-separated flag list (the inside of the parentheses).
    pub fn parse(list: &[u8]) -> Self {
        let mut s = FlagSet(0);
        for f in list.split(|&b| b == b' ').filter(|f| !f.is_empty()) {
            s.0 |= Self::bit(f);
        }
        s
    }

    fn bit(flag: &[u8]) -> u16 {
        const TABLE: &[(&[u8], u16)] = &[
            (b"\\Seen", FlagSet::SEEN),
            (b"\\Answered", FlagSet::ANSWERED),
            (b"\\Flagged", FlagSet::FLAGGED),
            (b"\\Deleted", FlagSet::DELETED),
            (b"\\Draft", FlagSet::DRAFT),
            (b"\\Recent", FlagSet::RECENT),
            (b"\\*", FlagSet::MAY_CREATE),
        ];
        match TABLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(flag)) {
            Some((_, b)) => *b,
            None if !flag.starts_with(b"\\") => FlagSet::KEYWORDS,
            None => 0,
        }
    }

    /// True when every bit of `bits` is set.
    pub fn contains(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// The raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }
}

/// The state of the selected mailbox, kept up to date from untagged data
/// (SELECT/EXAMINE answers, EXISTS, EXPUNGE, RECENT, response codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MailboxState {
    /// Number of messages (`EXISTS`, minus `EXPUNGE`s since).
    pub exists: u32,
    /// `RECENT` (IMAP4rev1).
    pub recent: u32,
    /// `[UIDVALIDITY n]`.
    pub uid_validity: Option<u32>,
    /// `[UIDNEXT n]`.
    pub uid_next: Option<u32>,
    /// `[UNSEEN n]`: first unseen message (IMAP4rev1).
    pub first_unseen: Option<u32>,
    /// `[HIGHESTMODSEQ n]` (CONDSTORE).
    pub highest_modseq: Option<u64>,
    /// `FLAGS (...)`: the flags defined in the mailbox.
    pub flags: FlagSet,
    /// `[PERMANENTFLAGS (...)]`: the flags that can be changed permanently.
    pub permanent_flags: FlagSet,
    /// `[READ-ONLY]` (EXAMINE, or a mailbox the user may not change).
    pub read_only: bool,
    /// Messages were expunged (or vanished) since the mailbox was selected.
    pub expunged: bool,
}
