//! TLS 1.3 for POP3 and IMAP through [embedded-tls]: implicit TLS (POP3S
//! port 995, IMAPS port 993) and the upgrade of a plain connection (POP3
//! `STLS`, IMAP `STARTTLS`), blocking (this module) and async
//! ([`asynch`], feature `async`).
//!
//! ```text
//! implicit:  TCP ──handshake──▶ greeting ──▶ CAPA / CAPABILITY ──▶ login
//! STARTTLS:  TCP ──▶ greeting ──▶ CAPA ──▶ STLS ──handshake──▶ CAPA again ──▶ login
//! ```
//!
//! - [`pop3_connect`] / [`imap_connect`] do the whole dance for a
//!   [`TlsMode`] and return a client whose transport is the TLS stream;
//! - [`pop3_upgrade`] / [`imap_upgrade`] upgrade a client already holding
//!   a plain connection (after its greeting);
//! - [`handshake`] only wraps a transport in TLS.
//!
//! # Verification (on by default)
//!
//! [`TlsSettings::pinned_ca`] trusts one root certificate (DER), for example
//! the public root a provider's chain ends in; [`TlsSettings::trust_anchors`]
//! trusts a small set. The server name is sent as SNI and must match a
//! subjectAltName of the leaf (a DNS name, one leading `*.` label allowed,
//! or an IP address when connecting by address). The chain is validated by
//! [rustls-webpki] (no heap) plus this crate's own checks, during the
//! handshake and before any mail command can be sent:
//!
//! - every issuer is a CA (`basicConstraints cA`), within its
//!   `pathLenConstraint`, and has `keyCertSign` when it carries keyUsage;
//! - the leaf allows `digitalSignature` when it carries keyUsage, and every
//!   extendedKeyUsage on the path allows `serverAuth`;
//! - name constraints are honoured; an unknown critical extension refuses;
//! - signatures: ECDSA P-256 (always), P-384 (`tls-p384`), RSA PKCS#1 v1.5
//!   and PSS with 2048–4096-bit keys (`tls-rsa`), Ed25519 (`tls-ed25519`);
//!   named curves only, RSA keys under 2048 bits refused;
//! - the server proves it holds the leaf's key (`CertificateVerify`); a
//!   handshake without `Certificate` or `CertificateVerify` is refused;
//! - **time**: with a clock ([`TlsSettings::with_clock`]) every
//!   certificate must be valid now. Without one (or while the clock reads
//!   earlier than [`BUILD_TIME_FLOOR`]), the chain must be valid at some
//!   moment no earlier than when this crate was compiled: a certificate
//!   that expired before the firmware was built is refused, one issued
//!   after it is accepted.
//!
//! A refusal is [`Error::Certificate`] with a [`CertificateError`] that
//! says which rule failed. [`TlsSettings::check_chain`] gives the same
//! verdict offline, for a chain captured on the host.
//!
//! [`TlsSettings::insecure_skip_verification`] turns every check off. It
//! exists for tests against throwaway servers and must not reach firmware
//! that talks to a real server: anyone on the path can then read the
//! password.
//!
//! [rustls-webpki]: https://docs.rs/rustls-webpki/0.103
//!
//! # Downgrade and injection safety
//!
//! [`TlsMode::StartTls`] means TLS is *required*: there is no fallback to
//! plain text, and no credential is ever sent before the handshake
//! succeeded. The helpers stop with an error, before anything but the
//! capability request was sent, when:
//!
//! | case | error |
//! |---|---|
//! | the server does not advertise `STLS` / `STARTTLS` | [`Error::NotSupported`] |
//! | the server refuses `STLS` / `STARTTLS` | [`Error::Refused`] |
//! | an IMAP `PREAUTH` greeting (logged in without TLS) | [`Error::NotSupported`] naming PREAUTH |
//! | bytes arrived after the `+OK` / `OK` and before the handshake (command injection) | [`Error::Malformed`] |
//! | the certificate chain or the server name does not verify | [`Error::Certificate`] (another handshake failure: [`Error::Transport`] with a [`TlsError`]) |
//!
//! The capabilities seen in plain text are forgotten at the upgrade and
//! asked for again under TLS, so an attacker cannot, say, hide `AUTH=`
//! mechanisms or add `LOGINDISABLED` for the session under TLS.
//!
//! # Memory
//!
//! The caller provides the TLS record buffers ([`TlsBuffers`]):
//!
//! | what | size | lives |
//! |---|---|---|
//! | record read buffer | 16 640 bytes (the largest TLS record; a server may send one at any time) | the whole connection |
//! | record write buffer | 4 096 recommended; at least 1 KiB (it holds the ClientHello; writes larger than it are split into records) | the whole connection |
//! | [`TlsStream`] / [`asynch::TlsStream`] itself | ~0.5 KiB (key schedule, see `tests/sizes.rs`) | the whole connection |
//! | the certificate verifier (leaf key copy, transcript hash) | ~0.8 KiB | stack / future, during the handshake only |
//! | RSA verification (`tls-rsa`) | ~3.5 KiB for a 4096-bit key | stack, per signature |
//! | P-256 / AES-GCM / SHA-256 arithmetic | a few KiB | stack, during the handshake |
//!
//! plus the mail client's own `rx`/`tx` buffers (see [`crate::pop3`],
//! [`crate::imap`]), which carry decrypted bytes and may stay small. A TLS
//! session thus needs about 21 KiB of RAM for its lifetime and a few KiB of
//! extra stack while it starts. The chain is verified in place in the
//! record read buffer: it is not copied, whatever its length.
//!
//! # Limits
//!
//! embedded-tls speaks TLS 1.3 only, with the key exchange secp256r1 and the
//! cipher suite TLS_AES_128_GCM_SHA256: a server that only speaks TLS 1.2
//! cannot be reached through these helpers.
//!
//! # Another TLS stack
//!
//! Nothing outside this module knows about TLS: [`crate::pop3::Client`]
//! and [`crate::imap::Client`] run over any `embedded_io` (or
//! `embedded_io_async`) `Read + Write`, so firmware with another TLS stack
//! (a modem's, mbedTLS, a TLS 1.2 library) can wrap its connection itself,
//! and use `stls()` / `starttls()` and `resume()` for the upgrade: they
//! check the injection case and forget the capabilities the same way.
//!
//! [embedded-tls]: https://docs.rs/embedded-tls/0.19

