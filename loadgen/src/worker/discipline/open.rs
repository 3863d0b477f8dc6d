//! Open loop: requests fall due by the schedule, wait in the pacer's backlog, and go to the
//! first connection with a free slot.

use crate::clock::now_ns;
use crate::worker::engine::Worker;

impl Worker {
    /// Take every due request and hand out as many as there are free slots.
    pub(in crate::worker) fn pace(&mut self, now: u64) {
        if self.draining {
            return;
        }
        let Worker {
            book,
            pacer,
            request_quota,
            issued,
            ..
        } = self;
        let Some(pacer) = pacer.as_mut() else {
            return;
        };
        let measure_start = book.measure_start();
        pacer.take_due(
            now,
            |due| {
                // The same rule as the book's: a request is measured by its intended time.
                if due < measure_start {
                    return true;
                }
                if request_quota.is_some_and(|q| *issued >= q) {
                    return false;
                }
                *issued += 1;
                true
            },
            book,
        );
        if pacer.backlog_len() > 0 {
            self.dispatch();
        }
    }

    /// Give backlog requests to connections with a free pipeline slot, one write per touched
    /// connection.
    pub(in crate::worker) fn dispatch(&mut self) {
        let mut touched: Option<usize> = None;
        while let Some(pacer) = self.pacer.as_mut() {
            let Some(due) = pacer.front() else {
                break;
            };
            let Some(idx) = pacer.take_slot() else {
                break;
            };
            let Some(slot) = self.slots.get(idx) else {
                continue;
            };
            if !slot.can_take(self.plan.pipeline, self.per_request) {
                continue;
            }
            if let Some(t) = touched.filter(|&t| t != idx) {
                self.flush(t);
                touched = None;
            }
            if !self.submit(idx, due.intended, due.noticed) {
                if let Some(p) = self.pacer.as_mut() {
                    p.release(idx);
                }
                break;
            }
            if let Some(p) = self.pacer.as_mut() {
                p.pop();
            }
            self.book
                .waited_for_connection(due.intended, due.noticed, now_ns());
            if self.per_request {
                self.start_connect(idx, now_ns());
            } else {
                touched = Some(idx);
            }
        }
        if let Some(idx) = touched {
            self.flush(idx);
        }
    }
}
