//! The watch loop, once for the blocking and the async front ends: poll,
//! wait for news (IMAP IDLE, or NOOP at an interval), poll again. Every
//! decision about when to renew, check or poll is the
//! [`crate::poll::watch::Plan`]'s; this file moves its decisions between
//! the client, the timer and the poll.
//!
//! Every wait is `select(operation, timer.sleep_until(deadline))`, the
//! operation polled first. Over a blocking client the operation is ready
//! at once (an event, or a read that timed out, which is a tick), so the
//! blocking timer's sleep is never polled there; over an async client the
//! timer ends the wait.

#[cfg(feature = "imap")]
use super::io::ImapIo as WatchIo;
use super::io::TimerIo;
use crate::poll::watch::{AfterPoll, Next, Plan, WatchPolicy};
use crate::poll::Summary;
#[cfg(any(feature = "imap", feature = "async"))]
use core::{future::Future, pin::pin, task::Poll};
#[cfg(feature = "imap")]
use {crate::error::Error, crate::poll::watch::Wake, crate::poll::PollError};

#[cfg(any(feature = "imap", feature = "async"))]
/// Which of two futures finished first.
pub(crate) enum Either<A, B> {
    First(A),
    Second(B),
}

#[cfg(any(feature = "imap", feature = "async"))]
/// Runs `a` and `b` until one finishes; `a` is polled first, so a ready
/// `a` wins and `b` is never polled.
pub(crate) async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    core::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(v));
        }
        Poll::Pending
    })
    .await
}

#[cfg(feature = "imap")]
/// True for a transport read that timed out (the blocking tick).
fn timed_out<E: embedded_io::Error>(e: &Error<E>) -> bool {
    matches!(e, Error::Transport(t) if t.kind() == embedded_io::ErrorKind::TimedOut)
}

#[cfg(feature = "imap")]
/// Reads to the tagged answer of `tag` by `until`, or fails with
/// [`Error::TimedOut`]. A read timeout before `until` reads on.
async fn answer<C: WatchIo, K: TimerIo>(
    client: &mut C,
    timer: &mut K,
    tag: u32,
    until: u64,
) -> Result<(), Error<C::Error>> {
    loop {
        match select(client.complete(tag), timer.sleep_until(until)).await {
            Either::First(Ok(())) => return Ok(()),
            Either::First(Err(e)) if timed_out(&e) => {
                if timer.now_ms() >= until {
                    return Err(Error::TimedOut);
                }
            }
            Either::First(Err(e)) => return Err(e),
            Either::Second(()) => return Err(Error::TimedOut),
        }
    }
}

#[cfg(feature = "imap")]
/// NOOP, answered by `until`; true when it brought news (EXISTS grew or
/// RECENT is set).
async fn noop<C: WatchIo, K: TimerIo>(
    client: &mut C,
    timer: &mut K,
    until: u64,
) -> Result<bool, Error<C::Error>> {
    let before = client.mailbox().exists;
    let tag = client.noop_submit().await?;
    answer(client, timer, tag, until).await?;
    let now = client.mailbox();
    Ok(now.exists > before || now.recent > 0)
}

