//! io_uring: one thread, completion-based, set up the way a careful Linux 6.x server does it.
//!
//! - **One issuer**: the ring is created with `IORING_SETUP_SINGLE_ISSUER` and
//!   `IORING_SETUP_DEFER_TASKRUN`, so completions are produced only inside our own
//!   `io_uring_enter` (no task-work interrupts of the loop, no locking for other submitters);
//!   older kernels fall back to `COOP_TASKRUN`, then to a plain ring, saying which flag is missing.
//! - **One system call per loop turn**: `submit_and_wait` submits everything queued since the
//!   last turn and waits for at least one completion.
//! - **Multishot everything that repeats**: one multishot accept per listener, one multishot recv
//!   per connection into a provided buffer ring shared by all connections (no buffer per idle
//!   connection, no re-arming per read), one multishot recvmsg for the UDP socket into its own
//!   buffer ring.
//! - **Sends are plain `send`/`sendmsg` entries**, not linked to anything; a short send is
//!   continued from where it stopped.
//!
//! Same protocol code and limits as the reactor: received bytes are copied out of the shared
//! buffer at once (so buffers return to the ring within the turn), and a connection that owes
//! [`MAX_OUTPUT`] bytes has its receive cancelled until its peer reads (backpressure); HTTP runs
//! through the shared sans-IO session, which pauses a pipelined flood at its output budget. The
//! HTTP header timeout is checked once a second while any request head is incomplete. A
//! connection is freed only once none of its operations is in flight, so no buffer or descriptor
//! is ever released under the kernel.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use io_uring::{cqueue, opcode, types, IoUring};
use reactor_designs::http::{HttpConn, HEADER_TIMEOUT};
use reactor_designs::{announce, bind_tcp, echo_verdict, startup, Listen, Service};
use reactor_proto::http::Step;
use reactor_proto::udp::Verdict;
use slab::Slab;

/// Submission ring size; the completion ring is [`CQ_ENTRIES`]: multishot operations can post
/// many completions per submission.
const RING_ENTRIES: u32 = 4096;
/// Completion ring size.
const CQ_ENTRIES: u32 = 16 * 1024;
/// Buffer group of the TCP receive buffers.
const TCP_GROUP: u16 = 0;
/// TCP receive buffers shared by every connection: enough for one completion per connection per
/// turn at 1,000 connections (a recv that finds the ring empty ends and is re-armed).
const TCP_BUFS: u16 = 2048;
/// Size of one TCP receive buffer.
const TCP_BUF_LEN: usize = 4096;
/// Buffer group of the UDP receive buffers.
const UDP_GROUP: u16 = 1;
/// UDP receive buffers; each is held until its echo is sent, which bounds the sends in flight.
const UDP_BUFS: u16 = 64;
/// A UDP buffer: the kernel's `io_uring_recvmsg_out` header, the sender's address, and room for a
/// datagram larger than any UDP payload (so truncation is detected, never echoed).
const UDP_BUF_LEN: usize = 16 + UDP_NAME_LEN as usize + 64 * 1024;
/// Room for the sender's address in a UDP buffer.
const UDP_NAME_LEN: u32 = std::mem::size_of::<libc::sockaddr_storage>() as u32;
/// Output a connection may owe before its receive is cancelled (the reactor's `--max-output`).
const MAX_OUTPUT: usize = 64 * 1024;
/// How often incomplete HTTP request heads are checked against the header timeout.
const TICK: Duration = Duration::from_secs(1);

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
        server.udp = Some(Udp::new(&server.ring, socket)?);
        server.udp_arm();
    }
    if let Some(addr) = cli.listen.http {
        let listener = bind_tcp(addr)?;
        announce(Service::Http, listener.local_addr()?)?;
        server.listen(listener, true);
    }
    server.run()
}

