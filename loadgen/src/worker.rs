//! One load thread: its own mio poll loop, its own connections, its own recorder.
//!
//! Nothing here is shared with other threads while the load runs: the thread reports to the
//! collector through a channel once per second (a moved `Recorder`), so the hot path takes no
//! lock and touches no shared cache line.
//!
//! Closed loop: every connection keeps `--pipeline` requests in flight and sends the next one
//! as soon as a response completes (intended send time = actual send time). Open loop: the
//! thread's [`Schedule`] yields intended send times; due requests wait in a backlog until a
//! connection has a free pipeline slot, and their latency counts from the intended time.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::os::fd::RawFd;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use mio::net::{TcpStream, UdpSocket};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::cli::{Arrival, SizeSpec};
use crate::clock::{self, now_ns, Timer, NS_PER_SEC};
use crate::schedule::{Rng, Schedule};
use crate::stats::{new_histogram, Recorder};
use crate::workload::http::HttpSession;
use crate::workload::tcp::EchoStream;
use crate::workload::udp::{Reply, UdpTracker};
use crate::workload::{Completion, StreamSession};

/// Token of the schedule timer; connections use their index.
const TIMER: Token = Token(usize::MAX - 1);
/// Housekeeping period: timeouts, reconnects, interval roll-over, end of run.
const HOUSEKEEPING_NS: u64 = 1_000_000;
/// The loop stops sleeping this long before a send is due and spins instead.
const SPIN_NS: u64 = 30_000;
/// Pause before reconnecting after a failure.
const RECONNECT_BACKOFF_NS: u64 = 10_000_000;
/// Length of one reported interval.
pub const INTERVAL_NS: u64 = NS_PER_SEC;

/// Which protocol to speak.
#[derive(Debug, Clone)]
pub enum Kind {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1 with this prebuilt request.
    Http {
        /// Bytes of one request.
        request: Arc<[u8]>,
        /// Method is HEAD (responses have no body).
        head: bool,
    },
}

/// Everything a worker needs to know, shared read-only by all workers.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Protocol.
    pub kind: Kind,
    /// Target address.
    pub addr: SocketAddr,
    /// Number of worker threads.
    pub threads: usize,
    /// Connections in total.
    pub connections: usize,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Per-request timeout.
    pub timeout_ns: u64,
    /// Connection set-up timeout.
    pub connect_timeout_ns: u64,
    /// Payload sizes.
    pub size: SizeSpec,
    /// Offered rate in total (open loop), or closed loop.
    pub rate: Option<f64>,
    /// Arrival process of the open loop.
    pub arrival: Arrival,
    /// Unrecorded run time before measuring.
    pub warmup_ns: u64,
    /// Measured run time (`None`: until `requests` are done).
    pub duration_ns: Option<u64>,
    /// Measured requests in total.
    pub requests: Option<u64>,
}

/// What a worker tells the collector.
#[derive(Debug)]
pub enum Msg {
    /// Connection set-up finished.
    Connected {
        /// Connections established.
        up: usize,
        /// Failed attempts.
        failures: u64,
        /// First failure, for the one-line error.
        first_error: Option<String>,
        /// Connect latency of each established connection.
        connect: Box<Histogram<u64>>,
    },
    /// Measurements of interval `index` (second `index` after measuring began).
    Interval {
        /// Interval number.
        index: u64,
        /// Interval length actually covered (the last one is partial).
        length_ns: u64,
        /// What was measured.
        recorder: Box<Recorder>,
    },
    /// The worker stopped at `end_ns`.
    Finished {
        /// Monotonic end time.
        end_ns: u64,
    },
}

/// Releases all workers at the same instant once set-up is done, or tells them to give up.
#[derive(Debug, Default)]
pub struct StartGate {
    decision: Mutex<Option<Option<u64>>>,
    changed: Condvar,
}