use core::marker::PhantomData;

use embedded_tls::blocking::{Aes128GcmSha256, CryptoProvider, TlsConfig, TlsVerifier};

pub use embedded_tls::blocking::{NoClock, TlsClock};
pub use embedded_tls::{CryptoRng, CryptoRngCore, TlsError};

use crate::error::{CertificateError, Error};

mod algs;
mod der;
#[cfg(feature = "tls-rsa")]
mod rsa;
mod verify;

use verify::ChainVerifier;

/// The blocking helpers over `embedded_io`: `build.rs` derives them from
/// the async helpers' source (`driver.rs`) by dropping `async` and `.await`.
mod blocking {
    include!(concat!(env!("OUT_DIR"), "/blocking/tls_driver.rs"));
}
#[cfg(feature = "async")]
#[path = "driver.rs"]
pub mod asynch;

/// embedded-tls's connection types under one name per flavour, so that the
/// helpers' source names `conn::asynch` and its blocking twin `conn::blocking`.
mod conn {
    #[cfg(feature = "async")]
    pub(crate) mod asynch {
        pub(crate) use embedded_tls::TlsConnection;
    }
    pub(crate) mod blocking {
        pub(crate) use embedded_tls::blocking::TlsConnection;
    }
}

pub use blocking::{handshake, TlsStream};
#[cfg(feature = "imap")]
pub use blocking::{imap_connect, imap_upgrade, ImapClient};
#[cfg(feature = "pop3")]
pub use blocking::{pop3_connect, pop3_upgrade, Pop3Client};

/// The TLS 1.3 cipher suite the helpers offer: TLS_AES_128_GCM_SHA256
/// (mandatory for every TLS 1.3 server, RFC 8446 §9.1).
pub type CipherSuite = Aes128GcmSha256;

/// Recommended size of the record read buffer: the largest TLS record
/// (16 KiB of data plus 256 bytes of overhead).
pub const READ_BUFFER_LEN: usize = 16_640;

