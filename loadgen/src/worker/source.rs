//! Source addresses for connection churn on loopback.
//!
//! A TCP connection is a 4-tuple; against one server address and port, one source address
//! offers only the ephemeral port range (about 28 000 ports), and every connection the
//! generator closes first keeps its tuple in TIME_WAIT for a minute. On Linux the whole of
//! 127.0.0.0/8 is local, so each connection to a loopback target takes the next source
//! address of the block: tuples stay unique for millions of connections. Elsewhere there is
//! only the host's own address, and the kernel chooses as usual.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Host numbers in 127.0.0.0/8 that are used: 127.0.0.1 ..= 127.255.255.254.
const HOSTS: u32 = (1 << 24) - 2;

/// Hands out the source address of each new connection.
#[derive(Debug, Clone)]
pub struct SourceAddrs {
    next: u32,
    step: u32,
    spread: bool,
}

impl SourceAddrs {
    /// Addresses for worker `thread` of `threads` connecting to `target`: spread over
    /// 127.0.0.0/8 when the target is IPv4 loopback, else none (the kernel picks).
    pub fn new(target: SocketAddr, thread: usize, threads: usize) -> SourceAddrs {
        let spread = matches!(target.ip(), IpAddr::V4(ip) if ip.is_loopback());
        SourceAddrs {
            next: thread as u32 % HOSTS,
            step: (threads.max(1) as u32).min(HOSTS),
            spread,
        }
    }

    /// The address to bind before the next `connect()`, port 0 (the kernel picks the port
    /// at connect time), or `None` to leave it to the kernel.
    pub fn next_addr(&mut self) -> Option<SocketAddr> {
        if !self.spread {
            return None;
        }
        let host = self.next;
        self.next = (self.next + self.step) % HOSTS;
        let ip = Ipv4Addr::from(0x7F00_0000 | (host + 1));
        Some(SocketAddr::new(IpAddr::V4(ip), 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_targets_get_distinct_addresses_per_thread() {
        let mut a = SourceAddrs::new(target("127.0.0.1:7000"), 0, 2);
        let mut b = SourceAddrs::new(target("127.0.0.1:7000"), 1, 2);
        let a1 = a.next_addr().unwrap();
        let b1 = b.next_addr().unwrap();
        let a2 = a.next_addr().unwrap();
        assert_eq!(a1, target("127.0.0.1:0"));
        assert_eq!(b1, target("127.0.0.2:0"));
        assert_eq!(a2, target("127.0.0.3:0"));
    }

    #[test]
    fn the_block_wraps_without_network_or_broadcast_address() {
        let mut s = SourceAddrs::new(target("127.9.9.9:1"), 0, 1);
        s.next = HOSTS - 1;
        assert_eq!(s.next_addr(), Some(target("127.255.255.254:0")));
        assert_eq!(s.next_addr(), Some(target("127.0.0.1:0")));
    }

    #[test]
    fn other_targets_leave_the_choice_to_the_kernel() {
        assert_eq!(
            SourceAddrs::new(target("10.0.0.1:80"), 0, 1).next_addr(),
            None
        );
        assert_eq!(SourceAddrs::new(target("[::1]:80"), 0, 1).next_addr(), None);
    }
}