impl StartGate {
    /// Let workers start at monotonic `start_ns`, or abort with `None`.
    pub fn open(&self, start_ns: Option<u64>) {
        if let Ok(mut d) = self.decision.lock() {
            *d = Some(start_ns);
            self.changed.notify_all();
        }
    }

    fn wait(&self) -> Option<u64> {
        let Ok(mut d) = self.decision.lock() else {
            return None;
        };
        loop {
            if let Some(decision) = *d {
                return decision;
            }
            d = match self.changed.wait(d) {
                Ok(d) => d,
                Err(_) => return None,
            };
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Down { retry_at: u64 },
    Connecting { since: u64 },
    Up,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    intended: u64,
    sent: u64,
    end: u64,
}

/// A TCP connection carrying echo or HTTP.
struct StreamConn {
    stream: Option<TcpStream>,
    session: StreamSession,
    out: Vec<u8>,
    out_pos: usize,
    written: u64,
    enqueued: u64,
    inflight: VecDeque<InFlight>,
    unsent: usize,
    next_seq: u64,
}

/// A connected UDP socket.
struct UdpConn {
    socket: Option<UdpSocket>,
    tracker: UdpTracker,
    buf: Vec<u8>,
}

enum Io {
    Stream(Box<StreamConn>),
    Udp(Box<UdpConn>),
}

struct Conn {
    phase: Phase,
    io: Io,
}

impl Conn {
    fn in_flight(&self) -> usize {
        match &self.io {
            Io::Stream(s) => s.inflight.len(),
            Io::Udp(u) => u.tracker.in_flight(),
        }
    }
}

/// How a connection ended, which decides what happens to its unanswered requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The server closed politely or we dropped it: resend them (open loop) or forget them.
    Quiet,
    /// Reset, truncation or verification failure: they are errors.
    Broken,
}

/// Run one worker thread to completion.
pub fn run(thread: usize, plan: Arc<Plan>, gate: Arc<StartGate>, tx: Sender<Msg>) {
    clock::tighten_timer_slack();
    let mut worker = match Worker::new(thread, plan, tx.clone()) {
        Ok(w) => w,
        Err(e) => {
            let _ = tx.send(Msg::Connected {
                up: 0,
                failures: 1,
                first_error: Some(format!("cannot create poll loop: {e}")),
                connect: Box::new(new_histogram()),
            });
            let _ = tx.send(Msg::Finished { end_ns: now_ns() });
            return;
        }
    };
    worker.connect_all();
    match gate.wait() {
        Some(start_ns) => worker.run_load(start_ns),
        None => {
            let _ = tx.send(Msg::Finished { end_ns: now_ns() });
        }
    }
}

struct Worker {
    thread: usize,
    plan: Arc<Plan>,
    tx: Sender<Msg>,
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
    free: Vec<usize>,
    backlog: VecDeque<u64>,
    schedule: Option<Schedule>,
    timer: Option<Timer>,
    rec: Recorder,
    rng: Rng,
    scratch: Vec<u8>,
    done: Vec<Completion>,
    connect_hist: Histogram<u64>,
    connect_failures: u64,
    first_error: Option<String>,
    measure_start: u64,
    measure_end: u64,
    interval: u64,
    budget: Option<u64>,
    issued: u64,
    draining: bool,
}

impl Worker {
    fn new(thread: usize, plan: Arc<Plan>, tx: Sender<Msg>) -> io::Result<Worker> {
        let share =
            plan.connections / plan.threads + usize::from(thread < plan.connections % plan.threads);
        let budget = plan.requests.map(|n| {
            n / plan.threads as u64 + u64::from((thread as u64) < n % plan.threads as u64)
        });
        let poll = Poll::new()?;
        let conns = (0..share)
            .map(|i| {
                let seq_base = ((thread as u64) << 56) | ((i as u64) << 32);
                let io = match &plan.kind {
                    Kind::Udp => Io::Udp(Box::new(UdpConn {
                        socket: None,
                        tracker: UdpTracker::new(seq_base),
                        buf: Vec::new(),
                    })),
                    Kind::Tcp | Kind::Http { .. } => {
                        let session = match &plan.kind {
                            Kind::Http { request, head } => {
                                StreamSession::Http(HttpSession::new(request.clone(), *head))
                            }
                            _ => StreamSession::Echo(EchoStream::new()),
                        };
                        Io::Stream(Box::new(StreamConn {
                            stream: None,
                            session,
                            out: Vec::with_capacity(4096),
                            out_pos: 0,
                            written: 0,
                            enqueued: 0,
                            inflight: VecDeque::with_capacity(plan.pipeline),
                            unsent: 0,
                            next_seq: seq_base,
                        }))
                    }
                };
                Conn {
                    phase: Phase::Down { retry_at: 0 },
                    io,
                }
            })
            .collect();
        let timer = if plan.rate.is_some() {
            let timer = Timer::new()?;
            let fd: RawFd = timer.raw_fd();
            poll.registry()
                .register(&mut SourceFd(&fd), TIMER, Interest::READABLE)?;
            Some(timer)
        } else {
            None
        };
        Ok(Worker {
            thread,
            tx,
            poll,
            events: Events::with_capacity(1024),
            conns,
            free: Vec::new(),
            backlog: VecDeque::new(),
            schedule: None,
            timer,
            rec: Recorder::default(),
            rng: Rng::new(0x5EED ^ thread as u64),
            scratch: vec![0; 64 * 1024],
            done: Vec::with_capacity(64),
            connect_hist: new_histogram(),
            connect_failures: 0,
            first_error: None,
            measure_start: u64::MAX,
            measure_end: u64::MAX,
            interval: 0,
            budget,
            issued: 0,
            draining: false,
            plan,
        })
    }

