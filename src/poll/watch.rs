//! Push: poll, then wait for news, then poll again, until the caller
//! says stop.
//!
//! ```text
//! IMAP with IDLE:  poll ─► IDLE ─► * n EXISTS / * n RECENT ─► DONE ─► poll ─► IDLE …
//!                            │ renewal limit  ─► DONE ─► poll ─► IDLE
//!                            │ silent too long ─► DONE + NOOP, each answered in time
//!                            │                    or Error::TimedOut (reconnect)
//! IMAP without IDLE: poll ─► sleep interval ─► NOOP ─► (EXISTS grew?) ─► poll
//! POP3 (no push):    poll ─► sleep interval (doubling while nothing is new) ─► poll
//! ```
//!
//! Every poll is the ordinary one ([`crate::poll::imap`], [`crate::poll::pop3`]),
//! so the rules that keep mail safe hold unchanged: a cut during IDLE or
//! during the poll it triggers leaves every uncommitted message on the
//! server, and the next poll (after the caller reconnects) stores each
//! one exactly once. Other untagged data during IDLE (FETCH flag
//! changes, EXPUNGE, `* OK Still here`) does not wake a poll; it only
//! proves the link alive. Mail delivered during a poll, after its fetch,
//! is announced to that poll and never again: a poll that found new
//! messages, or after which the mailbox holds more than it found
//! ([`Plan::exists_after_poll`]), is followed at once by another (up to
//! [`MAX_REPOLLS`] in a row); every renewal polls too, so an announcement
//! missed all the same costs at most one renewal period.
//!
//! # Time
//!
//! The library has no clock; the caller gives one.
//!
//! - **Blocking** ([`imap`], [`pop3`]): a [`Clock`] (`now_ms`, `sleep_ms`)
//!   and **a transport with a read timeout**. A blocking read cannot be
//!   interrupted, so waits in IDLE are bounded by that timeout: a read
//!   that fails with [`embedded_io::ErrorKind::TimedOut`] is a tick, at
//!   which the [`Plan`] checks renewal and liveness, and the read goes on.
//!   Such a read took no bytes, so the session stays in step (any other
//!   read error closes it). Choose a timeout well under
//!   [`WatchPolicy::answer_within_ms`] (1 s is typical). `std`'s
//!   `TcpStream::set_read_timeout` reports a timeout as `WouldBlock` on
//!   Unix, which `embedded-io` maps to `Other`: wrap the stream in
//!   [`Timeouts`] (feature `std`) to make it `TimedOut`. A TLS layer must
//!   likewise survive a timed-out read without losing bytes; the crate's
//!   `tls` module passes the inner transport's timeout through and
//!   reads on (tested over IMAPS against Dovecot).
//! - **Async** ([`crate::poll::asynch::watch`]): a
//!   [`crate::poll::asynch::watch::Timer`] (`now_ms`, `async
//!   sleep_until`); every wait is a select between the read and the
//!   timer, so no transport timeout is needed. The transport's read must
//!   be cancel-safe (embassy-net's `TcpSocket` is): a read dropped when
//!   the timer fires must lose no bytes.
//!
//! # Cost
//!
//! RAM: the [`Plan`], about 80 bytes; nothing else beyond the poll's own. Round
//! trips per wake: DONE, then the poll (keep mode: 1 more, as the mailbox
//! is selected again with the stream's fetch pipelined), then IDLE.

use super::engine::{self, io::SyncClock};
use super::Summary;
use crate::store::block_on;
#[cfg(feature = "imap")]
use {
    super::engine::io::SyncStore,
    super::{Policy, PollError, Progress, SyncState},
    crate::store::MessageStore,
};

/// Immediate re-polls after a poll that found new messages, before the
/// watch waits again.
pub const MAX_REPOLLS: u8 = 4;

/// The longest renewal limit: RFC 2177 asks clients to end IDLE within 29
/// minutes (servers may log out an idle client after 30).
pub const MAX_RENEW_MS: u32 = 29 * 60 * 1000 - 1;

/// What the caller says after each poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Next {
    /// Wait for news and poll again.
    Continue,
    /// Return now (the IMAP connection is left idle-free and selected).
    Stop,
}

