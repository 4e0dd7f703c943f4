//! Modified UTF-7 (IMAP mailbox names): decoding arbitrary bytes never
//! panics and yields valid UTF-8 no longer than the buffer; any UTF-8 name
//! round-trips through encode then decode, with `encoded_len` exact.
#![no_main]

use embedded_mail::imap::utf7;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let rest = &rest[..rest.len().min(1024)];

    // Decode arbitrary bytes into a buffer of varying size.
    let mut out = [0u8; 4096];
    let cap = match sel & 3 {
        0 => 8,
        1 => 64,
        _ => 4096,
    };
    if let Ok(s) = utf7::decode(rest, &mut out[..cap]) {
        assert!(s.len() <= cap);
        // Whatever decodes re-encodes and decodes to the same text.
        let mut enc = Vec::new();
        utf7::encode(s, &mut |p| enc.extend_from_slice(p));
        let mut again = [0u8; 4096];
        assert_eq!(utf7::decode(&enc, &mut again).expect("re-decode"), s);
    }

    // Round trip of a UTF-8 name.
    let name = String::from_utf8_lossy(rest);
    let mut enc = Vec::new();
    utf7::encode(&name, &mut |p| enc.extend_from_slice(p));
    assert_eq!(enc.len(), utf7::encoded_len(&name), "encoded_len");
    assert!(
        enc.iter().all(|b| (0x20..0x7f).contains(b)),
        "7-bit printable"
    );
    let mut dec = vec![0u8; name.len() + 4];
    let back = utf7::decode(&enc, &mut dec).expect("decode(encode(x))");
    assert_eq!(back, &*name, "round trip");
});