    fn open_loop(&self) -> bool {
        self.plan.rate.is_some()
    }

    fn recording(&self, intended: u64) -> bool {
        intended >= self.measure_start
    }

    // ---------------------------------------------------------------- connection set-up

    /// Set-up phase: connect everything, wait for the results, report them.
    fn connect_all(&mut self) {
        let now = now_ns();
        for idx in 0..self.conns.len() {
            self.start_connect(idx, now);
        }
        let deadline = now + self.plan.connect_timeout_ns;
        while self
            .conns
            .iter()
            .any(|c| matches!(c.phase, Phase::Connecting { .. }))
        {
            let now = now_ns();
            if now >= deadline {
                for idx in 0..self.conns.len() {
                    if matches!(self.conns[idx].phase, Phase::Connecting { .. }) {
                        self.connect_failed(idx, now, "connect timed out".into());
                    }
                }
                break;
            }
            let wait = Duration::from_nanos((deadline - now).min(10_000_000));
            if let Err(e) = self.poll.poll(&mut self.events, Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.note_error(format!("poll failed: {e}"));
                    break;
                }
            }
            let ready: Vec<usize> = self
                .events
                .iter()
                .filter(|e| e.token() != TIMER)
                .map(|e| e.token().0)
                .collect();
            for idx in ready {
                self.check_connected(idx, now_ns());
            }
        }
        let up = self.conns.iter().filter(|c| c.phase == Phase::Up).count();
        let _ = self.tx.send(Msg::Connected {
            up,
            failures: self.connect_failures,
            first_error: self.first_error.take(),
            connect: Box::new(std::mem::replace(&mut self.connect_hist, new_histogram())),
        });
    }