/// How the watch waits. Times are milliseconds of the caller's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WatchPolicy {
    /// IDLE is ended and started again (with a poll between) after this
    /// long. Default 25 minutes; values above [`MAX_RENEW_MS`] are
    /// clamped to it.
    pub renew_after_ms: u32,
    /// A link that carried nothing for this long while idling is checked:
    /// DONE, then NOOP. Default 4 minutes (under the 5 minutes after
    /// which many NAT boxes forget a silent connection).
    pub check_after_ms: u32,
    /// Each answer of the check (and DONE's at any time) must come within
    /// this, or the watch fails with [`crate::Error::TimedOut`]: a dead
    /// link is reported within `check_after_ms + answer_within_ms` (plus
    /// one read timeout, blocking). Default 10 s.
    pub answer_within_ms: u32,
    /// IMAP without IDLE: NOOP every this long. POP3: the first interval
    /// between polls, and the one after a poll that found mail. Default
    /// 60 s.
    pub interval_ms: u32,
    /// POP3: the interval doubles after each poll that found nothing, up
    /// to this. Default 15 minutes.
    pub max_interval_ms: u32,
    /// Stop after this many polls (the first one counts). `None`: only
    /// the callback stops the watch.
    pub max_polls: Option<u32>,
    /// IMAP: wait in IDLE where the server offers it (default). `false`
    /// sends NOOP every [`WatchPolicy::interval_ms`] instead, for servers
    /// whose IDLE misbehaves.
    pub idle: bool,
}

impl Default for WatchPolicy {
    fn default() -> Self {
        WatchPolicy {
            renew_after_ms: 25 * 60 * 1000,
            check_after_ms: 4 * 60 * 1000,
            answer_within_ms: 10_000,
            interval_ms: 60_000,
            max_interval_ms: 15 * 60 * 1000,
            max_polls: None,
            idle: true,
        }
    }
}

/// What one event read while idling means to the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Heard {
    /// `* n EXISTS` or `* n RECENT` (n > 0): new mail; poll.
    News,
    /// The server ended IDLE itself (a tagged answer): poll.
    Ended,
    /// Anything else (flag changes, EXPUNGE, `* OK Still here`): the link
    /// is alive; keep waiting.
    Other,
}

#[cfg(feature = "imap")]
impl Heard {
    /// Classifies an event read while idling.
    pub fn of<B>(event: &crate::imap::GenericEvent<B>) -> Heard {
        use crate::imap::GenericEvent as E;
        match event {
            E::Exists(_) => Heard::News,
            E::Recent(n) if *n > 0 => Heard::News,
            E::Done { .. } | E::Refused { .. } => Heard::Ended,
            _ => Heard::Other,
        }
    }
}

/// What the watch does next while idling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Wake {
    /// Keep waiting, until [`Plan::deadline`].
    Keep,
    /// News: DONE, then poll.
    Poll,
    /// The server ended IDLE: poll (no DONE).
    Ended,
    /// The renewal limit is reached: DONE, poll, IDLE again.
    Renew,
    /// The link was silent too long: DONE and NOOP, each answered within
    /// [`WatchPolicy::answer_within_ms`].
    Check,
}

/// What follows a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AfterPoll {
    /// Return: the caller said stop, or [`WatchPolicy::max_polls`].
    Stop,
    /// Poll again at once (the poll found new messages).
    Again,
    /// Wait for news.
    Wait,
}

/// The watch's decisions, without I/O: when to poll again, how long to
/// wait, when to renew IDLE and when to check a silent link. Times are
/// the caller's clock in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    policy: WatchPolicy,
    polls: u32,
    repolls: u8,
    idle_since: u64,
    heard_at: u64,
    interval: u32,
    exists: Option<u32>,
    late: bool,
}

impl Plan {
    /// A plan for one watch.
    pub fn new(mut policy: WatchPolicy) -> Self {
        policy.renew_after_ms = policy.renew_after_ms.min(MAX_RENEW_MS);
        policy.max_interval_ms = policy.max_interval_ms.max(policy.interval_ms);
        Plan {
            policy,
            polls: 0,
            repolls: 0,
            idle_since: 0,
            heard_at: 0,
            interval: policy.interval_ms,
            exists: None,
            late: false,
        }
    }

    /// Polls done so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// The policy in force (the renewal limit clamped).
    pub fn policy(&self) -> &WatchPolicy {
        &self.policy
    }

    /// IMAP: the mailbox's message count (`EXISTS`, less `EXPUNGE`s) as
    /// a poll that found `new` messages ended. More arrivals since the end
    /// of the previous poll than the poll found means mail came in after
    /// the poll's fetch: the server announced it to the poll and will not
    /// again in IDLE, so the next [`Plan::polled`] polls again.
    pub fn exists_after_poll(&mut self, exists: u32, new: u32) {
        self.late = self
            .exists
            .is_some_and(|before| exists.saturating_sub(before) > new);
        self.exists = Some(exists);
    }

