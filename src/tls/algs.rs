//! The signature algorithms the verifier accepts, as rustls-webpki
//! `SignatureVerificationAlgorithm`s (for certificates) and by TLS 1.3
//! `SignatureScheme` (for the server's CertificateVerify).
//!
//! | algorithm | certificates | CertificateVerify | feature |
//! |---|---|---|---|
//! | ECDSA P-256 with SHA-256 / SHA-384 | yes | `ecdsa_secp256r1_sha256` | `tls` |
//! | ECDSA P-384 with SHA-384 / SHA-256 | yes | `ecdsa_secp384r1_sha384` | `tls-p384` |
//! | RSA PKCS#1 v1.5, SHA-256/384/512, 2048–4096 bits | yes | no (TLS 1.3 forbids it) | `tls-rsa` |
//! | RSA-PSS (rsaEncryption key), SHA-256/384/512 | yes | `rsa_pss_rsae_sha*` | `tls-rsa` |
//! | Ed25519 | yes | `ed25519` | `tls-ed25519` |
//!
//! Curves are named by the key's AlgorithmIdentifier, which webpki matches
//! exactly: explicit curve parameters and other curves are refused.

use embedded_tls::SignatureScheme;
pub(crate) use rustls_pki_types::SignatureVerificationAlgorithm;
use rustls_pki_types::{alg_id, AlgorithmIdentifier, InvalidSignature};

/// How a signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EcdsaP256Sha256,
    EcdsaP256Sha384,
    #[cfg(feature = "tls-p384")]
    EcdsaP384Sha384,
    #[cfg(feature = "tls-p384")]
    EcdsaP384Sha256,
    #[cfg(feature = "tls-rsa")]
    RsaPkcs1(super::rsa::Hash),
    #[cfg(feature = "tls-rsa")]
    RsaPss(super::rsa::Hash),
    #[cfg(feature = "tls-ed25519")]
    Ed25519,
}