#[cfg(feature = "imap")]
/// Waits in IDLE until news, renewal or a failed check. Returns whether
/// to poll (always true but for a check that passed without news, after
/// which IDLE starts again).
async fn idle<C: WatchIo, K: TimerIo>(
    client: &mut C,
    timer: &mut K,
    plan: &mut Plan,
) -> Result<bool, Error<C::Error>> {
    let before = client.mailbox().exists;
    let tag = client.idle_submit().await?;
    // IDLE's continuation by the answer bound: a link that went silent
    // fails here too, not only while idling.
    let until = plan.answer_by(timer.now_ms());
    loop {
        match select(client.idle_confirmed(tag), timer.sleep_until(until)).await {
            Either::First(Ok(())) => break,
            Either::First(Err(e)) if timed_out(&e) => {
                if timer.now_ms() >= until {
                    return Err(Error::TimedOut);
                }
            }
            Either::First(Err(e)) => return Err(e),
            Either::Second(()) => return Err(Error::TimedOut),
        }
    }
    plan.idling(timer.now_ms());
    // EXISTS that came with IDLE's continuation (mail delivered between
    // the poll and IDLE) was read by idle_start.
    if client.mailbox().exists > before {
        let tag = client.idle_done_submit().await?;
        answer(client, timer, tag, plan.answer_by(timer.now_ms())).await?;
        return Ok(true);
    }
    loop {
        let until = plan.deadline();
        let wake = match select(client.idle_next(), timer.sleep_until(until)).await {
            Either::First(Ok(heard)) => plan.heard(heard, timer.now_ms()),
            Either::First(Err(e)) if timed_out(&e) => plan.tick(timer.now_ms()),
            Either::First(Err(e)) => return Err(e),
            Either::Second(()) => plan.tick(timer.now_ms()),
        };
        match wake {
            Wake::Keep => {}
            // The server ended IDLE itself: nothing to DONE.
            Wake::Ended => return Ok(true),
            Wake::Poll | Wake::Renew => {
                let tag = client.idle_done_submit().await?;
                answer(client, timer, tag, plan.answer_by(timer.now_ms())).await?;
                return Ok(true);
            }
            Wake::Check => {
                // DONE's answer and a NOOP's prove the link, each by its bound.
                let tag = client.idle_done_submit().await?;
                answer(client, timer, tag, plan.answer_by(timer.now_ms())).await?;
                return noop(client, timer, plan.answer_by(timer.now_ms())).await;
            }
        }
    }
}

#[cfg(feature = "imap")]
/// The IMAP watch: see [`crate::poll::watch::imap`]. `poll` runs one
/// poll over the client; returns the number of polls.
pub(crate) async fn imap<C, K, SE>(
    client: &mut C,
    timer: &mut K,
    policy: &WatchPolicy,
    mut poll: impl AsyncFnMut(&mut C) -> Result<Summary, PollError<C::Error, SE>>,
    on_poll: &mut dyn FnMut(&Summary) -> Next,
) -> Result<u32, PollError<C::Error, SE>>
where
    C: WatchIo,
    K: TimerIo,
{
    let mut plan = Plan::new(*policy);
    loop {
        let summary = poll(client).await?;
        plan.exists_after_poll(client.mailbox().exists, summary.new);
        match plan.polled(&summary, on_poll(&summary)) {
            AfterPoll::Stop => return Ok(plan.polls()),
            AfterPoll::Again => continue,
            AfterPoll::Wait => {}
        }
        if policy.idle && client.idle_offered() {
            // A check that passed without news idles again.
            while !idle(client, timer, &mut plan).await? {}
        } else {
            loop {
                timer.sleep_until(plan.noop_at(timer.now_ms())).await;
                if noop(client, timer, plan.answer_by(timer.now_ms())).await? {
                    break;
                }
            }
        }
    }
}

/// The interval watch (POP3, which has no push): `poll` runs one whole
/// session (connect, log in, poll, QUIT); between polls the timer sleeps
/// per [`Plan::poll_at`] (backing off while polls find nothing).
pub(crate) async fn interval<K: TimerIo, E>(
    timer: &mut K,
    policy: &WatchPolicy,
    mut poll: impl AsyncFnMut() -> Result<Summary, E>,
    on_poll: &mut dyn FnMut(&Summary) -> Next,
) -> Result<u32, E> {
    let mut plan = Plan::new(*policy);
    loop {
        let summary = poll().await?;
        match plan.polled(&summary, on_poll(&summary)) {
            AfterPoll::Stop => return Ok(plan.polls()),
            AfterPoll::Again => continue,
            AfterPoll::Wait => timer.sleep_until(plan.poll_at(timer.now_ms())).await,
        }
    }
}