/// Creates the ring with the strongest setup the kernel accepts, and says what it lacks.
fn create_ring() -> anyhow::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder
        .setup_cqsize(CQ_ENTRIES)
        .setup_single_issuer()
        .setup_defer_taskrun();
    if let Ok(ring) = builder.build(RING_ENTRIES) {
        return Ok(ring);
    }
    eprintln!(
        "design-uring: the kernel lacks IORING_SETUP_SINGLE_ISSUER/DEFER_TASKRUN (Linux 6.1+); \
         using COOP_TASKRUN"
    );
    let mut builder = IoUring::builder();
    builder.setup_cqsize(CQ_ENTRIES).setup_coop_taskrun();
    if let Ok(ring) = builder.build(RING_ENTRIES) {
        return Ok(ring);
    }
    eprintln!("design-uring: the kernel lacks IORING_SETUP_COOP_TASKRUN (Linux 5.19+); plain ring");
    IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .build(RING_ENTRIES)
        .context("creating io_uring (is it enabled? see /proc/sys/kernel/io_uring_disabled)")
}

/// What a completion belongs to, packed into its `user_data` with a slot number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Accept,
    Recv,
    Send,
    Cancel,
    UdpRecv,
    UdpSend,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::Accept,
        Op::Recv,
        Op::Send,
        Op::Cancel,
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

/// A provided buffer ring: `count` buffers of `len` bytes the kernel picks from for multishot
/// receives; each comes back to us in a completion and is handed back with [`recycle`].
///
/// [`recycle`]: BufRing::recycle
struct BufRing {
    entries: *mut types::BufRingEntry,
    ring_bytes: usize,
    bufs: Box<[u8]>,
    len: usize,
    count: u16,
    tail: u16,
}

