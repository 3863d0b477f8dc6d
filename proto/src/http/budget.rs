//! [`BufferBudget`]: one bound on the request bytes every session of a server buffers together.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Request bytes buffered by all the sessions of a server, against one limit.
///
/// Per-request limits bound one connection; this bounds them all, so many slow uploads cannot
/// add up to unbounded memory. A session consults [`room`](Self::room) when a request head
/// announces a body it must wait for, and refuses the request (`503` with `Retry-After`, then
/// close) if the body does not fit. The server books what sessions hold: after each session call
/// it reports the change of [`HttpSession::buffered_commitment`](super::HttpSession::buffered_commitment)
/// with [`settle`](Self::settle), and releases a session's commitment when it drops it. Shared by
/// reference (an atomic counter), so reactors on several threads can share one budget.
#[derive(Debug)]
pub struct BufferBudget {
    limit: usize,
    used: AtomicUsize,
}

impl BufferBudget {
    /// A budget of `limit` bytes.
    pub const fn new(limit: usize) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// A budget that never refuses (for callers that bound memory otherwise).
    pub const fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes booked now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Bytes that may still be booked.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.used())
    }

    /// Record that a session's commitment went from `before` to `after` bytes.
    pub fn settle(&self, before: usize, after: usize) {
        if after > before {
            self.used.fetch_add(after - before, Ordering::Relaxed);
        } else if before > after {
            self.release(before - after);
        }
    }

    /// Give back `bytes` (a session that is dropped).
    pub fn release(&self, bytes: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

impl Default for BufferBudget {
    fn default() -> Self {
        Self::unlimited()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_and_releases() {
        let budget = BufferBudget::new(100);
        budget.settle(0, 60);
        assert_eq!((budget.used(), budget.room()), (60, 40));
        budget.settle(60, 120);
        assert_eq!(budget.room(), 0);
        budget.settle(120, 20);
        budget.release(50);
        assert_eq!(budget.used(), 0);
        assert_eq!(BufferBudget::unlimited().room(), usize::MAX);
    }
}
