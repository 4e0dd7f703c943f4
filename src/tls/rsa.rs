//! RSA signature verification without a heap: PKCS#1 v1.5 (certificates)
//! and PSS (TLS 1.3 CertificateVerify, `rsa_pss_rsae_*`), RFC 8017, for
//! moduli of [`MIN_BITS`]..=[`MAX_BITS`] bits.
//!
//! Verification only touches public values, so the arithmetic need not be
//! constant-time: Montgomery multiplication (CIOS) on 32-bit words in
//! fixed arrays, about 3.5 KiB of stack for a 4096-bit key and no tables.

// The arithmetic indexes arrays of `WORDS + 2` words with loop counters
// below `Modulus::len`, which `Modulus::new` caps at `WORDS`: no index can
// be out of bounds whatever the input.
#![allow(clippy::indexing_slicing)]

use sha2::digest::{Digest, FixedOutputReset};

use super::der;

/// Smallest modulus accepted (NIST SP 800-131A, CA/Browser Forum).
pub(crate) const MIN_BITS: usize = 2048;
/// Largest modulus accepted.
pub(crate) const MAX_BITS: usize = 4096;
const WORDS: usize = MAX_BITS / 32;
const MAX_BYTES: usize = MAX_BITS / 8;

/// A number below the modulus, little-endian 32-bit words.
type Num = [u32; WORDS];

/// An odd modulus with what Montgomery multiplication needs.
struct Modulus {
    n: Num,
    /// Words in use (the top one is non-zero); at most `WORDS`.
    len: usize,
    /// `-n^-1 mod 2^32`.
    n0: u32,
    /// Bit length of `n`.
    bits: usize,
}

impl Modulus {
    /// `None` unless `be` (big-endian, no leading zero) is odd and has
    /// MIN_BITS..=MAX_BITS bits.
    fn new(be: &[u8]) -> Option<Self> {
        let first = *be.first()?;
        if first == 0 {
            return None;
        }
        let bits = be.len() * 8 - first.leading_zeros() as usize;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) || be.last()? & 1 == 0 {
            return None;
        }
        let n = from_be(be)?;
        let len = bits.div_ceil(32);
        // Newton's iteration for n[0]^-1 mod 2^32: each step doubles the
        // correct low bits (n odd: n*n ≡ 1 mod 8 gives 3 to start).
        let mut inv = n[0];
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        Some(Modulus {
            n,
            len,
            n0: inv.wrapping_neg(),
            bits,
        })
    }

    /// Bytes in the modulus (the length of a signature).
    fn byte_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// `a * b * R^-1 mod n` with `R = 2^(32 len)`; `a, b < n`.
    fn mont_mul(&self, a: &Num, b: &Num) -> Num {
        let len = self.len;
        let mut t = [0u32; WORDS + 2];
        for &bi in &b[..len] {
            let mut carry = 0u64;
            for j in 0..len {
                let x = u64::from(t[j]) + u64::from(a[j]) * u64::from(bi) + carry;
                t[j] = x as u32;
                carry = x >> 32;
            }
            let x = u64::from(t[len]) + carry;
            t[len] = x as u32;
            t[len + 1] = (x >> 32) as u32;

            let m = t[0].wrapping_mul(self.n0);
            let x = u64::from(t[0]) + u64::from(m) * u64::from(self.n[0]);
            let mut carry = x >> 32;
            for j in 1..len {
                let x = u64::from(t[j]) + u64::from(m) * u64::from(self.n[j]) + carry;
                t[j - 1] = x as u32;
                carry = x >> 32;
            }
            let x = u64::from(t[len]) + carry;
            t[len - 1] = x as u32;
            t[len] = t[len + 1] + (x >> 32) as u32;
            t[len + 1] = 0;
        }
        let mut out = [0u32; WORDS];
        out[..len].copy_from_slice(&t[..len]);
        if t[len] != 0 || !less(&out, &self.n) {
            sub_in_place(&mut out, &self.n);
        }
        out
    }

    /// `R^2 mod n`, by doubling 1 modulo `n` 64·len times.
    fn r_squared(&self) -> Num {
        let mut v = [0u32; WORDS];
        v[0] = 1;
        for _ in 0..64 * self.len {
            let overflow = shl1(&mut v);
            if overflow || !less(&v, &self.n) {
                sub_in_place(&mut v, &self.n);
            }
        }
        v
    }

    /// `s^e mod n` for `s < n`.
    fn pow(&self, s: &Num, e: u32) -> Num {
        let r2 = self.r_squared();
        let base = self.mont_mul(s, &r2);
        let mut acc = base;
        let top = 31 - e.leading_zeros();
        for bit in (0..top).rev() {
            acc = self.mont_mul(&acc, &acc);
            if e >> bit & 1 == 1 {
                acc = self.mont_mul(&acc, &base);
            }
        }
        let mut one = [0u32; WORDS];
        one[0] = 1;
        self.mont_mul(&acc, &one)
    }
}

