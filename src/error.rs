//! The crate's one error type, shared by POP3, IMAP, SASL and the drivers.
//!
//! Errors are split by who is at fault, so firmware can decide what to do:
//!
//! | variant | fault | recoverable on the same connection? |
//! |---|---|---|
//! | [`Error::Refused`] | the server said no (`-ERR`, `NO`, `BAD`) | yes |
//! | [`Error::WrongState`], [`Error::InvalidArgument`], [`Error::NotSupported`] | the caller | yes, nothing was sent |
//! | [`Error::BufferTooSmall`] | resource: a caller buffer | no: reconnect with a bigger buffer |
//! | [`Error::Malformed`], [`Error::ConnectionClosed`], [`Error::Broken`] | the peer or the link | no: reconnect |
//! | [`Error::TooManyInFlight`] | the caller: more commands than the session tracks | yes, the ones before were sent |
//! | [`Error::Transport`], [`Error::Sink`], [`Error::Source`] | the transport / the caller's sink or source | no: reconnect |
//! | [`Error::TimedOut`] | the link: a liveness check was not answered in time ([`crate::poll::watch`]) | no: reconnect |
//! | [`Error::Certificate`] | the server's TLS certificate (or an impostor's) | no: nothing was sent; fix the trust settings or the server |

//!
//! An `Error` is small (at most 16 bytes on a 32-bit target when the
//! transport's error is, as `embedded_io::ErrorKind` is), because it
//! travels through every `?` of every frame that can fail. The server's
//! words are not in it: a refusal carries its kind and response code, and
//! the session keeps the text of the last one
//! (`Client::last_refusal()`, [`RefusalText`]).

use core::convert::Infallible;
use core::fmt;

/// How many bytes of a server's refusal text a session keeps
/// ([`RefusalText`]).
pub const REFUSAL_TEXT_LEN: usize = 80;

