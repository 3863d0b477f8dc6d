//! A connection per request: a slot is free when it has no connection. The request is queued
//! on it while it is down, the slot connects and sends, and it is free again once the
//! connection is gone (closed loop: the next request goes out at once; open loop: its pacer
//! token returns).

use crate::worker::conn::Ending;
use crate::worker::engine::Worker;

impl Worker {
    /// Slot `idx` is free for the next request.
    pub(in crate::worker) fn offer(&mut self, idx: usize, now: u64) {
        match self.pacer.as_mut() {
            Some(p) => p.release(idx),
            None => self.refill(idx, now),
        }
    }

    /// The connection of slot `idx` closed this way. Done (or broken): the slot takes the
    /// next request on a fresh connection. A broken one waits for housekeeping in closed
    /// loop, so a server that resets every connection is not hammered in a tight loop.
    pub(in crate::worker) fn after_one_shot_close(&mut self, idx: usize, ending: Ending, now: u64) {
        if ending == Ending::Quiet || self.pacer.is_some() {
            self.offer(idx, now);
        }
    }

    /// The connect of slot `idx` failed: open loop, its pacer token returns now (closed loop:
    /// at the next housekeeping).
    pub(in crate::worker) fn connection_gone(&mut self, idx: usize) {
        if let Some(p) = self.pacer.as_mut() {
            p.release(idx);
        }
    }

    /// Housekeeping found slot `idx` without a connection: closed loop, a slot a failure left
    /// idle takes its next request (open loop: the pacer hands it one).
    pub(in crate::worker) fn idle_one_shot(&mut self, idx: usize, now: u64) {
        if self.pacer.is_none() {
            self.refill(idx, now);
        }
    }
}
