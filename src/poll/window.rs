//! The POP3 streaming pass as a plan with no I/O: which commands go out
//! next, what the next answer on the wire is, and when a deletion may be
//! sent. The engine only carries its decisions out, so the rule the crate
//! exists for (no `DELE` before its message's commit and a saved sync
//! state) is tested here, without a server.
//!
//! Commands go out in groups: `UIDL n` for each message of the group, then
//! `RETR n` for each, so the answers bring a group's keys before its
//! bodies and the session and this plan keep two runs per group whatever
//! its size. (The groups wait for STAT's count: asking for messages that
//! may not exist would earn `-ERR`s, and servers hang up on clients that
//! collect too many, Dovecot after 20.) `DELE`s of committed messages join the pipeline once the
//! state that records them is saved, and `QUIT` follows the last command
//! the pass needs, so no round trip is spent waiting to say goodbye. The depth of the pipeline is the
//! caller's ([`crate::poll::Policy::pipeline`]) and costs no RAM: what is
//! in flight is kept as runs.

use heapless::Deque;

/// Messages per group; also how many keys the engine holds at once (one
/// group's, 8 bytes each).
pub const GROUP: u32 = crate::poll::BATCH as u32;

/// Commits before the first save of the sync state (the DELEs of a
/// stretch go out once it is saved); each later stretch is twice as long,
/// so a long pass saves a few times, not once per 32 messages.
const SAVE_EVERY: u32 = crate::poll::BATCH as u32;

/// Runs of commands in flight at most: the session's own limit, so the
/// session never refuses what the plan sends.
const RUNS: usize = crate::pop3::MAX_RUNS;

/// Runs of messages due for deletion kept at most; a commit that would
/// need more is not deleted in this poll (the next one deletes it: it is
/// stored and known by then).
const DUE_RUNS: usize = 16;

/// What to send next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// `DELE` for the next `n` messages of [`Pop3Stream::deles`].
    Deles(u32),
    /// `UIDL m` for every `m` in `first..first + count`, then `RETR m` for
    /// the same messages.
    Group {
        /// First message number.
        first: u32,
        /// How many messages.
        count: u32,
    },
    /// `QUIT`: the last command of the session. Its answer is read after
    /// every other one, by whoever ends the session.
    Quit,
}

impl Send {
    /// Commands this sends.
    pub fn commands(self) -> u32 {
        match self {
            Send::Deles(n) => n,
            Send::Group { count, .. } => 2 * count,
            Send::Quit => 1,
        }
    }
}

/// What the next answer on the wire belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `UIDL m`: message `m`'s unique id.
    UniqueId(u32),
    /// `RETR m`: message `m`'s body.
    Body(u32),
    /// `DELE m`: its status.
    Deleted(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Uidl,
    Retr,
    Dele,
}

/// The plan of a POP3 streaming pass over the maildrop's messages.
#[derive(Debug, Clone)]
pub struct Pop3Stream {
    /// Messages in the maildrop.
    count: u32,
    /// The policy may delete messages (else QUIT goes with the last group).
    deletes: bool,
    quit_sent: bool,
    /// Next message to ask for.
    next: u32,
    /// Commands in flight at most, and now.
    limit: u32,
    in_flight: u32,
    /// What is in flight, in order: a step, its first message, how many.
    /// (DELE runs count commands; their messages are `due`'s first ones.)
    queue: Deque<(Step, u32, u32), RUNS>,
    /// Messages due for deletion, ascending, as runs. The first `sent` of
    /// them have their DELE in flight; the first `saved` (≥ `sent`) are
    /// recorded in a saved sync state.
    due: Deque<(u32, u32), DUE_RUNS>,
    due_len: u32,
    sent: u32,
    saved: u32,
    /// Saves so far.
    saves: u32,
}

impl Pop3Stream {
    /// A pass over messages `1..=count` with at most `limit` commands in
    /// flight (at least 2: one message's UIDL and RETR); `deletes`: the
    /// policy may delete what it stores.
    pub fn new(count: u32, limit: usize, deletes: bool) -> Self {
        let limit = limit.clamp(2, crate::pop3::MAX_IN_FLIGHT) as u32;
        Pop3Stream {
            count,
            deletes,
            quit_sent: false,
            next: 1,
            limit,
            in_flight: 0,
            queue: Deque::new(),
            due: Deque::new(),
            due_len: 0,
            sent: 0,
            saved: 0,
            saves: 0,
        }
    }

