//! UDP echo: each datagram carries a sequence number and a pattern; replies are matched to
//! what is outstanding, so loss, reordering, duplicates and corruption are each counted, and a
//! lost datagram only costs its timeout.

use std::collections::VecDeque;

use super::payload;

/// A datagram sent and not yet answered or expired.
#[derive(Debug, Clone, Copy)]
pub struct Outstanding {
    /// Sequence number.
    pub seq: u64,
    /// Intended send time (ns).
    pub intended: u64,
    /// When the generator noticed it was due (ns).
    pub noticed: u64,
    /// Actual send time (ns).
    pub sent: u64,
    /// Payload size.
    pub size: usize,
    answered: bool,
}

/// What a received datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The echo of an outstanding datagram.
    Matched {
        /// Intended send time.
        intended: u64,
        /// When the generator noticed it was due.
        noticed: u64,
        /// Actual send time.
        sent: u64,
        /// It overtook a datagram sent after it... or rather arrived after a later one.
        reordered: bool,
    },
    /// A second copy of a datagram already answered.
    Duplicate,
    /// The echo of a datagram already counted as lost.
    Late,
    /// Wrong length, or bytes differing from those sent.
    Corrupt,
}

/// Window of one socket's outstanding datagrams, ordered by sequence number.
#[derive(Debug)]
pub struct UdpTracker {
    base: u64,
    next: u64,
    window: VecDeque<Outstanding>,
    highest_answered: Option<u64>,
    answered_ring: Vec<u64>,
}

const RING: usize = 4096;

impl UdpTracker {
    /// Tracker whose sequence numbers start at `base` (make bases distinct per socket).
    pub fn new(base: u64) -> UdpTracker {
        UdpTracker {
            base,
            next: base,
            window: VecDeque::new(),
            highest_answered: None,
            answered_ring: vec![u64::MAX; RING],
        }
    }

    /// Datagrams outstanding.
    pub fn in_flight(&self) -> usize {
        self.window.iter().filter(|o| !o.answered).count()
    }

    /// Build the next datagram of `size` bytes into `out` (cleared first); returns its sequence.
    pub fn encode(&mut self, size: usize, out: &mut Vec<u8>) -> u64 {
        out.clear();
        let seq = self.next;
        payload::append(seq, size.max(8), out);
        seq
    }

    /// Record that the datagram built by the last [`UdpTracker::encode`] left at `sent`.
    pub fn on_sent(&mut self, intended: u64, noticed: u64, sent: u64, size: usize) {
        self.window.push_back(Outstanding {
            seq: self.next,
            intended,
            noticed,
            sent,
            size: size.max(8),
            answered: false,
        });
        self.next += 1;
    }

    /// Classify a received datagram.
    pub fn on_datagram(&mut self, data: &[u8]) -> Reply {
        if data.len() < 8 {
            return Reply::Corrupt;
        }
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&data[..8]);
        let seq = u64::from_le_bytes(seq_bytes);
        let front = self.window.front().map_or(self.next, |o| o.seq);
        if seq < self.base || seq >= self.next {
            return Reply::Corrupt;
        }
        if seq < front {
            return self.seen_before(seq);
        }
        let slot = &mut self.window[(seq - front) as usize];
        if slot.answered {
            return Reply::Duplicate;
        }
        if data.len() != slot.size || payload::first_mismatch(seq, 0, data).is_some() {
            return Reply::Corrupt;
        }
        slot.answered = true;
        let (intended, noticed, sent) = (slot.intended, slot.noticed, slot.sent);
        let reordered = self.highest_answered.is_some_and(|h| seq < h);
        self.highest_answered = Some(self.highest_answered.map_or(seq, |h| h.max(seq)));
        self.answered_ring[(seq % RING as u64) as usize] = seq;
        self.trim();
        Reply::Matched {
            intended,
            noticed,
            sent,
            reordered,
        }
    }

    fn seen_before(&self, seq: u64) -> Reply {
        if self.answered_ring[(seq % RING as u64) as usize] == seq {
            Reply::Duplicate
        } else {
            Reply::Late
        }
    }

    /// Drop answered datagrams from the front of the window.
    fn trim(&mut self) {
        while self.window.front().is_some_and(|o| o.answered) {
            self.window.pop_front();
        }
    }

    /// Remove and return the oldest unanswered datagram if it was sent before `cutoff`.
    pub fn expire_before(&mut self, cutoff: u64) -> Option<Outstanding> {
        let pos = self.window.iter().position(|o| !o.answered)?;
        if self.window[pos].sent >= cutoff {
            return None;
        }
        // Everything before `pos` is answered; mark this one answered-as-lost and trim.
        let lost = self.window[pos];
        self.window[pos].answered = true;
        self.trim();
        Some(lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(t: &mut UdpTracker, at: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        t.encode(32, &mut buf);
        t.on_sent(at, at, at, 32);
        buf
    }

    #[test]
    fn matches_reorders_and_duplicates() {
        let mut t = UdpTracker::new(1 << 32);
        let a = send(&mut t, 1);
        let b = send(&mut t, 2);
        assert!(matches!(
            t.on_datagram(&b),
            Reply::Matched {
                reordered: false,
                sent: 2,
                ..
            }
        ));
        assert!(matches!(
            t.on_datagram(&a),
            Reply::Matched {
                reordered: true,
                sent: 1,
                ..
            }
        ));
        assert_eq!(t.on_datagram(&a), Reply::Duplicate);
        assert_eq!(t.on_datagram(&b), Reply::Duplicate);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn loss_expires_and_late_reply_is_late() {
        let mut t = UdpTracker::new(0);
        let a = send(&mut t, 10);
        let b = send(&mut t, 20);
        assert!(t.expire_before(5).is_none());
        let lost = t.expire_before(15).unwrap();
        assert_eq!(lost.sent, 10);
        assert_eq!(t.on_datagram(&a), Reply::Late);
        assert!(matches!(t.on_datagram(&b), Reply::Matched { .. }));
    }

    #[test]
    fn corruption_and_foreign_sequence() {
        let mut t = UdpTracker::new(100);
        let mut a = send(&mut t, 1);
        a[20] ^= 4;
        assert_eq!(t.on_datagram(&a), Reply::Corrupt);
        assert_eq!(t.on_datagram(&a[..8]), Reply::Corrupt);
        let mut other = Vec::new();
        payload::append(5, 32, &mut other);
        assert_eq!(t.on_datagram(&other), Reply::Corrupt);
    }
}