/// The error type of every operation, generic over the transport's error `E`.
///
/// The protocol sessions, which do no I/O, use `Error<Infallible>`
/// ([`ProtocolError`]); drivers lift it with [`Error::widen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error<E = Infallible> {
    /// The transport failed while reading or writing.
    Transport(E),
    /// The caller's sink (where a message body goes) failed.
    Sink(embedded_io::ErrorKind),
    /// The caller's source (the message an APPEND uploads) failed or
    /// ended before the length it announced; the connection cannot go on.
    Source(embedded_io::ErrorKind),
    /// The server closed the connection (a read returned 0 bytes) while a
    /// response was still expected.
    ConnectionClosed,
    /// The server sent bytes that do not follow the protocol.
    Malformed {
        /// What the parser expected at that point.
        expected: &'static str,
        /// Byte offset of the offending byte within the response line.
        offset: usize,
    },
    /// The server refused the command (`-ERR`, IMAP `NO`/`BAD`/`BYE`).
    /// The server's text is the client's `last_refusal()`.
    Refused(Refusal),
    /// A caller buffer is too small for what the server sent or for the
    /// command to encode.
    BufferTooSmall {
        /// Bytes that would have been needed (at least).
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The command is not allowed in the session's current state; nothing
    /// was sent.
    WrongState {
        /// The command that was refused.
        command: &'static str,
        /// The state the session is in.
        state: SessionState,
    },
    /// More commands at once than the session tracks (the limit); the
    /// commands before the one that failed were sent.
    TooManyInFlight {
        /// Commands the session can have in flight.
        limit: usize,
    },
    /// A caller-supplied argument cannot be sent safely (CR, LF or NUL, an
    /// empty value, a number out of range); nothing was sent.
    InvalidArgument(&'static str),
    /// The server does not offer what the command needs (a capability, a
    /// SASL mechanism, an APOP timestamp).
    NotSupported(&'static str),
    /// An earlier fatal error (malformed input, overflow, closed
    /// connection) left the session out of step with the server; reconnect.
    Broken,
    /// TLS: the server's certificate chain or its proof of the key was
    /// refused; the handshake stopped before any command was sent.
    Certificate(CertificateError),
    /// The server did not answer a liveness check within the caller's
    /// bound ([`crate::poll::watch::WatchPolicy::answer_within_ms`]): the
    /// link is presumed dead (a NAT box or an access point dropped it
    /// silently); reconnect.
    TimedOut,
}

/// Why a TLS server's certificate was refused (feature `tls`). Each
/// [`CertificateError::as_str`] says what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CertificateError {
    /// The server sent no certificate, or finished the handshake without
    /// proving that it holds the certificate's key.
    Missing,
    /// No path from the server's certificate to a trusted root.
    UnknownIssuer,
    /// A certificate that is not a CA (`basicConstraints cA` false or
    /// absent) signed another one.
    IssuerNotCa,
    /// An issuer has keyUsage without `keyCertSign`.
    IssuerCannotSign,
    /// A CA's `pathLenConstraint` (or the path depth limit) was exceeded.
    PathTooLong,
    /// An extendedKeyUsage on the path does not allow `serverAuth`.
    NotForServers,
    /// The leaf has keyUsage without `digitalSignature`.
    LeafCannotSign,
    /// A certificate has a critical extension the verifier does not know.
    UnknownCriticalExtension,
    /// The server name is outside a CA's name constraints.
    NameConstraints,
    /// A certificate on the path has expired (by the clock, or before the
    /// firmware was built).
    Expired,
    /// A certificate on the path is not valid yet by the clock.
    NotYetValid,
    /// The leaf's subjectAltName does not name the server.
    NameMismatch,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// An RSA key shorter than 2048 bits.
    WeakKey,
    /// A key type, curve or signature algorithm that is not enabled
    /// (`tls-rsa`, `tls-p384`, `tls-ed25519`) or not supported.
    UnsupportedAlgorithm,
    /// The server's CertificateVerify signature does not verify: it does not
    /// hold the certificate's key.
    HandshakeSignature,
    /// A trust anchor given by the caller is not a valid X.509 certificate.
    BadAnchor,
    /// A certificate could not be parsed.
    Malformed,
}

impl CertificateError {
    /// What went wrong and what to try, in one line.
    pub const fn as_str(self) -> &'static str {
        match self {
            CertificateError::Missing => "the server did not prove a certificate",
            CertificateError::UnknownIssuer => {
                "the chain does not lead to a trusted root: pin the root the server's chain ends in"
            }
            CertificateError::IssuerNotCa => "a certificate that is not a CA signed the chain",
            CertificateError::IssuerCannotSign => "an issuer's keyUsage lacks keyCertSign",
            CertificateError::PathTooLong => "a CA's pathLenConstraint is exceeded",
            CertificateError::NotForServers => "extendedKeyUsage does not allow serverAuth",
            CertificateError::LeafCannotSign => "the leaf's keyUsage lacks digitalSignature",
            CertificateError::UnknownCriticalExtension => {
                "a certificate has an unknown critical extension"
            }
            CertificateError::NameConstraints => "the name is outside a CA's name constraints",
            CertificateError::Expired => {
                "a certificate has expired (by the clock, or before the firmware was built)"
            }
            CertificateError::NotYetValid => {
                "a certificate is not valid yet: check the clock"
            }
            CertificateError::NameMismatch => {
                "the certificate does not name the server: connect by the name it lists"
            }
            CertificateError::BadSignature => {
                "a signature in the chain does not verify (wrong issuer key, or a key under 2048 bits)"
            }
            CertificateError::WeakKey => "an RSA key is shorter than 2048 bits",
            CertificateError::UnsupportedAlgorithm => {
                "a key or signature algorithm is not enabled: try the tls-rsa or tls-p384 feature"
            }
            CertificateError::HandshakeSignature => {
                "the server's handshake signature does not match its certificate"
            }
            CertificateError::BadAnchor => "a pinned trust anchor is not a valid certificate",
            CertificateError::Malformed => "a certificate could not be parsed",
        }
    }
}

/// Which check of the server's certificate failed: the class of a
/// [`CertificateError`] ([`CertificateError::check`]), for messages and for
/// deciding what to fix (the pinned CA, the host name, the clock, the
/// enabled algorithms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CertificateCheck {
    /// The path to a trusted root: issuer, CA flags, path length, the
    /// signatures along it, the pinned anchor itself.
    Chain,
    /// The server name against the leaf's subjectAltName (and a CA's name
    /// constraints).
    Name,
    /// The validity period against the clock (or the build-time floor).
    Time,
    /// Key types, sizes and signature algorithms.
    Algorithm,
    /// keyUsage / extendedKeyUsage and critical extensions.
    Usage,
    /// The server's proof that it holds the certificate's key.
    Proof,
    /// Parsing a certificate.
    Format,
}

impl CertificateCheck {
    /// The check's name, as in `name check`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CertificateCheck::Chain => "chain",
            CertificateCheck::Name => "name",
            CertificateCheck::Time => "time",
            CertificateCheck::Algorithm => "algorithm",
            CertificateCheck::Usage => "usage",
            CertificateCheck::Proof => "key proof",
            CertificateCheck::Format => "format",
        }
    }
}

