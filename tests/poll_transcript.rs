//! The IMAP poll against servers that behave as real ones do, scripted
//! byte for byte (every read split at every point): one message's FETCH
//! data split over two responses, a UID that is gone when its body is
//! asked for, a listing refused part way, a message another client has
//! flagged `\Deleted`.

mod script;

use embedded_mail::imap::Client;
use embedded_mail::poll::{self, Policy, Summary, SyncState};
use embedded_mail::store::memory::MemoryStore;
use script::{transcript, Script, Turn};

type Mem = MemoryStore<8192, 16, 1024>;

const LISTING: &str = "A0003 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n";
const BODY7: &str = "Message-ID: <seven@example>\r\n\r\nseven\r\n";
const BODY8: &str = "Message-ID: <eight@example>\r\n\r\neight\r\n";

fn head(id: &str) -> String {
    let h = format!("Message-ID: <{id}@example>\r\n\r\n");
    format!("{{{}}}\r\n{h}", h.len())
}

fn body_fetch(tag: &str, uid: u32) -> String {
    format!("{tag} UID FETCH {uid} (UID BODY.PEEK[])\r\n")
}

fn body_answer(seq: u32, uid: u32, body: &str, tag: &str) -> String {
    format!(
        "* {seq} FETCH (UID {uid} BODY[] {{{}}}\r\n{body})\r\n{tag} OK done\r\n",
        body.len()
    )
}

/// Greeting, login, EXAMINE of a mailbox with UIDs 7 and 8.
fn opening(rest: &[(String, String)]) -> Vec<Turn> {
    let mut pairs: Vec<(String, String)> = vec![
        ("".into(), "* OK [CAPABILITY IMAP4rev1] ready\r\n".into()),
        (
            "A0001 LOGIN u p\r\n".into(),
            "A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n".into(),
        ),
        (
            "A0002 EXAMINE \"INBOX\"\r\n".into(),
            "* 2 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 9] n\r\nA0002 OK [READ-ONLY] done\r\n"
                .into(),
        ),
    ];
    pairs.extend_from_slice(rest);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    transcript(&refs)
}

/// A size limit makes the poll list before it fetches (batch mode); the
/// streaming pass is used only without limits or caps.
fn batch_policy() -> Policy<'static> {
    Policy {
        max_size: Some(1 << 30),
        ..Policy::default()
    }
}

/// Runs a keep-mode poll in batch mode over `t` with every split of the
/// server bytes; returns the last run's summary and stored bodies.
fn run(make: impl Fn() -> Vec<Turn>) -> (Summary, Vec<Vec<u8>>) {
    run_with(&batch_policy(), make)
}

fn run_with(policy: &Policy<'_>, make: impl Fn() -> Vec<Turn>) -> (Summary, Vec<Vec<u8>>) {
    let total = script::server_len(&make());
    let mut last = None;
    for split in (0..=total).step_by(7) {
        for chunk in [1, 5, 4096] {
            let script = Script::new(make(), chunk, split);
            let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
            let mut c = Client::connect(script, &mut rx, &mut tx).unwrap();
            c.login("u", "p").unwrap();
            let mut store = Mem::new();
            let mut state: SyncState<16> = SyncState::new();
            let summary = poll::imap(&mut c, "INBOX", &mut store, &mut state, policy, |_| {})
                .unwrap_or_else(|e| panic!("split {split} chunk {chunk}: {e}"));
            let mut bodies: Vec<Vec<u8>> = store.messages().map(|(_, b)| b.to_vec()).collect();
            bodies.sort();
            last = Some((summary, bodies));
        }
    }
    last.unwrap()
}

#[test]
fn fetch_data_split_over_two_responses_is_one_message() {
    let make = || {
        opening(&[
            (
                LISTING.into(),
                format!(
                    "* 1 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {})\r\n\
                     * 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {} UID 7)\r\n\
                     * 2 FETCH (UID 8 FLAGS () INTERNALDATE \"01-Dec-2026 10:01:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     A0003 OK done\r\n",
                    BODY7.len(),
                    head("seven"),
                    BODY8.len(),
                    head("eight"),
                ),
            ),
            // Both bodies in one request; the server answers 8 first, and
            // 7 with its UID after the body (matched by sequence number).
            (
                "A0004 UID FETCH 7:8 (UID BODY.PEEK[])\r\n".into(),
                format!(
                    "* 2 FETCH (UID 8 BODY[] {{{}}}\r\n{BODY8})\r\n* 1 FETCH (BODY[] {{{}}}\r\n{BODY7} UID 7)\r\nA0004 OK done\r\n",
                    BODY8.len(),
                    BODY7.len()
                ),
            ),
        ])
    };
    let (summary, bodies) = run(make);
    assert_eq!(summary.new, 2, "message 7 is listed once");
    assert_eq!(summary.stored, 2);
    assert_eq!(
        bodies,
        vec![BODY8.as_bytes().to_vec(), BODY7.as_bytes().to_vec()]
    );
}

