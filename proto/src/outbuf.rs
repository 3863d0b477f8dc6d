//! The bytes a connection still owes its peer.
//!
//! A server writes straight from its read buffer whenever the socket accepts everything; only the
//! part the kernel refused lands here. The queue therefore stays empty (and unallocated) on the
//! fast path, and an idle connection owns no buffer at all: when the queue drains, its storage
//! is released (see [`OutBuf::take_storage`]) so a caller can pool or free it, as nginx frees
//! the buffers of idle connections.
//!
//! Invariant: `head <= buf.len()`; the pending bytes are `buf[head..]`, in the order they were
//! pushed.

/// A FIFO byte queue with cheap consumption from the front.
#[derive(Debug, Default)]
pub struct OutBuf {
    buf: Vec<u8>,
    head: usize,
}

impl OutBuf {
    /// An empty queue; allocates nothing.
    pub const fn new() -> Self {
        Self {
            buf: Vec::new(),
            head: 0,
        }
    }

    /// Bytes still to be written.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    /// Number of bytes still to be written.
    pub fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    /// Whether nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.head == self.buf.len()
    }

    /// Whether the queue holds at least `cap` bytes: the caller should stop producing output
    /// (stop reading from the peer) until it drains.
    pub fn is_full(&self, cap: usize) -> bool {
        self.len() >= cap
    }

    /// Bytes of heap storage currently held (capacity, not length).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends bytes behind everything already pending.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.compact_for(bytes.len());
        self.buf.extend_from_slice(bytes);
    }

    /// Appends bytes, first adopting `spare` as storage if the queue owns none (lets a caller
    /// recycle buffers from a pool instead of allocating).
    pub fn push_with_storage(&mut self, bytes: &[u8], spare: impl FnOnce() -> Vec<u8>) {
        if self.buf.capacity() == 0 && !bytes.is_empty() {
            self.buf = spare();
            self.buf.clear();
            self.head = 0;
        }
        self.push(bytes);
    }

    /// Marks `n` pending bytes as written. `n` larger than [`len`](Self::len) is clamped.
    pub fn consume(&mut self, n: usize) {
        self.head = (self.head + n).min(self.buf.len());
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        }
    }

    /// When the queue is empty, hands back its storage (for pooling or freeing) so an idle
    /// connection holds none. Returns `None` if bytes are pending or nothing is held.
    pub fn take_storage(&mut self) -> Option<Vec<u8>> {
        if self.is_empty() && self.buf.capacity() > 0 {
            self.head = 0;
            Some(std::mem::take(&mut self.buf))
        } else {
            None
        }
    }

    /// Moves pending bytes to the front when the consumed prefix is at least as large as what
    /// is left, so appends reuse storage instead of growing it; each byte is moved at most
    /// once per halving, keeping pushes amortised O(1).
    fn compact_for(&mut self, incoming: usize) {
        if self.head == 0 {
            return;
        }
        let live = self.len();
        let fits_without_growth = self.buf.len() + incoming <= self.buf.capacity();
        if self.head >= live || !fits_without_growth {
            self.buf.copy_within(self.head.., 0);
            self.buf.truncate(live);
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_queue_allocates_nothing() {
        let q = OutBuf::new();
        assert_eq!(q.capacity(), 0);
        assert!(q.is_empty());
    }

    #[test]
    fn preserves_order_across_partial_consumption() {
        let mut q = OutBuf::new();
        q.push(b"hello ");
        q.consume(3);
        q.push(b"world");
        assert_eq!(q.pending(), b"lo world");
        q.consume(2);
        q.push(b"!");
        assert_eq!(q.pending(), b" world!");
        assert_eq!(q.len(), 7);
    }

    #[test]
    fn draining_resets_and_storage_can_be_taken() {
        let mut q = OutBuf::new();
        q.push(&[7; 100]);
        assert!(
            q.take_storage().is_none(),
            "pending bytes keep their storage"
        );
        q.consume(100);
        assert!(q.is_empty());
        let storage = q.take_storage().expect("drained queue hands back storage");
        assert!(storage.capacity() >= 100);
        assert_eq!(q.capacity(), 0);
    }

    #[test]
    fn over_consumption_is_clamped() {
        let mut q = OutBuf::new();
        q.push(b"abc");
        q.consume(10);
        assert!(q.is_empty());
    }

    #[test]
    fn is_full_reports_cap() {
        let mut q = OutBuf::new();
        q.push(&[0; 10]);
        assert!(q.is_full(10));
        assert!(!q.is_full(11));
    }

    #[test]
    fn adopts_spare_storage() {
        let mut q = OutBuf::new();
        q.push_with_storage(b"xy", || Vec::with_capacity(4096));
        assert_eq!(q.pending(), b"xy");
        assert!(q.capacity() >= 4096);
    }

    #[test]
    fn compaction_keeps_storage_bounded_under_steady_churn() {
        let mut q = OutBuf::new();
        for round in 0..10_000u32 {
            q.push(&round.to_le_bytes());
            q.consume(3);
        }
        // 10k rounds leave 10k bytes pending; storage must not have grown with the 40k pushed.
        assert_eq!(q.len(), 10_000);
        assert!(q.capacity() < 40_000, "capacity {}", q.capacity());
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut q = OutBuf::new();
        let mut model: std::collections::VecDeque<u8> = Default::default();
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if x.is_multiple_of(3) {
                let n = (x >> 8) as usize % 50;
                q.consume(n);
                for _ in 0..n.min(model.len()) {
                    model.pop_front();
                }
            } else {
                let bytes: Vec<u8> = (0..(x >> 12) % 40).map(|i| (i ^ x) as u8).collect();
                q.push(&bytes);
                model.extend(bytes);
            }
            assert_eq!(q.len(), model.len());
        }
        assert!(q.pending().iter().eq(model.iter()));
    }
}
