//! Closed loop: a connection sends its next request as soon as an answer frees a slot.

use crate::worker::engine::Worker;

impl Worker {
    /// Fill connection `idx` up to the pipeline depth and send.
    pub(in crate::worker) fn refill(&mut self, idx: usize, now: u64) {
        if self.draining || !self.slots[idx].can_take(self.plan.pipeline, self.per_request) {
            return;
        }
        let mut added = false;
        while self.slots[idx].can_take(self.plan.pipeline, self.per_request) {
            if self.book.measures(now) && !self.issue() {
                break;
            }
            if !self.submit(idx, now, now) {
                break;
            }
            added = true;
            if self.per_request {
                // The request is queued on a connection that is down: it can take no more.
                break;
            }
        }
        if added && self.per_request {
            self.start_connect(idx, now);
        } else if added {
            self.flush(idx);
        }
    }
}
