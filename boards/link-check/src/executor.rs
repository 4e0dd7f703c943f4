//! The smallest executor that can drive the async client: poll the future
//! with a waker that does nothing until it is ready. The dummy transport's
//! futures are always ready, so this never spins in practice; a real
//! firmware would sleep (WFI) between polls or use Embassy.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

/// Runs `fut` to completion on the current stack; no allocation.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