    /// A poll ended with `summary`; the caller said `next`.
    pub fn polled(&mut self, summary: &Summary, next: Next) -> AfterPoll {
        self.polls = self.polls.saturating_add(1);
        let found = summary.new > 0 || core::mem::take(&mut self.late);
        self.interval = if found {
            self.policy.interval_ms
        } else {
            self.interval
                .saturating_mul(2)
                .min(self.policy.max_interval_ms)
        };
        if next == Next::Stop || self.policy.max_polls.is_some_and(|m| self.polls >= m) {
            return AfterPoll::Stop;
        }
        if found && self.repolls < MAX_REPOLLS {
            self.repolls += 1;
            return AfterPoll::Again;
        }
        self.repolls = 0;
        AfterPoll::Wait
    }

    /// IDLE started (the server confirmed it) at `now`.
    pub fn idling(&mut self, now: u64) {
        self.idle_since = now;
        self.heard_at = now;
    }

    /// Until when to wait for the next event: the renewal limit or the
    /// end of the silence allowed, whichever comes first.
    pub fn deadline(&self) -> u64 {
        let renew = self
            .idle_since
            .saturating_add(u64::from(self.policy.renew_after_ms));
        let check = self
            .heard_at
            .saturating_add(u64::from(self.policy.check_after_ms));
        renew.min(check)
    }

    /// An event was read at `now`.
    pub fn heard(&mut self, heard: Heard, now: u64) -> Wake {
        self.heard_at = now;
        match heard {
            Heard::News => Wake::Poll,
            Heard::Ended => Wake::Ended,
            Heard::Other => self.tick(now),
        }
    }

    /// The wait ended without an event at `now` (a read timeout or the
    /// timer).
    pub fn tick(&self, now: u64) -> Wake {
        if now
            >= self
                .idle_since
                .saturating_add(u64::from(self.policy.renew_after_ms))
        {
            Wake::Renew
        } else if now
            >= self
                .heard_at
                .saturating_add(u64::from(self.policy.check_after_ms))
        {
            Wake::Check
        } else {
            Wake::Keep
        }
    }

    /// When an answer asked for at `now` must have come.
    pub fn answer_by(&self, now: u64) -> u64 {
        now.saturating_add(u64::from(self.policy.answer_within_ms))
    }

    /// IMAP without IDLE: when to send the next NOOP.
    pub fn noop_at(&self, now: u64) -> u64 {
        now.saturating_add(u64::from(self.policy.interval_ms))
    }

    /// POP3: when to poll next (the interval doubles while polls find
    /// nothing, up to [`WatchPolicy::max_interval_ms`]).
    pub fn poll_at(&self, now: u64) -> u64 {
        now.saturating_add(u64::from(self.interval))
    }
}

/// The caller's clock for the blocking watch.
pub trait Clock {
    /// Milliseconds since any fixed point; never goes back.
    fn now_ms(&self) -> u64;
    /// Blocks for `ms` milliseconds (between POP3 polls, between NOOPs).
    fn sleep_ms(&mut self, ms: u64);
}

/// [`Clock`] over `std::time::Instant` and `std::thread::sleep`.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock(std::time::Instant);

#[cfg(feature = "std")]
impl StdClock {
    /// A clock counting from now.
    pub fn new() -> Self {
        StdClock(std::time::Instant::now())
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(core::time::Duration::from_millis(ms));
    }
}

/// A `std` stream as an `embedded-io` transport whose read timeouts are
/// [`embedded_io::ErrorKind::TimedOut`] (`std` reports them as
/// `WouldBlock` on Unix, which `embedded-io` maps to `Other`). Set the
/// timeout on the stream first (`TcpStream::set_read_timeout`).
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct Timeouts<S>(pub S);

#[cfg(feature = "std")]
impl<S> embedded_io::ErrorType for Timeouts<S> {
    type Error = std::io::Error;
}

#[cfg(feature = "std")]
impl<S: std::io::Read> embedded_io::Read for Timeouts<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return Err(std::io::ErrorKind::TimedOut.into())
                }
                other => return other,
            }
        }
    }
}

#[cfg(feature = "std")]
impl<S: std::io::Write> embedded_io::Write for Timeouts<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> Result<(), std::io::Error> {
        self.0.flush()
    }
}

