//! IMAP deletions as a plan with no I/O: the UIDs a poll will delete (or
//! move), kept as runs, handed out only once a saved sync state records
//! them, and sent while the stream is still running so the server's
//! expunge work overlaps the rest of the transfer.
//!
//! The rule the crate exists for lives here: [`Doomed::take`] returns
//! only UIDs that were added before the last [`Doomed::saved`]; a UID
//! added after it waits for the next save.

use heapless::Vec;

/// Runs of UIDs kept at most; a UID that would need another run is not
/// added (the caller leaves its message for a later poll).
pub const RUNS: usize = crate::poll::BATCH;

/// UIDs waiting before the first mid-stream deletion.
pub const FIRST_FLUSH: u32 = 128;

/// UIDs waiting for deletion.
#[derive(Debug, Clone, Default)]
pub struct Doomed {
    runs: Vec<(u32, u32), RUNS>,
    /// The first `sealed` runs are recorded in a saved state.
    sealed: usize,
    /// UIDs in `runs`.
    len: u32,
    /// Flushes so far (each waits for twice as many UIDs as the last).
    flushes: u32,
}

impl Doomed {
    /// An empty plan.
    pub const fn new() -> Self {
        Doomed {
            runs: Vec::new(),
            sealed: 0,
            len: 0,
            flushes: 0,
        }
    }

    /// Adds `uid` (ascending). False when it would need a run more than
    /// [`RUNS`]: nothing changes.
    pub fn add(&mut self, uid: u32) -> bool {
        let open = self.runs.len() > self.sealed;
        if let Some((_, hi)) = self.runs.last_mut().filter(|_| open) {
            if uid == hi.wrapping_add(1) {
                *hi = uid;
                self.len += 1;
                return true;
            }
            if uid <= *hi {
                return false;
            }
        }
        if self.runs.push((uid, uid)).is_err() {
            return false;
        }
        self.len += 1;
        true
    }

    /// UIDs waiting (saved or not).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Runs the UIDs waiting take.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sync state was saved: every UID added so far may go.
    pub fn saved(&mut self) {
        self.sealed = self.runs.len();
    }

    /// Whether enough UIDs wait to send their deletion now, mid-stream:
    /// [`FIRST_FLUSH`], then twice as many each time (a few commands
    /// whatever the mailbox size; a small poll deletes in one write at
    /// its end).
    pub fn due(&self) -> bool {
        let unsealed: u32 = self
            .runs
            .iter()
            .skip(self.sealed)
            .map(|&(lo, hi)| hi - lo + 1)
            .sum();
        unsealed >= FIRST_FLUSH << self.flushes.min(20)
    }

    /// Takes the runs recorded in a saved state (all of them right after
    /// [`Self::saved`]); later ones stay.
    pub fn take(&mut self) -> Vec<(u32, u32), RUNS> {
        let mut out = Vec::new();
        for &run in self.runs.iter().take(self.sealed) {
            let _ = out.push(run);
            self.len -= run.1 - run.0 + 1;
        }
        let rest: Vec<(u32, u32), RUNS> = self.runs.iter().skip(self.sealed).copied().collect();
        self.runs = rest;
        self.sealed = 0;
        if !out.is_empty() {
            self.flushes += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn nothing_is_handed_out_before_the_save_that_records_it() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..500 {
            let mut d = Doomed::new();
            let (mut added, mut saved, mut taken) =
                (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
            let mut uid = 0u32;
            for _ in 0..200 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                match seed % 5 {
                    0..=2 => {
                        uid += 1 + (seed >> 8) as u32 % 3;
                        if d.add(uid) {
                            added.insert(uid);
                        }
                    }
                    3 => {
                        saved.extend(added.iter().copied());
                        d.saved();
                    }
                    _ => {
                        for (lo, hi) in d.take() {
                            for u in lo..=hi {
                                assert!(saved.contains(&u), "{u} handed out before its save");
                                assert!(taken.insert(u), "{u} handed out twice");
                            }
                        }
                    }
                }
                let waiting: u32 = added.difference(&taken).count() as u32;
                assert_eq!(d.len(), waiting);
            }
        }
    }

    #[test]
    fn a_run_is_not_extended_across_a_save() {
        let mut d = Doomed::new();
        assert!(d.add(1) && d.add(2));
        d.saved();
        assert!(d.add(3));
        assert_eq!(d.take().as_slice(), &[(1, 2)]);
        assert_eq!(d.len(), 1);
        d.saved();
        assert_eq!(d.take().as_slice(), &[(3, 3)]);
        assert!(d.is_empty());
    }

    #[test]
    fn flushes_double() {
        let mut d = Doomed::new();
        let mut flushed_at = std::vec::Vec::new();
        for uid in 1..=1000 {
            assert!(d.add(uid));
            if d.due() {
                d.saved();
                flushed_at.push(uid);
                d.take();
            }
        }
        assert_eq!(flushed_at, [128, 384, 896]);
    }

    #[test]
    fn full_runs_refuse_and_out_of_order_is_refused() {
        let mut d = Doomed::new();
        for i in 0..RUNS as u32 {
            assert!(d.add(10 * i + 1));
        }
        assert!(!d.add(10_000), "a run more than RUNS");
        assert!(d.add(10 * (RUNS as u32 - 1) + 2), "extends the last run");
        assert!(!d.add(5), "not ascending");
    }
}
