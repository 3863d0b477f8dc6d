//! Tests of the UDP echo socket: batches received and echoed.

use super::*;
use std::collections::VecDeque;

/// Replies and a scripted kernel: each send takes the next scripted result.
struct Scripted {
    replies: Vec<Vec<u8>>,
    script: VecDeque<io::Result<usize>>,
    sent: Vec<Vec<u8>>,
}

impl Scripted {
    fn new(n: usize, script: Vec<io::Result<usize>>) -> Self {
        Self {
            replies: (0..n).map(|i| vec![i as u8; 10]).collect(),
            script: script.into(),
            sent: Vec::new(),
        }
    }
}

impl StagedReplies for Scripted {
    fn count(&self) -> usize {
        self.replies.len()
    }
    fn send_from(&mut self, from: usize) -> io::Result<usize> {
        let result = self.script.pop_front().expect("a scripted result per send");
        if let Ok(n) = result {
            let n = n.min(self.replies.len() - from);
            self.sent.extend_from_slice(&self.replies[from..from + n]);
            return Ok(n);
        }
        result
    }
    fn reply(&self, j: usize) -> (&[u8], Option<SocketAddr>) {
        (
            &self.replies[j],
            Some(SocketAddr::from(([127, 0, 0, 1], 9))),
        )
    }
}

fn would_block() -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

fn queued(queue: &mut DatagramQueue) -> Vec<u8> {
    std::iter::from_fn(|| queue.pop().map(|q| q.payload[0])).collect()
}

#[test]
fn a_partial_send_continues_from_the_first_unsent_reply() {
    let mut replies = Scripted::new(5, vec![Ok(2), Ok(3)]);
    let (mut queue, mut stats) = (DatagramQueue::new(16, 1 << 20), Stats::default());
    send_or_queue(&mut replies, &mut queue, &mut stats);
    let order: Vec<u8> = replies.sent.iter().map(|r| r[0]).collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
    assert_eq!((stats.udp_datagrams_out, stats.udp_bytes_out), (5, 50));
    assert!(queue.is_empty());
}

#[test]
fn a_reply_that_fails_alone_is_dropped_and_the_rest_still_go() {
    let failed = Err(io::Error::from_raw_os_error(libc::EPERM));
    let mut replies = Scripted::new(4, vec![Ok(1), failed, Ok(2)]);
    let (mut queue, mut stats) = (DatagramQueue::new(16, 1 << 20), Stats::default());
    send_or_queue(&mut replies, &mut queue, &mut stats);
    let order: Vec<u8> = replies.sent.iter().map(|r| r[0]).collect();
    assert_eq!(order, [0, 2, 3]);
    assert_eq!((stats.udp_datagrams_out, stats.udp_send_errors), (3, 1));
}

#[test]
fn would_block_queues_the_rest_in_order() {
    let mut replies = Scripted::new(6, vec![Ok(2), would_block()]);
    let (mut queue, mut stats) = (DatagramQueue::new(16, 1 << 20), Stats::default());
    send_or_queue(&mut replies, &mut queue, &mut stats);
    assert_eq!(queued(&mut queue), [2, 3, 4, 5]);
    assert_eq!((stats.udp_datagrams_out, stats.udp_send_blocked), (2, 4));
}

#[test]
fn a_full_reply_queue_drops_and_counts_the_excess() {
    let mut replies = Scripted::new(6, vec![would_block()]);
    let (mut queue, mut stats) = (DatagramQueue::new(4, 1 << 20), Stats::default());
    send_or_queue(&mut replies, &mut queue, &mut stats);
    assert_eq!(queued(&mut queue), [0, 1, 2, 3]);
    assert_eq!((stats.udp_send_blocked, stats.udp_queue_dropped), (6, 2));
    assert_eq!(stats.udp_datagrams_out, 0);
}

#[test]
fn replies_wait_behind_queued_ones_without_a_send() {
    let mut replies = Scripted::new(3, vec![]);
    let (mut queue, mut stats) = (DatagramQueue::new(16, 1 << 20), Stats::default());
    queue.push(SocketAddr::from(([127, 0, 0, 1], 9)), &[9]);
    send_or_queue(&mut replies, &mut queue, &mut stats);
    assert!(replies.sent.is_empty(), "no send may overtake the queue");
    assert_eq!(queued(&mut queue), [9, 0, 1, 2]);
}

/// A real socket pair on loopback, the echo driven without a reactor.
fn echo_pair(max_datagram: usize, batch: usize) -> (UdpEcho, std::net::UdpSocket, mio::Poll) {
    let server = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    server.set_nonblocking(true).expect("nonblocking");
    let mut echo = UdpEcho::with_batch(UdpSocket::from_std(server), max_datagram, 64, batch);
    let poll = mio::Poll::new().expect("poll");
    poll.registry()
        .register(echo.socket_mut(), Token(0), Interest::READABLE)
        .expect("register");
    let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    (echo, client, poll)
}

#[test]
fn oversized_datagrams_inside_a_batch_are_counted_and_the_rest_echoed() {
    let (mut echo, client, poll) = echo_pair(1000, 8);
    let to = echo.socket.local_addr().expect("addr");
    let sizes = [10usize, 1001, 1000, 5000, 1, 65_507, 999];
    for (i, &size) in sizes.iter().enumerate() {
        client.send_to(&vec![i as u8; size], to).expect("send");
    }
    let mut stats = Stats::default();
    let turn = echo.on_readable(&mut stats, poll.registry(), Token(0));
    assert_eq!(turn, UdpTurn::Drained, "7 datagrams: one partial batch");
    assert_eq!((stats.udp_datagrams_in, stats.udp_oversized), (7, 3));
    let mut buf = vec![0u8; 70_000];
    for (i, size) in [(0u8, 10usize), (2, 1000), (4, 1), (6, 999)] {
        let (n, _) = client.recv_from(&mut buf).expect("echo");
        assert_eq!(n, size, "datagram {i} comes back whole");
        assert!(buf[..n].iter().all(|&b| b == i));
    }
    assert_eq!(stats.udp_datagrams_out, 4);
}

#[test]
fn full_batches_then_a_partial_one_echo_everything_in_order() {
    let (mut echo, client, poll) = echo_pair(65_507, 4);
    let to = echo.socket.local_addr().expect("addr");
    for i in 0..10u8 {
        client.send_to(&[i; 3], to).expect("send");
    }
    let mut stats = Stats::default();
    echo.on_readable(&mut stats, poll.registry(), Token(0));
    let mut buf = [0u8; 16];
    for i in 0..10u8 {
        let (n, _) = client.recv_from(&mut buf).expect("echo");
        assert_eq!(&buf[..n], &[i; 3]);
    }
    assert_eq!((stats.udp_datagrams_in, stats.udp_datagrams_out), (10, 10));
}