/// Watches one IMAP mailbox: polls it (as [`crate::poll::imap`] with
/// `policy`), calls `on_poll` with the poll's summary, then waits for
/// news per `watch` and polls again, until `on_poll` returns
/// [`Next::Stop`] or [`WatchPolicy::max_polls`] polls are done. Returns
/// the number of polls.
///
/// `client` is logged in; its transport must have a read timeout that
/// reports [`embedded_io::ErrorKind::TimedOut`] (see [the module
/// docs](self)), or a silent server blocks the watch for ever. On any
/// error the connection is spent (IDLE may be running): reconnect and
/// call `imap` again; nothing is lost or stored twice.
/// [`crate::Error::TimedOut`] means the link failed its liveness check.
///
/// Per wake: DONE, the poll, IDLE (3 round trips in keep mode).
#[cfg(feature = "imap")]
#[allow(clippy::too_many_arguments)] // the poll's five, plus the watch's three
pub fn imap<T, S, K, const N: usize>(
    client: &mut crate::imap::Client<'_, T>,
    mailbox: &str,
    store: &mut S,
    state: &mut SyncState<N>,
    policy: &Policy<'_>,
    watch: &WatchPolicy,
    clock: &mut K,
    mut progress: impl FnMut(Progress),
    mut on_poll: impl FnMut(&Summary) -> Next,
) -> Result<u32, PollError<T::Error, S::Error>>
where
    T: embedded_io::Read + embedded_io::Write,
    S: MessageStore,
    K: Clock,
{
    let mut store = SyncStore(store);
    block_on(engine::watch::imap(
        client,
        &mut SyncClock(clock),
        watch,
        async |c: &mut crate::imap::Client<'_, T>| {
            engine::imap::run(c, mailbox, &mut store, state, policy, &mut progress).await
        },
        &mut on_poll,
    ))
}

