//! io_uring: one thread, completion-based, the modern contender.
//!
//! Instead of asking "which socket is ready?" (epoll, as in `server/`) and then making the
//! read/write syscalls, this design queues the operations themselves (accept, recv, send,
//! recvmsg, sendmsg) in a submission ring and handles their results as they complete; one
//! `io_uring_enter` both submits a batch and waits. Each connection has exactly one operation in
//! flight (a recv or a send into its own heap buffer), so buffers never move or get freed under
//! the kernel, and a connection is closed only from the completion of its last operation.
//! HTTP runs through the same shared session as every other design; the header timeout is an
//! io_uring linked timeout on the recv.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};

use anyhow::Context;
use clap::Parser;
use io_uring::{opcode, squeue, types, IoUring};
use reactor_designs::http::{HttpConn, HEADER_TIMEOUT};
use reactor_designs::{
    announce, bind_tcp, echo_verdict, startup, Listen, Service, MAX_DATAGRAM, READ_BUF,
};
use reactor_proto::http::Step;
use reactor_proto::udp::Verdict;
use slab::Slab;

/// Submission ring size; the completion ring is twice that, enough for one recv and one linked
/// timeout per connection at 1,000+ connections.
const RING_ENTRIES: u32 = 4096;

/// The header timeout as the kernel reads it (must outlive every linked timeout: static).
static HEADER_TIMESPEC: types::Timespec = types::Timespec::new().sec(HEADER_TIMEOUT.as_secs());

/// io_uring server: TCP echo, UDP echo and HTTP hello on one thread.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    listen: Listen,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    startup(&cli.listen)?;
    let mut server = Server::new()?;
    if let Some(addr) = cli.listen.tcp {
        let listener = bind_tcp(addr)?;
        announce(Service::Tcp, listener.local_addr()?)?;
        server.listen(listener, false);
    }
    if let Some(addr) = cli.listen.udp {
        let socket = UdpSocket::bind(addr).with_context(|| format!("binding udp {addr}"))?;
        announce(Service::Udp, socket.local_addr()?)?;
        server.udp = Some(Udp::new(socket));
        server.udp_recv();
    }
    if let Some(addr) = cli.listen.http {
        let listener = bind_tcp(addr)?;
        announce(Service::Http, listener.local_addr()?)?;
        server.listen(listener, true);
    }
    server.run()
}

/// What a completion belongs to, packed into its `user_data` with a slot number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Accept,
    Recv,
    Send,
    Timeout,
    UdpRecv,
    UdpSend,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::Accept,
        Op::Recv,
        Op::Send,
        Op::Timeout,
        Op::UdpRecv,
        Op::UdpSend,
    ];

    fn token(self, slot: usize) -> u64 {
        ((slot as u64) << 8) | self as u64
    }

    fn from_token(token: u64) -> Option<(Op, usize)> {
        let op = *Op::ALL.get((token & 0xff) as usize)?;
        Some((op, (token >> 8) as usize))
    }
}

/// One TCP connection. Its single in-flight operation reads into or writes from `buf` (echo) or
/// the HTTP session's output, both on the heap, so the slab may grow without moving them.
struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    http: Option<Box<HttpConn>>,
    /// Echo: bytes of `buf` to send back.
    pending: usize,
    /// Bytes of the current output already sent.
    sent: usize,
    /// HTTP: what the session said to do once its output is written.
    after_send: Step,
}

impl Conn {
    /// The bytes still to send.
    fn unsent(&self) -> &[u8] {
        match &self.http {
            Some(http) => &http.output()[self.sent..],
            None => &self.buf[self.sent..self.pending],
        }
    }
}

/// The UDP socket and the one `recvmsg`/`sendmsg` header it reuses: receive a datagram, send it
/// back to the address it came from, receive the next.
struct Udp {
    socket: UdpSocket,
    buf: Box<[u8]>,
    peer: Box<libc::sockaddr_storage>,
    iov: Box<libc::iovec>,
    msg: Box<libc::msghdr>,
}

