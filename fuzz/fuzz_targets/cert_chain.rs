//! Certificate path validation on arbitrary bytes: the input is a list of
//! `[u16 big-endian length][DER]` records, the first the trust anchor,
//! the second the leaf, the rest intermediates. Checking must never panic
//! or overread, and gives the same verdict twice (no hidden state).
#![no_main]

use embedded_mail::tls::TlsSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut records: [&[u8]; 6] = [&[]; 6];
    let mut n = 0;
    let mut rest = data;
    while n < records.len() && rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        records[n] = &body[..take];
        rest = &body[take..];
        n += 1;
    }
    if n == 0 {
        return;
    }
    let (anchor, chain) = (records[0], &records[1..n]);
    for name in ["localhost", "127.0.0.1"] {
        let settings = TlsSettings::pinned_ca(name, anchor);
        let first = settings.check_chain(chain);
        assert_eq!(first, settings.check_chain(chain));
    }
});
