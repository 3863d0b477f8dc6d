//! The UDP echo socket: where a datagram is received and sent back.
//!
//! Each readiness event drains the socket (up to a per-turn budget, for fairness with TCP).
//! Every datagram is received with `MSG_TRUNC`, so the kernel reports its real length and a
//! datagram larger than the buffer or `--max-datagram` is counted and dropped, never echoed
//! truncated. When the send buffer is full, replies wait in a bounded queue and `WRITABLE`
//! interest is registered until it empties; what does not fit is dropped and counted.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use reactor_proto::udp::{classify, DatagramQueue, Verdict};
use socket2::SockRef;

use crate::stats::Stats;

/// Datagrams handled per turn before other sockets get theirs.
pub const DATAGRAM_BUDGET: usize = 256;
/// Payload bytes the send queue may hold.
const QUEUE_BYTES: usize = 4 << 20;

/// Whether the socket needs another turn without waiting for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpTurn {
    /// Drained: wait for the next event.
    Drained,
    /// Budget spent with datagrams possibly left: revisit on the next turn.
    MoreReady,
}

/// The UDP echo socket and its send queue.
#[derive(Debug)]
pub struct UdpEcho {
    socket: UdpSocket,
    queue: DatagramQueue,
    max_datagram: usize,
    want_write: bool,
}

impl UdpEcho {
    /// Wraps a bound socket.
    pub fn new(socket: UdpSocket, max_datagram: usize, queue_len: usize) -> Self {
        Self {
            socket,
            queue: DatagramQueue::new(queue_len, QUEUE_BYTES),
            max_datagram,
            want_write: false,
        }
    }

    /// The socket, for registration.
    pub fn socket_mut(&mut self) -> &mut UdpSocket {
        &mut self.socket
    }

    /// Receives and echoes datagrams until the socket is drained or the budget is spent.
    /// `scratch` must hold at least the largest datagram to echo.
    pub fn on_readable(
        &mut self,
        scratch: &mut [u8],
        stats: &mut Stats,
        registry: &Registry,
        token: Token,
    ) -> UdpTurn {
        for _ in 0..DATAGRAM_BUDGET {
            let (len, peer) = match recv_real_len(&self.socket, scratch) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Replies queued during this turn need WRITABLE to ever be sent.
                    self.update_interest(registry, token, stats);
                    return UdpTurn::Drained;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ICMP errors from an earlier send surface here (ECONNREFUSED); they
                    // concern one peer, never the socket.
                    log::debug!("udp recv error: {e}");
                    stats.udp_recv_errors += 1;
                    continue;
                }
            };
            stats.udp_datagrams_in += 1;
            stats.udp_bytes_in += len as u64;
            if classify(len, scratch.len(), self.max_datagram) == Verdict::Oversized {
                stats.udp_oversized += 1;
                continue;
            }
            self.reply(&scratch[..len], peer, stats);
        }
        self.update_interest(registry, token, stats);
        UdpTurn::MoreReady
    }

    /// The socket can send again: flush queued replies.
    pub fn on_writable(&mut self, stats: &mut Stats, registry: &Registry, token: Token) {
        while let Some(item) = self.queue.front() {
            match self.socket.send_to(&item.payload, item.peer) {
                Ok(_) => {
                    stats.udp_datagrams_out += 1;
                    stats.udp_bytes_out += item.payload.len() as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("udp send to {} failed: {e}", item.peer);
                    stats.udp_send_errors += 1;
                }
            }
            self.queue.pop();
        }
        self.update_interest(registry, token, stats);
    }

    /// Sends one reply now, or queues it behind earlier ones.
    fn reply(&mut self, payload: &[u8], peer: SocketAddr, stats: &mut Stats) {
        if self.queue.is_empty() {
            match self.socket.send_to(payload, peer) {
                Ok(_) => {
                    stats.udp_datagrams_out += 1;
                    stats.udp_bytes_out += payload.len() as u64;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    log::debug!("udp send to {peer} failed: {e}");
                    stats.udp_send_errors += 1;
                    return;
                }
            }
        }
        stats.udp_send_blocked += 1;
        if !self.queue.push(peer, payload) {
            stats.udp_queue_dropped += 1;
        }
    }

    fn update_interest(&mut self, registry: &Registry, token: Token, stats: &mut Stats) {
        let want = !self.queue.is_empty();
        if want == self.want_write {
            return;
        }
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        match registry.reregister(&mut self.socket, token, interest) {
            Ok(()) => self.want_write = want,
            Err(e) => {
                log::warn!("udp reregister failed: {e}");
                stats.udp_send_errors += 1;
            }
        }
    }
}

/// Receives one datagram into `buf`, returning its *real* length (which exceeds `buf.len()`
/// when it was truncated: Linux reports the full length under `MSG_TRUNC`) and its sender.
fn recv_real_len(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and recvfrom only ever writes
    // initialised bytes into the buffer, so `buf` stays fully initialised (socket2's own
    // `Read` impl uses the same cast).
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let (len, addr) = SockRef::from(socket).recv_from_with_flags(uninit, libc::MSG_TRUNC)?;
    let peer = addr
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "non-IP sender"))?;
    Ok((len, peer))
}
