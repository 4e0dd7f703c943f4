//! Push on the firmware: after the polls, watch a mailbox over plain IMAP
//! (`poll::watch::imap`, IDLE) into its own flash window, until a message
//! delivered while idling is stored. `scripts/qemu-demo` APPENDs that
//! message when it sees `WATCH: idling` and checks that `WATCH: pushed`
//! follows within 5 s.
//!
//! The blocking watch needs a read timeout (its tick) and a clock: the
//! stream's reads time out after [`TICK_MS`], the clock is `mtime`.

use crate::net::Net;
use crate::{at, board, progress, Store};
use embedded_mail::poll::watch::{self, Clock, Next, WatchPolicy};
use embedded_mail::poll::{Oversize, Policy, SyncState};

/// Read timeout while watching: renewal and liveness are checked this
/// often.
const TICK_MS: u64 = 250;
/// Give up when no push came this long after IDLE began (the script
/// delivers within a second of `WATCH: idling`).
const PUSH_WITHIN_MS: u64 = 30_000;

/// `mtime` as the watch's clock.
struct Mtime;

impl Clock for Mtime {
    fn now_ms(&self) -> u64 {
        board::millis()
    }
    fn sleep_ms(&mut self, ms: u64) {
        let until = board::millis() + ms;
        while board::millis() < until {}
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
    let mut stream = net
        .connect(crate::SERVER, port)
        .map_err(at("connect IMAP (watch)"))?;
    stream.set_read_timeout(TICK_MS);
    let mut c = embedded_mail::imap::Client::connect(stream, rx, tx)
        .map_err(at("IMAP greeting (watch)"))?;
    c.login(user, password).map_err(at("IMAP login (watch)"))?;
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
        store,
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
    );
    r.map_err(at("watch"))?;
    if let Some(why) = failed {
        println!("error: watch: {}", why);
        return Err(why);
    }
    let tcp = c.logout().map_err(at("IMAP LOGOUT (watch)"))?;
    tcp.close();
    pushed.ok_or("watch ended without a push")
}