impl fmt::Display for CertificateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CertificateError {
    /// Which check failed.
    pub const fn check(self) -> CertificateCheck {
        use CertificateError as E;
        match self {
            E::UnknownIssuer | E::IssuerNotCa | E::PathTooLong | E::BadSignature | E::BadAnchor => {
                CertificateCheck::Chain
            }
            E::NameMismatch | E::NameConstraints => CertificateCheck::Name,
            E::Expired | E::NotYetValid => CertificateCheck::Time,
            E::WeakKey | E::UnsupportedAlgorithm => CertificateCheck::Algorithm,
            E::IssuerCannotSign
            | E::NotForServers
            | E::LeafCannotSign
            | E::UnknownCriticalExtension => CertificateCheck::Usage,
            E::Missing | E::HandshakeSignature => CertificateCheck::Proof,
            E::Malformed => CertificateCheck::Format,
        }
    }
}

impl fmt::Display for CertificateError {
    /// `<check> check failed: <what went wrong and what to try>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} check failed: {}", self.check(), self.as_str())
    }
}

/// The error type of the sans-I/O layers, which never touch a transport.
pub type ProtocolError = Error<Infallible>;

impl Error<Infallible> {
    /// Lifts a protocol error into the error type of a transport `E`.
    pub fn widen<E>(self) -> Error<E> {
        self.map_transport(|never| match never {})
    }
}

impl<E> Error<E> {
    /// The same error with the transport's error mapped by `f` (the other
    /// variants are copied).
    pub fn map_transport<F>(self, f: impl FnOnce(E) -> F) -> Error<F> {
        match self {
            Error::Transport(e) => Error::Transport(f(e)),
            Error::Sink(k) => Error::Sink(k),
            Error::Source(k) => Error::Source(k),
            Error::ConnectionClosed => Error::ConnectionClosed,
            Error::Malformed { expected, offset } => Error::Malformed { expected, offset },
            Error::Refused(r) => Error::Refused(r),
            Error::BufferTooSmall { needed, available } => {
                Error::BufferTooSmall { needed, available }
            }
            Error::WrongState { command, state } => Error::WrongState { command, state },
            Error::TooManyInFlight { limit } => Error::TooManyInFlight { limit },
            Error::InvalidArgument(a) => Error::InvalidArgument(a),
            Error::NotSupported(w) => Error::NotSupported(w),
            Error::Broken => Error::Broken,
            Error::Certificate(c) => Error::Certificate(c),
            Error::TimedOut => Error::TimedOut,
        }
    }

    /// True when the connection can still be used after this error.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Error::Refused(_)
                | Error::WrongState { .. }
                | Error::TooManyInFlight { .. }
                | Error::InvalidArgument(_)
                | Error::NotSupported(_)
        )
    }

    /// The server's refusal, if this error is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "transport error: {e:?}"),
            Error::Sink(k) => write!(f, "sink error: {k:?}"),
            Error::Source(k) => write!(f, "source error (the message to upload): {k:?}"),
            Error::ConnectionClosed => f.write_str("server closed the connection"),
            Error::Malformed { expected, offset } => {
                write!(
                    f,
                    "malformed response: expected {expected} at byte {offset}"
                )
            }
            Error::Refused(r) => write!(f, "server refused: {r}"),
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "buffer too small: {needed} bytes needed, {available} available"
            ),
            Error::WrongState { command, state } => {
                write!(f, "{command} is not allowed in state {}", state.name())
            }
            Error::TooManyInFlight { limit } => write!(
                f,
                "too many commands in flight: the session tracks {limit}; read some answers first"
            ),
            Error::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Error::NotSupported(what) => write!(f, "server does not support {what}"),
            Error::Broken => f.write_str("session out of step after an earlier error"),
            Error::Certificate(c) => write!(f, "TLS certificate refused: {c}"),
            Error::TimedOut => {
                f.write_str("no answer within the liveness bound: link presumed dead")
            }
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for Error<E> {}

impl<E: embedded_io::Error> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::Transport(e)
    }
}

/// Which kind of negative answer the server gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RefusalKind {
    /// POP3 `-ERR`.
    Err,
    /// IMAP `NO`: the command failed.
    No,
    /// IMAP `BAD`: the server did not understand the command.
    Bad,
    /// IMAP `BYE`: the server is closing the connection.
    Bye,
}