    /// Every group was sent.
    fn asked_all(&self) -> bool {
        self.next > self.count
    }

    /// Every body was asked for and answered.
    fn bodies_done(&self) -> bool {
        self.asked_all() && self.queue.iter().all(|&(s, ..)| s == Step::Dele)
    }

    /// The sync state must be saved now: enough commits wait for their
    /// DELEs, or every body is in and some still wait.
    pub fn must_save(&self) -> bool {
        let unsaved = self.due_len - self.saved;
        unsaved >= SAVE_EVERY << self.saves.min(16) || (unsaved > 0 && self.bodies_done())
    }

    /// The sync state was saved: every commit so far may be deleted.
    pub fn saved(&mut self) {
        self.saved = self.due_len;
        self.saves += 1;
    }

    /// What to send now, if anything: DELEs of saved commits first, then
    /// the next group once a whole one fits (or the last, smaller one).
    pub fn next_send(&self) -> Option<Send> {
        let room = self.limit - self.in_flight;
        let runs_left = RUNS - self.queue.len();
        let ready = self.saved - self.sent;
        if ready > 0 && room > 0 {
            let joins = matches!(self.queue.back(), Some(&(Step::Dele, ..)));
            if joins || runs_left >= 1 {
                return Some(Send::Deles(ready.min(room)));
            }
        }
        let left = (self.count + 1).saturating_sub(self.next);
        let count = left.min(GROUP).min(room / 2);
        // A whole group (as large as the limit allows) when more are
        // left; a smaller one only at the end.
        let whole = left.min(GROUP).min(self.limit / 2);
        if count > 0 && runs_left >= 2 && count >= whole {
            return Some(Send::Group {
                first: self.next,
                count,
            });
        }
        // QUIT once nothing more can follow: in keep mode after the last
        // group; when deleting, after the last DELE (no body in flight, no
        // commit waiting for a save or a DELE).
        let last = if self.deletes {
            self.bodies_done() && self.sent == self.due_len
        } else {
            self.asked_all()
        };
        (last && left == 0 && !self.quit_sent).then_some(Send::Quit)
    }

    /// `send` (from [`Self::next_send`]) went out whole.
    pub fn sent(&mut self, send: Send) {
        match send {
            Send::Deles(n) => {
                match self.queue.back_mut() {
                    Some((Step::Dele, _, k)) => *k += n,
                    _ => {
                        let _ = self.queue.push_back((Step::Dele, 0, n));
                    }
                }
                self.sent += n;
            }
            Send::Group { first, count } => {
                let _ = self.queue.push_back((Step::Uidl, first, count));
                let _ = self.queue.push_back((Step::Retr, first, count));
                self.next = first + count;
            }
            // Not counted in flight: its answer is not the pass's to read.
            Send::Quit => {
                self.quit_sent = true;
                return;
            }
        }
        self.in_flight += send.commands();
    }

    /// The messages of the next `n` DELEs to send, in order.
    pub fn deles(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        self.due
            .iter()
            .flat_map(|&(lo, hi)| lo..=hi)
            .skip(self.sent as usize)
            .take(n as usize)
    }

    /// What the next answer on the wire belongs to; `None` when nothing is
    /// in flight.
    pub fn next_answer(&mut self) -> Option<Answer> {
        let &(step, first, _) = self.queue.front()?;
        let answer = match step {
            Step::Uidl => Answer::UniqueId(first),
            Step::Retr => Answer::Body(first),
            Step::Dele => Answer::Deleted(self.pop_due()?),
        };
        if let Some((_, first, n)) = self.queue.front_mut() {
            *first += 1;
            *n -= 1;
            if *n == 0 {
                self.queue.pop_front();
            }
        }
        self.in_flight -= 1;
        Some(answer)
    }

