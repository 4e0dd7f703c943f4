//! SASL client mechanisms (PLAIN, LOGIN, CRAM-MD5, XOAUTH2) shared by POP3
//! `AUTH` (RFC 5034) and IMAP `AUTHENTICATE` (RFC 3501/4959).
//!
//! Responses are produced as pieces and base64-encoded straight into the
//! command buffer, and CRAM-MD5 challenges are decoded straight into the
//! HMAC: no scratch buffer, no heap.

pub mod base64;

use crate::error::ProtocolError;
use crate::wire::TxCursor;

/// A SASL mechanism this crate can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mechanism {
    /// RFC 4616: user and password in one message. Use only over TLS.
    Plain,
    /// The obsolete but common LOGIN exchange (user, then password).
    Login,
    /// RFC 2195: HMAC-MD5 of a server challenge; the password never crosses
    /// the wire (the server must hold it in clear).
    CramMd5,
    /// Google/Microsoft OAuth 2.0 bearer tokens; the secret is the token.
    XOAuth2,
}

impl Mechanism {
    /// The mechanism's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// Parses a mechanism name (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::XOAuth2,
        ]
        .into_iter()
        .find(|m| m.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The bit for this mechanism in a [`Mechanisms`] set.
    const fn bit(self) -> u8 {
        match self {
            Mechanism::Plain => 1,
            Mechanism::Login => 2,
            Mechanism::CramMd5 => 4,
            Mechanism::XOAuth2 => 8,
        }
    }

    /// True when the client speaks first (an initial response exists).
    pub fn has_initial_response(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::XOAuth2)
    }
}

/// A set of mechanisms, as a server advertises them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mechanisms(u8);

impl Mechanisms {
    /// Adds a mechanism.
    pub fn insert(&mut self, m: Mechanism) {
        self.0 |= m.bit();
    }

    /// True if the set holds `m`.
    pub fn contains(self, m: Mechanism) -> bool {
        self.0 & m.bit() != 0
    }

    /// True if no mechanism is known.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The strongest mechanism in the set for a password login
    /// (CRAM-MD5 with feature `md5`, then PLAIN, then LOGIN); XOAUTH2 needs
    /// a token, so it is never chosen here.
    pub fn best_for_password(self) -> Option<Mechanism> {
        [Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]
            .into_iter()
            .filter(|m| cfg!(feature = "md5") || *m != Mechanism::CramMd5)
            .find(|m| self.contains(*m))
    }
}

/// The identity to authenticate with.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The user (authentication identity).
    pub user: &'a str,
    /// The password, or for XOAUTH2 the OAuth 2.0 access token.
    pub secret: &'a str,
}

impl core::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the secret.
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The client side of one SASL exchange.
#[derive(Debug, Clone, Copy)]
pub struct SaslClient<'a> {
    mechanism: Mechanism,
    creds: Credentials<'a>,
    step: u8,
}

impl<'a> SaslClient<'a> {
    /// Starts an exchange; refuses credentials the mechanism cannot carry
    /// (NUL in PLAIN, ^A in XOAUTH2, an empty user).
    pub fn new(mechanism: Mechanism, creds: Credentials<'a>) -> Result<Self, ProtocolError> {
        let (u, s) = (creds.user.as_bytes(), creds.secret.as_bytes());
        if u.is_empty() {
            return Err(ProtocolError::InvalidArgument("SASL user is empty"));
        }
        let bad = match mechanism {
            Mechanism::Plain => u.contains(&0) || s.contains(&0),
            Mechanism::XOAuth2 => u.contains(&1) || s.contains(&1),
            Mechanism::CramMd5 => u.contains(&b' '),
            Mechanism::Login => false,
        };
        if bad {
            return Err(ProtocolError::InvalidArgument(
                "credentials contain a separator byte of the SASL mechanism",
            ));
        }
        Ok(SaslClient {
            mechanism,
            creds,
            step: 0,
        })
    }

    /// Restarts the exchange from its first step.
    pub fn reset(&mut self) {
        self.step = 0;
    }

    /// The mechanism in use.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Writes the base64 initial response (RFC 4959 SASL-IR / RFC 5034) if
    /// the mechanism has one; returns whether it wrote anything.
    pub fn write_initial_response(&mut self, out: &mut TxCursor<'_>) -> bool {
        if !self.mechanism.has_initial_response() {
            return false;
        }
        self.step = 1;
        let mut enc = Base64Writer::new(out);
        self.initial_pieces(&mut |p| enc.push(p));
        enc.finish();
        true
    }