impl BufRing {
    /// Allocates the ring and its buffers, registers it as group `group` and provides them all.
    fn new(ring: &IoUring, group: u16, count: u16, len: usize) -> anyhow::Result<BufRing> {
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
    fn data(&self, bid: u16, n: usize) -> &[u8] {
        let start = usize::from(bid) * self.len;
        &self.bufs[start..start + n.min(self.len)]
    }

    /// Gives buffer `bid` back to the kernel.
    fn recycle(&mut self, bid: u16) {
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

/// One TCP connection. `inflight` is what its one send in flight points at (never touched until
/// that send completes); new output accumulates in `pending`.
struct Conn {
    stream: TcpStream,
    http: Option<Box<HttpConn>>,
    inflight: Vec<u8>,
    sent: usize,
    sending: bool,
    pending: Vec<u8>,
    recv_armed: bool,
    cancelling: bool,
    /// The peer sent FIN: nothing more to read.
    eof: bool,
    /// HTTP: the session paused at its output budget; resume once the output is written.
    paused: bool,
    /// Close once every byte owed is written.
    closing: bool,
    /// The connection failed: drop what is owed and close once nothing is in flight.
    aborted: bool,
    header_deadline: Option<Instant>,
}

impl Conn {
    fn new(stream: TcpStream, http: bool) -> Conn {
        Conn {
            stream,
            http: http.then(|| Box::new(HttpConn::new())),
            inflight: Vec::new(),
            sent: 0,
            sending: false,
            pending: Vec::new(),
            recv_armed: false,
            cancelling: false,
            eof: false,
            paused: false,
            closing: false,
            aborted: false,
            header_deadline: None,
        }
    }

    fn owed(&self) -> usize {
        self.pending.len() + self.inflight.len() - self.sent
    }

    /// Moves the HTTP session's responses behind the output owed, and acts on its step.
    fn take_http_output(&mut self, step: Step) {
        if let Some(http) = self.http.as_mut() {
            self.pending.extend_from_slice(http.output());
            http.clear_output();
        }
        match step {
            Step::Continue => self.paused = false,
            Step::Paused => self.paused = true,
            Step::CloseAfterFlush => {
                self.paused = false;
                self.closing = true;
            }
        }
    }
}

/// The UDP socket, its buffer ring, the header its multishot recvmsg uses, and one send header
/// per buffer (a buffer is echoed straight from where it was received).
struct Udp {
    socket: UdpSocket,
    bufs: BufRing,
    recv_msg: Box<libc::msghdr>,
    sends: Box<[(libc::msghdr, libc::iovec)]>,
    /// Buffers held by sends in flight (not in the ring).
    held: usize,
    armed: bool,
}

impl Udp {
    fn new(ring: &IoUring, socket: UdpSocket) -> anyhow::Result<Udp> {
        // SAFETY: all-zero is a valid msghdr and iovec (null pointers, zero lengths).
        let zeroed = || unsafe { std::mem::zeroed::<(libc::msghdr, libc::iovec)>() };
        let mut recv_msg: Box<libc::msghdr> = Box::new(zeroed().0);
        recv_msg.msg_namelen = UDP_NAME_LEN;
        Ok(Udp {
            socket,
            bufs: BufRing::new(ring, UDP_GROUP, UDP_BUFS, UDP_BUF_LEN)?,
            recv_msg,
            sends: (0..UDP_BUFS).map(|_| zeroed()).collect(),
            held: 0,
            armed: false,
        })
    }
}

struct Server {
    // Field order is drop order: the ring goes before the buffers it may still reference.
    ring: IoUring,
    tcp_bufs: Option<BufRing>,
    listeners: Vec<(TcpListener, bool)>,
    conns: Slab<Conn>,
    udp: Option<Udp>,
    /// Connections with a header deadline set.
    header_timers: usize,
    next_tick: Instant,
}

impl Server {
    fn new() -> anyhow::Result<Server> {
        Ok(Server {
            ring: create_ring()?,
            tcp_bufs: None,
            listeners: Vec::new(),
            conns: Slab::new(),
            udp: None,
            header_timers: 0,
            next_tick: Instant::now() + TICK,
        })
    }

    fn listen(&mut self, listener: TcpListener, http: bool) {
        self.listeners.push((listener, http));
        self.accept_arm(self.listeners.len() - 1);
    }

    /// One `io_uring_enter` per turn (submit and wait), then every completion it produced.
    fn run(&mut self) -> anyhow::Result<()> {
        if !self.listeners.is_empty() && self.tcp_bufs.is_none() {
            self.tcp_bufs = Some(BufRing::new(&self.ring, TCP_GROUP, TCP_BUFS, TCP_BUF_LEN)?);
        }
        let mut done = Vec::with_capacity(CQ_ENTRIES as usize);
        loop {
            let waited = if self.header_timers > 0 {
                let ts = types::Timespec::from(TICK);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            } else {
                self.ring.submit_and_wait(1)
            };
            match waited {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => {}
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {} // CQ full: reap first
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("io_uring_enter"),
            }
            done.extend(
                self.ring
                    .completion()
                    .map(|c| (c.user_data(), c.result(), c.flags())),
            );
            for (token, result, flags) in done.drain(..) {
                match Op::from_token(token) {
                    Some((Op::Accept, listener)) => self.on_accept(listener, result, flags),
                    Some((Op::Recv, slot)) => self.on_recv(slot, result, flags),
                    Some((Op::Send, slot)) => self.on_send(slot, result),
                    Some((Op::UdpRecv, _)) => self.on_udp_recv(result, flags),
                    Some((Op::UdpSend, bid)) => self.on_udp_send(bid as u16),
                    Some((Op::Cancel, _)) | None => {}
                }
            }
            if self.header_timers > 0 && Instant::now() >= self.next_tick {
                self.expire_header_timers();
            }
        }
    }

    // ----- TCP ----------------------------------------------------------------------------

    fn accept_arm(&mut self, listener: usize) {
        let fd = self.listeners[listener].0.as_raw_fd();
        let entry = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Op::Accept.token(listener));
        push_entry(&mut self.ring, entry);
    }

    fn on_accept(&mut self, listener: usize, result: i32, flags: u32) {
        if result >= 0 {
            // SAFETY: a successful accept returns a new descriptor that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(result) };
            let _ = stream.set_nodelay(true);
            let http = self.listeners[listener].1;
            let slot = self.conns.insert(Conn::new(stream, http));
            self.update(slot);
        } else if result == -libc::EINVAL {
            eprintln!("design-uring: the kernel lacks multishot accept (Linux 5.19+)");
            std::process::exit(1);
        } else {
            eprintln!(
                "design-uring: accept: {}",
                std::io::Error::from_raw_os_error(-result)
            );
        }
        if !cqueue::more(flags) {
            self.accept_arm(listener);
        }
    }

    fn on_recv(&mut self, slot: usize, result: i32, flags: u32) {
        let buffer = cqueue::buffer_select(flags);
        let Some(conn) = self.conns.get_mut(slot) else {
            return; // cannot happen: a connection outlives its receive
        };
        if !cqueue::more(flags) {
            conn.recv_armed = false;
        }
        match result {
            n if n > 0 => {
                if let (Some(bid), Some(bufs)) = (buffer, self.tcp_bufs.as_mut()) {
                    let data = bufs.data(bid, n as usize);
                    match conn.http.as_mut() {
                        None => conn.pending.extend_from_slice(data),
                        Some(http) => {
                            let step = http.on_input(data);
                            let awaiting = http.awaiting_headers();
                            conn.take_http_output(step);
                            set_header_deadline(conn, awaiting, &mut self.header_timers);
                        }
                    }
                    bufs.recycle(bid);
                }
            }
            0 => {
                conn.eof = true;
                match conn.http.as_mut() {
                    None => conn.closing = true,
                    Some(http) => conn.closing |= http.on_peer_closed(),
                }
            }
            e if e == -libc::ENOBUFS || e == -libc::ECANCELED => {} // re-armed if still wanted
            e if e == -libc::EINVAL => {
                eprintln!("design-uring: the kernel lacks multishot recv (Linux 6.0+)");
                std::process::exit(1);
            }
            _ => abort(conn), // reset or another error: drop what is owed, close
        }
        self.update(slot);
    }

    fn on_send(&mut self, slot: usize, result: i32) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        conn.sending = false;
        if result <= 0 {
            abort(conn);
        } else {
            conn.sent += result as usize;
            if conn.sent >= conn.inflight.len() {
                conn.inflight.clear();
                conn.sent = 0;
            }
        }
        self.update(slot);
    }

    /// Brings a connection's operations in line with its state: send what is owed, resume a
    /// paused session, receive while it may (cancel the receive when not), free it when done.
    fn update(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        if conn.aborted && !conn.sending {
            conn.pending.clear();
            conn.inflight.clear();
            conn.sent = 0;
        }
        loop {
            if !conn.sending && conn.inflight.is_empty() && !conn.pending.is_empty() {
                std::mem::swap(&mut conn.inflight, &mut conn.pending);
            }
            if !conn.sending && conn.sent < conn.inflight.len() {
                let rest = &conn.inflight[conn.sent..];
                let entry = opcode::Send::new(
                    types::Fd(conn.stream.as_raw_fd()),
                    rest.as_ptr(),
                    rest.len() as u32,
                )
                .flags(libc::MSG_NOSIGNAL)
                .build()
                .user_data(Op::Send.token(slot));
                conn.sending = true;
                // SAFETY: `inflight` is not touched until this send completes (see Conn).
                push_entry(&mut self.ring, entry);
            }
            if conn.paused && conn.owed() == 0 && !conn.closing {
                let step = conn.http.as_mut().map_or(Step::Continue, |h| h.resume());
                conn.take_http_output(step);
                continue;
            }
            break;
        }
        let want_input = !conn.closing && !conn.eof && !conn.paused && conn.owed() < MAX_OUTPUT;
        if want_input && !conn.recv_armed {
            let entry = opcode::RecvMulti::new(types::Fd(conn.stream.as_raw_fd()), TCP_GROUP)
                .build()
                .user_data(Op::Recv.token(slot));
            conn.recv_armed = true;
            conn.cancelling = false;
            push_entry(&mut self.ring, entry);
        } else if !want_input && conn.recv_armed && !conn.cancelling {
            let entry = opcode::AsyncCancel::new(Op::Recv.token(slot))
                .build()
                .user_data(Op::Cancel.token(slot));
            conn.cancelling = true;
            push_entry(&mut self.ring, entry);
        }
        let finished = conn.closing || (conn.eof && !conn.paused);
        if finished && !conn.sending && conn.owed() == 0 && !conn.recv_armed {
            set_header_deadline(conn, false, &mut self.header_timers);
            self.conns.remove(slot); // closes the socket: nothing of it is in flight
        }
    }

    /// Answers `408` to every connection whose request head is overdue.
    fn expire_header_timers(&mut self) {
        let now = Instant::now();
        self.next_tick = now + TICK;
        let overdue: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.header_deadline.is_some_and(|d| d <= now))
            .map(|(slot, _)| slot)
            .collect();
        for slot in overdue {
            let conn = &mut self.conns[slot];
            if let Some(http) = conn.http.as_mut() {
                http.on_header_timeout();
            }
            conn.take_http_output(Step::CloseAfterFlush);
            set_header_deadline(conn, false, &mut self.header_timers);
            self.update(slot);
        }
    }