/// Recommended size of the record write buffer.
pub const WRITE_BUFFER_LEN: usize = 4_096;

/// How TLS is brought up. Both modes *require* TLS: neither ever falls
/// back to plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TlsMode {
    /// TLS from the first byte: POP3S (port 995), IMAPS (port 993).
    Implicit,
    /// Plain connection upgraded with POP3 `STLS` / IMAP `STARTTLS` (ports
    /// 110 / 143) before any credential is sent. Fails if the server does
    /// not offer or refuses the upgrade, or (IMAP) greets with `PREAUTH`.
    StartTls,
}

/// The caller's TLS record buffers (see the [module docs](self) for sizes).
#[derive(Debug)]
pub struct TlsBuffers<'t> {
    /// Record read buffer: [`READ_BUFFER_LEN`] bytes recommended.
    pub read: &'t mut [u8],
    /// Record write buffer: [`WRITE_BUFFER_LEN`] bytes recommended.
    pub write: &'t mut [u8],
}

impl<'t> TlsBuffers<'t> {
    /// Bundles the two record buffers.
    pub fn new(read: &'t mut [u8], write: &'t mut [u8]) -> Self {
        TlsBuffers { read, write }
    }
}

/// What [`pop3_connect`] and [`imap_connect`] (and their async twins in
/// [`asynch`]) need besides the transport and the random generator, by
/// name rather than by position.
#[derive(Debug)]
pub struct Connect<'a, 'b, 't, Clock = NoClock> {
    /// Implicit TLS (ports 995 / 993) or an upgrade with STLS / STARTTLS.
    pub mode: TlsMode,
    /// Whom to trust and which server name to expect.
    pub settings: &'a TlsSettings<'a, Clock>,
    /// The TLS record buffers.
    pub tls: TlsBuffers<'t>,
    /// The client's receive buffer (see [`crate::pop3::Client::new`]).
    pub rx: &'b mut [u8],
    /// The client's command buffer.
    pub tx: &'b mut [u8],
}

/// The roots the server's chain must lead to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trust<'a> {
    One(&'a [u8]),
    Set(&'a [&'a [u8]]),
    InsecureNoVerify,
}

impl<'a> Trust<'a> {
    /// The trust anchors' DER certificates, in the caller's order.
    pub(crate) fn anchors(self) -> impl Iterator<Item = &'a [u8]> {
        let (one, set): (Option<&'a [u8]>, &'a [&'a [u8]]) = match self {
            Trust::One(ca) => (Some(ca), &[]),
            Trust::Set(set) => (None, set),
            Trust::InsecureNoVerify => (None, &[]),
        };
        one.into_iter().chain(set.iter().copied())
    }
}

/// Whom to trust and which server name to expect.
///
/// `Clock` supplies the time for certificate validity checks; with
/// [`NoClock`] (or a clock reading earlier than [`BUILD_TIME_FLOOR`]) the
/// build-time floor applies instead (see the [module docs](self#time)).
#[derive(Debug)]
pub struct TlsSettings<'a, Clock = NoClock> {
    server_name: &'a str,
    trust: Trust<'a>,
    clock: PhantomData<fn() -> Clock>,
}

// Copy whatever the clock type is (a derive would ask `Clock: Copy`).
impl<Clock> Clone for TlsSettings<'_, Clock> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Clock> Copy for TlsSettings<'_, Clock> {}

impl<'a> TlsSettings<'a> {
    /// Verifies the server against one trusted root `ca_der` (DER, X.509:
    /// a public root such as the one the provider's chain ends in, or a
    /// private CA) and the name `server_name` (a DNS name, also sent as SNI, or an IP address, matched
    /// against the certificate's IP subjectAltNames). See the
    /// [module docs](self#verification-on-by-default) for what is checked.
    pub const fn pinned_ca(server_name: &'a str, ca_der: &'a [u8]) -> Self {
        TlsSettings {
            server_name,
            trust: Trust::One(ca_der),
            clock: PhantomData,
        }
    }

