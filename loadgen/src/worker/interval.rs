//! Reporting: once per interval the thread moves what it measured to the collector (a moved
//! `Recorder`, no lock), and at the end says it has finished.

use super::engine::Worker;
use super::{Msg, INTERVAL_NS};

impl Worker {
    /// Hand over every interval that ended by `now` (or by the end of the run).
    pub(super) fn roll_intervals(&mut self, now: u64) {
        loop {
            let boundary = self.book.measure_start() + (self.interval + 1) * INTERVAL_NS;
            if boundary > now.min(self.measure_end) {
                break;
            }
            self.send_interval(boundary);
        }
    }

    /// The run ended at `end`: hand over the last (partial) interval and say so.
    pub(super) fn finish(&mut self, end: u64) {
        if let Some(p) = self.pacer.as_mut() {
            for due in p.drain_backlog() {
                self.book.unsent_at_end(due.intended, due.noticed, end);
            }
        }
        self.send_interval(end);
        let _ = self.tx.send(Msg::Finished {
            end_ns: end,
            first_error: self.book.take_first_error(),
        });
    }

    /// Hand the current interval's measurements to the collector.
    fn send_interval(&mut self, end: u64) {
        let begin = self
            .book
            .measure_start()
            .saturating_add(self.interval * INTERVAL_NS);
        if end <= begin {
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            let (peak, overflowed) = p.take_peak();
            self.book.rec.counters.backlog_peak = peak as u64;
            self.book.rec.counters.backlog_overflows = u64::from(overflowed);
        }
        let recorder = std::mem::take(&mut self.book.rec);
        let _ = self.tx.send(Msg::Interval {
            index: self.interval,
            length_ns: end.saturating_sub(begin),
            recorder: Box::new(recorder),
        });
        self.interval += 1;
    }
}
