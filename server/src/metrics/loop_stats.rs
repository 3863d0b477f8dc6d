//! What the poll loop records about itself: turns, events per turn and time per turn, in
//! histograms with fixed bounds (plain integers, no allocation on the hot path).

use std::time::Duration;

/// Upper bounds of the events-per-turn histogram (`poll` returns at most 1024 events).
pub(super) const EVENT_BOUNDS: [u64; 11] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];
/// Upper bounds of the turn-duration histogram, in nanoseconds (5 µs to 1 s).
pub(super) const TURN_BOUNDS_NS: [u64; 14] = [
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    25_000_000,
    100_000_000,
    250_000_000,
    1_000_000_000,
];

/// A histogram with fixed upper bounds: one count per bucket (not cumulative) plus the sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets<const N: usize> {
    /// Observations at most `bounds[i]` (and above `bounds[i - 1]`); the last slot is `+Inf`.
    pub(super) counts: [u64; N],
    overflow: u64,
    pub(super) sum: u64,
}

impl<const N: usize> Default for Buckets<N> {
    fn default() -> Self {
        Self {
            counts: [0; N],
            overflow: 0,
            sum: 0,
        }
    }
}

impl<const N: usize> Buckets<N> {
    fn observe(&mut self, bounds: &[u64; N], value: u64) {
        self.sum = self.sum.saturating_add(value);
        match bounds.iter().position(|&b| value <= b) {
            Some(i) => self.counts[i] += 1,
            None => self.overflow += 1,
        }
    }

    pub(super) fn count(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.overflow
    }

    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.overflow += other.overflow;
        self.sum = self.sum.saturating_add(other.sum);
    }
}

/// What the poll loop records about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Turns of the loop (one `poll` each).
    pub turns: u64,
    pub(super) events: Buckets<{ EVENT_BOUNDS.len() }>,
    pub(super) turn_ns: Buckets<{ TURN_BOUNDS_NS.len() }>,
}

impl LoopStats {
    /// Records one turn: the events `poll` returned and the time spent handling them (from
    /// `poll` returning to the next `poll` call: the loop's lag).
    pub fn record_turn(&mut self, events: usize, busy: Duration) {
        self.turns += 1;
        self.events.observe(&EVENT_BOUNDS, events as u64);
        let ns = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.turn_ns.observe(&TURN_BOUNDS_NS, ns);
    }

    /// Adds another reactor's loop numbers.
    pub fn add(&mut self, other: &LoopStats) {
        self.turns += other.turns;
        self.events.add(&other.events);
        self.turn_ns.add(&other.turn_ns);
    }
}
