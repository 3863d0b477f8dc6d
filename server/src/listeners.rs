//! Opening the listening sockets: backlog, SO_REUSEPORT for multi-reactor mode, IPv6.
//!
//! `socket2` sets what `std`/`mio` cannot: the listen backlog (mio's default is 128, too small
//! for a connection storm) and SO_REUSEPORT, which lets every reactor thread own a listener on
//! the same port while the kernel spreads connections over them.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// A socket that could not be opened, with what and where. The OS error is its source, not
/// part of its message, so a report that walks the chain (`{:#}`) names it once.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind {proto} {addr}")]
pub struct BindError {
    /// `tcp`, `udp` or `http`.
    pub proto: &'static str,
    /// The address asked for.
    pub addr: SocketAddr,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

/// Opens a nonblocking TCP listener on `addr`.
pub fn bind_tcp(
    proto: &'static str,
    addr: SocketAddr,
    backlog: i32,
    reuse_port: bool,
) -> Result<mio::net::TcpListener, BindError> {
    let open = || -> io::Result<mio::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        // Echo and HTTP answers are small and latency-bound: Nagle must never hold them. Linux
        // copies TCP_NODELAY from the listener to every accepted socket, which saves a
        // setsockopt per connection (see `Reactor::admit`).
        socket.set_tcp_nodelay(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(backlog)?;
        Ok(mio::net::TcpListener::from_std(socket.into()))
    };
    open().map_err(|source| BindError {
        proto,
        addr,
        source,
    })
}

/// Opens a nonblocking UDP socket on `addr`.
pub fn bind_udp(addr: SocketAddr, reuse_port: bool) -> Result<mio::net::UdpSocket, BindError> {
    let open = || -> io::Result<mio::net::UdpSocket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        Ok(mio::net::UdpSocket::from_std(socket.into()))
    };
    open().map_err(|source| BindError {
        proto: "udp",
        addr,
        source,
    })
}

/// The sockets one reactor serves.
#[derive(Debug, Default)]
pub struct ReactorSockets {
    /// TCP echo listener.
    pub tcp: Option<mio::net::TcpListener>,
    /// UDP echo socket.
    pub udp: Option<mio::net::UdpSocket>,
    /// HTTP listener.
    pub http: Option<mio::net::TcpListener>,
    /// HTTPS listener.
    pub https: Option<mio::net::TcpListener>,
    /// Metrics listener (HTTP, for scrapers).
    pub metrics: Option<mio::net::TcpListener>,
}

/// The addresses actually bound (port 0 resolved), for the `listening` lines.
#[derive(Debug, Default, Clone)]
pub struct BoundAddrs {
    /// TCP echo.
    pub tcp: Option<SocketAddr>,
    /// UDP echo.
    pub udp: Option<SocketAddr>,
    /// HTTP.
    pub http: Option<SocketAddr>,
    /// HTTPS.
    pub https: Option<SocketAddr>,
    /// Metrics (HTTP).
    pub metrics: Option<SocketAddr>,
}

/// Binds one set of sockets per reactor thread. With more than one thread every socket is
/// opened with SO_REUSEPORT; a port of 0 is resolved by the first bind and reused by the others,
/// so all threads share one port per protocol.
pub fn bind_all(
    plan: &crate::config::ListenPlan,
    threads: usize,
    backlog: i32,
) -> Result<(Vec<ReactorSockets>, BoundAddrs), BindError> {
    let reuse_port = threads > 1;
    let mut sets: Vec<ReactorSockets> = (0..threads).map(|_| ReactorSockets::default()).collect();
    let bound = BoundAddrs {
        tcp: bind_listener_per_reactor("tcp", plan.tcp, &mut sets, backlog, reuse_port, |s| {
            &mut s.tcp
        })?,
        http: bind_listener_per_reactor("http", plan.http, &mut sets, backlog, reuse_port, |s| {
            &mut s.http
        })?,
        https: bind_listener_per_reactor(
            "https",
            plan.https,
            &mut sets,
            backlog,
            reuse_port,
            |s| &mut s.https,
        )?,
        metrics: bind_listener_per_reactor(
            "metrics",
            plan.metrics,
            &mut sets,
            backlog,
            reuse_port,
            |s| &mut s.metrics,
        )?,
        udp: match plan.udp {
            Some(addr) => Some(bind_udp_per_reactor(addr, &mut sets, reuse_port)?),
            None => None,
        },
    };
    Ok((sets, bound))
}

/// Binds one TCP listener per reactor on `addr` (if asked for), storing each in the slot
/// `slot` picks; returns the address actually bound (port 0 resolved by the first bind).
fn bind_listener_per_reactor(
    proto: &'static str,
    addr: Option<SocketAddr>,
    sets: &mut [ReactorSockets],
    backlog: i32,
    reuse_port: bool,
    slot: fn(&mut ReactorSockets) -> &mut Option<mio::net::TcpListener>,
) -> Result<Option<SocketAddr>, BindError> {
    let Some(mut addr) = addr else {
        return Ok(None);
    };
    for set in sets {
        let listener = bind_tcp(proto, addr, backlog, reuse_port)?;
        addr = local_addr(&listener, proto, addr)?;
        *slot(set) = Some(listener);
    }
    Ok(Some(addr))
}

/// Binds one UDP socket per reactor on `addr`; returns the address actually bound.
fn bind_udp_per_reactor(
    mut addr: SocketAddr,
    sets: &mut [ReactorSockets],
    reuse_port: bool,
) -> Result<SocketAddr, BindError> {
    for set in sets {
        let socket = bind_udp(addr, reuse_port)?;
        addr = socket.local_addr().map_err(|source| BindError {
            proto: "udp",
            addr,
            source,
        })?;
        set.udp = Some(socket);
    }
    Ok(addr)
}

fn local_addr(
    listener: &mio::net::TcpListener,
    proto: &'static str,
    asked: SocketAddr,
) -> Result<SocketAddr, BindError> {
    listener.local_addr().map_err(|source| BindError {
        proto,
        addr: asked,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Reactor::admit` skips the per-connection setsockopt because of this inheritance.
    #[cfg(target_os = "linux")]
    #[test]
    fn accepted_sockets_inherit_tcp_nodelay_from_the_listener() {
        let listener =
            bind_tcp("tcp", "127.0.0.1:0".parse().expect("addr"), 16, false).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let _client = std::net::TcpStream::connect(addr).expect("connect");
        let accepted = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("accept: {e}"),
            }
        };
        assert!(accepted.nodelay().expect("getsockopt"));
    }
}
