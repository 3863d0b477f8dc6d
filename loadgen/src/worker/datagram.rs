//! The datagram transport: a connected non-blocking UDP socket and its [`UdpTracker`], which
//! matches echoes to what is outstanding (sans-IO, in [`crate::workload::udp`]).

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::os::fd::AsRawFd;

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

use super::rxstamp::{self, Arrival};
use crate::clock::now_ns;
use crate::workload::udp::{Reply, UdpTracker};

/// A UDP "connection": socket (none while down), tracker, send buffer.
pub struct DatagramSlot {
    /// Up or down.
    pub up: bool,
    /// The socket.
    pub socket: Option<UdpSocket>,
    /// Outstanding datagrams.
    pub tracker: UdpTracker,
    buf: Vec<u8>,
}

/// What one send did.
#[derive(Debug)]
pub enum Sent {
    /// The datagram left at `at` with `bytes` bytes.
    Ok {
        /// Time just before the `send`.
        at: u64,
        /// Bytes sent.
        bytes: usize,
    },
    /// The socket buffer is full; try later.
    WouldBlock,
    /// An earlier ICMP error surfaced (ECONNREFUSED); the socket is kept.
    Refused,
}

impl DatagramSlot {
    /// A socket not yet opened; sequence numbers start at `seq_base`.
    pub fn new(seq_base: u64) -> DatagramSlot {
        DatagramSlot {
            up: false,
            socket: None,
            tracker: UdpTracker::new(seq_base),
            buf: Vec::with_capacity(2048),
        }
    }

    /// Open and register a socket connected to `addr`; it is up at once.
    pub fn open(&mut self, addr: SocketAddr, registry: &Registry, token: Token) -> io::Result<()> {
        let local: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = StdUdpSocket::bind(local)?;
        socket.connect(addr)?;
        socket.set_nonblocking(true)?;
        let mut socket = UdpSocket::from_std(socket);
        registry.register(&mut socket, token, Interest::READABLE)?;
        rxstamp::enable(socket.as_raw_fd());
        self.socket = Some(socket);
        self.up = true;
        Ok(())
    }

    /// Drop the socket, if any.
    pub fn drop_socket(&mut self, registry: &Registry) {
        if let Some(mut socket) = self.socket.take() {
            let _ = registry.deregister(&mut socket);
        }
        self.up = false;
    }

    /// Send one datagram of `size` bytes intended at `intended`, noticed due at `noticed`.
    pub fn send(&mut self, intended: u64, noticed: u64, size: usize) -> Sent {
        let Some(socket) = self.socket.as_ref() else {
            return Sent::WouldBlock;
        };
        self.tracker.encode(size, &mut self.buf);
        let at = now_ns();
        match socket.send(&self.buf) {
            Ok(bytes) => {
                self.tracker.on_sent(intended, noticed, at, size);
                Sent::Ok { at, bytes }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Sent::WouldBlock,
            Err(_) => Sent::Refused,
        }
    }

    /// Receive one datagram into `scratch`: `Ok(Some((reply, len, arrival)))`, `Ok(None)` when
    /// drained, `Err` for a socket error (ICMP port unreachable surfaces as ECONNREFUSED).
    pub fn recv(&mut self, scratch: &mut [u8]) -> io::Result<Option<(Reply, usize, Arrival)>> {
        let Some(socket) = self.socket.as_ref() else {
            return Ok(None);
        };
        loop {
            match rxstamp::recv(socket.as_raw_fd(), scratch) {
                Ok(rxstamp::Received { len: n, at, .. }) => {
                    return Ok(Some((self.tracker.on_datagram(&scratch[..n]), n, at)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
