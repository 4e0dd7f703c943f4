//! POP3 (RFC 1939) with CAPA and response codes (RFC 2449), AUTH (RFC
//! 5034), UTF8 (RFC 6856) and STLS (RFC 2595).
//!
//! - [`Session`]: the sans-I/O state machine; use it directly to write your
//!   own driver.
//! - [`Client`]: a blocking driver over `embedded_io::{Read, Write}`.
//! - [`asynch::Client`] (feature `async`): the same over
//!   `embedded_io_async`.
//!
//! Memory: the session is a few hundred bytes; the client borrows a receive
//! buffer (512 bytes suffices for every response RFC 2449 allows, and
//! message bodies stream through it in pieces) and a command buffer (64
//! bytes for the plain commands; as long as the longest `PASS`, `APOP`, or
//! `AUTH` line otherwise).

mod codec;
mod pending;
mod session;

mod types;
pub use types::{Greeting, Parts, Stat, UniqueId, MAX_UID_LEN};

/// The blocking client over `embedded_io`: `build.rs` derives it from the
/// async client's source (`driver.rs`) by dropping `async` and `.await`.
pub(crate) mod blocking {
    include!(concat!(env!("OUT_DIR"), "/blocking/pop3_driver.rs"));
}
pub use blocking::Client;

#[cfg(feature = "async")]
#[path = "driver.rs"]
pub mod asynch;

pub use codec::{apop_timestamp, response_code, Status};
pub use pending::MAX_RUNS;
pub use session::{
    Decoded, Event, Pending, RawEvent, Session, Span, DEFAULT_MAX_LINE, MAX_IN_FLIGHT,
};

use crate::sasl::{Mechanism, Mechanisms};

/// A POP3 command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `CAPA`: list capabilities (RFC 2449).
    Capa,
    /// `USER name`.
    User(&'a str),
    /// `PASS secret` (spaces allowed; CR, LF, NUL refused).
    Pass(&'a str),
    /// `APOP name digest`, the digest computed from the greeting's timestamp.
    Apop {
        /// Mailbox name.
        user: &'a str,
        /// Shared secret.
        secret: &'a str,
    },
    /// `STAT`.
    Stat,
    /// `LIST` (all) or `LIST n`.
    List(Option<u32>),
    /// `UIDL` (all) or `UIDL n`.
    Uidl(Option<u32>),
    /// `RETR n`.
    Retr(u32),
    /// `TOP n lines`: the header and the first `lines` body lines.
    Top {
        /// Message number.
        msg: u32,
        /// Body lines wanted after the header.
        lines: u32,
    },
    /// `DELE n`: mark for deletion at QUIT.
    Dele(u32),
    /// `RSET`: unmark every deletion.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`: in TRANSACTION state this commits deletions (UPDATE state).
    Quit,
    /// `STLS`: upgrade to TLS (RFC 2595).
    Stls,
    /// `UTF8`: enter UTF-8 mode (RFC 6856).
    Utf8,
}

impl Command<'_> {
    /// The answer this command awaits once sent.
    pub fn awaits(&self) -> Pending {
        match self {
            Command::Capa => Pending::Capa,
            Command::User(_) => Pending::User,
            Command::Pass(_) => Pending::Pass,
            Command::Apop { .. } => Pending::Apop,
            Command::Stat => Pending::Stat,
            Command::List(None) => Pending::List,
            Command::List(Some(_)) => Pending::ListOne,
            Command::Uidl(None) => Pending::Uidl,
            Command::Uidl(Some(_)) => Pending::UidlOne,
            Command::Retr(_) => Pending::Retr,
            Command::Top { .. } => Pending::Top,
            Command::Dele(_) => Pending::Dele,
            Command::Rset => Pending::Rset,
            Command::Noop => Pending::Noop,
            Command::Quit => Pending::Quit,
            Command::Stls => Pending::Stls,
            Command::Utf8 => Pending::Utf8,
        }
    }
}

/// The POP3 session states (RFC 1939 §3), plus the moments around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Waiting for the server's greeting.
    Greeting,
    /// AUTHORIZATION: log in.
    Authorization,
    /// The server accepted STLS; the TLS handshake comes next.
    TlsHandshake,
    /// TRANSACTION: read and mark messages.
    Transaction,
    /// UPDATE: QUIT was accepted after TRANSACTION; deletions are done.
    Update,
    /// The session is over (QUIT outside TRANSACTION, a refused greeting,
    /// or an error).
    Closed,
}

impl From<State> for crate::error::SessionState {
    fn from(state: State) -> Self {
        use crate::error::SessionState as S;
        match state {
            State::Greeting => S::Greeting,
            State::Authorization => S::Authorization,
            State::TlsHandshake => S::TlsHandshake,
            State::Transaction => S::Transaction,
            State::Update => S::Update,
            State::Closed => S::Closed,
        }
    }
}

impl State {
    /// The state's name as RFC 1939 writes it.
    pub fn name(self) -> &'static str {
        match self {
            State::Greeting => "GREETING",
            State::Authorization => "AUTHORIZATION",
            State::TlsHandshake => "TLS-HANDSHAKE",
            State::Transaction => "TRANSACTION",
            State::Update => "UPDATE",
            State::Closed => "CLOSED",
        }
    }
}

/// What a server advertised in CAPA (RFC 2449 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// `TOP`.
    pub top: bool,
    /// `USER`: USER/PASS login is allowed.
    pub user: bool,
    /// `UIDL`.
    pub uidl: bool,
    /// `PIPELINING`: commands may be sent without waiting.
    pub pipelining: bool,
    /// `RESP-CODES`.
    pub resp_codes: bool,
    /// `AUTH-RESP-CODE` (RFC 3206).
    pub auth_resp_code: bool,
    /// `STLS` (RFC 2595).
    pub stls: bool,
    /// `UTF8` (RFC 6856).
    pub utf8: bool,
    /// UTF-8 mode was entered with the `UTF8` command.
    pub utf8_active: bool,
    /// The `SASL` mechanisms this crate knows that the server offers.
    pub sasl: Mechanisms,
    /// `LOGIN-DELAY n`: seconds the server wants between logins.
    pub login_delay: Option<u32>,
    /// `EXPIRE n` days after which the server deletes retrieved mail
    /// (`u32::MAX` for `NEVER`).
    pub expire_days: Option<u32>,
}

impl Capabilities {
    /// Records one CAPA line.
    pub fn record(&mut self, line: &[u8]) {
        let (name, args) = codec::capability(line);
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if is("TOP") {
            self.top = true;
        } else if is("USER") {
            self.user = true;
        } else if is("UIDL") {
            self.uidl = true;
        } else if is("PIPELINING") {
            self.pipelining = true;
        } else if is("RESP-CODES") {
            self.resp_codes = true;
        } else if is("AUTH-RESP-CODE") {
            self.auth_resp_code = true;
        } else if is("STLS") {
            self.stls = true;
        } else if is("UTF8") {
            self.utf8 = true;
        } else if is("SASL") {
            for m in args.split(|&b| b == b' ').filter_map(Mechanism::from_name) {
                self.sasl.insert(m);
            }
        } else if is("LOGIN-DELAY") {
            self.login_delay = codec::decimal(args.split(|&b| b == b' ').next().unwrap_or(&[]));
        } else if is("EXPIRE") {
            let first = args.split(|&b| b == b' ').next().unwrap_or(&[]);
            self.expire_days = if first.eq_ignore_ascii_case(b"NEVER") {
                Some(u32::MAX)
            } else {
                codec::decimal(first)
            };
        }
    }
}