    // ----- UDP ----------------------------------------------------------------------------

    fn udp_arm(&mut self) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        if udp.armed {
            return;
        }
        let entry = opcode::RecvMsgMulti::new(
            types::Fd(udp.socket.as_raw_fd()),
            std::ptr::addr_of!(*udp.recv_msg),
            UDP_GROUP,
        )
        .build()
        .user_data(Op::UdpRecv.token(0));
        udp.armed = true;
        push_entry(&mut self.ring, entry);
    }

    fn on_udp_recv(&mut self, result: i32, flags: u32) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        if !cqueue::more(flags) {
            udp.armed = false;
        }
        if result == -libc::EINVAL {
            eprintln!("design-uring: the kernel lacks multishot recvmsg (Linux 6.0+)");
            std::process::exit(1);
        }
        if let Some(bid) = cqueue::buffer_select(flags) {
            if result < 0 || !udp_echo(udp, bid, result as usize, &mut self.ring) {
                udp.bufs.recycle(bid);
            }
        }
        // Out of buffers while every one waits for its echo to be sent: re-armed when a send
        // returns one, not now, which would only fail again.
        let starved = result == -libc::ENOBUFS && udp.held == usize::from(UDP_BUFS);
        if !udp.armed && !starved {
            self.udp_arm();
        }
    }

    fn on_udp_send(&mut self, bid: u16) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        udp.bufs.recycle(bid);
        udp.held -= 1;
        if !udp.armed {
            self.udp_arm();
        }
    }
}

