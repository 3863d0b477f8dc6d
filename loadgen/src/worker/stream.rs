//! The stream transport: moves bytes between a non-blocking `TcpStream` and its
//! [`StreamConn`], through the TLS layer ([`super::tls`]) on an https target; every decision
//! is the state machine's.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::conn::{Ending, Phase, Received, StreamConn};
use super::rxstamp;
use super::tls::{Handshaking, TlsClient, TlsSession};
use crate::clock::now_ns;
use crate::workload::StreamError;

/// A stream connection: its state machine and, while it has one, its socket.
pub struct StreamSlot {
    /// Protocol and request state.
    pub conn: StreamConn,
    /// The socket (none while down).
    pub socket: Option<TcpStream>,
    /// Its TLS session (https targets, once TCP is established).
    pub tls: Option<Box<TlsSession>>,
}

/// How reading a stream ended.
#[derive(Debug)]
pub enum ReadEnd {
    /// The socket is drained for now.
    Drained,
    /// Close the connection this way (the server closed, announced a close, or broke it).
    Close(Ending, Option<ReadError>),
}

/// Why a read broke the connection.
#[derive(Debug)]
pub enum ReadError {
    /// The bytes were wrong or malformed (a verification failure) or cut short.
    Stream(StreamError),
    /// The socket failed (reset and the like).
    Io(io::Error),
    /// The server closed with requests unanswered.
    ClosedMidRequest,
    /// The TLS records were wrong (bad MAC, unexpected message, a fatal alert).
    Tls(rustls::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Stream(e) => e.fmt(f),
            ReadError::Io(e) => e.fmt(f),
            ReadError::Tls(e) => write!(f, "TLS: {e}"),
            ReadError::ClosedMidRequest => {
                f.write_str("connection closed by the server mid-request")
            }
        }
    }
}

impl StreamSlot {
    /// Start a non-blocking connect to `addr` (from `local` when given), registered under
    /// `token`.
    pub fn connect(
        &mut self,
        addr: SocketAddr,
        local: Option<SocketAddr>,
        registry: &Registry,
        token: Token,
        now: u64,
    ) -> io::Result<()> {
        let mut stream = match local {
            None => TcpStream::connect(addr)?,
            Some(local) => connect_from(local, addr)?,
        };
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        rxstamp::enable(stream.as_raw_fd());
        self.socket = Some(stream);
        self.conn.connecting(now);
        Ok(())
    }

