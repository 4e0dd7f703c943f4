//! SASL client answers to arbitrary server challenges (CRAM-MD5's base64
//! challenge above all, and LOGIN, PLAIN, XOAUTH2 sequences): no panic,
//! the answer fits its buffer and is base64 that decodes, and CRAM-MD5's
//! answer to a valid challenge is `user <32 lowercase hex digits>`.
#![no_main]

use embedded_mail::sasl::{base64, SaslClient};
use embedded_mail::wire::TxCursor;
use embedded_mail::{Credentials, Mechanism};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mechanism = match sel & 3 {
        0 => Mechanism::CramMd5,
        1 => Mechanism::Login,
        2 => Mechanism::Plain,
        _ => Mechanism::XOAuth2,
    };
    let creds = Credentials {
        user: "fred",
        secret: "tanstaaftanstaaf",
    };
    let Ok(mut sasl) = SaslClient::new(mechanism, creds) else {
        return;
    };
    // Challenges separated by NUL; up to 4 rounds.
    let cap = if sel & 4 != 0 { 16 } else { 512 };
    for challenge in rest.split(|&b| b == 0).take(4) {
        let mut out = [0u8; 512];
        let mut c = TxCursor::new(&mut out[..cap]);
        let r = sasl.respond(challenge, &mut c);
        let Ok(n) = c.finish() else { continue };
        if r.is_err() {
            continue;
        }
        let answer = &out[..n];
        let mut plain = [0u8; 512];
        let m = base64::decode(answer, &mut plain).expect("the answer is base64");
        if mechanism == Mechanism::CramMd5 {
            let mut tmp = [0u8; 512];
            if base64::decode(challenge, &mut tmp).is_ok() {
                let text = &plain[..m];
                assert!(text.starts_with(b"fred "), "{text:?}");
                let hex = &text[5..];
                assert_eq!(hex.len(), 32);
                assert!(hex
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
            }
        }
    }
});
