//! The commands a POP3 session awaits answers to, kept as runs of like
//! commands: a thousand pipelined RETRs cost one entry, so the depth of
//! the pipeline costs no RAM.

use super::session::Pending;
use heapless::Deque;

/// Runs of like commands kept at most (4 bytes each). Commands in one run
/// are of one kind; a pipeline that alternates kinds needs a run for each
/// change.
pub const MAX_RUNS: usize = 32;

/// Commands awaiting answers, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct PendingQueue {
    runs: Deque<(Pending, u16), MAX_RUNS>,
    len: usize,
}

impl PendingQueue {
    /// Commands in the queue.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest command.
    pub(crate) fn front(&self) -> Option<Pending> {
        self.runs.front().map(|&(p, _)| p)
    }

    /// Whether `p` can join the queue without passing `limit` commands or
    /// the [`MAX_RUNS`] runs.
    pub(crate) fn has_room(&self, p: Pending, limit: usize) -> bool {
        if self.len >= limit {
            return false;
        }
        match self.runs.back() {
            Some(&(last, n)) if last == p && n < u16::MAX => true,
            _ => !self.runs.is_full(),
        }
    }

    /// Appends `p`; false (and nothing changes) when there is no room.
    pub(crate) fn push(&mut self, p: Pending) -> bool {
        if let Some((last, n)) = self.runs.back_mut() {
            if *last == p && *n < u16::MAX {
                *n += 1;
                self.len += 1;
                return true;
            }
        }
        if self.runs.push_back((p, 1)).is_err() {
            return false;
        }
        self.len += 1;
        true
    }

    /// Drops the oldest command.
    pub(crate) fn pop_front(&mut self) {
        if let Some((_, n)) = self.runs.front_mut() {
            *n -= 1;
            self.len -= 1;
            if *n == 0 {
                self.runs.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_commands_share_a_run() {
        let mut q = PendingQueue::default();
        for _ in 0..1000 {
            assert!(q.push(Pending::Retr));
        }
        assert!(q.push(Pending::Dele));
        assert_eq!((q.len(), q.runs.len()), (1001, 2));
        for _ in 0..1000 {
            assert_eq!(q.front(), Some(Pending::Retr));
            q.pop_front();
        }
        assert_eq!(q.front(), Some(Pending::Dele));
        q.pop_front();
        assert!(q.is_empty() && q.front().is_none());
        q.pop_front();
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn alternating_kinds_are_bounded_by_runs_and_the_limit() {
        let mut q = PendingQueue::default();
        for i in 0..MAX_RUNS {
            let p = if i % 2 == 0 {
                Pending::UidlOne
            } else {
                Pending::Retr
            };
            assert!(q.has_room(p, 100));
            assert!(q.push(p));
        }
        // Full of runs: only the kind of the last run still fits.
        assert!(!q.has_room(Pending::UidlOne, 100));
        assert!(!q.push(Pending::UidlOne));
        assert!(q.has_room(Pending::Retr, 100));
        assert!(!q.has_room(Pending::Retr, MAX_RUNS));
        assert_eq!(q.len(), MAX_RUNS);
    }
}