    fn note_error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    /// Begin connecting connection `idx` (UDP sockets are ready at once).
    fn start_connect(&mut self, idx: usize, now: u64) {
        let addr = self.plan.addr;
        let registry = self.poll.registry();
        let conn = &mut self.conns[idx];
        let result = match &mut conn.io {
            Io::Stream(s) => TcpStream::connect(addr).and_then(|mut stream| {
                registry.register(
                    &mut stream,
                    Token(idx),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                s.stream = Some(stream);
                conn.phase = Phase::Connecting { since: now };
                Ok(())
            }),
            Io::Udp(u) => open_udp(addr).and_then(|mut socket| {
                registry.register(&mut socket, Token(idx), Interest::READABLE)?;
                u.socket = Some(socket);
                conn.phase = Phase::Up;
                Ok(())
            }),
        };
        match result {
            Ok(()) if self.conns[idx].phase == Phase::Up => self.on_up(idx, now),
            Ok(()) => {}
            Err(e) => self.connect_failed(idx, now, e.to_string()),
        }
    }

    /// A connecting socket signalled: find out whether it is connected.
    fn check_connected(&mut self, idx: usize, now: u64) {
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        let Phase::Connecting { since } = conn.phase else {
            return;
        };
        let Io::Stream(s) = &mut conn.io else {
            return;
        };
        let Some(stream) = s.stream.as_ref() else {
            return;
        };
        if let Ok(Some(e)) | Err(e) = stream.take_error() {
            return self.connect_failed(idx, now, e.to_string());
        }
        match stream.peer_addr() {
            Ok(_) => {
                let _ = stream.set_nodelay(true);
                conn.phase = Phase::Up;
                if self.measure_start == u64::MAX || now >= self.measure_start {
                    self.connect_hist.saturating_record((now - since).max(1));
                }
                self.on_up(idx, now);
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
            Err(e) => self.connect_failed(idx, now, e.to_string()),
        }
    }

    fn connect_failed(&mut self, idx: usize, now: u64, why: String) {
        self.connect_failures += 1;
        if now >= self.measure_start && self.measure_start != u64::MAX {
            self.rec.counters.errors.connect += 1;
        }
        self.note_error(why);
        self.drop_socket(idx);
        self.conns[idx].phase = Phase::Down {
            retry_at: now + RECONNECT_BACKOFF_NS,
        };
    }

    fn drop_socket(&mut self, idx: usize) {
        let registry = self.poll.registry();
        match &mut self.conns[idx].io {
            Io::Stream(s) => {
                if let Some(mut stream) = s.stream.take() {
                    let _ = registry.deregister(&mut stream);
                }
            }
            Io::Udp(u) => {
                if let Some(mut socket) = u.socket.take() {
                    let _ = registry.deregister(&mut socket);
                }
            }
        }
    }

    /// Connection `idx` can carry requests: offer its slots (only once the load runs).
    fn on_up(&mut self, idx: usize, now: u64) {
        if !self.running() {
            return;
        }
        if self.open_loop() {
            for _ in 0..self.plan.pipeline {
                self.free.push(idx);
            }
        } else {
            self.refill(idx, now);
        }
    }

    fn running(&self) -> bool {
        self.measure_start != u64::MAX
    }

    // ---------------------------------------------------------------- the load loop

    fn run_load(&mut self, start_ns: u64) {
        clock::sleep_until(start_ns);
        self.measure_start = start_ns + self.plan.warmup_ns;
        self.measure_end = self
            .plan
            .duration_ns
            .map_or(u64::MAX, |d| self.measure_start + d);
        if self.plan.duration_ns.is_none() && self.budget.is_none() {
            self.measure_end = self.measure_start + 10 * NS_PER_SEC;
        }
        if let Some(rate) = self.plan.rate {
            let threads = self.plan.threads as f64;
            self.schedule = Some(Schedule::new(
                start_ns,
                rate / threads,
                self.plan.arrival,
                self.thread as f64 / threads,
                None,
                0xC0FFEE ^ self.thread as u64,
            ));
        }
        let now = now_ns();
        for idx in 0..self.conns.len() {
            if self.conns[idx].phase == Phase::Up {
                self.on_up(idx, now);
            }
        }
        let mut next_housekeeping = now;
        let mut warm = self.plan.warmup_ns > 0;
        loop {
            let mut now = now_ns();
            if warm && now >= self.measure_start {
                // Whatever was counted during warm-up is thrown away.
                self.rec = Recorder::default();
                warm = false;
            }
            if now >= next_housekeeping {
                if self.housekeeping(now) {
                    break;
                }
                next_housekeeping = now + HOUSEKEEPING_NS;
            }
            if self.open_loop() {
                self.take_due(now);
                self.dispatch();
                now = now_ns();
            }
            let timeout = self.poll_timeout(now, next_housekeeping);
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.note_error(format!("poll failed: {e}"));
                    break;
                }
            }
            self.handle_events();
        }
        let end = now_ns().min(self.measure_end);
        self.send_interval(end);
        let _ = self.tx.send(Msg::Finished { end_ns: end });
    }