    /// Verifies the server against a set of trusted roots (DER, X.509);
    /// the chain must lead to one of them. Each root costs nothing until a
    /// handshake, where they are tried in order (see docs/TRUST-ANCHORS.md
    /// and `scripts/trust-anchors` for building a set from the Debian
    /// `ca-certificates` roots).
    pub const fn trust_anchors(server_name: &'a str, roots_der: &'a [&'a [u8]]) -> Self {
        TlsSettings {
            server_name,
            trust: Trust::Set(roots_der),
            clock: PhantomData,
        }
    }

    /// **Insecure, for tests only**: accepts any certificate for any name,
    /// so anyone on the network path can impersonate the server and read
    /// the credentials. `server_name` is only sent as SNI.
    pub const fn insecure_skip_verification(server_name: &'a str) -> Self {
        TlsSettings {
            server_name,
            trust: Trust::InsecureNoVerify,
            clock: PhantomData,
        }
    }
}

impl<'a, Clock: TlsClock> TlsSettings<'a, Clock> {
    /// Checks certificate validity times against `C::now()` (seconds since
    /// the Unix epoch). `None`, or a time before [`BUILD_TIME_FLOOR`] (a
    /// clock not set yet), falls back to the build-time floor.
    pub const fn with_clock<C: TlsClock>(self) -> TlsSettings<'a, C> {
        TlsSettings {
            server_name: self.server_name,
            trust: self.trust,
            clock: PhantomData,
        }
    }

    /// The server name checked and sent as SNI.
    pub const fn server_name(&self) -> &'a str {
        self.server_name
    }

    /// False only for [`TlsSettings::insecure_skip_verification`].
    pub const fn verifies(&self) -> bool {
        !matches!(self.trust, Trust::InsecureNoVerify)
    }

    /// Checks a certificate chain (DER, leaf first, then intermediates, as
    /// a server sends it) exactly as the handshake would, without a
    /// connection: run it on the host to see whether a server's chain (say,
    /// from `openssl s_client -showcerts`) will be accepted before
    /// flashing firmware. With [`TlsSettings::insecure_skip_verification`]
    /// every chain passes.
    pub fn check_chain(&self, chain_der: &[&[u8]]) -> Result<(), CertificateError> {
        if !self.verifies() {
            return Ok(());
        }
        verify::validate_chain::<Clock>(
            self.server_name,
            self.trust,
            chain_der.iter().map(|c| Ok(*c)),
        )
        .map(|_| ())
    }
}

/// The crypto provider handed to embedded-tls: the caller's RNG and, unless
/// verification is off, the chain verifier.
pub(crate) struct Provider<'a, R, Clock: TlsClock> {
    rng: R,
    verifier: Option<ChainVerifier<'a, Clock>>,
}

impl<'a, R: CryptoRngCore, Clock: TlsClock> Provider<'a, R, Clock> {
    pub(crate) fn new(settings: &TlsSettings<'a, Clock>, rng: R) -> Self {
        let verifier = match settings.trust {
            Trust::InsecureNoVerify => None,
            trust => Some(ChainVerifier::new(settings.server_name, trust)),
        };
        Provider { rng, verifier }
    }

    /// After `open`: `Ok` when the server proved its identity (or
    /// verification is off), else why not.
    pub(crate) fn authenticated(&self) -> Result<(), CertificateError> {
        match &self.verifier {
            None => Ok(()),
            Some(v) if v.authenticated() => Ok(()),
            Some(v) => Err(v.rejection().unwrap_or(CertificateError::Missing)),
        }
    }

    /// Why the verifier refused the server, if it did.
    pub(crate) fn rejection(&self) -> Option<CertificateError> {
        self.verifier.as_ref().and_then(ChainVerifier::rejection)
    }
}

impl<R: CryptoRngCore, Clock: TlsClock> CryptoProvider for Provider<'_, R, Clock> {
    type CipherSuite = CipherSuite;
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<CipherSuite>, TlsError> {
        self.verifier.as_mut().ok_or(TlsError::Unimplemented)
    }
}

/// The earliest time (seconds since the Unix epoch) a certificate is
/// checked at: when this crate was compiled (`SOURCE_DATE_EPOCH` or the
/// build machine's clock; `EMBEDDED_MAIL_TIME_FLOOR` overrides both). A
/// certificate that expired before it is refused even without a clock.
pub const BUILD_TIME_FLOOR: u64 = parse_decimal(env!("EMBEDDED_MAIL_TIME_FLOOR"));

