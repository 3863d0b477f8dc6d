//! Moving requests and answers: queue a request on a connection, write what it has queued,
//! read what came back. What each request's fate means is routed by
//! [`Worker::settle`](super::discipline) from the events the connection returns.

use super::conn::{Ending, InFlight};
use super::datagram::Sent;
use super::engine::Worker;
use super::lifecycle::Slot;
use super::stream::{ReadEnd, ReadError};
use crate::clock::now_ns;
use crate::workload::udp::Reply;

impl Worker {
    /// Queue one request on connection `idx` (UDP sends it at once). False when it cannot go.
    /// (`noticed`: when the loop saw it due; the server's share of its latency starts there.)
    pub(super) fn submit(&mut self, idx: usize, intended: u64, noticed: u64) -> bool {
        let size = self.rng.in_range(self.plan.size.min, self.plan.size.max);
        match &mut self.slots[idx] {
            Slot::Stream(s) => {
                s.conn.submit(intended, noticed, size);
                true
            }
            Slot::Datagram(d) => match d.send(intended, noticed, size) {
                Sent::Ok { at, bytes } => {
                    self.book.datagram_sent(intended, at, bytes);
                    true
                }
                Sent::WouldBlock => false,
                Sent::Refused => {
                    self.book.connect_failed_quietly(intended);
                    false
                }
            },
        }
    }

    /// Write what stream connection `idx` has queued; a failed write breaks the connection.
    pub(super) fn flush(&mut self, idx: usize) {
        let Slot::Stream(s) = &mut self.slots[idx] else {
            return;
        };
        let written = s.flush();
        self.settle(idx);
        match written {
            Ok(n) => self.book.bytes_sent(n, now_ns()),
            Err(e) => {
                self.book.note(e);
                self.close(idx, Ending::Broken, now_ns());
            }
        }
    }

    /// Read stream connection `idx` until drained; answered requests free their slots.
    pub(super) fn read_stream(&mut self, idx: usize, peer_closed: bool) {
        let Slot::Stream(s) = &mut self.slots[idx] else {
            return;
        };
        let mut received = 0;
        let end = s.read(&mut self.scratch, &mut received, peer_closed);
        self.settle(idx);
        let now = now_ns();
        self.book.bytes_received(received, now);
        match end {
            ReadEnd::Drained => self.answers_read(idx, now),
            ReadEnd::Close(mut ending, why) => {
                if let Some(why) = why {
                    if matches!(&why, ReadError::Stream(e) if e.is_verification()) {
                        // One fault, one error: the request answered wrongly is the
                        // verification failure; the generator then closes the connection
                        // itself (its stream is out of step), which breaks nothing more:
                        // the rest are resent (open loop) on a fresh connection.
                        self.book.verify_failed(now);
                        if let Slot::Stream(s) = &mut self.slots[idx] {
                            s.conn.drop_oldest();
                        }
                        ending = Ending::Quiet;
                    }
                    self.book.note(why);
                }
                self.close(idx, ending, now);
            }
        }
    }

    /// Read datagram connection `idx` until drained.
    pub(super) fn read_datagrams(&mut self, idx: usize) {
        let mut freed = 0;
        loop {
            let Slot::Datagram(d) = &mut self.slots[idx] else {
                return;
            };
            match d.recv(&mut self.scratch) {
                Ok(Some((reply, n, at))) => match reply {
                    Reply::Matched {
                        intended,
                        noticed,
                        sent,
                        reordered,
                    } => {
                        freed += 1;
                        let f = InFlight {
                            intended,
                            noticed,
                            sent,
                            end: 0,
                        };
                        self.book
                            .datagram_answered(&f, n, reordered, at.after_send(sent));
                    }
                    Reply::Duplicate => self.book.datagram_extra(true, at.stamp),
                    Reply::Late => self.book.datagram_extra(false, at.stamp),
                    Reply::Corrupt => {
                        self.book.verify_failed(at.stamp);
                        self.book.note("a UDP echo differs from the datagram sent");
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    // ICMP port unreachable surfaces here as ECONNREFUSED.
                    self.book.connect_failed_quietly(now_ns());
                    self.book.note(e);
                    break;
                }
            }
        }
        self.slots_freed(idx, freed);
    }
}