    fn pop_due(&mut self) -> Option<u32> {
        let (lo, hi) = self.due.front_mut()?;
        let m = *lo;
        if *lo == *hi {
            self.due.pop_front();
        } else {
            *lo += 1;
        }
        self.due_len -= 1;
        self.sent -= 1;
        self.saved -= 1;
        Some(m)
    }

    /// Message `msg` (its body just answered) was settled: committed or
    /// already stored. `due`: the policy deletes it. Returns whether its
    /// deletion was planned (false: no room, the next poll deletes it).
    pub fn settled(&mut self, msg: u32, due: bool) -> bool {
        // Without deletions QUIT may already be out: nothing can follow.
        if !due || !self.deletes {
            return false;
        }
        let planned = match self.due.back_mut() {
            Some((_, hi)) if msg == hi.wrapping_add(1) => {
                *hi = msg;
                true
            }
            Some(&mut (_, hi)) if msg <= hi => false,
            _ => self.due.push_back((msg, msg)).is_ok(),
        };
        if planned {
            self.due_len += 1;
        }
        planned
    }

    /// Nothing in flight and nothing left to send or save; QUIT is out.
    pub fn done(&self) -> bool {
        self.queue.is_empty() && self.asked_all() && self.due_len == 0 && self.quit_sent
    }