/// Watches a POP3 maildrop, which has no push: `poll` runs one whole
/// session (connect, log in, [`crate::poll::pop3`], which ends with
/// QUIT; a POP3 session sees the maildrop as it was at login), then the
/// watch sleeps on `clock` for [`WatchPolicy::interval_ms`], doubling
/// while polls find nothing up to [`WatchPolicy::max_interval_ms`], until
/// `on_poll` returns [`Next::Stop`] or [`WatchPolicy::max_polls`]. An
/// error of `poll` ends the watch (the caller decides whether to retry).
/// Returns the number of polls.
pub fn pop3<K: Clock, E>(
    watch: &WatchPolicy,
    clock: &mut K,
    mut poll: impl FnMut() -> Result<Summary, E>,
    mut on_poll: impl FnMut(&Summary) -> Next,
) -> Result<u32, E> {
    block_on(engine::watch::interval(
        &mut SyncClock(clock),
        watch,
        async || poll(),
        &mut on_poll,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(new: u32) -> Summary {
        Summary {
            new,
            stored: new,
            ..Summary::default()
        }
    }

    fn policy() -> WatchPolicy {
        WatchPolicy {
            renew_after_ms: 1000,
            check_after_ms: 300,
            answer_within_ms: 100,
            interval_ms: 50,
            max_interval_ms: 400,
            max_polls: None,
            idle: true,
        }
    }

    #[test]
    fn renewal_is_clamped_under_29_minutes() {
        let p = Plan::new(WatchPolicy {
            renew_after_ms: 60 * 60 * 1000,
            ..WatchPolicy::default()
        });
        assert_eq!(p.policy().renew_after_ms, MAX_RENEW_MS);
        assert!(p.policy().renew_after_ms < 29 * 60 * 1000);
        assert_eq!(WatchPolicy::default().renew_after_ms, 25 * 60 * 1000);
    }

    #[test]
    fn news_polls_and_other_data_does_not() {
        let mut p = Plan::new(policy());
        p.idling(10_000);
        assert_eq!(p.heard(Heard::Other, 10_100), Wake::Keep);
        assert_eq!(p.heard(Heard::Other, 10_200), Wake::Keep);
        assert_eq!(p.heard(Heard::News, 10_250), Wake::Poll);
        assert_eq!(p.heard(Heard::Ended, 10_260), Wake::Ended);
    }

    #[test]
    fn other_data_delays_the_check_but_not_the_renewal() {
        let mut p = Plan::new(policy());
        p.idling(0);
        assert_eq!(p.deadline(), 300);
        assert_eq!(p.tick(299), Wake::Keep);
        assert_eq!(p.tick(300), Wake::Check);
        // Data every 250 ms keeps the link proven ...
        for t in (250..1000).step_by(250) {
            assert_eq!(p.heard(Heard::Other, t), Wake::Keep, "at {t}");
            assert_eq!(p.deadline(), (t + 300).min(1000));
        }
        // ... but IDLE is renewed on time all the same.
        assert_eq!(p.tick(999), Wake::Keep);
        assert_eq!(p.tick(1000), Wake::Renew);
        assert_eq!(p.heard(Heard::Other, 1000), Wake::Renew);
        // A new IDLE starts a new period.
        p.idling(1000);
        assert_eq!(p.tick(1200), Wake::Keep);
        assert_eq!(p.answer_by(1200), 1300);
    }

    #[test]
    fn deadlines_never_pass_the_events_they_bound() {
        // Random event times: the deadline is always the earliest of the
        // renewal and the check, and tick() agrees with it.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut p = Plan::new(policy());
            let start = x % 100_000;
            p.idling(start);
            let mut now = start;
            loop {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                now += x % 400;
                let d = p.deadline();
                assert!(d <= start + 1000 && d > start);
                if now < d {
                    assert_eq!(p.tick(now), Wake::Keep);
                    assert_eq!(p.heard(Heard::Other, now), Wake::Keep);
                } else {
                    let w = p.tick(now);
                    assert!(w == Wake::Renew || w == Wake::Check);
                    assert_eq!(w == Wake::Renew, now >= start + 1000);
                    break;
                }
            }
        }
    }

    #[test]
    fn polls_repeat_while_new_mail_then_wait_or_stop() {
        let mut p = Plan::new(policy());
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Wait);
        for _ in 0..MAX_REPOLLS {
            assert_eq!(p.polled(&summary(3), Next::Continue), AfterPoll::Again);
        }
        // Bounded: a mailbox that always looks new still lets the watch wait.
        assert_eq!(p.polled(&summary(3), Next::Continue), AfterPoll::Wait);
        assert_eq!(p.polled(&summary(1), Next::Continue), AfterPoll::Again);
        assert_eq!(p.polled(&summary(1), Next::Stop), AfterPoll::Stop);
        assert_eq!(p.polls(), MAX_REPOLLS as u32 + 4);
        let mut p = Plan::new(WatchPolicy {
            max_polls: Some(2),
            ..policy()
        });
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Wait);
        assert_eq!(p.polled(&summary(5), Next::Continue), AfterPoll::Stop);
    }

    #[test]
    fn mail_arriving_after_the_fetch_polls_again() {
        let mut p = Plan::new(policy());
        // First poll: nothing to compare with.
        p.exists_after_poll(7, 7);
        assert_eq!(p.polled(&summary(7), Next::Continue), AfterPoll::Again);
        // Quiet re-poll, the count unchanged: wait.
        p.exists_after_poll(7, 0);
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Wait);
        // IDLE woke a poll that found 1, but 2 arrived: poll again.
        p.exists_after_poll(9, 1);
        assert_eq!(p.polled(&summary(1), Next::Continue), AfterPoll::Again);
        // A quiet poll during which one arrived after the fetch.
        p.exists_after_poll(10, 0);
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Again);
        p.exists_after_poll(10, 1);
        assert_eq!(p.polled(&summary(1), Next::Continue), AfterPoll::Again);
        p.exists_after_poll(10, 0);
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Wait);
        // Expunges only lower the count.
        p.exists_after_poll(4, 0);
        assert_eq!(p.polled(&summary(0), Next::Continue), AfterPoll::Wait);
    }

    #[test]
    fn pop3_interval_backs_off_and_resets() {
        let mut p = Plan::new(policy());
        let mut gaps = [0; 5];
        for g in gaps.iter_mut() {
            p.polled(&summary(0), Next::Continue);
            *g = p.poll_at(1000) - 1000;
        }
        assert_eq!(gaps, [100, 200, 400, 400, 400]);
        assert_eq!(p.polled(&summary(2), Next::Continue), AfterPoll::Again);
        assert_eq!(p.poll_at(0), 50);
        assert_eq!(p.noop_at(7), 57);
    }

    #[cfg(feature = "imap")]
    #[test]
    fn heard_of_events() {
        use crate::imap::GenericEvent as E;
        assert_eq!(Heard::of::<&[u8]>(&E::Exists(8)), Heard::News);
        assert_eq!(Heard::of::<&[u8]>(&E::Recent(1)), Heard::News);
        assert_eq!(Heard::of::<&[u8]>(&E::Recent(0)), Heard::Other);
        assert_eq!(Heard::of::<&[u8]>(&E::Expunge(3)), Heard::Other);
    }
}