    fn initial_pieces(&self, emit: &mut dyn FnMut(&[u8])) {
        let (u, s) = (self.creds.user.as_bytes(), self.creds.secret.as_bytes());
        match self.mechanism {
            Mechanism::Plain => {
                emit(&[0]);
                emit(u);
                emit(&[0]);
                emit(s);
            }
            Mechanism::XOAuth2 => {
                emit(b"user=");
                emit(u);
                emit(b"\x01auth=Bearer ");
                emit(s);
                emit(b"\x01\x01");
            }
            Mechanism::Login | Mechanism::CramMd5 => {}
        }
    }

    /// Answers a server challenge (the base64 text after `+ `), writing the
    /// base64 response into `out`.
    pub fn respond(
        &mut self,
        challenge_b64: &[u8],
        out: &mut TxCursor<'_>,
    ) -> Result<(), ProtocolError> {
        let step = self.step;
        self.step = self.step.saturating_add(1);
        let mut enc = Base64Writer::new(out);
        match (self.mechanism, step) {
            // Server sent an empty challenge instead of taking an initial
            // response: send the initial response now.
            (Mechanism::Plain | Mechanism::XOAuth2, 0) => {
                self.initial_pieces(&mut |p| enc.push(p));
            }
            // XOAUTH2 failure: the server sends a JSON error as a challenge
            // and expects an empty response, then refuses the command.
            (Mechanism::XOAuth2, _) => {}
            (Mechanism::Login, 0) => enc.push(self.creds.user.as_bytes()),
            (Mechanism::Login, 1) => enc.push(self.creds.secret.as_bytes()),
            (Mechanism::CramMd5, 0) => {
                let hex = cram_md5_digest(self.creds.secret.as_bytes(), challenge_b64)?;
                enc.push(self.creds.user.as_bytes());
                enc.push(b" ");
                enc.push(&hex);
            }
            _ => {
                return Err(ProtocolError::Malformed {
                    expected: "no further SASL challenge",
                    offset: 0,
                })
            }
        }
        enc.finish();
        Ok(())
    }
}

impl SaslClient<'_> {
    /// Encodes the whole response line to a challenge: base64 and CRLF.
    pub fn encode_response_line(
        &mut self,
        challenge_b64: &[u8],
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        let mut c = TxCursor::new(out);
        self.respond(challenge_b64.trim_ascii(), &mut c)?;
        c.put(b"\r\n");
        c.finish()
    }
}

/// Encodes the line `*` that cancels an exchange (RFC 4954 / 5034 / 3501).
pub fn encode_cancel_line(out: &mut [u8]) -> Result<usize, ProtocolError> {
    let mut c = TxCursor::new(out);
    c.put(b"*\r\n");
    c.finish()
}

/// Writes `bytes` as lower-case hex into `out` (two bytes per input byte).
#[cfg(feature = "md5")]
pub(crate) fn hex_lower(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_mut(2)) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
        }
    }
}

/// Decodes base64 in 4-character groups, handing each decoded group to
/// `sink`, so a challenge of any length needs no buffer.
#[cfg(any(feature = "md5", test))]
fn decode_into(input: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), ProtocolError> {
    let input = input.trim_ascii();
    let malformed = ProtocolError::Malformed {
        expected: "base64 SASL challenge",
        offset: 0,
    };
    for quad in input.chunks(4) {
        let mut out = [0u8; 3];
        let n = base64::decode(quad, &mut out).map_err(|_| malformed)?;
        sink(out.get(..n).unwrap_or(&[]));
    }
    Ok(())
}

/// A base64 encoder that takes its input in pieces and writes to a
/// [`TxCursor`], holding at most two bytes between pieces.
struct Base64Writer<'c, 'b> {
    out: &'c mut TxCursor<'b>,
    carry: [u8; 3],
    held: usize,
}

impl<'c, 'b> Base64Writer<'c, 'b> {
    fn new(out: &'c mut TxCursor<'b>) -> Self {
        Base64Writer {
            out,
            carry: [0; 3],
            held: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        while let Some((&b, rest)) = bytes.split_first() {
            if let Some(slot) = self.carry.get_mut(self.held) {
                *slot = b;
            }
            self.held += 1;
            bytes = rest;
            if self.held == 3 {
                self.flush_group();
            }
        }
    }

    fn flush_group(&mut self) {
        let mut quad = [0u8; 4];
        let group = self.carry.get(..self.held).unwrap_or(&[]);
        if let Some(n) = base64::encode(group, &mut quad) {
            self.out.put(quad.get(..n).unwrap_or(&[]));
        }
        self.held = 0;
    }

    fn finish(mut self) {
        if self.held > 0 {
            self.flush_group();
        }
    }
}

/// The CRAM-MD5 response's digest: HMAC-MD5 of the decoded challenge keyed
/// with the secret, in lower-case hex (RFC 2195).
#[cfg(feature = "md5")]
fn cram_md5_digest(secret: &[u8], challenge_b64: &[u8]) -> Result<[u8; 32], ProtocolError> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(secret)
        .map_err(|_| ProtocolError::InvalidArgument("CRAM-MD5 key"))?;
    decode_into(challenge_b64, &mut |bytes| mac.update(bytes))?;
    let digest = mac.finalize().into_bytes();
    let mut hex = [0u8; 32];
    hex_lower(&digest, &mut hex);
    Ok(hex)
}

