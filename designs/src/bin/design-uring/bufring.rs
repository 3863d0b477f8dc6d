//! A provided buffer ring: the buffers the kernel fills for multishot receives.

use std::sync::atomic::{AtomicU16, Ordering};

use anyhow::Context;
use io_uring::{types, IoUring};

/// A provided buffer ring: `count` buffers of `len` bytes the kernel picks from for multishot
/// receives; each comes back to us in a completion and is handed back with [`recycle`].
///
/// [`recycle`]: BufRing::recycle
pub(crate) struct BufRing {
    entries: *mut types::BufRingEntry,
    ring_bytes: usize,
    bufs: Box<[u8]>,
    len: usize,
    count: u16,
    tail: u16,
}

impl BufRing {
    /// Allocates the ring and its buffers, registers it as group `group` and provides them all.
    pub(crate) fn new(
        ring: &IoUring,
        group: u16,
        count: u16,
        len: usize,
    ) -> anyhow::Result<BufRing> {
        let ring_bytes = usize::from(count) * std::mem::size_of::<types::BufRingEntry>();
        // SAFETY: an anonymous private mapping; the result is checked before use.
        let entries = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if entries == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error()).context("mapping a buffer ring");
        }
        let mut buf_ring = BufRing {
            entries: entries.cast(),
            ring_bytes,
            bufs: vec![0u8; usize::from(count) * len].into_boxed_slice(),
            len,
            count,
            tail: 0,
        };
        // SAFETY: the mapping (page aligned, `count` entries) lives as long as `buf_ring`, which
        // the server drops only after the ring itself.
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries as u64, count, group, 0)
        }
        .context(
            "registering a provided buffer ring (the kernel lacks IORING_REGISTER_PBUF_RING, \
             Linux 5.19+)",
        )?;
        for bid in 0..count {
            buf_ring.recycle(bid);
        }
        Ok(buf_ring)
    }

    /// Buffer `bid`'s first `n` bytes, as a completion filled them.
    pub(crate) fn data(&self, bid: u16, n: usize) -> &[u8] {
        let start = usize::from(bid) * self.len;
        &self.bufs[start..start + n.min(self.len)]
    }

    /// Gives buffer `bid` back to the kernel.
    pub(crate) fn recycle(&mut self, bid: u16) {
        let index = usize::from(self.tail & (self.count - 1));
        let addr = self.bufs[usize::from(bid) * self.len..].as_ptr() as u64;
        // SAFETY: `index < count`, inside the mapping; the tail field is the ring's published
        // tail, which only we write (the kernel reads it).
        unsafe {
            let entry = &mut *self.entries.add(index);
            entry.set_addr(addr);
            entry.set_len(self.len as u32);
            entry.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
            let tail = types::BufRingEntry::tail(self.entries) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, after the ring is gone.
        unsafe { libc::munmap(self.entries.cast(), self.ring_bytes) };
    }
}