// Evaluated at compile time only: an out-of-range index would fail the build.
#[allow(clippy::indexing_slicing)]
const fn parse_decimal(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut value = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            value = value.saturating_mul(10).saturating_add((b - b'0') as u64);
        }
        i += 1;
    }
    value
}

/// The ClientHello settings: SNI, and the RSA signature schemes when
/// `tls-rsa` can verify them. An IP address host sends no SNI (RFC 6066
/// §3 allows only DNS names there); the certificate is still checked
/// against it (an `IP Address` subjectAltName).
pub(crate) fn tls_config<'a, Clock>(settings: &TlsSettings<'a, Clock>) -> TlsConfig<'a> {
    let ip = matches!(
        rustls_pki_types::ServerName::try_from(settings.server_name),
        Ok(rustls_pki_types::ServerName::IpAddress(_))
    );
    let config = if ip {
        TlsConfig::new()
    } else {
        TlsConfig::new().with_server_name(settings.server_name)
    };
    if cfg!(feature = "tls-rsa") {
        config.enable_rsa_signatures()
    } else {
        config
    }
}

/// The result of the handshake: a refused certificate becomes
/// [`Error::Certificate`] with the verifier's reason; a handshake that
/// completed without the server proving its key is refused too (embedded-tls
/// 0.19 alone would accept one without Certificate/CertificateVerify).
pub(crate) fn handshake_outcome<R: CryptoRngCore, Clock: TlsClock>(
    opened: Result<(), TlsError>,
    provider: &Provider<'_, R, Clock>,
) -> Result<(), Error<TlsError>> {
    match opened {
        Ok(()) => provider.authenticated().map_err(Error::Certificate),
        Err(e) => Err(provider
            .rejection()
            .map_or(Error::Transport(e), Error::Certificate)),
    }
}

/// Lifts an error of the plain-text phase into the TLS client's error type
/// (a transport error keeps only its [`embedded_io::ErrorKind`]).
pub(crate) fn plain_error<E: embedded_io::Error>(e: Error<E>) -> Error<TlsError> {
    e.map_transport(|t| TlsError::Io(t.kind()))
}

/// The error for an IMAP `PREAUTH` greeting when TLS is required.
#[cfg_attr(not(feature = "imap"), allow(dead_code))]
pub(crate) const PREAUTH_REFUSED: Error<TlsError> =
    Error::NotSupported("STARTTLS: the session is authenticated without TLS (PREAUTH)");

/// The error when the session is past the point where an upgrade is
/// allowed (already logged in, or closed).
#[cfg(any(feature = "pop3", feature = "imap"))]
pub(crate) fn late_upgrade(state: crate::error::SessionState) -> Error<TlsError> {
    Error::WrongState {
        command: "STARTTLS",
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_before_certificate_is_refused_not_a_panic() {
        let settings = TlsSettings::pinned_ca("localhost", &[0x30, 0x00]);
        let mut p = Provider::new(&settings, NoRng);
        let v = match p.verifier() {
            Ok(v) => v,
            Err(_) => panic!("verifier expected"),
        };
        let verify = embedded_tls::blocking::CertificateVerifyRef {
            signature_scheme: embedded_tls::SignatureScheme::EcdsaSecp256r1Sha256,
            signature: &[],
        };
        assert!(matches!(
            v.verify_signature(verify),
            Err(TlsError::InvalidHandshake)
        ));
        assert_eq!(p.authenticated(), Err(CertificateError::Missing));
    }

    #[test]
    fn insecure_is_authenticated_without_messages_pinned_is_not() {
        let insecure = TlsSettings::insecure_skip_verification("localhost");
        assert!(!insecure.verifies());
        assert_eq!(Provider::new(&insecure, NoRng).authenticated(), Ok(()));
        let pinned = TlsSettings::pinned_ca("localhost", &[]);
        assert!(pinned.verifies());
        assert!(Provider::new(&pinned, NoRng).authenticated().is_err());
    }

    struct NoRng;
    impl rand_core::RngCore for NoRng {
        fn next_u32(&mut self) -> u32 {
            0
        }
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(0);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            dest.fill(0);
            Ok(())
        }
    }
    impl rand_core::CryptoRng for NoRng {}
}
