//! One batch of a poll, planned and tracked without I/O: the rules the
//! crate exists for live here, where they can be tested alone.
//!
//! ```text
//! listing → add() each message → plan: Known / Skip / Full / Headers / Later
//!        → the driver asks for every Full and Headers body in one pipelined
//!          request; bodies arrive in any order → target() → commit → committed()
//!        → fetch_done(): what never arrived is Gone
//!        → cursor(), then the state is saved once
//!        → deletions(): only Committed messages and Known ones that are due
//! ```
//!
//! A message is in [`Batch::deletions`] only if its commit was recorded
//! with [`Batch::committed`] (or the store/seen set already held it and
//! the policy says it is due). The cursor never passes a message whose
//! fate is still open. The [`Planner`] keeps the policy and the summary;
//! the driver keeps the I/O.

use heapless::Vec;

use super::{AfterStore, Fetch, Planner, Seen, BATCH};
use crate::store::MessageKey;

/// What the batch does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Plan {
    /// Already in the store or the seen set: not fetched; deleted now if
    /// `delete` (the policy says it is due).
    Known {
        /// Delete (or move) it on the server in this batch.
        delete: bool,
    },
    /// Not fetched (size limit, or flagged `\Deleted` by another client in
    /// leave mode); the cursor passes it.
    Skip,
    /// Fetch the whole message.
    Full,
    /// Fetch only its header.
    Headers,
    /// A per-poll cap was reached: left for the next poll.
    Later,
}

/// What happened to a message the batch asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// Not settled yet (its body is asked for, or nothing is to be done).
    Open,
    /// Stored and committed.
    Committed,
    /// Asked for, but the server sent no body: it no longer exists.
    Gone,
}

/// One listed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Entry {
    /// IMAP UID, or POP3 message number.
    pub id: u32,
    /// IMAP sequence number at listing time (kept current through
    /// EXPUNGE); 0 for POP3.
    pub seq: u32,
    /// Size announced by the server.
    pub size: u64,
    /// Store key.
    pub key: MessageKey,
    /// The decision.
    pub plan: Plan,
    /// What came of it.
    pub outcome: Outcome,
}

/// A message as the listing reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Listed {
    /// IMAP UID, or POP3 message number.
    pub id: u32,
    /// IMAP sequence number (0 for POP3).
    pub seq: u32,
    /// Size announced by the server.
    pub size: u64,
    /// Store key.
    pub key: MessageKey,
    /// Flagged `\Deleted` on the server (another client removes it).
    pub flagged_deleted: bool,
}

/// A batch of up to [`BATCH`] messages in ascending id order.
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<Entry, BATCH>,
    stopped: bool,
    /// Messages and bytes planned for fetching, for the per-poll caps
    /// (decided before any body arrives).
    planned: u32,
    planned_bytes: u64,
}

impl Batch {
    /// An empty batch.
    pub const fn new() -> Self {
        Batch {
            entries: Vec::new(),
            stopped: false,
            planned: 0,
            planned_bytes: 0,
        }
    }

    /// The messages, ascending.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// True when a cap was reached: the poll ends after this batch.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Decides what to do with a listed message; `known` is its seen-set
    /// entry, or a stand-in when the store already holds it. Ids must
    /// come in ascending order. Returns the plan, or `None` when the batch
    /// is full (the message waits for the next one).
    pub fn add(
        &mut self,
        planner: &mut Planner<'_>,
        m: Listed,
        known: Option<Seen>,
    ) -> Option<Plan> {
        if self.entries.is_full() {
            return None;
        }
        planner.summary.new += 1;
        let plan = if self.stopped {
            Plan::Later
        } else if let Some(seen) = known {
            Plan::Known {
                delete: planner.delete_seen(&seen),
            }
        } else if m.flagged_deleted && planner.policy.after_store == AfterStore::Keep {
            Plan::Skip
        } else {
            match self.decide(planner, m.size) {
                Fetch::Full => Plan::Full,
                Fetch::HeadersOnly => Plan::Headers,
                Fetch::Skip => Plan::Skip,
                Fetch::Stop => {
                    self.stopped = true;
                    Plan::Later
                }
            }
        };
        match plan {
            Plan::Full => {
                self.planned += 1;
                self.planned_bytes = self.planned_bytes.saturating_add(m.size);
            }
            Plan::Headers => self.planned += 1,
            Plan::Known { .. } | Plan::Skip | Plan::Later => planner.summary.skipped += 1,
        }
        // Capacity was checked above.
        let _ = self.entries.push(Entry {
            id: m.id,
            seq: m.seq,
            size: m.size,
            key: m.key,
            plan,
            outcome: Outcome::Open,
        });
        Some(plan)
    }

