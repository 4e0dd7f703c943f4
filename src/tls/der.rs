//! Just enough DER to read what the verifier needs that rustls-webpki does
//! not expose: a certificate's SubjectPublicKeyInfo and its keyUsage bits,
//! and an RSA public key's modulus and exponent. Every read is bounds
//! checked and returns `None` on anything malformed; nothing is copied.

/// Tag of a DER SEQUENCE.
pub(crate) const SEQUENCE: u8 = 0x30;
/// Tag of a DER INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// Tag of a DER BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// Tag of a DER OCTET STRING.
const OCTET_STRING: u8 = 0x04;
/// Tag of a DER OBJECT IDENTIFIER.
const OID: u8 = 0x06;
/// Tag of a DER BOOLEAN.
const BOOLEAN: u8 = 0x01;
/// `[0]` EXPLICIT (tbsCertificate version).
const VERSION: u8 = 0xA0;
/// `[3]` EXPLICIT (tbsCertificate extensions).
const EXTENSIONS: u8 = 0xA3;
/// OID 2.5.29.15 (id-ce-keyUsage), content octets.
const KEY_USAGE_OID: &[u8] = &[0x55, 0x1D, 0x0F];

/// A cursor over DER bytes.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// True when everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element: its tag and its content octets. Only definite
    /// lengths in their shortest form up to 2^24 are accepted (DER).
    pub(crate) fn next_any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.rest.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let octets = usize::from(first & 0x7F);
            if !(1..=3).contains(&octets) {
                return None;
            }
            let (digits, after) = rest.split_at_checked(octets)?;
            rest = after;
            let len = digits
                .iter()
                .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
            // DER: the long form only where the short one cannot be used,
            // and no leading zero octet.
            if len < 0x80 || digits.first() == Some(&0) {
                return None;
            }
            len
        };
        let (content, after) = rest.split_at_checked(len)?;
        self.rest = after;
        Some((tag, content))
    }

    /// The next element, which must have tag `tag`: its content octets.
    pub(crate) fn next(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next_any()? {
            (t, content) if t == tag => Some(content),
            _ => None,
        }
    }

    /// The next element's content if it has tag `tag`; nothing is read
    /// otherwise.
    fn next_if(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.rest.first() == Some(&tag) {
            self.next(tag)
        } else {
            None
        }
    }

    /// The next element with its tag and length octets (the whole TLV).
    fn next_raw(&mut self) -> Option<&'a [u8]> {
        let before = self.rest;
        self.next_any()?;
        before.get(..before.len() - self.rest.len())
    }
}

/// What the verifier reads from one certificate.
#[derive(Clone, Copy)]
pub(crate) struct CertFields<'a> {
    /// The whole SubjectPublicKeyInfo SEQUENCE (tag and length included).
    pub(crate) spki: &'a [u8],
    /// The keyUsage bits (bit 0 = digitalSignature, as in RFC 5280, in the
    /// low bits of a `u16`), or `None` when the extension is absent.
    pub(crate) key_usage: Option<u16>,
}

/// keyUsage digitalSignature (RFC 5280 §4.2.1.3, bit 0).
pub(crate) const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
/// keyUsage keyCertSign (bit 5).
pub(crate) const KU_KEY_CERT_SIGN: u16 = 1 << 5;

/// Reads the SubjectPublicKeyInfo and keyUsage of an X.509 certificate.
pub(crate) fn cert_fields(cert: &[u8]) -> Option<CertFields<'_>> {
    let mut outer = Reader::new(Reader::new(cert).next(SEQUENCE)?);
    let mut tbs = Reader::new(outer.next(SEQUENCE)?);
    tbs.next_if(VERSION);
    tbs.next(INTEGER)?; // serialNumber
    tbs.next(SEQUENCE)?; // signature
    tbs.next(SEQUENCE)?; // issuer
    tbs.next(SEQUENCE)?; // validity
    tbs.next(SEQUENCE)?; // subject
    let spki = tbs.next_raw()?;
    if spki.first() != Some(&SEQUENCE) {
        return None;
    }
    let mut key_usage = None;
    while !tbs.is_empty() {
        let (tag, content) = tbs.next_any()?;
        if tag == EXTENSIONS {
            key_usage = find_key_usage(content)?;
        }
    }
    Some(CertFields { spki, key_usage })
}

