//! Deadlines for async transports (feature `async`), on the caller's
//! timer ([`super::asynch::watch::Timer`]), with no executor assumed.
//!
//! An async transport waits for as long as the peer stays silent: a
//! server that accepts the connection and never answers (a wrong port, a
//! TLS port spoken to in plain text, a link a NAT box dropped) would hold
//! an async poll for ever. [`WithTimeout`] bounds every `read`, `write`
//! and `flush` of the transport it wraps; past the bound the operation
//! fails with [`TimeoutError::TimedOut`], whose
//! [`embedded_io::ErrorKind`] is `TimedOut`, and the client reports it as
//! [`crate::Error::Transport`]. [`within`] bounds any other step (a
//! connect, a TLS handshake, a whole poll).
//!
//! ```no_run
//! use embedded_io_async::{Read, Write};
//! use embedded_mail::poll::asynch::watch::Timer;
//! use embedded_mail::poll::timeout::{TimeoutError, WithTimeout};
//! use embedded_mail::{pop3, Error};
//!
//! // With embassy: `timer` is `EmbassyTimer` (feature `embassy-time`).
//! async fn greet<T: Read + Write>(
//!     socket: T,
//!     timer: impl Timer,
//! ) -> Result<(), Error<TimeoutError<T::Error>>> {
//!     let (mut rx, mut tx) = ([0u8; 512], [0u8; 128]);
//!     // Each read, write and flush: at most 30 s.
//!     let tcp = WithTimeout::new(socket, timer, 30_000);
//!     let mut client = pop3::asynch::Client::connect(tcp, &mut rx, &mut tx).await?;
//!     client.quit().await?;
//!     Ok(())
//! }
//! ```
//!
//! With the async watch ([`super::asynch::watch::imap`]), waiting in IDLE
//! is one long read: choose a bound above the watch's own waits
//! ([`super::watch::WatchPolicy::renew_after_ms`] and
//! `check_after_ms`), which it bounds itself on the same timer (the QEMU
//! firmware renews IDLE after 10 s and bounds each read at 15 s).
//!
//! The wrapped operation is dropped unfinished when the timer wins, so the
//! transport's `read`/`write` must be cancel-safe (embassy-net's
//! `TcpSocket` is). After a timeout the session is out of step with the
//! server: close the connection and reconnect (the poll's guarantees hold
//! across a cut; nothing not stored was deleted).

use super::asynch::watch::Timer;
use super::engine::watch::{select, Either};
use core::fmt;
use core::future::Future;

/// An async transport whose every operation is bounded by `timeout_ms` on
/// the caller's [`Timer`]. See [the module docs](self).
#[derive(Debug)]
pub struct WithTimeout<T, K> {
    inner: T,
    timer: K,
    timeout_ms: u64,
}

impl<T, K: Timer> WithTimeout<T, K> {
    /// Wraps `inner`; each read, write and flush may take at most
    /// `timeout_ms` milliseconds of `timer`.
    pub fn new(inner: T, timer: K, timeout_ms: u64) -> Self {
        WithTimeout {
            inner,
            timer,
            timeout_ms,
        }
    }

    /// Changes the bound (e.g. longer while waiting in IDLE).
    pub fn set_timeout_ms(&mut self, timeout_ms: u64) {
        self.timeout_ms = timeout_ms;
    }

    /// The bound now in force, in milliseconds.
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }

    /// The wrapped transport.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped transport and the timer, back.
    pub fn into_parts(self) -> (T, K) {
        (self.inner, self.timer)
    }

    /// Runs `op` on the transport, bounded.
    async fn bounded<'s, R, E, F>(
        &'s mut self,
        op: impl FnOnce(&'s mut T) -> F,
    ) -> Result<R, TimeoutError<E>>
    where
        F: Future<Output = Result<R, E>> + 's,
    {
        let at = self.timer.now_ms().saturating_add(self.timeout_ms);
        let after_ms = self.timeout_ms;
        match select(op(&mut self.inner), self.timer.sleep_until(at)).await {
            Either::First(r) => r.map_err(TimeoutError::Transport),
            Either::Second(()) => Err(TimeoutError::TimedOut { after_ms }),
        }
    }
}

/// Why an operation of a [`WithTimeout`] transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeoutError<E> {
    /// Nothing happened within the bound.
    TimedOut {
        /// The bound, in milliseconds.
        after_ms: u64,
    },
    /// The transport's own error.
    Transport(E),
}

impl<E: fmt::Display> fmt::Display for TimeoutError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutError::TimedOut { after_ms } => write!(
                f,
                "timed out: the server sent nothing for {after_ms} ms (a wrong port or TLS mode, or a dead link)"
            ),
            TimeoutError::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for TimeoutError<E> {}

impl<E: embedded_io::Error> embedded_io::Error for TimeoutError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            TimeoutError::TimedOut { .. } => embedded_io::ErrorKind::TimedOut,
            TimeoutError::Transport(e) => e.kind(),
        }
    }
}

impl<T: embedded_io::ErrorType, K> embedded_io::ErrorType for WithTimeout<T, K> {
    type Error = TimeoutError<T::Error>;
}

impl<T: embedded_io_async::Read, K: Timer> embedded_io_async::Read for WithTimeout<T, K> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.bounded(|t| t.read(buf)).await
    }
}

impl<T: embedded_io_async::Write, K: Timer> embedded_io_async::Write for WithTimeout<T, K> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.bounded(|t| t.write(buf)).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.bounded(|t| t.flush()).await
    }
}

/// The bound of [`within`] passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Elapsed {
    /// The bound, in milliseconds.
    pub after_ms: u64,
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did not finish within {} ms", self.after_ms)
    }
}

/// Runs `step` (a connect, a TLS handshake, a whole poll) for at most
/// `ms` milliseconds of `timer`; `Err(Elapsed)` if the bound passed first
/// (`step` is then dropped unfinished).
pub async fn within<K: Timer, F: Future>(
    timer: &mut K,
    ms: u64,
    step: F,
) -> Result<F::Output, Elapsed> {
    let at = timer.now_ms().saturating_add(ms);
    match select(step, timer.sleep_until(at)).await {
        Either::First(v) => Ok(v),
        Either::Second(()) => Err(Elapsed { after_ms: ms }),
    }
}

/// [`Timer`] over `embassy-time` (feature `embassy-time`): the global
/// time driver's `Instant` and `Timer::at`. The firmware must link a time
/// driver (embassy's HAL crates provide one).
#[cfg(feature = "embassy-time")]
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyTimer;

#[cfg(feature = "embassy-time")]
impl Timer for EmbassyTimer {
    fn now_ms(&self) -> u64 {
        embassy_time::Instant::now().as_millis()
    }
    async fn sleep_until(&mut self, at: u64) {
        embassy_time::Timer::at(embassy_time::Instant::from_millis(at)).await
    }
}