    /// The connecting socket signalled: `Ok(Some(connect_ns))` when it is now established,
    /// `Ok(None)` while still in progress. `nodelay`: turn Nagle off (long-lived connections;
    /// a connection that carries one request in one write has nothing for Nagle to hold).
    /// With `tls`, an established connection goes on to its handshake
    /// ([`StreamSlot::handshake`]) before it carries requests.
    pub fn check_connected(
        &mut self,
        now: u64,
        nodelay: bool,
        tls: Option<&TlsClient>,
    ) -> io::Result<Option<u64>> {
        let Some(stream) = self.socket.as_ref() else {
            return Ok(None);
        };
        if !matches!(self.conn.phase(), Phase::Connecting { .. }) {
            // A late readiness event of a connection already up (or handshaking).
            return Ok(None);
        }
        if let Ok(Some(e)) | Err(e) = stream.take_error() {
            return Err(e);
        }
        match stream.peer_addr() {
            Ok(_) => {
                if nodelay {
                    let _ = stream.set_nodelay(true);
                }
                let Some(client) = tls else {
                    return Ok(self.conn.established(now));
                };
                let session = TlsSession::start(client).map_err(io::Error::other)?;
                self.tls = Some(Box::new(session));
                Ok(self.conn.handshaking(now))
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Move the TLS handshake on (the socket signalled, or TCP just came up).
    pub fn handshake(&mut self, scratch: &mut [u8]) -> Handshaking {
        match (self.socket.as_mut(), self.tls.as_mut()) {
            (Some(socket), Some(tls)) => tls.handshake(socket, scratch),
            _ => Handshaking::Pending,
        }
    }

    /// Drop the socket, if any. `deregister`: remove it from epoll first; without, the
    /// `close()` does that (the fd is never duplicated), one syscall fewer per connection.
    pub fn drop_socket(&mut self, registry: &Registry, deregister: bool) {
        self.tls = None;
        if let Some(mut stream) = self.socket.take() {
            if deregister {
                let _ = registry.deregister(&mut stream);
            }
        }
    }

    /// Write queued bytes until done or the kernel pushes back; returns bytes written (the
    /// requests sent wait in the state machine's events).
    pub fn flush(&mut self) -> io::Result<u64> {
        let Some(stream) = self.socket.as_mut() else {
            return Ok(0);
        };
        if let Some(tls) = self.tls.as_mut() {
            return tls.flush(stream, &mut self.conn);
        }
        let mut total = 0;
        while !self.conn.pending().is_empty() {
            // A request counts as sent when the write that hands its last byte to the kernel
            // begins: on loopback the write itself may run the peer's receive path.
            let began = now_ns();
            match stream.write(self.conn.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    total += n as u64;
                    self.conn.wrote(n, began);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Read until the socket is drained, feeding the state machine; `received` counts bytes.
    /// Bytes count as received when the kernel stamped their arrival ([`rxstamp`]).
    /// `peer_closed`: the readiness event already said the server closed its side, so a
    /// short read does not mean drained (the end of stream is still to be read).
    pub fn read(&mut self, scratch: &mut [u8], received: &mut u64, peer_closed: bool) -> ReadEnd {
        let Some(stream) = self.socket.as_mut() else {
            return ReadEnd::Drained;
        };
        if let Some(tls) = self.tls.as_mut() {
            return tls.read(stream, scratch, &mut self.conn, received, peer_closed);
        }
        loop {
            match rxstamp::recv(stream.as_raw_fd(), scratch) {
                Ok(rxstamp::Received { len: 0, .. }) => return end_of_stream(&mut self.conn),
                Ok(rxstamp::Received { len: n, at, .. }) => {
                    *received += n as u64;
                    match self.conn.received(&scratch[..n], at) {
                        Ok(Received::Closing) => return ReadEnd::Close(Ending::Quiet, None),
                        Ok(Received::Open) => {}
                        Err(e) => {
                            return ReadEnd::Close(Ending::Broken, Some(ReadError::Stream(e)))
                        }
                    }
                    // A short read drained the socket; edge-triggered epoll reports new data.
                    // Not so once the FIN is queued: it came with this edge and no other
                    // event will follow, so read on to the end of stream.
                    if n < scratch.len() && !peer_closed {
                        return ReadEnd::Drained;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadEnd::Close(Ending::Broken, Some(ReadError::Io(e))),
            }
        }
    }
}

/// The server ended the stream: a quiet close when every request it was sent is answered.
pub(super) fn end_of_stream(conn: &mut StreamConn) -> ReadEnd {
    match conn.eof(now_ns()) {
        Ending::Quiet => ReadEnd::Close(Ending::Quiet, None),
        Ending::Broken | Ending::Unconnected => {
            ReadEnd::Close(Ending::Broken, Some(ReadError::ClosedMidRequest))
        }
    }
}

/// A non-blocking connect from `local` (port 0) to `addr`: `socket`, `setsockopt`, `bind`,
/// `connect`, nothing else. `IP_BIND_ADDRESS_NO_PORT` defers
/// the port choice to `connect()`, where the kernel needs only the 4-tuple to be unique,
/// instead of reserving a port at `bind()` that no other connection could share.
fn connect_from(local: SocketAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::AsRawFd;
    // SOCK_NONBLOCK at creation saves the two fcntl calls of set_nonblocking.
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the advertised length.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    socket.bind(&local.into())?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}