/// One signature algorithm: the key type it needs and the algorithm
/// identifier signatures carry.
#[derive(Debug)]
pub(crate) struct Algorithm {
    kind: Kind,
    public_key: AlgorithmIdentifier,
    signature: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Algorithm {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if verify(self.kind, public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

fn verify(kind: Kind, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use signature::hazmat::PrehashVerifier;
    use signature::Verifier;
    match kind {
        Kind::EcdsaP256Sha256 | Kind::EcdsaP256Sha384 => {
            use p256::ecdsa::{Signature, VerifyingKey};
            let (Ok(key), Ok(sig)) = (
                VerifyingKey::from_sec1_bytes(public_key),
                Signature::from_der(signature),
            ) else {
                return false;
            };
            if kind == Kind::EcdsaP256Sha256 {
                key.verify(message, &sig).is_ok()
            } else {
                use sha2::Digest;
                key.verify_prehash(&sha2::Sha384::digest(message), &sig)
                    .is_ok()
            }
        }
        #[cfg(feature = "tls-p384")]
        Kind::EcdsaP384Sha384 | Kind::EcdsaP384Sha256 => {
            use p384::ecdsa::{Signature, VerifyingKey};
            let (Ok(key), Ok(sig)) = (
                VerifyingKey::from_sec1_bytes(public_key),
                Signature::from_der(signature),
            ) else {
                return false;
            };
            if kind == Kind::EcdsaP384Sha384 {
                key.verify(message, &sig).is_ok()
            } else {
                use sha2::Digest;
                key.verify_prehash(&sha2::Sha256::digest(message), &sig)
                    .is_ok()
            }
        }
        #[cfg(feature = "tls-rsa")]
        Kind::RsaPkcs1(hash) => {
            super::rsa::verify_pkcs1(public_key, hash, message, signature).is_ok()
        }
        #[cfg(feature = "tls-rsa")]
        Kind::RsaPss(hash) => super::rsa::verify_pss(public_key, hash, message, signature).is_ok(),
        #[cfg(feature = "tls-ed25519")]
        Kind::Ed25519 => {
            use ed25519_dalek::{Signature, VerifyingKey};
            let (Ok(key_bytes), Ok(sig)) = (
                <&[u8; 32]>::try_from(public_key),
                Signature::from_slice(signature),
            ) else {
                return false;
            };
            let Ok(key) = VerifyingKey::from_bytes(key_bytes) else {
                return false;
            };
            key.verify(message, &sig).is_ok()
        }
    }
}

static ECDSA_P256_SHA256: Algorithm = Algorithm {
    kind: Kind::EcdsaP256Sha256,
    public_key: alg_id::ECDSA_P256,
    signature: alg_id::ECDSA_SHA256,
};
static ECDSA_P256_SHA384: Algorithm = Algorithm {
    kind: Kind::EcdsaP256Sha384,
    public_key: alg_id::ECDSA_P256,
    signature: alg_id::ECDSA_SHA384,
};
#[cfg(feature = "tls-p384")]
static ECDSA_P384_SHA384: Algorithm = Algorithm {
    kind: Kind::EcdsaP384Sha384,
    public_key: alg_id::ECDSA_P384,
    signature: alg_id::ECDSA_SHA384,
};
#[cfg(feature = "tls-p384")]
static ECDSA_P384_SHA256: Algorithm = Algorithm {
    kind: Kind::EcdsaP384Sha256,
    public_key: alg_id::ECDSA_P384,
    signature: alg_id::ECDSA_SHA256,
};
#[cfg(feature = "tls-rsa")]
mod rsa_algs {
    use super::{alg_id, Algorithm, Kind};
    use crate::tls::rsa::Hash;

    macro_rules! rsa_alg {
        ($name:ident, $kind:ident, $hash:ident, $sig:ident) => {
            pub(crate) static $name: Algorithm = Algorithm {
                kind: Kind::$kind(Hash::$hash),
                public_key: alg_id::RSA_ENCRYPTION,
                signature: alg_id::$sig,
            };
        };
    }
    rsa_alg!(PKCS1_SHA256, RsaPkcs1, Sha256, RSA_PKCS1_SHA256);
    rsa_alg!(PKCS1_SHA384, RsaPkcs1, Sha384, RSA_PKCS1_SHA384);
    rsa_alg!(PKCS1_SHA512, RsaPkcs1, Sha512, RSA_PKCS1_SHA512);
    rsa_alg!(PSS_SHA256, RsaPss, Sha256, RSA_PSS_SHA256);
    rsa_alg!(PSS_SHA384, RsaPss, Sha384, RSA_PSS_SHA384);
    rsa_alg!(PSS_SHA512, RsaPss, Sha512, RSA_PSS_SHA512);
}
#[cfg(feature = "tls-ed25519")]
static ED25519: Algorithm = Algorithm {
    kind: Kind::Ed25519,
    public_key: alg_id::ED25519,
    signature: alg_id::ED25519,
};

/// Every algorithm accepted in certificates, for webpki.
pub(crate) static CERTIFICATE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &ECDSA_P256_SHA256,
    &ECDSA_P256_SHA384,
    #[cfg(feature = "tls-p384")]
    &ECDSA_P384_SHA384,
    #[cfg(feature = "tls-p384")]
    &ECDSA_P384_SHA256,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PKCS1_SHA256,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PKCS1_SHA384,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PKCS1_SHA512,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PSS_SHA256,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PSS_SHA384,
    #[cfg(feature = "tls-rsa")]
    &rsa_algs::PSS_SHA512,
    #[cfg(feature = "tls-ed25519")]
    &ED25519,
];

/// The algorithm for a TLS 1.3 CertificateVerify scheme, if supported.
/// PKCS#1 v1.5 schemes are not valid there (RFC 8446 §4.4.3).
pub(crate) fn for_scheme(scheme: SignatureScheme) -> Option<&'static Algorithm> {
    match scheme {
        SignatureScheme::EcdsaSecp256r1Sha256 => Some(&ECDSA_P256_SHA256),
        #[cfg(feature = "tls-p384")]
        SignatureScheme::EcdsaSecp384r1Sha384 => Some(&ECDSA_P384_SHA384),
        #[cfg(feature = "tls-rsa")]
        SignatureScheme::RsaPssRsaeSha256 => Some(&rsa_algs::PSS_SHA256),
        #[cfg(feature = "tls-rsa")]
        SignatureScheme::RsaPssRsaeSha384 => Some(&rsa_algs::PSS_SHA384),
        #[cfg(feature = "tls-rsa")]
        SignatureScheme::RsaPssRsaeSha512 => Some(&rsa_algs::PSS_SHA512),
        #[cfg(feature = "tls-ed25519")]
        SignatureScheme::Ed25519 => Some(&ED25519),
        _ => None,
    }
}
