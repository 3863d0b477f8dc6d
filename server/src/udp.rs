//! The UDP echo socket: where datagrams are received and sent back, in batches.
//!
//! Each readiness event drains the socket (up to a per-turn budget, for fairness with TCP) with
//! `recvmmsg`, [`BATCH`] datagrams per system call, and echoes each batch with one `sendmmsg`
//! straight from the receive slots ([`crate::mmsg`]). Every datagram is received with
//! `MSG_TRUNC`, so the kernel reports its real length and a datagram larger than its slot or
//! `--max-datagram` is counted and dropped, never echoed truncated, wherever it sits in a batch.
//! A `sendmmsg` that takes only part of a batch is continued from the first unsent reply
//! ([`reactor_proto::udp::SendCursor`]); when the send buffer is full, the rest of the batch is
//! copied into a bounded queue and `WRITABLE` interest is registered until it empties; what
//! does not fit is dropped and counted.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use reactor_proto::udp::{
    classify, DatagramFate, DatagramQueue, SendCursor, SendOutcome, SendStep,
};

use crate::mmsg::Batch;
use crate::stats::Stats;

/// Most datagrams received (and replies sent) per system call. Under the comparison's loads
/// batches average 4-5 datagrams, and 8, 32 and 64 measured alike (designs/README.md, "UDP
/// batching"); 32 leaves room for burstier loads at 2 MiB of receive slots at most.
pub const BATCH: usize = 32;
/// Datagrams handled per turn before other sockets get theirs.
pub const DATAGRAM_BUDGET: usize = 256;
/// Payload bytes the send queue may hold.
const QUEUE_BYTES: usize = 4 << 20;
/// The largest receive slot: more than any UDP payload over IPv4 or IPv6.
const MAX_SLOT: usize = 64 * 1024;

/// Whether the socket needs another turn without waiting for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpTurn {
    /// Drained: wait for the next event.
    Drained,
    /// Budget spent with datagrams possibly left: revisit on the next turn.
    MoreReady,
}

/// The UDP echo socket, its receive batch and its send queue.
#[derive(Debug)]
pub struct UdpEcho {
    socket: UdpSocket,
    batch: Batch,
    queue: DatagramQueue,
    max_datagram: usize,
    want_write: bool,
}

/// Replies staged for one batched send: what [`send_or_queue`] needs from a batch.
trait StagedReplies {
    /// Number of staged replies.
    fn count(&self) -> usize;
    /// One batched send of replies `from..`.
    fn send_from(&mut self, from: usize) -> io::Result<usize>;
    /// Reply `j`'s payload and destination (to queue it).
    fn reply(&self, j: usize) -> (&[u8], Option<SocketAddr>);
}

/// A batch with the socket it came from.
struct SocketBatch<'a> {
    batch: &'a mut Batch,
    socket: &'a UdpSocket,
}

impl StagedReplies for SocketBatch<'_> {
    fn count(&self) -> usize {
        self.batch.staged()
    }
    fn send_from(&mut self, from: usize) -> io::Result<usize> {
        self.batch.send(self.socket.as_raw_fd(), from)
    }
    fn reply(&self, j: usize) -> (&[u8], Option<SocketAddr>) {
        self.batch.staged_reply(j)
    }
}

impl UdpEcho {
    /// Wraps a bound socket.
    pub fn new(socket: UdpSocket, max_datagram: usize, queue_len: usize) -> Self {
        Self::with_batch(socket, max_datagram, queue_len, BATCH)
    }

    /// Wraps a bound socket, receiving `batch` datagrams per system call.
    pub fn with_batch(
        socket: UdpSocket,
        max_datagram: usize,
        queue_len: usize,
        batch: usize,
    ) -> Self {
        Self {
            socket,
            batch: Batch::new(batch, max_datagram.clamp(1, MAX_SLOT)),
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
    pub fn on_readable(&mut self, stats: &mut Stats, registry: &Registry, token: Token) -> UdpTurn {
        let turn = self.drain(stats);
        // Replies queued during this turn need WRITABLE to ever be sent.
        self.update_interest(registry, token, stats);
        turn
    }

    fn drain(&mut self, stats: &mut Stats) -> UdpTurn {
        let mut handled = 0;
        while handled < DATAGRAM_BUDGET {
            let received = match self.batch.recv(self.socket.as_raw_fd()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return UdpTurn::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ICMP errors from an earlier send surface here (ECONNREFUSED); they
                    // concern one peer, never the socket.
                    log::debug!("udp recv error: {e}");
                    stats.udp_recv_errors += 1;
                    handled += 1;
                    continue;
                }
            };
            handled += received;
            self.echo_batch(received, stats);
            if received < self.batch.slots() {
                // A short batch proves the socket drained (every later datagram raises a new
                // edge), so the call that could only say WouldBlock is skipped.
                return UdpTurn::Drained;
            }
        }
        UdpTurn::MoreReady
    }

    /// Classifies the `received` datagrams of the batch and echoes those that go back.
    fn echo_batch(&mut self, received: usize, stats: &mut Stats) {
        for i in 0..received {
            let datagram = self.batch.datagram(i);
            stats.udp_datagrams_in += 1;
            stats.udp_bytes_in += datagram.real_len as u64;
            if classify(datagram.real_len, datagram.payload.len(), self.max_datagram)
                == DatagramFate::Oversized
            {
                stats.udp_oversized += 1;
                continue;
            }
            self.batch.stage(i);
        }
        let mut staged = SocketBatch {
            batch: &mut self.batch,
            socket: &self.socket,
        };
        send_or_queue(&mut staged, &mut self.queue, stats);
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

/// Sends the staged replies in as few batched sends as the kernel allows. Behind replies that
/// are already queued, or once the socket says `WouldBlock`, the rest is copied into the queue
/// in order (dropped and counted when the queue is full).
fn send_or_queue(staged: &mut impl StagedReplies, queue: &mut DatagramQueue, stats: &mut Stats) {
    let mut cursor = SendCursor::new(staged.count());
    let mut step = if queue.is_empty() {
        cursor.step()
    } else {
        SendStep::Queue { from: 0 }
    };
    loop {
        match step {
            SendStep::Done => return,
            SendStep::Queue { from } => {
                for j in from..staged.count() {
                    queue_reply(staged.reply(j), queue, stats);
                }
                return;
            }
            SendStep::Send { from } => {
                let outcome = match staged.send_from(from) {
                    Ok(n) => {
                        for j in from..from + n {
                            stats.udp_datagrams_out += 1;
                            stats.udp_bytes_out += staged.reply(j).0.len() as u64;
                        }
                        SendOutcome::Sent(n)
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => SendOutcome::WouldBlock,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => SendOutcome::Interrupted,
                    Err(e) => {
                        log::debug!("udp send to {:?} failed: {e}", staged.reply(from).1);
                        stats.udp_send_errors += 1;
                        SendOutcome::Failed
                    }
                };
                step = cursor.record(outcome);
            }
        }
    }
}

fn queue_reply(
    (payload, peer): (&[u8], Option<SocketAddr>),
    queue: &mut DatagramQueue,
    stats: &mut Stats,
) {
    stats.udp_send_blocked += 1;
    let Some(peer) = peer else {
        stats.udp_send_errors += 1; // not an IP sender: nowhere to send it later
        return;
    };
    if !queue.push(peer, payload) {
        stats.udp_queue_dropped += 1;
    }
}

#[cfg(test)]
mod tests;
