//! Load disciplines: who sends next, and when.
//!
//! - [`closed`] (closed loop): every connection keeps `--pipeline` requests in flight and
//!   sends the next as soon as an answer frees a slot (intended time = submission time);
//! - [`open`] (open loop, `--rate`): the schedule yields intended send times; due requests
//!   wait in the pacer's backlog until a connection has a free slot;
//! - [`per_request`] (`--connect-per-request`, with either of the above): a slot is free when
//!   it has no connection; the request is queued on it, it connects, sends, and closes once
//!   answered, and only then is the slot free again.
//!
//! The engine tells this module what happened to a connection (up, answers read, slots freed,
//! closed); it decides what goes out next. [`Worker::settle`] is the one place where the
//! events a connection's state machine returns are routed: to the book and to the pacer.

mod closed;
mod open;
mod per_request;

use super::conn::{ConnEvent, Ending};
use super::engine::Worker;
use super::lifecycle::Slot;
use crate::clock::now_ns;

impl Worker {
    /// The load starts at `now`: offer every slot that can carry requests.
    pub(in crate::worker) fn start_disciplines(&mut self, now: u64) {
        for idx in 0..self.slots.len() {
            if self.per_request {
                self.offer(idx, now);
            } else if self.slots[idx].is_up() {
                self.on_up(idx, now);
            }
        }
    }

    /// Route what stream connection `idx` reported: measurements to the book; open loop,
    /// answered requests free pacer slots and quietly orphaned ones go back to the backlog.
    pub(in crate::worker) fn settle(&mut self, idx: usize) {
        let Some(Slot::Stream(s)) = self.slots.get_mut(idx) else {
            return;
        };
        while let Some(event) = s.conn.poll_event() {
            match event {
                ConnEvent::Sent { f, at } => self.book.sent(&f, at),
                ConnEvent::Answered { f, status, at } => {
                    self.book.answered(&f, status, at);
                    // One connection per request: its slot is offered again once the
                    // connection is gone, not when the answer arrives.
                    if let Some(p) = self.pacer.as_mut().filter(|_| !self.per_request) {
                        p.release(idx);
                    }
                }
                ConnEvent::Orphaned { f, ending } => match ending {
                    Ending::Broken => self.book.broken(&f),
                    Ending::Quiet => {
                        if let Some(p) = self.pacer.as_mut() {
                            p.resend(f.intended, now_ns());
                        }
                    }
                    Ending::Unconnected => {}
                },
            }
        }
    }

    /// Connection `idx` can carry requests: offer its slots (only once the load runs).
    pub(in crate::worker) fn on_up(&mut self, idx: usize, now: u64) {
        if !self.book.running() {
            return;
        }
        if self.per_request {
            // Its request was queued before connecting: send it.
            self.flush(idx);
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            for _ in 0..self.plan.pipeline {
                p.release(idx);
            }
        } else {
            self.refill(idx, now);
        }
    }

    /// Connection `idx` was read dry: its answers freed slots, so send what is waiting.
    pub(in crate::worker) fn answers_read(&mut self, idx: usize, now: u64) {
        if self.pacer.is_some() {
            self.dispatch();
        } else {
            self.refill(idx, now);
        }
    }

    /// Datagram connection `idx` got `freed` answers (or losses): its slots are free.
    pub(in crate::worker) fn slots_freed(&mut self, idx: usize, freed: usize) {
        if freed == 0 {
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            for _ in 0..freed {
                p.release(idx);
            }
            self.dispatch();
        } else {
            self.refill(idx, now_ns());
        }
    }

    /// `--requests`: this thread issued its quota and nothing waits to be sent; from now on
    /// the run drains.
    pub(in crate::worker) fn quota_spent(&mut self) -> bool {
        let Some(quota) = self.request_quota else {
            return false;
        };
        let backlog = self.pacer.as_ref().map_or(0, |p| p.backlog_len());
        if self.issued < quota || backlog > 0 {
            return false;
        }
        self.draining = true;
        if let Some(p) = self.pacer.as_mut() {
            p.stop();
        }
        true
    }

    /// Counts a measured request against the quota; false when the quota is spent.
    fn issue(&mut self) -> bool {
        if self.request_quota.is_some_and(|q| self.issued >= q) {
            return false;
        }
        self.issued += 1;
        true
    }
}
