//! A small free list of output buffers, so a connection whose output backs up borrows storage
//! instead of allocating, and returns it once drained (an idle connection holds none).

/// Buffers kept for reuse at most.
const MAX_POOLED: usize = 256;
/// Buffers that grew beyond this are freed instead of pooled, so one burst cannot pin memory.
const MAX_POOLED_CAPACITY: usize = 256 * 1024;

/// Free list of byte buffers.
#[derive(Debug, Default)]
pub struct BufPool {
    free: Vec<Vec<u8>>,
}

impl BufPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer from the pool, or a fresh one with `capacity`.
    pub fn take(&mut self, capacity: usize) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// Gives a buffer back; it is kept if the pool has room and it is not oversized.
    pub fn give(&mut self, mut buf: Vec<u8>) {
        if self.free.len() < MAX_POOLED && buf.capacity() <= MAX_POOLED_CAPACITY {
            buf.clear();
            self.free.push(buf);
        }
    }

    /// Buffers currently pooled.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether no buffer is pooled.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_given_buffers_and_drops_oversized() {
        let mut pool = BufPool::new();
        let mut b = pool.take(16);
        b.extend_from_slice(b"abc");
        pool.give(b);
        assert_eq!(pool.len(), 1);
        let again = pool.take(16);
        assert!(again.is_empty());
        assert!(pool.is_empty());
        pool.give(Vec::with_capacity(MAX_POOLED_CAPACITY + 1));
        assert!(pool.is_empty());
    }
}