    /// The planner's fetch decision, counting what this batch already
    /// plans to fetch as if it were stored.
    fn decide(&self, planner: &Planner<'_>, size: u64) -> Fetch {
        let mut ahead = *planner;
        ahead.summary.stored += self.planned;
        ahead.summary.bytes = ahead.summary.bytes.saturating_add(self.planned_bytes);
        ahead.fetch(size)
    }

    /// Ids whose body is to be fetched: whole messages (`headers` false)
    /// or headers only.
    pub fn to_fetch(&self, headers: bool) -> impl Iterator<Item = u32> + '_ {
        let want = if headers { Plan::Headers } else { Plan::Full };
        self.entries
            .iter()
            .filter(move |e| e.plan == want && e.outcome == Outcome::Open)
            .map(|e| e.id)
    }

    /// The server expunged sequence number `seq`: later ones shift down,
    /// that one's message is gone.
    pub fn expunged(&mut self, seq: u32, planner: &mut Planner<'_>) {
        for e in self.entries.iter_mut() {
            if e.seq == seq && seq != 0 {
                e.seq = 0;
                if e.outcome == Outcome::Open && matches!(e.plan, Plan::Full | Plan::Headers) {
                    e.outcome = Outcome::Gone;
                    planner.summary.gone += 1;
                }
            } else if e.seq > seq {
                e.seq -= 1;
            }
        }
    }

    /// The message a body belongs to, from the response's UID when it came
    /// before the body, else from its sequence number: only one that was
    /// asked for and is still open.
    pub fn target(&self, seq: u32, id: Option<u32>) -> Option<Entry> {
        self.entries
            .iter()
            .find(|e| match id {
                Some(id) => e.id == id,
                None => seq != 0 && e.seq == seq,
            })
            .filter(|e| matches!(e.plan, Plan::Full | Plan::Headers) && e.outcome == Outcome::Open)
            .copied()
    }

    /// Records that message `id` is committed in the store.
    pub fn committed(&mut self, id: u32, bytes: u64, planner: &mut Planner<'_>) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            if e.outcome == Outcome::Open && matches!(e.plan, Plan::Full | Plan::Headers) {
                e.outcome = Outcome::Committed;
                planner.stored(bytes);
            }
        }
    }

    /// The fetch is complete: every body asked for and not received is
    /// gone from the server.
    pub fn fetch_done(&mut self, planner: &mut Planner<'_>) {
        for e in self.entries.iter_mut() {
            if e.outcome == Outcome::Open && matches!(e.plan, Plan::Full | Plan::Headers) {
                e.outcome = Outcome::Gone;
                planner.summary.gone += 1;
            }
        }
    }

    /// The highest id up to which every message is settled (the IMAP
    /// cursor may move there), or `None` if the first is still open or
    /// left for later.
    pub fn cursor(&self) -> Option<u32> {
        let mut last = None;
        for e in &self.entries {
            let settled = match e.plan {
                Plan::Later => false,
                Plan::Full | Plan::Headers => e.outcome != Outcome::Open,
                Plan::Known { .. } | Plan::Skip => true,
            };
            if !settled {
                break;
            }
            last = Some(e.id);
        }
        last
    }

    /// Ids to delete (or move) on the server now: committed whole
    /// messages when the policy deletes after storing, and known ones that
    /// are due. Never a message whose commit was not recorded, never a
    /// headers-only one.
    pub fn deletions<'p>(&'p self, planner: &'p Planner<'_>) -> impl Iterator<Item = u32> + 'p {
        self.entries
            .iter()
            .filter(move |e| match (e.plan, e.outcome) {
                (Plan::Known { delete }, _) => delete,
                (Plan::Full, Outcome::Committed) => planner.delete_after_store(Fetch::Full),
                _ => false,
            })
            .map(|e| e.id)
    }

    /// Ids of messages committed in this batch (for `\Seen` in leave mode).
    pub fn committed_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .filter(|e| e.outcome == Outcome::Committed)
            .map(|e| e.id)
    }
}

// Run indexes are kept in bytes.
const _: () = assert!(BATCH < 256);

