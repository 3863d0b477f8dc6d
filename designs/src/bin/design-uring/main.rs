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
//! through the shared sans-IO session, which pauses a pipelined flood at its output budget and
//! keeps its own header and body deadlines: the loop waits in `io_uring_enter` no longer than
//! the earliest of them (a heap of lazy entries, like the reactor's) and wakes that session. A
//! connection is freed only once none of its operations is in flight, so no buffer or descriptor
//! is ever released under the kernel.
//!
//! Files: the ring and the loop here; [`bufring`] the provided buffers; [`tcp`] connections,
//! their receives, sends and deadlines; [`udp`] the datagram echo.

mod bufring;
mod tcp;
mod udp;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{TcpListener, UdpSocket};
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use io_uring::{types, IoUring};
use reactor_designs::{announce, bind_tcp, startup, Listen, Service};
use reactor_proto::http::HttpLimits;
use slab::Slab;

use bufring::BufRing;
use tcp::Conn;
use udp::Udp;

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
    let mut server = Server::new(cli.listen.http_limits())?;
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

struct Server {
    // Field order is drop order: the ring goes before the buffers it may still reference.
    ring: IoUring,
    tcp_bufs: Option<BufRing>,
    listeners: Vec<(TcpListener, bool)>,
    conns: Slab<Conn>,
    udp: Option<Udp>,
    /// The HTTP limits and timeouts every connection applies.
    limits: &'static HttpLimits,
    /// HTTP sessions' deadlines, earliest first, as (when, slot). Lazy: an entry is checked
    /// against its session when it comes due, so one left by a finished wait or a closed
    /// connection does nothing.
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Server {
    fn new(limits: &'static HttpLimits) -> anyhow::Result<Server> {
        Ok(Server {
            ring: create_ring()?,
            tcp_bufs: None,
            listeners: Vec::new(),
            conns: Slab::new(),
            udp: None,
            limits,
            deadlines: BinaryHeap::new(),
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
            let waited = match self.deadlines.peek() {
                Some(&Reverse((due, _))) => {
                    let wait = due.saturating_duration_since(Instant::now());
                    let ts = types::Timespec::from(wait);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    self.ring.submitter().submit_with_args(1, &args)
                }
                None => self.ring.submit_and_wait(1),
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
            self.fire_deadlines();
        }
    }
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
