//! Datagram echo rules: which datagrams go back, and the bounded queue for when the socket's
//! send buffer is full.
//!
//! A UDP echo must never send back a truncated datagram: the receive path learns the real
//! length of each datagram (Linux `MSG_TRUNC`) and [`classify`] drops those over the limit.
//! When sending would block, datagrams wait in a [`DatagramQueue`] bounded by count and bytes;
//! what does not fit is dropped and counted rather than blocking the loop or growing memory.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// The largest UDP payload over IPv4 (65,535 − 8 byte UDP header − 20 byte IP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65_507;

/// What to do with one received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it back unchanged.
    Echo,
    /// Larger than the receive buffer or the configured limit: the bytes read are a truncated
    /// prefix, so echoing them would corrupt the exchange. Drop and count it.
    Oversized,
}

/// Decides a datagram's fate from its real length (as reported with `MSG_TRUNC`), the
/// receive buffer's length and the configured maximum.
pub fn classify(real_len: usize, buffer_len: usize, max_datagram: usize) -> Verdict {
    if real_len > buffer_len || real_len > max_datagram {
        Verdict::Oversized
    } else {
        Verdict::Echo
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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[test]
    fn classify_rejects_truncated_and_over_limit() {
        assert_eq!(classify(100, 65_536, MAX_UDP_PAYLOAD_V4), Verdict::Echo);
        assert_eq!(
            classify(MAX_UDP_PAYLOAD_V4, 65_536, MAX_UDP_PAYLOAD_V4),
            Verdict::Echo
        );
        assert_eq!(classify(2000, 1500, 65_507), Verdict::Oversized);
        assert_eq!(classify(1200, 65_536, 1000), Verdict::Oversized);
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