/// Without feature `md5` CRAM-MD5 is not linked.
#[cfg(not(feature = "md5"))]
fn cram_md5_digest(_secret: &[u8], _challenge_b64: &[u8]) -> Result<[u8; 32], ProtocolError> {
    Err(ProtocolError::NotSupported(
        "CRAM-MD5: enable the `md5` feature",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_initial(m: Mechanism, user: &str, secret: &str) -> heapless::Vec<u8, 256> {
        let mut mem = [0u8; 256];
        let mut c = TxCursor::new(&mut mem);
        let mut s = SaslClient::new(m, Credentials { user, secret }).unwrap();
        assert!(s.write_initial_response(&mut c));
        let n = c.finish().unwrap();
        heapless::Vec::from_slice(&mem[..n]).unwrap()
    }

    #[test]
    fn plain_matches_rfc4616() {
        // RFC 4616 §4: "\0tim\0tanstaaftanstaaf".
        assert_eq!(
            run_initial(Mechanism::Plain, "tim", "tanstaaftanstaaf").as_slice(),
            b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
    }

    #[test]
    fn cram_md5_matches_rfc2195() {
        // RFC 2195 §2 example.
        let mut mem = [0u8; 128];
        let mut c = TxCursor::new(&mut mem);
        let mut s = SaslClient::new(
            Mechanism::CramMd5,
            Credentials {
                user: "tim",
                secret: "tanstaaftanstaaf",
            },
        )
        .unwrap();
        s.respond(
            b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
            &mut c,
        )
        .unwrap();
        let n = c.finish().unwrap();
        assert_eq!(
            &mem[..n],
            b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
    }

    #[test]
    fn login_sends_user_then_password() {
        let mut s = SaslClient::new(
            Mechanism::Login,
            Credentials {
                user: "tim",
                secret: "pw",
            },
        )
        .unwrap();
        let mut mem = [0u8; 64];
        let mut c = TxCursor::new(&mut mem);
        assert!(!s.write_initial_response(&mut c));
        s.respond(b"VXNlcm5hbWU6", &mut c).unwrap();
        let n = c.finish().unwrap();
        assert_eq!(&mem[..n], b"dGlt");
        let mut c = TxCursor::new(&mut mem);
        s.respond(b"UGFzc3dvcmQ6", &mut c).unwrap();
        let n = c.finish().unwrap();
        assert_eq!(&mem[..n], b"cHc=");
        let mut c = TxCursor::new(&mut mem);
        assert!(s.respond(b"", &mut c).is_err());
    }

    #[test]
    fn xoauth2_format_and_refused_separators() {
        let enc = run_initial(
            Mechanism::XOAuth2,
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        let mut raw = [0u8; 256];
        let n = base64::decode(&enc, &mut raw).unwrap();
        assert_eq!(
            &raw[..n],
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        assert!(SaslClient::new(
            Mechanism::Plain,
            Credentials {
                user: "a\0b",
                secret: "x"
            }
        )
        .is_err());
        assert!(SaslClient::new(
            Mechanism::XOAuth2,
            Credentials {
                user: "a",
                secret: "x\x01"
            }
        )
        .is_err());
        assert!(SaslClient::new(
            Mechanism::Plain,
            Credentials {
                user: "",
                secret: "x"
            }
        )
        .is_err());
    }

    #[test]
    fn picks_the_strongest_password_mechanism() {
        let mut set = Mechanisms::default();
        assert_eq!(set.best_for_password(), None);
        set.insert(Mechanism::Login);
        set.insert(Mechanism::Plain);
        assert_eq!(set.best_for_password(), Some(Mechanism::Plain));
        set.insert(Mechanism::CramMd5);
        assert_eq!(set.best_for_password(), Some(Mechanism::CramMd5));
        assert_eq!(Mechanism::from_name(b"cram-md5"), Some(Mechanism::CramMd5));
    }
}
