//! Prometheus metrics: what the counters say, plus what only an event loop can tell (turns,
//! events per turn, time per turn, timers pending, output queued).
//!
//! Each reactor owns its numbers as plain integers (no atomics on the hot path). At most every
//! [`PUBLISH_EVERY_MS`], at the start of a turn (so a scrape that woke an idle loop sees fresh
//! numbers), it copies them into its slot of the shared [`Metrics`]; `GET /metrics`, answered
//! by whichever reactor accepted the scrape, renders every slot. So counters are at most
//! [`PUBLISH_EVERY_MS`] old, and recording costs a few integer adds per turn.
//!
//! The process's own series (`process_*`, `reactor_build_info`) follow, read at each scrape
//! ([`crate::process_metrics`]).
//!
//! [`render`] is a pure function of the snapshots: the exposition format (`# HELP`, `# TYPE`,
//! `_total` counters, `_bytes`/`_seconds` units, cumulative histogram buckets) is unit-tested
//! without sockets and checked by `promtool` in CI.
//!
//! - [`loop_stats`]: what the loop records about itself;
//! - [`families`]: the series read from a snapshot, with their names and help;
//! - [`exposition`]: the text format.

mod exposition;
mod families;
mod loop_stats;

use std::sync::Mutex;

use crate::stats::Stats;

pub use exposition::render;
pub use loop_stats::{Buckets, LoopStats};

/// How often a busy reactor publishes its numbers, in milliseconds.
pub const PUBLISH_EVERY_MS: u64 = 100;

/// One reactor's numbers at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The counters also served on `/stats`.
    pub stats: Stats,
    /// The loop's own numbers.
    pub loop_stats: LoopStats,
    /// Timer entries pending (live and not yet purged).
    pub timers_pending: u64,
    /// Output bytes queued for peers that have not taken them yet.
    pub output_queued_bytes: u64,
}

/// Every reactor's latest [`Snapshot`], one slot each, shared by the reactor threads.
#[derive(Debug)]
pub struct Metrics {
    slots: Vec<Mutex<Snapshot>>,
}

impl Metrics {
    /// Slots for `reactors` reactors.
    pub fn new(reactors: usize) -> Self {
        Self {
            slots: (0..reactors.max(1))
                .map(|_| Mutex::new(Snapshot::default()))
                .collect(),
        }
    }

    /// Replaces reactor `index`'s snapshot.
    pub fn publish(&self, index: usize, snapshot: &Snapshot) {
        if let Some(slot) = self.slots.get(index) {
            // A poisoned slot only means a reactor panicked mid-copy; the data is plain numbers.
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.clone_from(snapshot);
        }
    }

    /// Appends the exposition text for every reactor to `out`.
    pub fn render(&self, out: &mut Vec<u8>) {
        let snapshots: Vec<Snapshot> = self
            .slots
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let mut text = String::with_capacity(8 * 1024);
        render(&snapshots, &mut text);
        crate::process_metrics::render(
            &crate::process_metrics::ProcessSample::read(),
            reactor_cli::PACKAGE_VERSION,
            reactor_cli::COMMIT,
            &mut text,
        );
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests;
