//! Timers of the poll loop: a cached clock and a min-heap of deadlines.
//!
//! Like Redis's `ae.c`, the loop sleeps in `poll` until the earliest deadline and fires what is
//! due on waking; there are no timer threads. Timers are *lazy*: activity never touches the
//! heap. A connection records when it was last active (a plain integer store), and when its
//! idle timer fires the loop compares that with the clock: either the connection really is
//! idle, or the timer is pushed again for the new deadline. So each connection has at most one
//! entry per timer kind, the hot path pays nothing, and no event ever scans every connection.
//!
//! Entries name a connection by its full token (slab key plus generation), so an entry that
//! outlives its connection can never fire on a newer connection that reuses the slot.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use mio::Token;

/// Milliseconds since the reactor started (the clock HTTP sessions measure their deadlines on).
pub type Millis = reactor_proto::http::Millis;

/// The loop's clock, read once per wake-up (as nginx caches its time) so the many
/// timestamps taken while handling one batch of events cost nothing.
#[derive(Debug)]
pub struct Clock {
    start: Instant,
    now: Millis,
    last: Instant,
}

impl Clock {
    /// A clock starting at zero now.
    pub fn new() -> Self {
        let start = Instant::now();
        Self {
            start,
            now: 0,
            last: start,
        }
    }

    /// Reads the system clock; call once per loop iteration.
    pub fn update(&mut self) -> Millis {
        self.last = Instant::now();
        self.now = duration_to_millis(self.last - self.start);
        self.now
    }

    /// The exact instant of the last [`update`](Self::update) (for measuring the loop itself
    /// without another clock read).
    pub fn last_instant(&self) -> Instant {
        self.last
    }

    /// The time of the last [`update`](Self::update).
    pub fn now(&self) -> Millis {
        self.now
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

pub use reactor_proto::http::duration_to_millis;

/// What a timer entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// `--idle-timeout`: no traffic for too long.
    Idle,
    /// `--write-timeout`: output stuck at the cap for too long.
    WriteStall,
    /// The protocol's next deadline (`--header-timeout`, `--body-timeout`: the HTTP session
    /// keeps them, the connection only wakes it).
    Protocol,
    /// Lingering close: waiting for the peer's FIN after we shut down our side.
    Linger,
    /// `--tls-handshake-timeout`: an HTTPS connection whose TLS handshake is unfinished.
    TlsHandshake,
}

/// One pending deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerEntry {
    /// When it fires.
    pub deadline: Millis,
    /// Which timer.
    pub kind: TimerKind,
    /// Whose timer (a connection's full token).
    pub token: usize,
}

/// Pending deadlines, earliest first.
///
/// Invariant: an entry scheduled after [`pop_due`](Timers::pop_due) ran at time `t` is due no
/// earlier than `t + 1`. A handler that re-arms its own timer with a deadline already past (a
/// "retry now") therefore waits for the next turn instead of being popped again in the same
/// pass, so no deadline can make the loop fire timers forever without polling.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<TimerEntry>>,
    /// Earliest deadline an entry may have: one past the last `pop_due` time.
    floor: Millis,
}

impl Timers {
    /// No timers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `kind` for `token` at `deadline`, or at the floor if that is later (see the
    /// type's invariant).
    pub fn schedule(&mut self, deadline: Millis, kind: TimerKind, token: Token) {
        self.heap.push(Reverse(TimerEntry {
            deadline: deadline.max(self.floor),
            kind,
            token: token.0,
        }));
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// Removes and returns one entry due at `now`, earliest first. From now on, newly
    /// scheduled entries are due at `now + 1` at the earliest.
    pub fn pop_due(&mut self, now: Millis) -> Option<TimerEntry> {
        self.floor = self.floor.max(now.saturating_add(1));
        match self.heap.peek() {
            Some(Reverse(e)) if e.deadline <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drops every entry `keep` rejects. Entries of closed connections are otherwise only
    /// discarded when they come due, which under heavy connection churn would let the heap grow
    /// with the churn rate times the idle timeout; the reactor calls this when the heap is much
    /// larger than its live connection count, so the cost is amortised O(1) per entry.
    pub fn retain(&mut self, mut keep: impl FnMut(&TimerEntry) -> bool) {
        self.heap.retain(|Reverse(e)| keep(e));
    }

    /// Number of pending entries.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no entry is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// How long `poll` may sleep: until the earliest of `deadlines`, or forever if none.
pub fn poll_timeout(
    now: Millis,
    deadlines: impl IntoIterator<Item = Option<Millis>>,
) -> Option<Duration> {
    deadlines
        .into_iter()
        .flatten()
        .min()
        .map(|d| Duration::from_millis(d.saturating_sub(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pop_in_deadline_order_only_when_due() {
        let mut t = Timers::new();
        t.schedule(30, TimerKind::Idle, Token(1));
        t.schedule(10, TimerKind::Protocol, Token(2));
        t.schedule(20, TimerKind::WriteStall, Token(3));
        assert_eq!(t.next_deadline(), Some(10));
        assert!(t.pop_due(9).is_none());
        let due: Vec<usize> = std::iter::from_fn(|| t.pop_due(25))
            .map(|e| e.token)
            .collect();
        assert_eq!(due, vec![2, 3]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn an_entry_rescheduled_in_the_past_while_firing_waits_for_the_next_turn() {
        let mut t = Timers::new();
        t.schedule(10, TimerKind::Idle, Token(1));
        let mut fired = 0;
        while let Some(e) = t.pop_due(50) {
            fired += 1;
            assert!(fired == 1, "the same timer fired twice in one turn");
            // A handler that re-arms at a deadline already past.
            t.schedule(e.deadline, e.kind, Token(e.token));
        }
        assert_eq!(fired, 1);
        assert_eq!(t.next_deadline(), Some(51));
        assert_eq!(t.pop_due(51).map(|e| e.token), Some(1));
    }

    #[test]
    fn no_deadline_is_ever_scheduled_in_the_past_twice() {
        // Drive turns where every handler re-arms at a fixed past deadline; each turn pops
        // each entry at most once and every re-armed deadline lies after that turn.
        let mut t = Timers::new();
        for token in 0..4 {
            t.schedule(5, TimerKind::WriteStall, Token(token));
        }
        for now in [10, 10, 11, 40] {
            let mut seen = Vec::new();
            while let Some(e) = t.pop_due(now) {
                assert!(
                    !seen.contains(&e.token),
                    "token {} fired twice at {now}",
                    e.token
                );
                seen.push(e.token);
                t.schedule(5, e.kind, Token(e.token));
            }
            assert!(t.next_deadline() > Some(now));
        }
    }

    #[test]
    fn retain_drops_rejected_entries_and_keeps_order() {
        let mut t = Timers::new();
        for i in 0..10 {
            t.schedule(100 - i, TimerKind::Idle, Token(i as usize));
        }
        t.retain(|e| e.token % 2 == 0);
        assert_eq!(t.len(), 5);
        let due: Vec<usize> = std::iter::from_fn(|| t.pop_due(1000))
            .map(|e| e.token)
            .collect();
        assert_eq!(due, vec![8, 6, 4, 2, 0]);
    }

    #[test]
    fn poll_timeout_is_time_to_earliest_deadline() {
        assert_eq!(poll_timeout(100, [None, None]), None);
        assert_eq!(
            poll_timeout(100, [Some(150), None, Some(120)]),
            Some(Duration::from_millis(20))
        );
        assert_eq!(poll_timeout(100, [Some(50)]), Some(Duration::ZERO));
    }
}