#[test]
fn a_uid_gone_before_its_body_is_fetched_is_not_stored_as_an_empty_message() {
    let make = || {
        opening(&[
            (
                LISTING.into(),
                format!(
                    "* 1 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     * 2 FETCH (UID 8 FLAGS () INTERNALDATE \"01-Dec-2026 10:01:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     A0003 OK done\r\n",
                    BODY7.len(),
                    head("seven"),
                    BODY8.len(),
                    head("eight"),
                ),
            ),
            // Another client expunged 7: no FETCH data for it, and 8 is
            // now sequence number 1 (its body comes before its UID).
            (
                "A0004 UID FETCH 7:8 (UID BODY.PEEK[])\r\n".into(),
                format!(
                    "* 1 EXPUNGE\r\n* 1 FETCH (BODY[] {{{}}}\r\n{BODY8} UID 8)\r\nA0004 OK done\r\n",
                    BODY8.len()
                ),
            ),
        ])
    };
    let (summary, bodies) = run(make);
    assert_eq!(summary.gone, 1);
    assert_eq!(summary.stored, 1);
    assert_eq!(bodies, vec![BODY8.as_bytes().to_vec()], "no 0-byte message");
}

#[test]
fn a_listing_refused_part_way_keeps_what_it_listed() {
    let make = || {
        opening(&[
            (
                LISTING.into(),
                format!(
                    "* 1 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     A0003 NO [UNAVAILABLE] try later\r\n",
                    BODY7.len(),
                    head("seven"),
                ),
            ),
            (body_fetch("A0004", 7), body_answer(1, 7, BODY7, "A0004")),
        ])
    };
    let (summary, bodies) = run(make);
    assert_eq!(summary.stored, 1);
    assert!(summary.listing_refused.is_some(), "the refusal is reported");
    assert_eq!(bodies, vec![BODY7.as_bytes().to_vec()]);
}

#[test]
fn a_message_flagged_deleted_by_another_client_is_not_fetched_in_leave_mode() {
    let make = || {
        opening(&[
            (
                LISTING.into(),
                format!(
                    "* 1 FETCH (UID 7 FLAGS (\\Seen \\Deleted) INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     * 2 FETCH (UID 8 FLAGS () INTERNALDATE \"01-Dec-2026 10:01:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     A0003 OK done\r\n",
                    BODY7.len(),
                    head("seven"),
                    BODY8.len(),
                    head("eight"),
                ),
            ),
            (body_fetch("A0004", 8), body_answer(2, 8, BODY8, "A0004")),
        ])
    };
    let (summary, bodies) = run(make);
    assert_eq!((summary.stored, summary.skipped), (1, 1));
    assert_eq!(bodies, vec![BODY8.as_bytes().to_vec()]);
}

const STREAM: &str = "A0003 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[])\r\n";

fn streamed(seq: u32, uid: u32, flags: &str, id: &str, body: &str) -> String {
    format!(
        "* {seq} FETCH (UID {uid} FLAGS ({flags}) INTERNALDATE \"01-Dec-2026 10:00:0{seq} +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {} BODY[] {{{}}}\r\n{body})\r\n",
        body.len(),
        head(id),
        body.len()
    )
}

#[test]
fn without_limits_every_new_message_comes_in_one_request() {
    let make = || {
        opening(&[(
            STREAM.into(),
            format!(
                "{}{}A0003 OK done\r\n",
                streamed(1, 7, "", "seven", BODY7),
                streamed(2, 8, "\\Seen", "eight", BODY8)
            ),
        )])
    };
    let (summary, bodies) = run_with(&Policy::default(), make);
    assert_eq!((summary.new, summary.stored), (2, 2));
    assert_eq!(
        bodies,
        vec![BODY8.as_bytes().to_vec(), BODY7.as_bytes().to_vec()]
    );
}

