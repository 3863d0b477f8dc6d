//! Batched datagram I/O: `recvmmsg` fills a fixed set of slots in one system call, and
//! `sendmmsg` sends the echoes straight from those slots in another.
//!
//! Memory is fixed at construction: `slots × slot_len` bytes of receive buffer (allocated
//! zeroed and never written by us, so only the pages the kernel writes datagrams into become
//! resident: 64 slots of 64 KiB cost 256 KiB resident with small datagrams, 4 MiB at most),
//! plus one address, `iovec` and `mmsghdr` per slot and direction. Every datagram is received
//! with `MSG_TRUNC`, so each slot reports its datagram's *real* length and a datagram larger
//! than its slot is recognised, never mistaken for a shorter one.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// One received datagram, as the kernel reported it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// Its real length (larger than `payload.len()` when it did not fit its slot).
    pub real_len: usize,
    /// The bytes that fit in the slot.
    pub payload: &'a [u8],
}

/// The receive slots of one batch and the send headers that echo from them.
///
/// Every pointer in `recv_hdrs`, `recv_iovs`, `send_hdrs` and `send_iovs` points into this
/// struct's own boxed slices, which are allocated once and never resized, so the pointers stay
/// valid when the struct moves (a `Box`'s heap contents do not move with it).
pub struct Batch {
    slot_len: usize,
    bufs: Box<[u8]>,
    addrs: Box<[libc::sockaddr_storage]>,
    recv_iovs: Box<[libc::iovec]>,
    recv_hdrs: Box<[libc::mmsghdr]>,
    send_iovs: Box<[libc::iovec]>,
    send_hdrs: Box<[libc::mmsghdr]>,
    /// Datagrams in the slots from the last `recv`.
    received: usize,
    /// Replies staged in `send_hdrs` by `stage`.
    staged: usize,
}

// SAFETY: the raw pointers only ever point into the struct's own heap allocations (see the type's
// doc); nothing is shared, so moving the whole batch to another thread is sound.
unsafe impl Send for Batch {}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("slots", &self.slots())
            .field("slot_len", &self.slot_len)
            .field("received", &self.received)
            .field("staged", &self.staged)
            .finish()
    }
}

/// `n` all-zero values of a C struct.
fn zeroed<T>(n: usize) -> Box<[T]> {
    // SAFETY: only used for sockaddr_storage, iovec and mmsghdr, for which all-zero is valid
    // (null pointers, zero lengths); every pointer is set before any system call sees it.
    (0..n).map(|_| unsafe { std::mem::zeroed() }).collect()
}

