//! A first IMAP poll of a big mailbox costs traffic linear in its size,
//! also when UIDs are sparse, and stores every message exactly once.

mod poll_fake;

use embedded_mail::poll::{self, Policy, SyncState};
use embedded_mail::store::memory::MemoryStore;
use poll_fake::{mailbox, Proto, Server, Shared};

type Mem = MemoryStore<65536, 512, 4096>;

/// `n` small messages with UIDs 1, 8, 15, ... and one far beyond them.
fn sparse_mailbox(n: usize) -> Shared {
    let bodies: Vec<Vec<u8>> = (0..=n)
        .map(|i| {
            format!("Message-ID: <{i}@scale>\r\nSubject: {i}\r\n\r\nbody {i}\r\n").into_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
    let mbox = mailbox(&refs);
    {
        let mut mb = mbox.borrow_mut();
        for (i, m) in mb.msgs.iter_mut().enumerate() {
            m.uid = if i == n { 50_000 } else { 1 + 7 * i as u32 };
        }
        mb.next_uid = 50_001;
    }
    mbox
}

/// Polls once, leaving mail on the server; returns (stored, traffic).
fn poll_once(mbox: &Shared, store: &mut Mem) -> (u32, usize) {
    let server = Server::new(mbox.clone(), Proto::Imap, None);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
    let mut state: SyncState<16> = SyncState::new();
    let mut c = embedded_mail::imap::Client::connect(server, &mut rx, &mut tx).unwrap();
    c.login("u", "p").unwrap();
    let summary = poll::imap(
        &mut c,
        "INBOX",
        store,
        &mut state,
        &Policy::default(),
        |_| {},
    )
    .unwrap();
    let server = c.logout().unwrap();
    (summary.stored, server.traffic)
}

#[test]
fn first_poll_is_linear_and_complete_with_sparse_uids() {
    let mut traffic = Vec::new();
    for n in [150usize, 300] {
        let mbox = sparse_mailbox(n);
        let mut store = Box::new(Mem::default());
        let (stored, bytes) = poll_once(&mbox, &mut store);
        assert_eq!(stored as usize, n + 1, "every message stored");
        let mut keys: Vec<_> = store.messages().map(|(k, _)| k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n + 1, "no duplicates");
        // A second poll finds nothing new.
        assert_eq!(poll_once(&mbox, &mut store).0, 0);
        traffic.push(bytes);
    }
    // Twice the messages, about twice the bytes (quadratic would be ~4x).
    let ratio = traffic[1] as f64 / traffic[0] as f64;
    assert!(
        ratio < 2.6,
        "traffic grew {ratio:.2}x for 2x the messages: {traffic:?}"
    );
}
