//! The loop's response staging buffer, reachable only through a [`Turn`].
//!
//! HTTP responses are built in one buffer per loop (pipelined answers batched into one write),
//! shared by every connection of that loop. Bytes staged for one connection must never reach
//! another: so the buffer's contents can be touched only through a [`Turn`], which one protocol
//! call and the transmission of its answer hold, and which empties the buffer when it begins
//! and again when it is dropped, whatever path (an early return on a write error, a `?`, a
//! panic unwinding) ends it. No caller has to remember a `clear()`.

/// The staging buffer of one loop.
#[derive(Debug, Default)]
pub struct Staging {
    buf: Vec<u8>,
}

impl Staging {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Begins one connection's turn: the buffer is empty now and will be empty again when the
    /// turn is dropped.
    pub fn turn(&mut self) -> Turn<'_> {
        self.buf.clear();
        Turn { buf: &mut self.buf }
    }

    /// Whether nothing is staged (always true between turns).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// One connection's exclusive use of the staging buffer; see the module docs.
#[derive(Debug)]
pub struct Turn<'a> {
    buf: &'a mut Vec<u8>,
}

impl Turn<'_> {
    /// Where the protocol appends its answer.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    /// The bytes staged in this turn.
    pub fn bytes(&self) -> &[u8] {
        self.buf
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage_and_bail(staging: &mut Staging, bytes: &[u8]) -> Result<(), ()> {
        let mut turn = staging.turn();
        turn.buf().extend_from_slice(bytes);
        Err(()) // an early return, as on a failed write
    }

    #[test]
    fn a_turn_that_ends_early_leaves_nothing_behind() {
        let mut staging = Staging::with_capacity(16);
        assert!(stage_and_bail(&mut staging, b"secret of A").is_err());
        assert!(staging.is_empty());
        let turn = staging.turn();
        assert!(turn.bytes().is_empty(), "the next connection sees nothing");
    }

    #[test]
    fn a_turn_that_unwinds_leaves_nothing_behind() {
        let mut staging = Staging::with_capacity(16);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut turn = staging.turn();
            turn.buf().extend_from_slice(b"secret");
            panic!("mid-turn");
        }));
        assert!(unwound.is_err());
        assert!(staging.is_empty());
    }
}
