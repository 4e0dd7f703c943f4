//! The certificate verifier handed to embedded-tls.
//!
//! Path validation is rustls-webpki's (no heap, no std): issuers must be
//! CAs (`basicConstraints cA`) within their `pathLenConstraint`, an
//! extendedKeyUsage present anywhere on the path must allow `serverAuth`,
//! unknown critical extensions and violated name constraints refuse, the
//! server name must match a subjectAltName (DNS name or IP address).
//! On top of it this module checks what webpki deliberately leaves out:
//! keyUsage (an issuer with keyUsage must have `keyCertSign`, a leaf with
//! keyUsage must have `digitalSignature`), the RSA key size of the leaf,
//! validity without a clock (the build-time floor, see
//! [`super::BUILD_TIME_FLOOR`]), and the order of the handshake messages.

use core::cell::Cell;
use core::time::Duration;

use embedded_tls::blocking::{
    CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite, TlsClock,
    TlsVerifier,
};
use embedded_tls::TlsError;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::Digest;
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use super::algs::{self, SignatureVerificationAlgorithm};
use super::der;
use super::{CipherSuite, Trust, BUILD_TIME_FLOOR};
use crate::error::CertificateError;

/// Intermediates considered from the server's chain; more are ignored.
const MAX_INTERMEDIATES: usize = 6;

/// Room for the leaf's SubjectPublicKeyInfo between the Certificate and
/// CertificateVerify messages: an RSA-4096 key is 550 bytes.
const SPKI_CAPACITY: usize = 600;

/// How often the validation time may move forward to a certificate's
/// notBefore when there is no clock (one per certificate on the path).
const TIME_STEPS: usize = 4;

type Transcript = <CipherSuite as TlsCipherSuite>::Hash;

/// Verifies the server's chain and its CertificateVerify; remembers why it
/// refused, for the caller's error.
pub(crate) struct ChainVerifier<'a, Clock> {
    server_name: &'a str,
    trust: Trust<'a>,
    leaf_spki: heapless::Vec<u8, SPKI_CAPACITY>,
    transcript: Option<Transcript>,
    certificate_ok: bool,
    signature_ok: bool,
    rejection: Option<CertificateError>,
    clock: core::marker::PhantomData<Clock>,
}

impl<'a, Clock: TlsClock> ChainVerifier<'a, Clock> {
    pub(crate) fn new(server_name: &'a str, trust: Trust<'a>) -> Self {
        ChainVerifier {
            server_name,
            trust,
            leaf_spki: heapless::Vec::new(),
            transcript: None,
            certificate_ok: false,
            signature_ok: false,
            rejection: None,
            clock: core::marker::PhantomData,
        }
    }

    /// Both the chain and the server's proof of its key were accepted.
    pub(crate) fn authenticated(&self) -> bool {
        self.certificate_ok && self.signature_ok
    }

    /// Why the server was refused, if it was.
    pub(crate) fn rejection(&self) -> Option<CertificateError> {
        self.rejection
    }

    fn refuse(&mut self, why: CertificateError) -> TlsError {
        warn!(
            "TLS: server certificate refused ({} check): {}",
            why.check().as_str(),
            why.as_str()
        );
        self.rejection = Some(why);
        TlsError::InvalidCertificate
    }
}

