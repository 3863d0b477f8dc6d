//! Datagram echo rules: which datagrams go back, and the bounded queue for when the socket's
//! send buffer is full.
//!
//! A UDP echo must never send back a truncated datagram: the receive path learns the real
//! length of each datagram (Linux `MSG_TRUNC`) and [`classify`] drops those over the limit.
//! When sending would block, datagrams wait in a [`DatagramQueue`] bounded by count and bytes;
//! what does not fit is dropped and counted rather than blocking the loop or growing memory.
//! Replies sent in batches (`sendmmsg`) go through a [`SendCursor`], which says what to send,
//! retry or queue after each partial or failed batch.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// The largest UDP payload over IPv4 (65,535 − 8 byte UDP header − 20 byte IP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65_507;

/// What to do with one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramFate {
    /// Send it back unchanged.
    Echo,
    /// Larger than the receive buffer or the configured limit: the bytes read are a truncated
    /// prefix, so echoing them would corrupt the exchange. Drop and count it.
    Oversized,
}

/// Decides a datagram's fate from its real length (as reported with `MSG_TRUNC`), the
/// receive buffer's length and the configured maximum.
pub fn classify(real_len: usize, buffer_len: usize, max_datagram: usize) -> DatagramFate {
    if real_len > buffer_len || real_len > max_datagram {
        DatagramFate::Oversized
    } else {
        DatagramFate::Echo
    }
}

/// One datagram waiting to be sent.
#[derive(Debug)]
pub struct Queued {
    /// Where it goes.
    pub peer: SocketAddr,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// A FIFO of datagrams waiting for the socket to become writable, bounded by count and bytes.
///
/// Invariant: `bytes` is the sum of the queued payload lengths, and never exceeds `max_bytes`;
/// `items.len()` never exceeds `max_items`.
#[derive(Debug)]
pub struct DatagramQueue {
    items: VecDeque<Queued>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
    dropped: u64,
}

impl DatagramQueue {
    /// An empty queue holding at most `max_items` datagrams and `max_bytes` payload bytes.
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        Self {
            items: VecDeque::new(),
            bytes: 0,
            max_items,
            max_bytes,
            dropped: 0,
        }
    }

    /// Queues a copy of `payload` for `peer`; returns `false` (and counts a drop) when the
    /// queue is full.
    pub fn push(&mut self, peer: SocketAddr, payload: &[u8]) -> bool {
        if self.items.len() >= self.max_items || self.bytes + payload.len() > self.max_bytes {
            self.dropped += 1;
            return false;
        }
        self.bytes += payload.len();
        self.items.push_back(Queued {
            peer,
            payload: payload.to_vec(),
        });
        true
    }

    /// The oldest waiting datagram.
    pub fn front(&self) -> Option<&Queued> {
        self.items.front()
    }

    /// Removes the oldest datagram (after it was sent, or failed permanently).
    pub fn pop(&mut self) -> Option<Queued> {
        let item = self.items.pop_front()?;
        self.bytes -= item.payload.len();
        Some(item)
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of datagrams waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Payload bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams refused because the queue was full, since creation.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What one batched send (`sendmmsg`) of replies `from..` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// The kernel took this many replies (at least one), in order.
    Sent(usize),
    /// The socket's send buffer is full: nothing was sent.
    WouldBlock,
    /// The first reply failed with an error of its own (a bad destination, say): it is dropped.
    Failed,
    /// Interrupted by a signal before sending anything: try again.
    Interrupted,
}

/// What to do next with a batch of replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStep {
    /// Send replies `from..` in one call.
    Send {
        /// The first reply not yet sent.
        from: usize,
    },
    /// The socket is full: queue replies `from..` (each in order) and wait for `WRITABLE`.
    Queue {
        /// The first reply not sent.
        from: usize,
    },
    /// Every reply is sent (or dropped after its own error).
    Done,
}