#[test]
fn a_server_that_sends_the_body_before_the_uid_is_polled_in_batches_instead() {
    // The stream's response carries BODY[] before its UID and size: the
    // message cannot be keyed there, so the batch pass lists and fetches it.
    let make = || {
        opening(&[
            (
                STREAM.into(),
                format!(
                    "* 1 FETCH (BODY[] {{{}}}\r\n{BODY7} BODY[HEADER.FIELDS (MESSAGE-ID)] {} UID 7 RFC822.SIZE {} FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\")\r\nA0003 OK done\r\n",
                    BODY7.len(),
                    head("seven"),
                    BODY7.len()
                ),
            ),
            (
                LISTING.replace("A0003", "A0004"),
                format!(
                    "* 1 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\nA0004 OK done\r\n",
                    BODY7.len(),
                    head("seven")
                ),
            ),
            (body_fetch("A0005", 7), body_answer(1, 7, BODY7, "A0005")),
        ])
    };
    let (summary, bodies) = run_with(&Policy::default(), make);
    assert_eq!(summary.stored, 1);
    assert_eq!(bodies, vec![BODY7.as_bytes().to_vec()]);
}

#[test]
fn a_refused_stream_keeps_what_it_stored_and_says_so() {
    let make = || {
        opening(&[(
            STREAM.into(),
            format!(
                "{}A0003 NO [UNAVAILABLE] try later\r\n",
                streamed(1, 7, "", "seven", BODY7)
            ),
        )])
    };
    let (summary, bodies) = run_with(&Policy::default(), make);
    assert_eq!(summary.stored, 1);
    assert!(summary.listing_refused.is_some());
    assert_eq!(bodies, vec![BODY7.as_bytes().to_vec()]);
}

#[test]
fn a_streamed_message_flagged_deleted_is_not_stored_in_leave_mode() {
    let make = || {
        opening(&[(
            STREAM.into(),
            format!(
                "{}{}A0003 OK done\r\n",
                streamed(1, 7, "\\Deleted", "seven", BODY7),
                streamed(2, 8, "", "eight", BODY8)
            ),
        )])
    };
    let (summary, bodies) = run_with(&Policy::default(), make);
    assert_eq!((summary.stored, summary.skipped), (1, 1));
    assert_eq!(bodies, vec![BODY8.as_bytes().to_vec()]);
}

/// A poll after an earlier one (cursor at UID 5 of UIDVALIDITY 41) sends
/// the stream's request with the EXAMINE; the server's new UIDVALIDITY
/// (42) makes that request's answer another UID space's: it is read and
/// dropped, and the mailbox is rescanned in batches, each message stored
/// once.
#[test]
fn a_stream_sent_with_examine_is_dropped_when_uidvalidity_changed() {
    use embedded_mail::poll::ImapCursor;
    use embedded_mail::store::{key_of, MessageStore};
    let make = || {
        opening(&[
            (
                STREAM.replace("1:*", "6:*"),
                format!(
                    "{}{}A0003 OK done\r\n",
                    streamed(1, 7, "", "seven", BODY7),
                    streamed(2, 8, "", "eight", BODY8)
                ),
            ),
            (
                LISTING.replace("A0003", "A0004"),
                format!(
                    "* 1 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     * 2 FETCH (UID 8 FLAGS () INTERNALDATE \"01-Dec-2026 10:01:00 +0000\" RFC822.SIZE {} BODY[HEADER.FIELDS (MESSAGE-ID)] {})\r\n\
                     A0004 OK done\r\n",
                    BODY7.len(),
                    head("seven"),
                    BODY8.len(),
                    head("eight"),
                ),
            ),
            (
                "A0005 UID FETCH 7:8 (UID BODY.PEEK[])\r\n".into(),
                format!(
                    "* 1 FETCH (UID 7 BODY[] {{{}}}\r\n{BODY7})\r\n* 2 FETCH (UID 8 BODY[] {{{}}}\r\n{BODY8})\r\nA0005 OK done\r\n",
                    BODY7.len(),
                    BODY8.len()
                ),
            ),
        ])
    };
    let total = script::server_len(&make());
    for split in (0..=total).step_by(11) {
        for chunk in [1, 7, 4096] {
            let script = Script::new(make(), chunk, split);
            let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
            let mut c = Client::connect(script, &mut rx, &mut tx).unwrap();
            c.login("u", "p").unwrap();
            let mut store = Mem::new();
            let mut state: SyncState<16> = SyncState::new();
            state.set_cursor(ImapCursor {
                mailbox: key_of(&[b"INBOX"]),
                uid_validity: 41,
                last_uid: 5,
            });
            // Something stored before, so the rescan goes by batches.
            state.insert(key_of(&[b"older"]), 0, false).unwrap();
            store.save_state(&state).unwrap();
            let summary = poll::imap(
                &mut c,
                "INBOX",
                &mut store,
                &mut state,
                &Policy::default(),
                |_| {},
            )
            .unwrap_or_else(|e| panic!("split {split} chunk {chunk}: {e}"));
            assert_eq!(
                (summary.new, summary.stored),
                (2, 2),
                "split {split} chunk {chunk}"
            );
            let mut bodies: Vec<Vec<u8>> = store.messages().map(|(_, b)| b.to_vec()).collect();
            bodies.sort();
            assert_eq!(
                bodies,
                vec![BODY8.as_bytes().to_vec(), BODY7.as_bytes().to_vec()]
            );
            assert_eq!(
                state.cursor().map(|c| (c.uid_validity, c.last_uid)),
                Some((42, 8))
            );
        }
    }
}