/// Big-endian bytes (at most MAX_BYTES) to words.
fn from_be(be: &[u8]) -> Option<Num> {
    if be.len() > MAX_BYTES {
        return None;
    }
    let mut n = [0u32; WORDS];
    for (i, &byte) in be.iter().rev().enumerate() {
        n[i / 4] |= u32::from(byte) << (8 * (i % 4));
    }
    Some(n)
}

/// `a < b`.
fn less(a: &Num, b: &Num) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b` (mod 2^(32 WORDS)).
fn sub_in_place(a: &mut Num, b: &Num) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = u64::from(*x)
            .wrapping_sub(u64::from(y))
            .wrapping_sub(borrow);
        *x = d as u32;
        borrow = (d >> 63) & 1;
    }
}

/// `a <<= 1`; true if a bit fell off the top.
fn shl1(a: &mut Num) -> bool {
    let mut carry = 0u32;
    for x in a.iter_mut() {
        let next = *x >> 31;
        *x = (*x << 1) | carry;
        carry = next;
    }
    carry == 1
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RsaError {
    /// The key is malformed, too small, too large, or has an unusable
    /// exponent.
    Key,
    /// The signature does not verify.
    Signature,
}

/// A parsed public key: `s^e mod n` of a signature, as `k` big-endian
/// bytes in `out`.
fn open_signature<'o>(
    key_der: &[u8],
    signature: &[u8],
    out: &'o mut [u8; MAX_BYTES],
) -> Result<(&'o mut [u8], usize), RsaError> {
    let (n, e) = der::rsa_public_key(key_der).ok_or(RsaError::Key)?;
    let modulus = Modulus::new(n).ok_or(RsaError::Key)?;
    // Exponents beyond 32 bits are not used in practice; 1 and even ones
    // are not RSA.
    let e = match e {
        [] => return Err(RsaError::Key),
        _ if e.len() > 4 => return Err(RsaError::Key),
        _ => e.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
    };
    if e < 3 || e & 1 == 0 {
        return Err(RsaError::Key);
    }
    let k = modulus.byte_len();
    if signature.len() != k {
        return Err(RsaError::Signature);
    }
    let s = from_be(signature).ok_or(RsaError::Signature)?;
    if !less(&s, &modulus.n) {
        return Err(RsaError::Signature);
    }
    let m = modulus.pow(&s, e);
    let em = &mut out[..k];
    for (i, byte) in em.iter_mut().rev().enumerate() {
        *byte = (m[i / 4] >> (8 * (i % 4))) as u8;
    }
    Ok((em, modulus.bits))
}

/// The hash functions RSA signatures use here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The DER DigestInfo prefix before the hash in a PKCS#1 v1.5
    /// signature (RFC 8017 §9.2 note 1).
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// Runs `f` with the digest of `parts` (concatenated) in a 64-byte buffer
/// and its length.
fn digest(hash: Hash, parts: &[&[u8]], out: &mut [u8; 64]) -> usize {
    fn run<D: Digest + FixedOutputReset>(parts: &[&[u8]], out: &mut [u8; 64]) -> usize {
        let mut d = D::new();
        for p in parts {
            Digest::update(&mut d, p);
        }
        let h = d.finalize();
        let n = h.len().min(out.len());
        out[..n].copy_from_slice(&h[..n]);
        n
    }
    match hash {
        Hash::Sha256 => run::<sha2::Sha256>(parts, out),
        Hash::Sha384 => run::<sha2::Sha384>(parts, out),
        Hash::Sha512 => run::<sha2::Sha512>(parts, out),
    }
}

/// What both verifications start with: the signature opened with the
/// key (`s^e mod n` as big-endian bytes, and the modulus bits) and the
/// message's digest with its length.
type Opened<'o> = (&'o mut [u8], usize, [u8; 64], usize);

fn open<'o>(
    key_der: &[u8],
    hash: Hash,
    message: &[u8],
    signature: &[u8],
    buf: &'o mut [u8; MAX_BYTES],
) -> Result<Opened<'o>, RsaError> {
    let (em, bits) = open_signature(key_der, signature, buf)?;
    let mut h = [0u8; 64];
    let h_len = digest(hash, &[message], &mut h);
    Ok((em, bits, h, h_len))
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over `message`.
pub(crate) fn verify_pkcs1(
    key_der: &[u8],
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<(), RsaError> {
    let mut buf = [0u8; MAX_BYTES];
    let (em, _, h, h_len) = open(key_der, hash, message, signature, &mut buf)?;
    let prefix = hash.digest_info_prefix();
    let t_len = prefix.len() + h_len;
    // 00 01 FF..FF (at least 8) 00 DigestInfo
    let ps_len = em.len().checked_sub(3 + t_len).ok_or(RsaError::Signature)?;
    if ps_len < 8 {
        return Err(RsaError::Signature);
    }
    let (head, rest) = em.split_at(2);
    let (ps, rest) = rest.split_at(ps_len);
    let (zero, t) = rest.split_at(1);
    let (t_prefix, t_hash) = t.split_at(prefix.len());
    let ok = head == [0x00, 0x01]
        && ps.iter().all(|&b| b == 0xFF)
        && zero == [0x00]
        && t_prefix == prefix
        && t_hash == &h[..h_len];
    ok.then_some(()).ok_or(RsaError::Signature)
}

/// Verifies an RSASSA-PSS signature over `message` with MGF1 on the same
/// hash and a salt as long as the hash (what TLS 1.3 requires).
pub(crate) fn verify_pss(
    key_der: &[u8],
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<(), RsaError> {
    let mut buf = [0u8; MAX_BYTES];
    let (k_bytes, mod_bits, m_hash, h_len) = open(key_der, hash, message, signature, &mut buf)?;
    let s_len = h_len;
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    // When modBits ≡ 1 (mod 8) the encoded message is one byte shorter
    // than the modulus and that leading byte must be zero.
    let (lead, em) = k_bytes.split_at_mut(k_bytes.len() - em_len);
    if lead.iter().any(|&b| b != 0) || em_len < h_len + s_len + 2 {
        return Err(RsaError::Signature);
    }
    let (masked_db, tail) = em.split_at_mut(em_len - h_len - 1);
    let (h, bc) = tail.split_at(h_len);
    if bc != [0xBC] {
        return Err(RsaError::Signature);
    }
    let top_mask = 0xFFu8 >> (8 * em_len - em_bits);
    if masked_db.first().is_some_and(|&b| b & !top_mask != 0) {
        return Err(RsaError::Signature);
    }
    // DB = maskedDB xor MGF1(H)
    let mut block = [0u8; 64];
    for (counter, chunk) in masked_db.chunks_mut(h_len).enumerate() {
        let c = (counter as u32).to_be_bytes();
        digest(hash, &[h, &c], &mut block);
        for (d, m) in chunk.iter_mut().zip(&block) {
            *d ^= m;
        }
    }
    let db = masked_db;
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let (padding, rest) = db.split_at(db.len() - s_len - 1);
    let (one, salt) = rest.split_at(1);
    if padding.iter().any(|&b| b != 0) || one != [0x01] {
        return Err(RsaError::Signature);
    }
    let mut h2 = [0u8; 64];
    digest(hash, &[&[0u8; 8], &m_hash[..h_len], salt], &mut h2);
    (h2[..h_len] == *h).then_some(()).ok_or(RsaError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn montgomery_pow_matches_small_numbers() {
        // n = 2^2047 + 2^5 + 1 (odd, 2048 bits); 3^3 mod n = 27.
        let mut be = [0u8; 256];
        be[0] = 0x80;
        be[255] = 0x21;
        let m = Modulus::new(&be).unwrap();
        let mut s = [0u32; WORDS];
        s[0] = 3;
        let r = m.pow(&s, 3);
        assert_eq!(r[0], 27);
        assert!(r[1..].iter().all(|&w| w == 0));
        // (n-1)^3 ≡ -1 ≡ n-1
        let mut nm1 = m.n;
        nm1[0] -= 1;
        assert_eq!(m.pow(&nm1, 3), nm1);
    }

    #[test]
    fn small_and_even_moduli_are_refused() {
        assert!(Modulus::new(&[0xFF; 128]).is_none()); // 1024 bits
        let mut even = [0xFFu8; 256];
        even[255] = 0xFE;
        assert!(Modulus::new(&even).is_none());
        assert!(Modulus::new(&[0xFF; 513]).is_none()); // 4104 bits
    }
}