/// Walks a batch of `len` replies through as many batched sends as it takes: `sendmmsg` may
/// take only a prefix (a partial send), fail on the first reply alone (that reply is dropped,
/// the rest still go) or refuse everything because the socket is full (the rest is queued).
///
/// Invariant: replies `..next` were sent or dropped, in order; `next <= len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCursor {
    next: usize,
    len: usize,
}

impl SendCursor {
    /// A cursor over `len` replies, none sent yet.
    pub fn new(len: usize) -> Self {
        Self { next: 0, len }
    }

    /// The next step.
    pub fn step(&self) -> SendStep {
        if self.next >= self.len {
            SendStep::Done
        } else {
            SendStep::Send { from: self.next }
        }
    }

    /// Records what the send of `from..` did and returns the next step.
    pub fn record(&mut self, outcome: SendOutcome) -> SendStep {
        match outcome {
            SendOutcome::Sent(n) => self.next = (self.next + n.max(1)).min(self.len),
            SendOutcome::Failed => self.next = (self.next + 1).min(self.len),
            SendOutcome::Interrupted => {}
            SendOutcome::WouldBlock => return SendStep::Queue { from: self.next },
        }
        self.step()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_sends_a_whole_batch_in_one_call() {
        let mut cursor = SendCursor::new(8);
        assert_eq!(cursor.step(), SendStep::Send { from: 0 });
        assert_eq!(cursor.record(SendOutcome::Sent(8)), SendStep::Done);
    }

    #[test]
    fn cursor_continues_after_a_partial_send_and_skips_a_failed_reply() {
        let mut cursor = SendCursor::new(8);
        assert_eq!(
            cursor.record(SendOutcome::Sent(3)),
            SendStep::Send { from: 3 }
        );
        assert_eq!(
            cursor.record(SendOutcome::Interrupted),
            SendStep::Send { from: 3 }
        );
        assert_eq!(
            cursor.record(SendOutcome::Failed),
            SendStep::Send { from: 4 }
        );
        assert_eq!(cursor.record(SendOutcome::Sent(4)), SendStep::Done);
    }

    #[test]
    fn cursor_queues_the_rest_when_the_socket_is_full() {
        let mut cursor = SendCursor::new(8);
        cursor.record(SendOutcome::Sent(5));
        assert_eq!(
            cursor.record(SendOutcome::WouldBlock),
            SendStep::Queue { from: 5 }
        );
    }

    #[test]
    fn cursor_never_runs_past_the_batch() {
        let mut cursor = SendCursor::new(2);
        assert_eq!(cursor.record(SendOutcome::Sent(10)), SendStep::Done);
        assert_eq!(SendCursor::new(0).step(), SendStep::Done);
    }

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn classify_rejects_truncated_and_over_limit() {
        assert_eq!(
            classify(100, 65_536, MAX_UDP_PAYLOAD_V4),
            DatagramFate::Echo
        );
        assert_eq!(
            classify(MAX_UDP_PAYLOAD_V4, 65_536, MAX_UDP_PAYLOAD_V4),
            DatagramFate::Echo
        );
        assert_eq!(classify(2000, 1500, 65_507), DatagramFate::Oversized);
        assert_eq!(classify(1200, 65_536, 1000), DatagramFate::Oversized);
    }

    #[test]
    fn queue_is_fifo_and_bounded_by_count() {
        let mut q = DatagramQueue::new(2, 1 << 20);
        assert!(q.push(addr(), b"a"));
        assert!(q.push(addr(), b"b"));
        assert!(!q.push(addr(), b"c"));
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.pop().map(|d| d.payload), Some(b"a".to_vec()));
        assert_eq!(q.front().map(|d| d.payload.clone()), Some(b"b".to_vec()));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn queue_is_bounded_by_bytes() {
        let mut q = DatagramQueue::new(100, 10);
        assert!(q.push(addr(), &[0; 6]));
        assert!(!q.push(addr(), &[0; 6]));
        assert!(q.push(addr(), &[0; 4]));
        assert_eq!(q.bytes(), 10);
        q.pop();
        assert_eq!(q.bytes(), 4);
        assert!(!q.is_empty());
    }
}