    /// How long the poll may block: until the next due send (less the spin), else the next
    /// housekeeping tick.
    fn poll_timeout(&mut self, now: u64, next_housekeeping: u64) -> Duration {
        let mut wake = next_housekeeping;
        let due = if self.draining {
            None
        } else {
            self.schedule.as_ref().and_then(Schedule::peek)
        };
        if let Some(due) = due {
            if due <= now + SPIN_NS {
                return Duration::ZERO;
            }
            if let Some(timer) = self.timer.as_mut() {
                if timer.arm_at(due - SPIN_NS).is_err() {
                    wake = wake.min(due - SPIN_NS);
                }
            }
        }
        Duration::from_nanos(wake.saturating_sub(now))
    }

    /// Move requests whose intended time has come into the backlog.
    fn take_due(&mut self, now: u64) {
        if self.draining {
            return;
        }
        let Some(schedule) = self.schedule.as_mut() else {
            return;
        };
        while let Some(due) = schedule.peek() {
            if due > now {
                break;
            }
            if due >= self.measure_start {
                if self.budget.is_some_and(|b| self.issued >= b) {
                    break;
                }
                self.issued += 1;
                self.rec
                    .hist
                    .schedule_lateness
                    .saturating_record((now - due).max(1));
            }
            self.backlog.push_back(due);
            schedule.advance();
        }
    }

    /// Give backlog requests to connections with a free pipeline slot.
    fn dispatch(&mut self) {
        let mut touched: Option<usize> = None;
        while let Some(&intended) = self.backlog.front() {
            let Some(idx) = self.free.pop() else {
                break;
            };
            let conn = &self.conns[idx];
            if conn.phase != Phase::Up || conn.in_flight() >= self.plan.pipeline {
                continue;
            }
            if touched.is_some_and(|t| t != idx) {
                self.flush_if_stream(touched.unwrap_or(idx));
            }
            if !self.submit(idx, intended) {
                self.free.push(idx);
                break;
            }
            self.backlog.pop_front();
            touched = Some(idx);
        }
        if let Some(idx) = touched {
            self.flush_if_stream(idx);
        }
    }

    /// Closed loop: fill connection `idx` up to the pipeline depth and send.
    fn refill(&mut self, idx: usize, now: u64) {
        if self.draining || self.conns[idx].phase != Phase::Up {
            return;
        }
        let mut added = false;
        while self.conns[idx].in_flight() < self.plan.pipeline {
            if now >= self.measure_start {
                if self.budget.is_some_and(|b| self.issued >= b) {
                    break;
                }
                self.issued += 1;
            }
            if !self.submit(idx, now) {
                break;
            }
            added = true;
        }
        if added {
            self.flush_if_stream(idx);
        }
    }