/// A machine-readable response code (POP3 RFC 2449/3206/5034/6856, IMAP
/// RFC 3501/5530/9051) that came with a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ResponseCode {
    /// No code was given.
    None,
    /// POP3 `[IN-USE]`: the mailbox is locked by another session.
    InUse,
    /// POP3 `[LOGIN-DELAY]`: logged in too recently; wait.
    LoginDelay,
    /// POP3 `[SYS/TEMP]`: temporary server problem; retry later.
    SysTemp,
    /// POP3 `[SYS/PERM]`: permanent server problem.
    SysPerm,
    /// POP3 `[AUTH]` / IMAP `[AUTHENTICATIONFAILED]`: the credentials are wrong.
    Auth,
    /// POP3 `[UTF8]`: the command needs UTF-8 mode.
    Utf8,
    /// IMAP `[ALERT]`: the text must be shown to a human.
    Alert,
    /// IMAP `[AUTHORIZATIONFAILED]`.
    AuthorizationFailed,
    /// IMAP `[UNAVAILABLE]`: temporary failure; retry later.
    Unavailable,
    /// IMAP `[OVERQUOTA]` (or `[QUOTA]`): the mailbox is over its quota.
    OverQuota,
    /// IMAP `[NONEXISTENT]`: the mailbox does not exist.
    NonExistent,
    /// IMAP `[ALREADYEXISTS]`.
    AlreadyExists,
    /// IMAP `[TRYCREATE]`: the target mailbox does not exist; create it first.
    TryCreate,
    /// IMAP `[LIMIT]`: a server limit was hit.
    Limit,
    /// IMAP `[INUSE]`: the mailbox is in use by another session.
    ImapInUse,
    /// IMAP `[SERVERBUG]`.
    ServerBug,
    /// IMAP `[CANNOT]`: the operation cannot be done.
    Cannot,
    /// IMAP `[NOPERM]`: no permission.
    NoPerm,
    /// IMAP `[PRIVACYREQUIRED]`: use TLS first.
    PrivacyRequired,
    /// IMAP `[EXPUNGEISSUED]` / `[EXPUNGED]`.
    Expunged,
    /// A code this crate does not know by name.
    Other,
}

impl ResponseCode {
    /// Maps the atom inside `[...]` (case-insensitive) to a code.
    pub fn from_atom(atom: &[u8]) -> Self {
        const TABLE: &[(&[u8], ResponseCode)] = &[
            (b"IN-USE", ResponseCode::InUse),
            (b"LOGIN-DELAY", ResponseCode::LoginDelay),
            (b"SYS/TEMP", ResponseCode::SysTemp),
            (b"SYS/PERM", ResponseCode::SysPerm),
            (b"AUTH", ResponseCode::Auth),
            (b"UTF8", ResponseCode::Utf8),
            (b"ALERT", ResponseCode::Alert),
            (b"AUTHENTICATIONFAILED", ResponseCode::Auth),
            (b"AUTHORIZATIONFAILED", ResponseCode::AuthorizationFailed),
            (b"UNAVAILABLE", ResponseCode::Unavailable),
            (b"OVERQUOTA", ResponseCode::OverQuota),
            (b"QUOTA", ResponseCode::OverQuota),
            (b"NONEXISTENT", ResponseCode::NonExistent),
            (b"ALREADYEXISTS", ResponseCode::AlreadyExists),
            (b"TRYCREATE", ResponseCode::TryCreate),
            (b"LIMIT", ResponseCode::Limit),
            (b"INUSE", ResponseCode::ImapInUse),
            (b"SERVERBUG", ResponseCode::ServerBug),
            (b"CANNOT", ResponseCode::Cannot),
            (b"NOPERM", ResponseCode::NoPerm),
            (b"PRIVACYREQUIRED", ResponseCode::PrivacyRequired),
            (b"EXPUNGEISSUED", ResponseCode::Expunged),
            (b"EXPUNGED", ResponseCode::Expunged),
        ];
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(atom))
            .map_or(ResponseCode::Other, |(_, code)| *code)
    }
}

/// The server's negative answer: its kind and response code (two bytes).
/// The text that came with it is the session's
/// [`RefusalText`] (`Client::last_refusal()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Refusal {
    /// `-ERR`, `NO`, `BAD` or `BYE`.
    pub kind: RefusalKind,
    /// The response code, if the server sent one.
    pub code: ResponseCode,
}

impl Refusal {
    /// A refusal of `kind` with `code`.
    pub const fn new(kind: RefusalKind, code: ResponseCode) -> Self {
        Refusal { kind, code }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)?;
        if self.code != ResponseCode::None {
            write!(f, " [{:?}]", self.code)?;
        }
        Ok(())
    }
}

/// The last refusal a session saw, with the start of the server's text
/// (at most [`REFUSAL_TEXT_LEN`] bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RefusalText {
    refusal: Refusal,
    text: [u8; REFUSAL_TEXT_LEN],
    text_len: u8,
    truncated: bool,
}

