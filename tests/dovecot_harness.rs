//! Checks the test server itself (std only): if these fail, the real-server
//! tests of the crate cannot be trusted either.

mod common;

use common::{crlf, dovecot, LineConn, INBOX_UIDVALIDITY, READER, SEED_INBOX_LEN};

#[test]
fn seed_is_on_disk_with_fixed_uids() {
    let d = dovecot();
    let msgs = d.seed_inbox();
    assert_eq!(msgs.len(), SEED_INBOX_LEN);
    let uids: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
    assert_eq!(uids, (1..=SEED_INBOX_LEN as u32).collect::<Vec<_>>());
    // The ~5 MiB message and the one without a final line break.
    assert!(msgs[1].bytes_crlf.len() >= 5 * 1024 * 1024);
    assert!(!msgs[3].bytes_crlf.ends_with(b"\n"));
    assert!(d.ca_der().starts_with(&[0x30]), "CA is not DER");
    assert_eq!(crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
}

#[test]
fn pop3_stat_matches_seeded_inbox() {
    let d = dovecot();
    let msgs = d.inbox_messages("t01");
    let mut c = LineConn::connect(d.pop3_addr());
    let greeting = c.read_line();
    assert!(greeting.starts_with("+OK"), "{greeting}");
    assert!(c.cmd("USER t01").starts_with("+OK"));
    let pass = c.cmd(&format!("PASS {}", d.password));
    assert!(pass.starts_with("+OK"), "{pass}");
    let stat = c.cmd("STAT");
    let total: usize = msgs.iter().map(|m| m.bytes_crlf.len()).sum();
    assert_eq!(stat, format!("+OK {} {}", msgs.len(), total));
    let uidl = c.cmd("UIDL 1");
    assert_eq!(uidl, format!("+OK 1 {:08x}{:08x}", 1, INBOX_UIDVALIDITY));
    assert!(c.cmd("QUIT").starts_with("+OK"));
}

#[test]
fn imap_select_matches_seeded_inbox() {
    let d = dovecot();
    let msgs = d.inbox_messages(READER);
    let mut c = LineConn::connect(d.imap_addr());
    let greeting = c.read_line();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let (_, ok) = c.imap("a", &format!("LOGIN {READER} {}", d.password));
    assert!(ok.starts_with("a OK"), "{ok}");
    let (untagged, ok) = c.imap("b", "EXAMINE INBOX");
    assert!(ok.starts_with("b OK"), "{ok}");
    assert!(
        untagged.contains(&format!("* {} EXISTS", msgs.len())),
        "{untagged:?}"
    );
    assert!(
        untagged.contains(&format!(
            "* OK [UIDVALIDITY {INBOX_UIDVALIDITY}] UIDs valid"
        )),
        "{untagged:?}"
    );
    let (untagged, ok) = c.imap("c", "GETQUOTAROOT INBOX");
    assert!(ok.starts_with("c OK"), "{ok}");
    assert!(
        untagged.iter().any(|l| l.starts_with("* QUOTA ")),
        "{untagged:?}"
    );
    let (untagged, ok) = c.imap("d", "LIST \"\" \"*\"");
    assert!(ok.starts_with("d OK"), "{ok}");
    for name in [
        "Archive/2024",
        "Entw&APw-rfe",
        "&ZeVnLIqe-",
        "Work/Projects",
    ] {
        assert!(
            untagged.iter().any(|l| l.ends_with(&format!(" {name}"))),
            "{name}: {untagged:?}"
        );
    }
    c.imap("e", "LOGOUT");
}

/// Dovecot waits ~10 s for the session lock before it answers [IN-USE].
#[test]
fn second_pop3_login_is_refused_in_use() {
    let d = dovecot();
    let login = |c: &mut LineConn| {
        c.read_line();
        c.cmd("USER t30");
        c.cmd(&format!("PASS {}", d.password))
    };
    let mut first = LineConn::connect(d.pop3_addr());
    assert!(login(&mut first).starts_with("+OK"));
    let mut second = LineConn::connect(d.pop3_addr());
    let refused = login(&mut second);
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");
    first.cmd("QUIT");
}