/// Sends a received datagram back from its buffer; false when it is not echoed (the caller
/// recycles the buffer).
fn udp_echo(udp: &mut Udp, bid: u16, filled: usize, ring: &mut IoUring) -> bool {
    let data = udp.bufs.data(bid, filled);
    let Ok(out) = types::RecvMsgOut::parse(data, &udp.recv_msg) else {
        return false;
    };
    let len = out.incoming_payload_len() as usize;
    if out.is_payload_truncated()
        || out.is_name_data_truncated()
        || echo_verdict(len) != Verdict::Echo
    {
        return false;
    }
    let (name, payload) = (out.name_data(), out.payload_data());
    let (msg, iov) = &mut udp.sends[usize::from(bid)];
    *iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    msg.msg_name = name.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = name.len() as u32;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    let entry = opcode::SendMsg::new(types::Fd(udp.socket.as_raw_fd()), msg)
        .build()
        .user_data(Op::UdpSend.token(usize::from(bid)));
    // SAFETY: the header and the buffer it points into stay untouched until the send completes
    // (the buffer is recycled only then).
    push_entry(ring, entry);
    udp.held += 1;
    true
}

/// Queues an entry on `ring`, submitting first when the submission ring is full.
fn push_entry(ring: &mut IoUring, entry: io_uring::squeue::Entry) {
    loop {
        // SAFETY: callers keep what the entry points to alive until its completion.
        if unsafe { ring.submission().push(&entry) }.is_ok() {
            return;
        }
        if let Err(e) = ring.submit() {
            eprintln!("design-uring: submit: {e}");
        }
    }
}

/// A connection failed (reset, or a send error): nothing owed can be delivered any more.
fn abort(conn: &mut Conn) {
    conn.closing = true;
    conn.aborted = true;
    conn.paused = false;
}

/// Starts or stops a connection's header timer as its session starts or finishes a request head.
fn set_header_deadline(conn: &mut Conn, awaiting: bool, timers: &mut usize) {
    match (awaiting, conn.header_deadline.is_some()) {
        (true, false) => {
            conn.header_deadline = Some(Instant::now() + HEADER_TIMEOUT);
            *timers += 1;
        }
        (false, true) => {
            conn.header_deadline = None;
            *timers -= 1;
        }
        _ => {}
    }
}