impl Udp {
    fn new(socket: UdpSocket) -> Udp {
        // SAFETY: all-zero is a valid sockaddr_storage, iovec and msghdr (null pointers, 0 lengths).
        let (peer, iov, msg) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed(), std::mem::zeroed()) };
        Udp {
            socket,
            buf: vec![0u8; MAX_DATAGRAM].into_boxed_slice(),
            peer: Box::new(peer),
            iov: Box::new(iov),
            msg: Box::new(msg),
        }
    }

    /// Points the header at the buffer (`len` bytes) and the peer address, before each op.
    fn prepare(&mut self, len: usize, name_len: u32) {
        self.iov.iov_base = self.buf.as_mut_ptr().cast();
        self.iov.iov_len = len;
        self.msg.msg_name = std::ptr::addr_of_mut!(*self.peer).cast();
        self.msg.msg_namelen = name_len;
        self.msg.msg_iov = std::ptr::addr_of_mut!(*self.iov);
        self.msg.msg_iovlen = 1;
        self.msg.msg_flags = 0;
    }
}

struct Server {
    ring: IoUring,
    listeners: Vec<(TcpListener, bool)>,
    conns: Slab<Conn>,
    udp: Option<Udp>,
}

impl Server {
    fn new() -> anyhow::Result<Server> {
        let ring = IoUring::new(RING_ENTRIES).context("creating io_uring (is it enabled?)")?;
        Ok(Server {
            ring,
            listeners: Vec::new(),
            conns: Slab::new(),
            udp: None,
        })
    }

    fn listen(&mut self, listener: TcpListener, http: bool) {
        self.listeners.push((listener, http));
        self.accept(self.listeners.len() - 1);
    }