/// The keyUsage bits in an `[3] { SEQUENCE OF Extension }`: `Some(None)`
/// when absent, `None` when malformed.
fn find_key_usage(explicit: &[u8]) -> Option<Option<u16>> {
    let mut list = Reader::new(Reader::new(explicit).next(SEQUENCE)?);
    while !list.is_empty() {
        let mut ext = Reader::new(list.next(SEQUENCE)?);
        let oid = ext.next(OID)?;
        ext.next_if(BOOLEAN);
        let value = ext.next(OCTET_STRING)?;
        if oid == KEY_USAGE_OID {
            return key_usage_bits(Reader::new(value).next(BIT_STRING)?).map(Some);
        }
    }
    Some(None)
}

/// Decodes a KeyUsage BIT STRING's content (unused-bit count, then up to
/// two octets) into RFC 5280 bit numbers.
fn key_usage_bits(bits: &[u8]) -> Option<u16> {
    let (&unused, octets) = bits.split_first()?;
    if unused > 7 || octets.len() > 2 {
        return None;
    }
    let mut value = 0u16;
    for (i, &octet) in octets.iter().enumerate() {
        // The first octet's most significant bit is bit 0.
        for bit in 0..8 {
            if octet & (0x80 >> bit) != 0 {
                value |= 1 << (i * 8 + bit);
            }
        }
    }
    Some(value)
}

/// Splits a SubjectPublicKeyInfo (whole SEQUENCE) into the content of its
/// AlgorithmIdentifier and the key bits (BIT STRING without its
/// unused-bits octet, which must be 0).
pub(crate) fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut seq = Reader::new(Reader::new(spki).next(SEQUENCE)?);
    let alg = seq.next(SEQUENCE)?;
    let (&unused, key) = seq.next(BIT_STRING)?.split_first()?;
    (unused == 0 && seq.is_empty()).then_some((alg, key))
}

/// An RSAPublicKey (RFC 8017 A.1.1): the modulus and exponent as unsigned
/// big-endian bytes without leading zeros.
pub(crate) fn rsa_public_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut seq = Reader::new(Reader::new(key).next(SEQUENCE)?);
    let n = unsigned(seq.next(INTEGER)?)?;
    let e = unsigned(seq.next(INTEGER)?)?;
    seq.is_empty().then_some((n, e))
}

/// A positive DER INTEGER's magnitude (a negative or empty one is `None`).
fn unsigned(int: &[u8]) -> Option<&[u8]> {
    match int {
        [] => None,
        [first, ..] if first & 0x80 != 0 => None,
        [0, rest @ ..] => Some(rest),
        _ => Some(int),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_der() {
        assert_eq!(
            Reader::new(&[0x04, 0x01, 0xAA]).next(0x04),
            Some(&[0xAA][..])
        );
        // long form for a short length is not DER
        assert_eq!(Reader::new(&[0x04, 0x81, 0x01, 0xAA]).next_any(), None);
        // length beyond the input
        assert_eq!(Reader::new(&[0x04, 0x05, 0xAA]).next_any(), None);
        // indefinite length
        assert_eq!(Reader::new(&[0x30, 0x80, 0, 0]).next_any(), None);
        let mut long = [0u8; 0x83];
        long[..3].copy_from_slice(&[0x04, 0x81, 0x80]);
        assert_eq!(Reader::new(&long).next(0x04).map(<[u8]>::len), Some(0x80));
    }

    #[test]
    fn key_usage_bits_are_numbered_from_the_top() {
        // digitalSignature only: 07 80
        assert_eq!(key_usage_bits(&[7, 0x80]), Some(KU_DIGITAL_SIGNATURE));
        // keyCertSign | cRLSign: 01 06
        assert_eq!(key_usage_bits(&[1, 0x06]), Some(KU_KEY_CERT_SIGN | 1 << 6));
        assert_eq!(key_usage_bits(&[8, 0x80]), None);
    }

    #[test]
    fn integers_must_be_positive() {
        assert_eq!(unsigned(&[0x00, 0x80]), Some(&[0x80][..]));
        assert_eq!(unsigned(&[0x80]), None);
        assert_eq!(unsigned(&[]), None);
    }
}
