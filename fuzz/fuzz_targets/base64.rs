//! Base64 (SASL): decode(encode(x)) == x for any bytes, exact encoded
//! length, and decoding arbitrary text never panics and, when it succeeds,
//! re-encodes to the canonical form of its input.
#![no_main]

use embedded_mail::sasl::base64;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(3000)];
    let mut enc = [0u8; 4000];
    let n = base64::encode(data, &mut enc).expect("room for the encoding");
    assert_eq!(n, base64::encoded_len(data.len()));
    assert!(enc[..n]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)));
    let mut dec = [0u8; 3000];
    let m = base64::decode(&enc[..n], &mut dec).expect("decodes its own encoding");
    assert_eq!(&dec[..m], data, "round trip");
    // Too small an output buffer is an error, never a panic.
    if !data.is_empty() {
        assert!(base64::decode(&enc[..n], &mut dec[..m - 1]).is_err());
        assert!(base64::encode(data, &mut enc[..n - 1]).is_none());
    }

    // Arbitrary text.
    let mut out = [0u8; 3000];
    if let Ok(m) = base64::decode(data, &mut out) {
        assert!(m <= data.len());
        let n = base64::encode(&out[..m], &mut enc).unwrap();
        let mut again = [0u8; 3000];
        let k = base64::decode(&enc[..n], &mut again).unwrap();
        assert_eq!(&again[..k], &out[..m]);
    }
});