/// Adds `id` (ascending) to a list of runs `(first, last)`; false when a
/// new run is needed and the list is full.
pub fn push_run(runs: &mut Vec<(u32, u32), BATCH>, id: u32) -> bool {
    match runs.last_mut() {
        Some((_, last)) if last.checked_add(1) == Some(id) => {
            *last = id;
            true
        }
        _ => runs.push((id, id)).is_ok(),
    }
}

/// Ascending ids as runs of consecutive ones, `(first, last)`. Batches
/// hold at most BATCH ids, so there is room for each run.
pub fn runs(ids: impl Iterator<Item = u32>) -> Vec<(u32, u32), BATCH> {
    let mut out: Vec<(u32, u32), BATCH> = Vec::new();
    for id in ids {
        push_run(&mut out, id);
    }
    out
}

/// Groups runs so that each group's IMAP set text (`1:5,9,12:14`) is at
/// most `budget` bytes (one run per group at least): the index ranges
/// into `runs`, one command each.
pub fn set_groups(runs: &[(u32, u32)], budget: usize) -> Vec<core::ops::Range<u8>, BATCH> {
    fn digits(n: u32) -> usize {
        n.checked_ilog10().map_or(1, |d| d as usize + 1)
    }
    // At most BATCH (< 256) runs: indexes fit a byte.
    let idx = |i: usize| u8::try_from(i).unwrap_or(u8::MAX);
    let mut out: Vec<core::ops::Range<u8>, BATCH> = Vec::new();
    let (mut start, mut len) = (0, 0);
    for (i, &(a, b)) in runs.iter().enumerate() {
        let text = digits(a) + if a == b { 0 } else { 1 + digits(b) };
        let add = if i == start { text } else { 1 + text };
        if i > start && len + add > budget {
            let _ = out.push(idx(start)..idx(i));
            start = i;
            len = text;
        } else {
            len += add;
        }
    }
    if start < runs.len() {
        let _ = out.push(idx(start)..idx(runs.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::poll::Policy;

    fn listed(id: u32, size: u64) -> Listed {
        Listed {
            id,
            seq: id,
            size,
            key: u64::from(id) * 7919,
            flagged_deleted: false,
        }
    }

    fn delete_policy() -> Policy<'static> {
        Policy {
            after_store: AfterStore::Delete,
            ..Policy::default()
        }
    }

    #[test]
    fn nothing_new_is_deleted_before_its_commit() {
        let mut p = Planner::new(delete_policy());
        let mut b = Batch::new();
        for id in 1..=5 {
            assert_eq!(b.add(&mut p, listed(id, 100), None), Some(Plan::Full));
        }
        assert_eq!(b.deletions(&p).count(), 0, "no commit yet, no deletion");
        b.committed(2, 100, &mut p);
        b.committed(4, 100, &mut p);
        assert_eq!(b.deletions(&p).collect::<std::vec::Vec<_>>(), [2, 4]);
        assert_eq!(b.cursor(), None, "1 is still open");
        b.fetch_done(&mut p);
        assert_eq!(b.cursor(), Some(5));
        assert_eq!(
            b.deletions(&p).collect::<std::vec::Vec<_>>(),
            [2, 4],
            "gone ones are not deleted"
        );
        assert_eq!((p.summary.stored, p.summary.gone), (2, 3));
    }

    #[test]
    fn known_messages_are_deleted_only_when_due_and_never_headers_only() {
        let mut p = Planner::new(Policy {
            delete_older_than: Some(10),
            now: 100,
            ..Policy::default()
        });
        let mut b = Batch::new();
        let old = Seen {
            key: 1,
            stored_at: 50,
            headers_only: false,
        };
        let young = Seen {
            key: 2,
            stored_at: 95,
            headers_only: false,
        };
        let header = Seen {
            key: 3,
            stored_at: 1,
            headers_only: true,
        };
        b.add(&mut p, listed(1, 10), Some(old));
        b.add(&mut p, listed(2, 10), Some(young));
        b.add(&mut p, listed(3, 10), Some(header));
        assert_eq!(b.deletions(&p).collect::<std::vec::Vec<_>>(), [1]);
        assert_eq!(b.cursor(), Some(3));
    }

    #[test]
    fn caps_are_counted_before_bodies_arrive() {
        let mut p = Planner::new(Policy {
            max_messages: Some(2),
            ..Policy::default()
        });
        let mut b = Batch::new();
        let plans: std::vec::Vec<_> = (1..=4)
            .map(|id| b.add(&mut p, listed(id, 10), None))
            .collect();
        assert_eq!(
            plans,
            [
                Some(Plan::Full),
                Some(Plan::Full),
                Some(Plan::Later),
                Some(Plan::Later)
            ]
        );
        assert!(b.stopped());
        b.committed(1, 10, &mut p);
        b.committed(2, 10, &mut p);
        b.fetch_done(&mut p);
        assert_eq!(
            b.cursor(),
            Some(2),
            "the cursor stops before what waits for later"
        );
    }

    #[test]
    fn a_body_is_matched_by_uid_first_then_by_sequence_number_through_expunges() {
        let mut p = Planner::new(Policy::default());
        let mut b = Batch::new();
        for id in [10, 20, 30] {
            let mut m = listed(id, 5);
            m.seq = id / 10;
            b.add(&mut p, m, None);
        }
        // Sequence 1 expunged: 20 is now seq 1, 30 seq 2.
        b.expunged(1, &mut p);
        assert_eq!(b.target(1, None).map(|e| e.id), Some(20));
        assert_eq!(b.target(2, None).map(|e| e.id), Some(30));
        assert_eq!(b.target(9, Some(30)).map(|e| e.id), Some(30));
        assert_eq!(b.target(1, Some(10)), None, "gone");
        b.committed(20, 5, &mut p);
        assert_eq!(b.target(1, None), None, "committed once");
        assert_eq!(p.summary.gone, 1);
    }

    #[test]
    fn sets_are_split_to_fit_the_command_buffer() {
        let r = runs([1, 2, 3, 5, 100, 101, 4_000_000_000].into_iter());
        assert_eq!(
            r.as_slice(),
            &[(1, 3), (5, 5), (100, 101), (4_000_000_000, 4_000_000_000)]
        );
        // "1:3,5,100:101,4000000000" is 24 bytes.
        let whole = set_groups(&r, 24);
        assert_eq!((whole.len(), whole.first().cloned()), (1, Some(0..4)));
        assert_eq!(set_groups(&r, 13).as_slice(), &[0..3, 3..4]);
        assert_eq!(set_groups(&r, 1).as_slice(), &[0..1, 1..2, 2..3, 3..4]);
        assert!(set_groups(&[], 10).is_empty());
    }

    /// Random batches, random arrival orders, random gaps: every id in
    /// the deletions was committed (or known and due), and the cursor never
    /// passes an id still open.
    #[test]
    fn randomised_orders_never_delete_or_pass_an_uncommitted_message() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..2000 {
            let policy = match round % 3 {
                0 => Policy::default(),
                1 => delete_policy(),
                _ => Policy {
                    after_store: AfterStore::MoveTo("Archive"),
                    max_messages: Some((next() % 20) as u32),
                    max_size: Some(500),
                    oversize: if next() % 2 == 0 {
                        crate::poll::Oversize::HeadersOnly
                    } else {
                        crate::poll::Oversize::Skip
                    },
                    ..Policy::default()
                },
            };
            let mut p = Planner::new(policy);
            let mut b = Batch::new();
            let n = (next() % BATCH as u64) as u32 + 1;
            for id in 1..=n {
                let known = (next() % 4 == 0).then_some(Seen {
                    key: u64::from(id),
                    stored_at: 0,
                    headers_only: false,
                });
                b.add(&mut p, listed(id, next() % 1000), known);
            }
            let mut committed = std::vec::Vec::new();
            for _ in 0..n {
                let id = (next() % u64::from(n)) as u32 + 1;
                match next() % 3 {
                    0 if b.target(0, Some(id)).is_some() => {
                        b.committed(id, 1, &mut p);
                        committed.push(id);
                    }
                    1 => b.expunged(id, &mut p),
                    _ => {}
                }
                if let Some(c) = b.cursor() {
                    for e in b.entries().iter().filter(|e| e.id <= c) {
                        assert!(
                            !(matches!(e.plan, Plan::Full | Plan::Headers)
                                && e.outcome == Outcome::Open)
                        );
                        assert_ne!(e.plan, Plan::Later);
                    }
                }
                for d in b.deletions(&p) {
                    let e = b.entries().iter().find(|e| e.id == d).unwrap();
                    match e.plan {
                        Plan::Known { delete } => assert!(delete),
                        Plan::Full => {
                            assert!(committed.contains(&d), "{d} deleted before its commit")
                        }
                        other => panic!("{d} planned {other:?} is deleted"),
                    }
                }
            }
            b.fetch_done(&mut p);
            assert!(b.entries().iter().all(
                |e| e.outcome != Outcome::Open || !matches!(e.plan, Plan::Full | Plan::Headers)
            ));
        }
    }
}
