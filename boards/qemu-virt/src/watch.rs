//! Push on the firmware: after the polls, watch a mailbox over plain IMAP
//! (`poll::watch::imap`, IDLE) into its own flash window, until a message
//! delivered while idling is stored. `scripts/qemu-demo` APPENDs that
//! message when it sees `WATCH: idling` and checks that `WATCH: pushed`
//! follows within 5 s.
//!
//! The async watch (`poll::asynch::watch::imap`) over the async side of
//! the stream, driven by `block_on`: every wait of the watch (IDLE, the
//! answers to DONE and NOOP) is bounded by its timer, `mtime`; every read
//! and write besides is bounded by [`IO_BOUND_MS`] through
//! `poll::timeout::WithTimeout`, so a server that stops answering mid-poll
//! ends the watch with `TimedOut` instead of holding the firmware.

use crate::net::Net;
use crate::{at, board, progress, Store};
use embedded_mail::poll::asynch::watch::{self, Timer};
use embedded_mail::poll::timeout::WithTimeout;
use embedded_mail::poll::watch::{Next, WatchPolicy};
use embedded_mail::poll::{Oversize, Policy, SyncState};
use embedded_mail::store::block_on;

/// Bound on each read and write: above the watch's own waits (IDLE is
/// renewed after 10 s), so only a server that stopped answering meets it.
const IO_BOUND_MS: u64 = 15_000;
/// Give up when no push came this long after IDLE began (the script
/// delivers within a second of `WATCH: idling`).
const PUSH_WITHIN_MS: u64 = 30_000;

/// `mtime` as the watch's timer (a spinning executor: the sleep is ready
/// once the time has come).
#[derive(Clone, Copy)]
struct Mtime;

impl Timer for Mtime {
    fn now_ms(&self) -> u64 {
        board::millis()
    }
    async fn sleep_until(&mut self, at: u64) {
        core::future::poll_fn(|cx| {
            if board::millis() >= at {
                core::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                core::task::Poll::Pending
            }
        })
        .await
    }
}

/// Watches `mailbox` of `user` at `port` (plain IMAP) into `store`. Returns
/// the push latency: from IDLE's start to the pushed message's commit.
pub fn watch(
    net: &mut Net,
    port: u16,
    user: &str,
    password: &str,
    store: &mut Store<'_>,
    bufs: (&mut [u8], &mut [u8]),
) -> Result<u64, &'static str> {
    let (rx, tx) = bufs;
    let stream = net
        .connect(crate::SERVER, port)
        .map_err(at("connect IMAP (watch)"))?;
    let stream = WithTimeout::new(stream, Mtime, IO_BOUND_MS);
    block_on(watch_on(stream, user, password, store, (rx, tx)))
}

async fn watch_on(
    stream: WithTimeout<crate::net::TcpStream<'_>, Mtime>,
    user: &str,
    password: &str,
    store: &mut Store<'_>,
    (rx, tx): (&mut [u8], &mut [u8]),
) -> Result<u64, &'static str> {
    let mut c = embedded_mail::imap::asynch::Client::connect(stream, rx, tx)
        .await
        .map_err(at("IMAP greeting (watch)"))?;
    c.login(user, password)
        .await
        .map_err(at("IMAP login (watch)"))?;
    let mut state = SyncState::<{ crate::SEEN }>::new();
    // The seeded 5 MiB message stays on the server.
    let policy = Policy {
        max_size: Some(1 << 20),
        oversize: Oversize::Skip,
        ..Policy::default()
    };
    let settings = WatchPolicy {
        renew_after_ms: 10_000,
        check_after_ms: 20_000,
        answer_within_ms: 5_000,
        ..WatchPolicy::default()
    };
    let mut idling_since: Option<u64> = None;
    let mut pushed: Option<u64> = None;
    let mut failed = None;
    let r = watch::imap(
        &mut c,
        "INBOX",
        &mut store.0,
        &mut state,
        &policy,
        &settings,
        &mut Mtime,
        progress("watch"),
        |s| {
            let now = board::millis();
            if let Some(since) = idling_since {
                if s.stored > 0 {
                    pushed = Some(now - since);
                    println!(
                        "WATCH: pushed message stored ({} bytes), {} ms after IDLE began",
                        s.bytes,
                        now - since
                    );
                    return Next::Stop;
                }
                if now - since > PUSH_WITHIN_MS {
                    failed = Some("no push within 30 s");
                    return Next::Stop;
                }
            } else if s.new == 0 {
                // Nothing more to fetch: the watch goes to IDLE now.
                idling_since = Some(now);
                println!("WATCH: idling");
            } else {
                println!("watch: first poll stored {} of {} new", s.stored, s.new);
            }
            Next::Continue
        },
    )
    .await;
    r.map_err(at("watch"))?;
    if let Some(why) = failed {
        println!("error: watch: {}", why);
        return Err(why);
    }
    let tcp = c.logout().await.map_err(at("IMAP LOGOUT (watch)"))?;
    tcp.into_parts().0.close();
    pushed.ok_or("watch ended without a push")
}