/// Validates a chain (leaf first, then the intermediates the server sent)
/// for `server_name` against `trust` at the clock's time (or the build
/// floor); returns the leaf's SubjectPublicKeyInfo.
pub(crate) fn validate_chain<'c, Clock: TlsClock>(
    server_name: &str,
    trust: Trust<'_>,
    mut ders: impl Iterator<Item = Result<&'c [u8], CertificateError>>,
) -> Result<&'c [u8], CertificateError> {
    let leaf_der = ders.next().ok_or(CertificateError::Missing)??;
    let mut intermediates = heapless::Vec::<CertificateDer<'c>, MAX_INTERMEDIATES>::new();
    for der in ders.take(MAX_INTERMEDIATES) {
        // Capacity is the `take` bound: the push cannot fail.
        let _ = intermediates.push(CertificateDer::from(der?));
    }

    let fields = der::cert_fields(leaf_der).ok_or(CertificateError::Malformed)?;
    if fields
        .key_usage
        .is_some_and(|ku| ku & der::KU_DIGITAL_SIGNATURE == 0)
    {
        return Err(CertificateError::LeafCannotSign);
    }
    check_key_size(fields.spki)?;

    let leaf = CertificateDer::from(leaf_der);
    let end_entity = EndEntityCert::try_from(&leaf).map_err(map_webpki)?;
    let name = ServerName::try_from(server_name).map_err(|_| CertificateError::NameMismatch)?;
    end_entity
        .verify_is_valid_for_subject_name(&name)
        .map_err(map_webpki)?;

    let (start, clock_free) = match Clock::now() {
        // A clock behind the build floor is not set yet: use the floor.
        Some(now) if now >= BUILD_TIME_FLOOR => (now, false),
        _ => (BUILD_TIME_FLOOR, true),
    };
    let mut last = CertificateError::UnknownIssuer;
    for anchor_der in trust.anchors() {
        match verify_with_anchor(&end_entity, anchor_der, &intermediates, start, clock_free) {
            Ok(()) => return Ok(fields.spki),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Validates the path from `end_entity` to one trust anchor. Without a
/// clock, validation starts at the build floor and may move forward to a
/// later notBefore: the chain is accepted if there is a time, not before
/// the firmware was built, at which all of it is valid.
fn verify_with_anchor(
    end_entity: &EndEntityCert<'_>,
    anchor_der: &[u8],
    intermediates: &[CertificateDer<'_>],
    start: u64,
    clock_free: bool,
) -> Result<(), CertificateError> {
    let anchor_cert = CertificateDer::from(anchor_der);
    let anchor =
        webpki::anchor_from_trusted_cert(&anchor_cert).map_err(|_| CertificateError::BadAnchor)?;
    let key_usage_failure = Cell::new(None);
    let issuers_may_sign = |path: &VerifiedPath<'_>| {
        for issuer in path.intermediate_certificates() {
            let der = issuer.der();
            let fields = der::cert_fields(der.as_ref()).ok_or(webpki::Error::BadDer)?;
            if fields
                .key_usage
                .is_some_and(|ku| ku & der::KU_KEY_CERT_SIGN == 0)
            {
                key_usage_failure.set(Some(CertificateError::IssuerCannotSign));
                return Err(webpki::Error::EndEntityUsedAsCa);
            }
        }
        Ok(())
    };
    let algorithms: &[&dyn SignatureVerificationAlgorithm] = algs::CERTIFICATE_ALGORITHMS;
    let mut time = start;
    for _ in 0..TIME_STEPS {
        let result = end_entity.verify_for_usage(
            algorithms,
            core::slice::from_ref(&anchor),
            intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(time)),
            KeyUsage::server_auth(),
            None,
            Some(&issuers_may_sign),
        );
        match result {
            Ok(_) => return Ok(()),
            Err(webpki::Error::CertNotValidYet { not_before, .. })
                if clock_free && not_before.as_secs() > time =>
            {
                time = not_before.as_secs();
            }
            Err(e) => return Err(key_usage_failure.get().unwrap_or(map_webpki(e))),
        }
    }
    Err(CertificateError::NotYetValid)
}

/// Refuses an RSA leaf key outside 2048–4096 bits before any signature is
/// checked, so the error names the key, not the signature.
fn check_key_size(spki: &[u8]) -> Result<(), CertificateError> {
    let (alg, key) = der::split_spki(spki).ok_or(CertificateError::Malformed)?;
    if alg != rustls_pki_types::alg_id::RSA_ENCRYPTION.as_ref() {
        return Ok(());
    }
    let (n, _) = der::rsa_public_key(key).ok_or(CertificateError::Malformed)?;
    let bits = n
        .first()
        .map_or(0, |&b| n.len() * 8 - b.leading_zeros() as usize);
    if bits < 2048 {
        return Err(CertificateError::WeakKey);
    }
    if !cfg!(feature = "tls-rsa") || bits > 4096 {
        return Err(CertificateError::UnsupportedAlgorithm);
    }
    Ok(())
}

fn map_webpki(e: webpki::Error) -> CertificateError {
    use webpki::Error as W;
    match e {
        W::UnknownIssuer => CertificateError::UnknownIssuer,
        W::EndEntityUsedAsCa | W::CaUsedAsEndEntity => CertificateError::IssuerNotCa,
        W::PathLenConstraintViolated | W::MaximumPathDepthExceeded => CertificateError::PathTooLong,
        W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => CertificateError::NotForServers,
        W::UnsupportedCriticalExtension => CertificateError::UnknownCriticalExtension,
        W::NameConstraintViolation | W::MalformedNameConstraint => {
            CertificateError::NameConstraints
        }
        W::CertExpired { .. } => CertificateError::Expired,
        W::CertNotValidYet { .. } => CertificateError::NotYetValid,
        W::CertNotValidForName(_) => CertificateError::NameMismatch,
        W::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | W::SignatureAlgorithmMismatch => CertificateError::UnsupportedAlgorithm,
        W::CertDistrusted => CertificateError::UnknownIssuer,
        W::MaximumSignatureChecksExceeded | W::MaximumPathBuildCallsExceeded => {
            CertificateError::PathTooLong
        }
        _ => CertificateError::Malformed,
    }
}

impl<Clock: TlsClock> TlsVerifier<CipherSuite> for ChainVerifier<'_, Clock> {
    fn set_hostname_verification(&mut self, _hostname: &str) -> Result<(), TlsError> {
        // The name checked is the settings' own (the one sent as SNI).
        Ok(())
    }

    fn verify_certificate(
        &mut self,
        transcript: &Transcript,
        cert: CertificateRef,
    ) -> Result<(), TlsError> {
        if self.certificate_ok {
            return Err(TlsError::InvalidHandshake);
        }
        let ders = cert.entries.iter().map(|entry| match entry {
            CertificateEntryRef::X509(der) => Ok(*der),
            CertificateEntryRef::RawPublicKey(_) => Err(CertificateError::Malformed),
        });
        match validate_chain::<Clock>(self.server_name, self.trust, ders) {
            Ok(spki) => {
                self.leaf_spki.clear();
                self.leaf_spki
                    .extend_from_slice(spki)
                    .map_err(|_| self.refuse(CertificateError::UnsupportedAlgorithm))?;
                self.transcript = Some(transcript.clone());
                self.certificate_ok = true;
                Ok(())
            }
            Err(why) => Err(self.refuse(why)),
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef) -> Result<(), TlsError> {
        let transcript = match self.transcript.take() {
            Some(t) if self.certificate_ok && !self.signature_ok => t,
            _ => return Err(TlsError::InvalidHandshake),
        };
        let Some(algorithm) = algs::for_scheme(verify.signature_scheme) else {
            return Err(self.refuse(CertificateError::UnsupportedAlgorithm));
        };
        let Some((key_alg, key)) = der::split_spki(&self.leaf_spki) else {
            return Err(self.refuse(CertificateError::Malformed));
        };
        if algorithm.public_key_alg_id().as_ref() != key_alg {
            return Err(self.refuse(CertificateError::UnsupportedAlgorithm));
        }
        // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte and
        // the transcript hash up to the Certificate message.
        const CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify\x00";
        let mut message = [0x20u8; 64 + CONTEXT.len() + 32];
        let (context, hash) = message
            .get_mut(64..)
            .ok_or(TlsError::EncodeError)?
            .split_at_mut(CONTEXT.len());
        context.copy_from_slice(CONTEXT);
        hash.copy_from_slice(&transcript.finalize());
        if algorithm
            .verify_signature(key, &message, verify.signature)
            .is_err()
        {
            return Err(self.refuse(CertificateError::HandshakeSignature));
        }
        self.signature_ok = true;
        Ok(())
    }
}
