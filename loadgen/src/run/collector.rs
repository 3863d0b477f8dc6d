//! The collector's sums: interval reports added up as they arrive, in interval order, each
//! second closed once every thread has reported it, and the progress line fed from them.

use std::collections::BTreeMap;

use super::Interval;
use crate::progress::Progress;
use crate::stats::Recorder;

/// Adds up interval reports as they arrive, in interval order.
pub(super) struct Collector<'p> {
    threads: usize,
    progress: &'p Progress,
    pending: BTreeMap<u64, (usize, u64, Recorder)>,
    pub(super) total: Recorder,
    pub(super) intervals: Vec<Interval>,
}

impl<'p> Collector<'p> {
    pub(super) fn new(threads: usize, progress: &'p Progress) -> Collector<'p> {
        Collector {
            threads,
            progress,
            pending: Default::default(),
            total: Recorder::default(),
            intervals: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, index: u64, length_ns: u64, rec: &Recorder) {
        let entry = self
            .pending
            .entry(index)
            .or_insert_with(|| (0, 0, Recorder::default()));
        entry.0 += 1;
        entry.1 = entry.1.max(length_ns);
        entry.2.add(rec);
        // Close every interval that all threads have reported, oldest first.
        while let Some((&first, (count, _, _))) = self.pending.iter().next() {
            if *count < self.threads {
                break;
            }
            if let Some((len, rec)) = self.pending.remove(&first).map(|(_, l, r)| (l, r)) {
                self.close_interval(first, len, rec);
            }
        }
    }

    fn close_interval(&mut self, index: u64, length_ns: u64, rec: Recorder) {
        self.total.add(&rec);
        let iv = Interval {
            index,
            length_ns,
            requests: rec.counters.requests,
            errors: rec.counters.errors.total(),
            latency: rec.hist.latency,
            connect: rec.hist.connect,
            handshake: rec.hist.handshake,
        };
        self.progress.interval(
            length_ns,
            iv.requests,
            self.total.counters.errors.total(),
            self.total.hist.latency.value_at_quantile(0.99),
        );
        self.intervals.push(iv);
    }

    pub(super) fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        for (index, (_, len, rec)) in rest {
            self.close_interval(index, len, rec);
        }
        self.progress.finish();
    }
}