    /// Queue one request on connection `idx` (UDP sends it at once). False when it cannot go.
    fn submit(&mut self, idx: usize, intended: u64) -> bool {
        let size = self.rng.in_range(self.plan.size.min, self.plan.size.max);
        let recording = self.recording(intended);
        match &mut self.conns[idx].io {
            Io::Stream(s) => {
                let before = s.out.len();
                let seq = s.next_seq;
                s.next_seq += 1;
                s.session.encode_request(seq, size, &mut s.out);
                s.enqueued += (s.out.len() - before) as u64;
                s.inflight.push_back(InFlight {
                    intended,
                    sent: 0,
                    end: s.enqueued,
                });
                s.unsent += 1;
                true
            }
            Io::Udp(u) => {
                let Some(socket) = u.socket.as_ref() else {
                    return false;
                };
                u.tracker.encode(size, &mut u.buf);
                let now = now_ns();
                match socket.send(&u.buf) {
                    Ok(n) => {
                        u.tracker.on_sent(intended, now, size);
                        if recording {
                            self.rec
                                .hist
                                .send_lag
                                .saturating_record(now.saturating_sub(intended).max(1));
                            let c = &mut self.rec.counters;
                            c.sent += 1;
                            c.udp.sent += 1;
                            c.bytes_sent += n as u64;
                        }
                        true
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                    Err(_) => {
                        // ECONNREFUSED from an earlier ICMP error; count it, keep the socket.
                        if recording {
                            self.rec.counters.errors.connect += 1;
                        }
                        false
                    }
                }
            }
        }
    }

    fn flush_if_stream(&mut self, idx: usize) {
        if matches!(self.conns[idx].io, Io::Stream(_)) {
            if let Err(e) = self.flush(idx) {
                self.note_error(e.to_string());
                self.close(idx, Ending::Broken, now_ns());
            }
        }
    }

    /// Write queued bytes; stamp each request whose last byte left with the time it left.
    fn flush(&mut self, idx: usize) -> io::Result<()> {
        let measure_start = self.measure_start;
        let Io::Stream(s) = &mut self.conns[idx].io else {
            return Ok(());
        };
        let Some(stream) = s.stream.as_mut() else {
            return Ok(());
        };
        let recording = now_ns() >= measure_start;
        while s.out_pos < s.out.len() {
            // A request counts as sent when the write that hands its last byte to the kernel
            // begins: on loopback the write itself may run the peer's receive path.
            let before = now_ns();
            match stream.write(&s.out[s.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    s.out_pos += n;
                    s.written += n as u64;
                    if recording {
                        self.rec.counters.bytes_sent += n as u64;
                    }
                    let first = s.inflight.len() - s.unsent;
                    for f in s.inflight.range_mut(first..) {
                        if f.end > s.written {
                            break;
                        }
                        f.sent = before;
                        s.unsent -= 1;
                        if f.intended >= measure_start {
                            self.rec.counters.sent += 1;
                            self.rec
                                .hist
                                .send_lag
                                .saturating_record(before.saturating_sub(f.intended).max(1));
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if s.out_pos == s.out.len() {
            s.out.clear();
            s.out_pos = 0;
        }
        Ok(())
    }

    fn handle_events(&mut self) {
        // Take the event buffer out so handlers can borrow `self` freely; no allocation.
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            let token = event.token();
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            let writable = event.is_writable() || event.is_error();
            if token == TIMER {
                if let Some(t) = self.timer.as_mut() {
                    t.acknowledge();
                }
                continue;
            }
            let idx = token.0;
            let Some(conn) = self.conns.get(idx) else {
                continue;
            };
            let is_stream = matches!(conn.io, Io::Stream(_));
            match conn.phase {
                Phase::Connecting { .. } => self.check_connected(idx, now_ns()),
                Phase::Up => {
                    if readable {
                        if is_stream {
                            self.read_stream(idx);
                        } else {
                            self.read_udp(idx);
                        }
                    }
                    if writable && self.conns[idx].phase == Phase::Up {
                        self.flush_if_stream(idx);
                    }
                }
                Phase::Down { .. } => {}
            }
        }
        self.events = events;
    }

    fn read_stream(&mut self, idx: usize) {
        let mut closes = false;
        loop {
            let Io::Stream(s) = &mut self.conns[idx].io else {
                return;
            };
            let Some(stream) = s.stream.as_mut() else {
                return;
            };
            match stream.read(&mut self.scratch) {
                Ok(0) => {
                    self.done.clear();
                    let ending = match s.session.on_eof(&mut self.done) {
                        Ok(()) if s.inflight.len() == self.done.len() => Ending::Quiet,
                        Ok(()) => Ending::Broken,
                        Err(_) => Ending::Broken,
                    };
                    self.complete(idx, now_ns());
                    if ending == Ending::Broken {
                        self.note_error("connection closed by the server mid-request".into());
                    }
                    self.close(idx, ending, now_ns());
                    return;
                }
                Ok(n) => {
                    let now = now_ns();
                    self.done.clear();
                    let result = s.session.on_bytes(&self.scratch[..n], &mut self.done);
                    if now >= self.measure_start {
                        self.rec.counters.bytes_received += n as u64;
                    }
                    closes |= self.done.iter().any(|c| c.closes);
                    self.complete(idx, now);
                    if let Err(e) = result {
                        if e.is_verification() {
                            self.rec.counters.errors.verify += 1;
                        }
                        self.note_error(e.to_string());
                        self.close(idx, Ending::Broken, now);
                        return;
                    }
                    // A short read drained the socket; edge-triggered epoll reports new data.
                    if closes || n < self.scratch.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.note_error(e.to_string());
                    self.close(idx, Ending::Broken, now_ns());
                    return;
                }
            }
        }
        let now = now_ns();
        if closes {
            self.close(idx, Ending::Quiet, now);
        } else if self.open_loop() {
            self.dispatch();
        } else {
            self.refill(idx, now);
        }
    }

    /// Account the completions in `self.done` against connection `idx`'s oldest requests.
    fn complete(&mut self, idx: usize, now: u64) {
        let measure_start = self.measure_start;
        let open = self.open_loop();
        let Io::Stream(s) = &mut self.conns[idx].io else {
            return;
        };
        for c in self.done.drain(..) {
            let Some(f) = s.inflight.pop_front() else {
                break;
            };
            if f.intended >= measure_start {
                self.rec.response(f.intended, f.sent, now);
                if let Some(code) = c.status {
                    self.rec.status(code);
                }
            }
            if open {
                self.free.push(idx);
            }
        }
    }

    fn read_udp(&mut self, idx: usize) {
        let mut freed = 0;
        loop {
            let Io::Udp(u) = &mut self.conns[idx].io else {
                return;
            };
            let Some(socket) = u.socket.as_ref() else {
                return;
            };
            match socket.recv(&mut self.scratch) {
                Ok(n) => {
                    let now = now_ns();
                    let recording = now >= self.measure_start;
                    let reply = u.tracker.on_datagram(&self.scratch[..n]);
                    let rec = &mut self.rec;
                    match reply {
                        Reply::Matched {
                            intended,
                            sent,
                            reordered,
                        } => {
                            freed += 1;
                            if intended >= self.measure_start {
                                rec.counters.udp.received += 1;
                                rec.counters.bytes_received += n as u64;
                                rec.counters.udp.reordered += u64::from(reordered);
                                rec.response(intended, sent, now);
                            }
                        }
                        Reply::Duplicate if recording => rec.counters.udp.duplicated += 1,
                        Reply::Late if recording => rec.counters.udp.late += 1,
                        Reply::Corrupt if recording => {
                            rec.counters.errors.verify += 1;
                            if self.first_error.is_none() {
                                self.first_error =
                                    Some("a UDP echo differs from the datagram sent".into());
                            }
                        }
                        _ => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP port unreachable surfaces here as ECONNREFUSED.
                    if now_ns() >= self.measure_start {
                        self.rec.counters.errors.connect += 1;
                    }
                    self.note_error(e.to_string());
                    break;
                }
            }
        }
        self.udp_slots_freed(idx, freed);
    }

    fn udp_slots_freed(&mut self, idx: usize, freed: usize) {
        if freed == 0 {
            return;
        }
        if self.open_loop() {
            for _ in 0..freed {
                self.free.push(idx);
            }
            self.dispatch();
        } else {
            self.refill(idx, now_ns());
        }
    }

    /// Drop connection `idx`; its unanswered requests are errors or get resent, per `ending`.
    fn close(&mut self, idx: usize, ending: Ending, now: u64) {
        self.drop_socket(idx);
        let measure_start = self.measure_start;
        let open = self.open_loop();
        if let Io::Stream(s) = &mut self.conns[idx].io {
            s.session.reset();
            s.out.clear();
            s.out_pos = 0;
            s.written = 0;
            s.enqueued = 0;
            s.unsent = 0;
            for f in s.inflight.drain(..).rev() {
                match ending {
                    Ending::Broken if f.intended >= measure_start => {
                        self.rec.counters.errors.reset += 1;
                    }
                    Ending::Quiet if open => self.backlog.push_front(f.intended),
                    _ => {}
                }
            }
        }
        let backoff = if ending == Ending::Quiet {
            0
        } else {
            RECONNECT_BACKOFF_NS
        };
        self.conns[idx].phase = Phase::Down {
            retry_at: now + backoff,
        };
        if backoff == 0 && !self.draining {
            self.start_connect(idx, now);
        }
    }

    /// Periodic work; returns true when the run is over.
    fn housekeeping(&mut self, now: u64) -> bool {
        let cutoff = now.saturating_sub(self.plan.timeout_ns);
        let connect_cutoff = now.saturating_sub(self.plan.connect_timeout_ns);
        let mut outstanding = 0;
        for idx in 0..self.conns.len() {
            match self.conns[idx].phase {
                Phase::Down { retry_at } if retry_at <= now && !self.draining => {
                    self.start_connect(idx, now)
                }
                Phase::Connecting { since } if since < connect_cutoff => {
                    self.connect_failed(idx, now, "connect timed out".into())
                }
                Phase::Up => self.expire(idx, cutoff, now),
                _ => {}
            }
            outstanding += self.conns[idx].in_flight();
        }
        loop {
            let boundary = self.measure_start + (self.interval + 1) * INTERVAL_NS;
            if boundary > now.min(self.measure_end) {
                break;
            }
            self.send_interval(boundary);
        }
        if now >= self.measure_end {
            return true;
        }
        if let Some(budget) = self.budget {
            if self.issued >= budget && self.backlog.is_empty() {
                self.draining = true;
                return outstanding == 0;
            }
        }
        false
    }

    /// Time out the oldest request(s) of connection `idx` sent before `cutoff`.
    fn expire(&mut self, idx: usize, cutoff: u64, now: u64) {
        let measure_start = self.measure_start;
        match &mut self.conns[idx].io {
            Io::Stream(s) => {
                let Some(&f) = s.inflight.front() else {
                    return;
                };
                if f.sent == 0 || f.sent >= cutoff {
                    return;
                }
                s.inflight.pop_front();
                if f.intended >= measure_start {
                    self.rec.timeout(f.intended, f.sent, now);
                }
                self.note_error("request timed out".into());
                // The stream is out of step now; start over on a fresh connection.
                self.close(idx, Ending::Quiet, now);
            }
            Io::Udp(u) => {
                let mut freed = 0;
                while let Some(lost) = u.tracker.expire_before(cutoff) {
                    freed += 1;
                    if lost.intended >= measure_start {
                        self.rec.timeout(lost.intended, lost.sent, now);
                        self.rec.counters.udp.lost += 1;
                    }
                }
                self.udp_slots_freed(idx, freed);
            }
        }
    }

    /// Hand the current interval's measurements to the collector.
    fn send_interval(&mut self, end: u64) {
        let begin = self
            .measure_start
            .saturating_add(self.interval * INTERVAL_NS);
        if end <= begin {
            return;
        }
        let recorder = std::mem::take(&mut self.rec);
        let _ = self.tx.send(Msg::Interval {
            index: self.interval,
            length_ns: end.saturating_sub(begin),
            recorder: Box::new(recorder),
        });
        self.interval += 1;
    }
}

/// A non-blocking UDP socket connected to `addr`.
fn open_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = StdUdpSocket::bind(local)?;
    socket.connect(addr)?;
    socket.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(socket))
}
