//! Typed sequence sets and UID ranges (RFC 3501 §9 `sequence-set`).

use crate::error::ProtocolError;
use crate::wire::TxCursor;

/// One end of a range: a number, or `*` (the largest number in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SeqNum {
    /// A message sequence number or UID (never 0).
    Value(u32),
    /// `*`: the last message (or the highest UID).
    Last,
}

/// A range `start:end` (a single number when both ends are equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeqRange {
    /// First end (either order is allowed on the wire).
    pub start: SeqNum,
    /// Second end.
    pub end: SeqNum,
}

impl SeqRange {
    /// The single number `n`.
    pub const fn one(n: u32) -> Self {
        SeqRange {
            start: SeqNum::Value(n),
            end: SeqNum::Value(n),
        }
    }

    /// `a:b`.
    pub const fn range(a: u32, b: u32) -> Self {
        SeqRange {
            start: SeqNum::Value(a),
            end: SeqNum::Value(b),
        }
    }

    /// `a:*`.
    pub const fn from(a: u32) -> Self {
        SeqRange {
            start: SeqNum::Value(a),
            end: SeqNum::Last,
        }
    }
}

/// A set of message sequence numbers or UIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SequenceSet<'a> {
    /// One number.
    One(u32),
    /// One range.
    Range(SeqRange),
    /// `1:*`: every message.
    All,
    /// Several ranges, comma-separated (must not be empty).
    List(&'a [SeqRange]),
}

fn put_num(c: &mut TxCursor<'_>, n: SeqNum) -> Result<(), ProtocolError> {
    match n {
        SeqNum::Value(0) => Err(ProtocolError::InvalidArgument(
            "sequence numbers and UIDs start at 1",
        )),
        SeqNum::Value(v) => {
            c.put_u32(v);
            Ok(())
        }
        SeqNum::Last => {
            c.put(b"*");
            Ok(())
        }
    }
}

fn put_range(c: &mut TxCursor<'_>, r: &SeqRange) -> Result<(), ProtocolError> {
    put_num(c, r.start)?;
    if r.start != r.end {
        c.put(b":");
        put_num(c, r.end)?;
    }
    Ok(())
}

impl SequenceSet<'_> {
    /// Writes the set in wire form.
    pub fn encode(&self, c: &mut TxCursor<'_>) -> Result<(), ProtocolError> {
        match self {
            SequenceSet::One(n) => put_num(c, SeqNum::Value(*n)),
            SequenceSet::Range(r) => put_range(c, r),
            SequenceSet::All => {
                c.put(b"1:*");
                Ok(())
            }
            SequenceSet::List(list) => {
                if list.is_empty() {
                    return Err(ProtocolError::InvalidArgument("empty sequence set"));
                }
                for (i, r) in list.iter().enumerate() {
                    if i > 0 {
                        c.put(b",");
                    }
                    put_range(c, r)?;
                }
                Ok(())
            }
        }
    }
}

/// Iterates the ranges of a sequence set in wire form (`1:3,5,7:*`), as a
/// server sends it in ESEARCH `ALL` or COPYUID. `*` is given as `u32::MAX`.
/// Stops at the first malformed element.
pub fn parse_ranges(raw: &[u8]) -> impl Iterator<Item = (u32, u32)> + '_ {
    raw.split(|&b| b == b',').map_while(|part| {
        let num = |s: &[u8]| -> Option<u32> {
            if s == b"*" {
                return Some(u32::MAX);
            }
            super::parse::decimal(s).and_then(|v| u32::try_from(v).ok())
        };
        let mut it = part.splitn(2, |&b| b == b':');
        let a = num(it.next()?)?;
        let b = match it.next() {
            Some(s) => num(s)?,
            None => a,
        };
        Some((a.min(b), a.max(b)))
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn enc(s: SequenceSet<'_>) -> Result<Vec<u8>, ProtocolError> {
        let mut mem = [0u8; 64];
        let mut c = TxCursor::new(&mut mem);
        s.encode(&mut c)?;
        let n = c.finish()?;
        Ok(mem[..n].to_vec())
    }

    #[test]
    fn encodes_sets() {
        assert_eq!(enc(SequenceSet::One(7)).unwrap(), b"7");
        assert_eq!(enc(SequenceSet::All).unwrap(), b"1:*");
        let list = [SeqRange::range(1, 3), SeqRange::one(5), SeqRange::from(9)];
        assert_eq!(enc(SequenceSet::List(&list)).unwrap(), b"1:3,5,9:*");
        assert!(enc(SequenceSet::One(0)).is_err());
        assert!(enc(SequenceSet::List(&[])).is_err());
    }

    #[test]
    fn parses_ranges() {
        let v: Vec<_> = parse_ranges(b"1:3,5,9:7,2:*").collect();
        assert_eq!(v, [(1, 3), (5, 5), (7, 9), (2, u32::MAX)]);
    }
}