    /// Submits and handles completions forever.
    fn run(&mut self) -> anyhow::Result<()> {
        let mut done = Vec::with_capacity(RING_ENTRIES as usize);
        loop {
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("io_uring_enter"),
            }
            done.extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            for (token, result) in done.drain(..) {
                match Op::from_token(token) {
                    Some((Op::Accept, slot)) => self.on_accept(slot, result),
                    Some((Op::Recv, slot)) => self.on_recv(slot, result),
                    Some((Op::Send, slot)) => self.on_send(slot, result),
                    Some((Op::UdpRecv, _)) => self.on_udp_recv(result),
                    Some((Op::UdpSend, _)) => self.udp_recv(),
                    Some((Op::Timeout, _)) | None => {}
                }
            }
        }
    }

    /// Queues entries (kept together, for linked ones), submitting first when the ring is full.
    fn push(&mut self, entries: &[squeue::Entry]) {
        loop {
            // SAFETY: every buffer and header an entry points to is owned by `self` (a Box or
            // the static timespec) and is neither moved nor freed until its completion arrives.
            if unsafe { self.ring.submission().push_multiple(entries) }.is_ok() {
                return;
            }
            if let Err(e) = self.ring.submit() {
                eprintln!("design-uring: submit: {e}");
            }
        }
    }

    fn accept(&mut self, listener: usize) {
        let fd = self.listeners[listener].0.as_raw_fd();
        let entry = opcode::Accept::new(types::Fd(fd), std::ptr::null_mut(), std::ptr::null_mut())
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Op::Accept.token(listener));
        self.push(&[entry]);
    }

    fn on_accept(&mut self, listener: usize, result: i32) {
        if result >= 0 {
            // SAFETY: a successful accept returns a new descriptor that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(result) };
            let _ = stream.set_nodelay(true);
            let http = self.listeners[listener].1;
            let slot = self.conns.insert(Conn {
                stream,
                buf: vec![0u8; READ_BUF].into_boxed_slice(),
                http: http.then(|| Box::new(HttpConn::new())),
                pending: 0,
                sent: 0,
                after_send: Step::Continue,
            });
            self.recv(slot);
        } else {
            eprintln!(
                "design-uring: accept: {}",
                std::io::Error::from_raw_os_error(-result)
            );
        }
        self.accept(listener);
    }

    /// Queues the connection's next read, with the header timeout linked while an HTTP request
    /// head is incomplete.
    fn recv(&mut self, slot: usize) {
        let conn = &mut self.conns[slot];
        let timed = conn.http.as_ref().is_some_and(|h| h.awaiting_headers());
        let recv = opcode::Recv::new(
            types::Fd(conn.stream.as_raw_fd()),
            conn.buf.as_mut_ptr(),
            conn.buf.len() as u32,
        )
        .build()
        .user_data(Op::Recv.token(slot));
        if timed {
            let timeout = opcode::LinkTimeout::new(&HEADER_TIMESPEC)
                .build()
                .user_data(Op::Timeout.token(slot));
            self.push(&[recv.flags(squeue::Flags::IO_LINK), timeout]);
        } else {
            self.push(&[recv]);
        }
    }

    fn on_recv(&mut self, slot: usize, result: i32) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        let step = match (conn.http.as_mut(), result) {
            (None, n) if n > 0 => {
                conn.pending = n as usize;
                Step::Continue
            }
            (None, _) => return self.close(slot),
            (Some(http), n) if n > 0 => http.on_input(&conn.buf[..n as usize]),
            (Some(http), 0) => {
                if http.on_peer_closed() {
                    Step::CloseAfterFlush
                } else {
                    http.resume()
                }
            }
            // The linked timeout cancelled the read: the head did not arrive in time.
            (Some(http), e) if e == -libc::ECANCELED => {
                http.on_header_timeout();
                Step::CloseAfterFlush
            }
            (Some(_), _) => return self.close(slot),
        };
        conn.sent = 0;
        conn.after_send = step;
        self.send_or_continue(slot);
    }

    /// Sends what is left of the current output; once it is all out, does what comes next.
    fn send_or_continue(&mut self, slot: usize) {
        let conn = &mut self.conns[slot];
        let unsent = conn.unsent();
        if !unsent.is_empty() {
            let entry = opcode::Send::new(
                types::Fd(conn.stream.as_raw_fd()),
                unsent.as_ptr(),
                unsent.len() as u32,
            )
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(Op::Send.token(slot));
            return self.push(&[entry]);
        }
        if let Some(http) = conn.http.as_mut() {
            http.clear_output();
        }
        conn.sent = 0;
        conn.pending = 0;
        match conn.after_send {
            Step::Continue => self.recv(slot),
            Step::CloseAfterFlush => self.close(slot),
            Step::Paused => {
                let step = conn.http.as_mut().map_or(Step::Continue, |h| h.resume());
                conn.after_send = step;
                self.send_or_continue(slot);
            }
        }
    }

    fn on_send(&mut self, slot: usize, result: i32) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        if result <= 0 {
            return self.close(slot);
        }
        conn.sent += result as usize;
        self.send_or_continue(slot);
    }

    /// Frees the connection (closing the socket); called only when none of its I/O is in flight.
    fn close(&mut self, slot: usize) {
        self.conns.try_remove(slot);
    }

    fn udp_recv(&mut self) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        udp.prepare(
            udp.buf.len(),
            std::mem::size_of::<libc::sockaddr_storage>() as u32,
        );
        let entry = opcode::RecvMsg::new(
            types::Fd(udp.socket.as_raw_fd()),
            std::ptr::addr_of_mut!(*udp.msg),
        )
        .build()
        .user_data(Op::UdpRecv.token(0));
        self.push(&[entry]);
    }

    fn on_udp_recv(&mut self, result: i32) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        let truncated = udp.msg.msg_flags & libc::MSG_TRUNC != 0;
        if result < 0 || truncated || echo_verdict(result as usize) != Verdict::Echo {
            return self.udp_recv();
        }
        let name_len = udp.msg.msg_namelen;
        udp.prepare(result as usize, name_len);
        let entry = opcode::SendMsg::new(
            types::Fd(udp.socket.as_raw_fd()),
            std::ptr::addr_of!(*udp.msg),
        )
        .build()
        .user_data(Op::UdpSend.token(0));
        self.push(&[entry]);
    }
}