/// The IP address the kernel wrote into `addr` (`len` bytes), if it is one.
fn socket_addr(addr: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(addr.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and it is large enough.
            let v4 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6, and it is large enough.
            let v6 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

const ADDR_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;

impl Batch {
    /// `slots` receive slots (at least one) of `slot_len` bytes each.
    pub fn new(slots: usize, slot_len: usize) -> Batch {
        let slots = slots.max(1);
        let mut batch = Batch {
            slot_len,
            bufs: vec![0u8; slots * slot_len].into_boxed_slice(),
            addrs: zeroed(slots),
            recv_iovs: zeroed(slots),
            recv_hdrs: zeroed(slots),
            send_iovs: zeroed(slots),
            send_hdrs: zeroed(slots),
            received: 0,
            staged: 0,
        };
        for i in 0..slots {
            let buf = batch.bufs[i * slot_len..].as_mut_ptr();
            batch.recv_iovs[i] = libc::iovec {
                iov_base: buf.cast(),
                iov_len: slot_len,
            };
            let hdr = &mut batch.recv_hdrs[i].msg_hdr;
            hdr.msg_name = std::ptr::addr_of_mut!(batch.addrs[i]).cast();
            hdr.msg_iov = std::ptr::addr_of_mut!(batch.recv_iovs[i]);
            hdr.msg_iovlen = 1;
            let hdr = &mut batch.send_hdrs[i].msg_hdr;
            hdr.msg_iov = std::ptr::addr_of_mut!(batch.send_iovs[i]);
            hdr.msg_iovlen = 1;
        }
        batch
    }

    /// Number of slots: the most datagrams one `recv` returns.
    pub fn slots(&self) -> usize {
        self.recv_hdrs.len()
    }

    /// Receives up to [`slots`](Self::slots) datagrams without blocking; returns how many.
    /// `WouldBlock` when none is waiting.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.received = 0;
        self.staged = 0;
        for hdr in self.recv_hdrs.iter_mut() {
            hdr.msg_hdr.msg_namelen = ADDR_LEN;
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
        // SAFETY: every header points at a slot buffer of `slot_len` bytes and an address of
        // ADDR_LEN bytes, all owned by `self` and alive for the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.recv_hdrs.as_mut_ptr(),
                self.recv_hdrs.len() as libc::c_uint,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.received = n as usize;
        Ok(self.received)
    }

    /// Datagram `i` of the last `recv` (`i < ` the count it returned).
    pub fn datagram(&self, i: usize) -> Received<'_> {
        let real_len = self.recv_hdrs[i].msg_len as usize;
        let start = i * self.slot_len;
        Received {
            real_len,
            payload: &self.bufs[start..start + real_len.min(self.slot_len)],
        }
    }

    /// The sender of datagram `i`, if it is an IP address.
    pub fn peer(&self, i: usize) -> Option<SocketAddr> {
        socket_addr(&self.addrs[i], self.recv_hdrs[i].msg_hdr.msg_namelen)
    }

    /// Stages datagram `i` of the last `recv` to be echoed to its sender by [`send`](Self::send).
    /// Replies go out in the order they were staged.
    pub fn stage(&mut self, i: usize) {
        let len = self.datagram(i).real_len.min(self.slot_len);
        let j = self.staged;
        self.send_iovs[j] = libc::iovec {
            iov_base: self.recv_iovs[i].iov_base,
            iov_len: len,
        };
        let hdr = &mut self.send_hdrs[j].msg_hdr;
        hdr.msg_name = std::ptr::addr_of_mut!(self.addrs[i]).cast();
        hdr.msg_namelen = self.recv_hdrs[i].msg_hdr.msg_namelen;
        self.staged += 1;
    }

    /// Number of replies staged since the last `recv`.
    pub fn staged(&self) -> usize {
        self.staged
    }

    /// The payload and destination of staged reply `j`.
    pub fn staged_reply(&self, j: usize) -> (&[u8], Option<SocketAddr>) {
        let iov = &self.send_iovs[j];
        // SAFETY: `stage` pointed this iovec at `iov_len` bytes of a slot buffer owned by `self`.
        let payload = unsafe { std::slice::from_raw_parts(iov.iov_base as *const u8, iov.iov_len) };
        let hdr = &self.send_hdrs[j].msg_hdr;
        // SAFETY: `stage` pointed msg_name at one of `self.addrs`.
        let addr = unsafe { &*(hdr.msg_name as *const libc::sockaddr_storage) };
        (payload, socket_addr(addr, hdr.msg_namelen))
    }

    /// Sends staged replies `from..` in one `sendmmsg`; returns how many the kernel took (at
    /// least one) or the error of the first one.
    pub fn send(&mut self, fd: RawFd, from: usize) -> io::Result<usize> {
        let count = self.staged.saturating_sub(from);
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: headers `from..staged` point at slot bytes and addresses owned by `self`.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                self.send_hdrs[from..].as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn pair() -> (UdpSocket, UdpSocket) {
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        server.set_nonblocking(true).expect("nonblocking");
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        (server, client)
    }

    #[test]
    fn empty_socket_would_block() {
        let (server, _client) = pair();
        let mut batch = Batch::new(4, 1024);
        let err = batch.recv(server.as_raw_fd()).expect_err("nothing waiting");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_partial_batch_returns_what_is_waiting_with_real_lengths_and_senders() {
        let (server, client) = pair();
        let to = server.local_addr().expect("addr");
        for size in [1usize, 100, 3000] {
            client.send_to(&vec![size as u8; size], to).expect("send");
        }
        let mut batch = Batch::new(8, 1024);
        assert_eq!(batch.recv(server.as_raw_fd()).expect("recv"), 3);
        let client_addr = client.local_addr().expect("addr");
        for (i, size) in [1usize, 100, 3000].into_iter().enumerate() {
            let got = batch.datagram(i);
            assert_eq!(got.real_len, size, "MSG_TRUNC reports the real length");
            assert_eq!(got.payload.len(), size.min(1024));
            assert!(got.payload.iter().all(|&b| b == size as u8));
            assert_eq!(batch.peer(i), Some(client_addr));
        }
    }

    #[test]
    fn staged_replies_go_back_in_order_from_the_slots() {
        let (server, client) = pair();
        let to = server.local_addr().expect("addr");
        for msg in [&b"one"[..], b"two", b"three"] {
            client.send_to(msg, to).expect("send");
        }
        let mut batch = Batch::new(8, 64);
        assert_eq!(batch.recv(server.as_raw_fd()).expect("recv"), 3);
        batch.stage(0);
        batch.stage(2);
        assert_eq!(batch.staged_reply(1).0, b"three");
        assert_eq!(batch.send(server.as_raw_fd(), 0).expect("send"), 2);
        let mut buf = [0u8; 64];
        for want in [&b"one"[..], b"three"] {
            let (n, from) = client.recv_from(&mut buf).expect("echo");
            assert_eq!((&buf[..n], from), (want, to));
        }
    }

    #[test]
    fn a_full_batch_leaves_the_rest_for_the_next_call() {
        let (server, client) = pair();
        let to = server.local_addr().expect("addr");
        for i in 0..5u8 {
            client.send_to(&[i], to).expect("send");
        }
        let mut batch = Batch::new(2, 16);
        let mut seen = Vec::new();
        loop {
            match batch.recv(server.as_raw_fd()) {
                Ok(n) => seen.extend((0..n).map(|i| batch.datagram(i).payload[0])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