/// A refused EXAMINE fails the poll with its refusal; the pipelined
/// request's answer (BAD: no mailbox) is read first, nothing is stored.
#[test]
fn a_refused_examine_reads_the_pipelined_request_and_fails() {
    let make = || {
        let refs = [
            ("", "* OK [CAPABILITY IMAP4rev1] ready\r\n"),
            (
                "A0001 LOGIN u p\r\n",
                "A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n",
            ),
        ];
        let mut t = transcript(&refs);
        let open = format!("A0002 EXAMINE \"INBOX\"\r\n{STREAM}");
        t.extend(transcript(&[(
            open.as_str(),
            "A0002 NO [NONEXISTENT] no such mailbox\r\nA0003 BAD no mailbox selected\r\n",
        )]));
        t
    };
    let script = Script::new(make(), 4096, 0);
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 256]);
    let mut c = Client::connect(script, &mut rx, &mut tx).unwrap();
    c.login("u", "p").unwrap();
    let mut store = Mem::new();
    let mut state: SyncState<16> = SyncState::new();
    let e = poll::imap(
        &mut c,
        "INBOX",
        &mut store,
        &mut state,
        &Policy::default(),
        |_| {},
    )
    .expect_err("the mailbox does not exist");
    assert!(e.to_string().contains("No [NonExistent]"), "{e}");
    let why = String::from_utf8_lossy(c.last_refusal().text()).into_owned();
    assert!(why.contains("no such mailbox"), "{why}");
    assert_eq!(store.messages().count(), 0);
    assert_eq!(c.session().in_flight(), 0, "both answers were read");
}

/// The poll says who it is (RFC 2971 ID) before EXAMINE when the server
/// offers ID and the policy has an identity; otherwise it sends nothing.
#[test]
fn identity_is_sent_before_examine_when_offered() {
    let policy = Policy {
        identity: Some(("thermostat", "1.2")),
        ..batch_policy()
    };
    let make = || {
        transcript(&[
            ("", "* OK [CAPABILITY IMAP4rev1 ID] ready\r\n"),
            ("A0001 LOGIN u p\r\n", "A0001 OK [CAPABILITY IMAP4rev1 ID UIDPLUS] in\r\n"),
            (
                "A0002 ID (\"name\" \"thermostat\" \"version\" \"1.2\")\r\n",
                "* ID (\"name\" \"Coremail Imap\")\r\nA0002 OK ID completed\r\n",
            ),
            (
                "A0003 EXAMINE \"INBOX\"\r\n",
                "* 0 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 1] n\r\nA0003 OK [READ-ONLY] done\r\n",
            ),
            (&LISTING.replace("A0003", "A0004"), "A0004 OK done\r\n"),
        ])
    };
    let (summary, bodies) = run_with(&policy, make);
    assert_eq!(summary.stored, 0);
    assert!(bodies.is_empty());
    // Without ID offered, the identity is not sent.
    let make = || {
        transcript(&[
            ("", "* OK [CAPABILITY IMAP4rev1] ready\r\n"),
            ("A0001 LOGIN u p\r\n", "A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"),
            (
                "A0002 EXAMINE \"INBOX\"\r\n",
                "* 0 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 1] n\r\nA0002 OK [READ-ONLY] done\r\n",
            ),
            (LISTING, "A0003 OK done\r\n"),
        ])
    };
    run_with(&policy, make);
}