impl Default for RefusalText {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl RefusalText {
    /// No refusal yet.
    pub const EMPTY: Self = RefusalText {
        refusal: Refusal::new(RefusalKind::Err, ResponseCode::None),
        text: [0; REFUSAL_TEXT_LEN],
        text_len: 0,
        truncated: false,
    };

    /// Keeps `refusal` and at most [`REFUSAL_TEXT_LEN`] bytes of `text`.
    pub fn new(refusal: Refusal, text: &[u8]) -> Self {
        let n = text.len().min(REFUSAL_TEXT_LEN);
        let mut buf = [0u8; REFUSAL_TEXT_LEN];
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), text.get(..n)) {
            dst.copy_from_slice(src);
        }
        RefusalText {
            refusal,
            text: buf,
            text_len: n as u8,
            truncated: text.len() > REFUSAL_TEXT_LEN,
        }
    }

    /// The refusal's kind and code.
    pub fn refusal(&self) -> Refusal {
        self.refusal
    }

    /// The server's human-readable text (possibly cut, see [`Self::is_truncated`]).
    pub fn text(&self) -> &[u8] {
        self.text.get(..usize::from(self.text_len)).unwrap_or(&[])
    }

    /// True when the server's text was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Debug for RefusalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for RefusalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} \"", self.refusal)?;
        for chunk in self.text().utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        if self.truncated {
            f.write_str("…")?;
        }
        f.write_str("\"")
    }
}

/// A session's record of the server's refusals: the last one's text, and
/// the rule both protocols follow for pipelined commands: of commands in
/// flight together, the first refusal's text is kept (a later one is
/// usually its consequence, as a FETCH behind a failed SELECT).
#[cfg(any(feature = "pop3", feature = "imap"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusals {
    last: RefusalText,
    /// Answers still to come from the flight whose first refusal `last`
    /// holds: their refusals do not replace it.
    hold: usize,
}

#[cfg(any(feature = "pop3", feature = "imap"))]
impl Refusals {
    /// None yet.
    pub(crate) const NONE: Self = Refusals {
        last: RefusalText::EMPTY,
        hold: 0,
    };

    /// The last refusal kept.
    pub(crate) fn last(&self) -> &RefusalText {
        &self.last
    }

    /// A command's answer arrived (whatever it was); true when it is the
    /// first answer since a kept refusal's flight ended.
    pub(crate) fn answered(&mut self) -> bool {
        let first = self.hold == 0;
        self.hold = self.hold.saturating_sub(1);
        first
    }

    /// A command was refused; `first` is what [`Self::answered`] said of
    /// its answer, `in_flight` the commands still waiting behind it.
    pub(crate) fn refused(
        &mut self,
        first: bool,
        refusal: Refusal,
        text: &[u8],
        in_flight: usize,
    ) -> Refusal {
        if first {
            self.last = RefusalText::new(refusal, text);
            self.hold = in_flight;
        }
        refusal
    }

    /// A refusal that always replaces the text (`BYE`, a refused greeting).
    #[cfg(feature = "imap")]
    pub(crate) fn record(&mut self, refusal: Refusal, text: &[u8]) -> Refusal {
        self.last = RefusalText::new(refusal, text);
        refusal
    }
}

/// The session state an [`Error::WrongState`] names: POP3's and IMAP's
/// states in one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionState {
    /// Waiting for the greeting.
    Greeting,
    /// POP3 AUTHORIZATION.
    Authorization,
    /// POP3 TRANSACTION.
    Transaction,
    /// POP3 UPDATE.
    Update,
    /// IMAP not authenticated.
    NotAuthenticated,
    /// IMAP authenticated.
    Authenticated,
    /// IMAP selected.
    Selected,
    /// IMAP IDLE (waiting for `DONE`).
    Idle,
    /// IMAP logout.
    Logout,
    /// STLS / STARTTLS accepted; the TLS handshake comes next.
    TlsHandshake,
    /// The session is over.
    Closed,
}

impl SessionState {
    /// The state's name as the RFCs write it.
    pub const fn name(self) -> &'static str {
        match self {
            SessionState::Greeting => "GREETING",
            SessionState::Authorization => "AUTHORIZATION",
            SessionState::Transaction => "TRANSACTION",
            SessionState::Update => "UPDATE",
            SessionState::NotAuthenticated => "NOT AUTHENTICATED",
            SessionState::Authenticated => "AUTHENTICATED",
            SessionState::Selected => "SELECTED",
            SessionState::Idle => "IDLE",
            SessionState::Logout => "LOGOUT",
            SessionState::TlsHandshake => "TLS-HANDSHAKE",
            SessionState::Closed => "CLOSED",
        }
    }
}