    /// QUIT was sent.
    pub fn quit_sent(&self) -> bool {
        self.quit_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    /// A small deterministic generator (xorshift) for the randomised runs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// What the wire saw, checked against the rules as the pass runs.
    #[derive(Default)]
    struct Checker {
        committed: std::collections::BTreeSet<u32>,
        saved: std::collections::BTreeSet<u32>,
        planned: std::collections::BTreeSet<u32>,
        dele_sent: std::collections::BTreeSet<u32>,
        deleted: Vec<u32>,
        answers: Vec<Answer>,
        quit: bool,
    }

    /// Drives a pass the way the engine does, against a maildrop of
    /// `count` messages whose commits are due or not at random, and checks
    /// every rule as it goes. Returns the checker, or the first broken rule.
    fn drive(
        count: u32,
        limit: usize,
        seed: u64,
        cut_at: Option<usize>,
    ) -> Result<Checker, String> {
        let mut rng = Rng(seed | 1);
        let deletes = !seed.is_multiple_of(3);
        let mut plan = Pop3Stream::new(count, limit, deletes);
        let mut c = Checker::default();
        let mut wire: std::collections::VecDeque<(char, u32)> = Default::default();
        let mut steps = 0usize;
        loop {
            steps += 1;
            if steps > 100_000 {
                return Err("no progress".into());
            }
            if cut_at == Some(steps) {
                return Ok(c);
            }
            if plan.must_save() {
                c.saved.extend(c.committed.iter().copied());
                plan.saved();
            }
            while let Some(send) = plan.next_send() {
                if c.quit {
                    return Err(format!("{send:?} after QUIT"));
                }
                match send {
                    Send::Deles(n) => {
                        let msgs: Vec<u32> = plan.deles(n).collect();
                        if msgs.len() != n as usize {
                            return Err(format!(
                                "{n} DELEs planned, {} messages given",
                                msgs.len()
                            ));
                        }
                        for m in msgs {
                            if !c.saved.contains(&m) {
                                return Err(format!("DELE {m} before its commit was saved"));
                            }
                            if !c.dele_sent.insert(m) {
                                return Err(format!("DELE {m} twice"));
                            }
                            wire.push_back(('D', m));
                        }
                    }
                    Send::Group { first, count } => {
                        (first..first + count).for_each(|m| wire.push_back(('U', m)));
                        (first..first + count).for_each(|m| wire.push_back(('R', m)));
                    }
                    Send::Quit => {
                        if let Some(m) = c.planned.difference(&c.dele_sent).next() {
                            return Err(format!("QUIT before the DELE of {m}"));
                        }
                        c.quit = true;
                    }
                }
                plan.sent(send);
                if wire.len() > limit.max(2) {
                    return Err(format!("{} commands in flight, limit {limit}", wire.len()));
                }
            }
            let Some(answer) = plan.next_answer() else {
                break;
            };
            let Some((kind, m)) = wire.pop_front() else {
                return Err(format!("answer {answer:?} with nothing on the wire"));
            };
            let expected = match kind {
                'U' => Answer::UniqueId(m),
                'R' => Answer::Body(m),
                _ => Answer::Deleted(m),
            };
            if answer != expected {
                return Err(format!(
                    "plan expects {answer:?}, the wire has {expected:?}"
                ));
            }
            c.answers.push(answer);
            match answer {
                Answer::Body(m) => {
                    c.committed.insert(m);
                    // Some messages are kept (not due), as in keep mode.
                    if plan.settled(m, rng.below(4) != 0) {
                        c.planned.insert(m);
                    }
                }
                Answer::Deleted(m) => c.deleted.push(m),
                Answer::UniqueId(_) => {}
            }
        }
        if !wire.is_empty() || !plan.done() || !c.quit {
            return Err(format!("stopped before done ({} on the wire)", wire.len()));
        }
        Ok(c)
    }

    #[test]
    fn every_message_is_asked_once_in_order_and_deletes_follow_saves() {
        for seed in 1..300u64 {
            let count = (seed * 37 % 300) as u32;
            let limit = [2usize, 3, 7, 64, 512, 4096][(seed % 6) as usize];
            let c = drive(count, limit, seed, None).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let bodies: Vec<u32> = c
                .answers
                .iter()
                .filter_map(|a| match a {
                    Answer::Body(m) => Some(*m),
                    _ => None,
                })
                .collect();
            assert_eq!(bodies, (1..=count).collect::<Vec<_>>(), "seed {seed}");
            // Every planned deletion went out, in order, after its save.
            assert_eq!(
                c.deleted,
                c.planned.iter().copied().collect::<Vec<_>>(),
                "seed {seed}"
            );
            assert!(c.deleted.iter().all(|m| c.saved.contains(m)), "seed {seed}");
            // Keep mode plans none.
            if seed % 3 == 0 {
                assert!(c.deleted.is_empty(), "seed {seed}");
            }
        }
    }

    #[test]
    fn a_cut_anywhere_leaves_no_dele_of_an_unsaved_commit() {
        for seed in 1..100u64 {
            for cut in [1usize, 5, 17, 40, 99] {
                drive(150, 64, seed, Some(cut))
                    .unwrap_or_else(|e| panic!("seed {seed} cut {cut}: {e}"));
            }
        }
    }

    #[test]
    fn deletion_waits_for_the_save() {
        let mut p = Pop3Stream::new(1, 8, true);
        assert_eq!(p.next_send(), Some(Send::Group { first: 1, count: 1 }));
        p.sent(Send::Group { first: 1, count: 1 });
        assert_eq!(p.next_answer(), Some(Answer::UniqueId(1)));
        assert_eq!(p.next_answer(), Some(Answer::Body(1)));
        assert!(p.settled(1, true));
        // Committed, not saved: no DELE (nor QUIT) yet, and the save is due.
        assert_eq!(p.next_send(), None);
        assert!(p.must_save());
        p.saved();
        assert_eq!(p.next_send(), Some(Send::Deles(1)));
        assert_eq!(p.deles(1).collect::<Vec<_>>(), [1]);
        p.sent(Send::Deles(1));
        // QUIT right behind the last DELE, before its answer.
        assert_eq!(p.next_send(), Some(Send::Quit));
        p.sent(Send::Quit);
        assert_eq!(p.next_send(), None);
        assert_eq!(p.next_answer(), Some(Answer::Deleted(1)));
        assert!(p.done());
    }

    #[test]
    fn a_deep_pipeline_fits_the_session_runs() {
        // 4096 commands: 64 groups would need 128 runs; the plan stops at
        // the session's limit and goes on as answers arrive.
        let mut p = Pop3Stream::new(10_000, 4096, false);
        let mut sent = 0;
        while let Some(s) = p.next_send() {
            p.sent(s);
            sent += s.commands();
        }
        assert!(p.queue.len() <= RUNS);
        assert_eq!(sent, (RUNS as u32 / 2) * 2 * GROUP);
    }
}
