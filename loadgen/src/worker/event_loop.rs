//! The poll loop: a thin shell that turns readiness into calls on the connection state
//! machines and the pacer, and records what they report.
//!
//! Open loop, per turn: read the vDSO clock, move every due request into the backlog and hand
//! the backlog to free connections in one pass, then wait as [`plan_wait`] decides: a
//! coalesced sleep (one absolute `clock_nanosleep`, deaf to I/O, when nothing but responses
//! can be waiting: they carry kernel arrival stamps), a block in `epoll` (one `timerfd` armed
//! for the wake-up) when I/O must be seen at once, or a glance at ready I/O without blocking
//! followed by a few microseconds' wait on the clock. While handling a batch of events the
//! clock is checked between events, so a send that comes due in the middle of a batch is not
//! held up by the rest of it.

use std::fmt::Display;
use std::io;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::conn::{Ending, InFlight, Outcomes, Phase, StreamConn};
use super::datagram::{DatagramSlot, Sent};
use super::pacer::{plan_wait, PaceLog, Pacer, Wait, WaitPolicy, BUDGET_SHARE, SPIN_SLICE_NS};
use super::source::SourceAddrs;
use super::stream::{ReadEnd, ReadError, StreamSlot};
use super::wake::{WakeModel, WINDOW};
use super::{Kind, Msg, Plan, StartGate, INTERVAL_NS};
use crate::clock::{self, now_ns, Timer, NS_PER_SEC};
use crate::schedule::{Rng, Schedule};
use crate::stats::{new_histogram, ConnectFailure, Recorder, STALL_NS};
use crate::workload::http::HttpClient;
use crate::workload::tcp::EchoStream;
use crate::workload::udp::Reply;
use crate::workload::StreamSession;

/// Token of the schedule timer; connections use their index.
const TIMER: Token = Token(usize::MAX - 1);
/// Housekeeping period: timeouts, reconnects, interval roll-over, end of run (which is
/// also a deadline of its own, so a run ends on time whatever the period).
const HOUSEKEEPING_NS: u64 = 1_000_000;
/// Housekeeping period in open loop: each round is a wake-up of its own where sends are
/// sparse, so it comes no oftener than a reconnect's back-off needs.
const OPEN_LOOP_HOUSEKEEPING_NS: u64 = 10_000_000;
/// Pause before reconnecting after a failure.
const RECONNECT_BACKOFF_NS: u64 = 10_000_000;
/// Wake-up overshoot assumed before the machine was measured (deliberately pessimistic).
const OVERSHOOT_PRIOR_NS: u64 = 1_000_000;
/// Length of each timed wait that measures the machine's wake-ups before an open-loop run.
const CALIBRATION_SLEEP_NS: u64 = 200_000;

/// One connection of either transport.
enum Slot {
    Stream(Box<StreamSlot>),
    Datagram(Box<DatagramSlot>),
}

impl Slot {
    fn is_up(&self) -> bool {
        match self {
            Slot::Stream(s) => s.conn.is_up(),
            Slot::Datagram(d) => d.up,
        }
    }

    fn in_flight(&self) -> usize {
        match self {
            Slot::Stream(s) => s.conn.in_flight(),
            Slot::Datagram(d) => d.tracker.in_flight(),
        }
    }

    /// Can take one more request: a free pipeline slot on an established connection, or, one
    /// connection per request, no connection at all (the request brings its own).
    fn can_take(&self, pipeline: usize, per_request: bool) -> bool {
        match self {
            Slot::Stream(s) if per_request => s.conn.is_idle(),
            _ => self.is_up() && self.in_flight() < pipeline,
        }
    }
}

/// What the thread measures.
struct Book {
    rec: Recorder,
    measure_start: u64,
    first_error: Option<String>,
}

impl Book {
    fn recording(&self, intended: u64) -> bool {
        intended >= self.measure_start
    }

    /// Keep the first error message; later ones are not even formatted.
    fn note(&mut self, e: impl Display) {
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

impl PaceLog for Book {
    fn noticed(&mut self, intended: u64, lateness: u64) {
        if self.recording(intended) {
            self.rec
                .hist
                .schedule_lateness
                .saturating_record(lateness.max(1));
        }
    }
}

/// The [`Outcomes`] of connection `idx`, recorded into the book; in open loop, answered
/// requests free slots in the pacer and orphaned ones go back to its backlog.
struct Tally<'a> {
    book: &'a mut Book,
    pacer: Option<&'a mut Pacer>,
    idx: usize,
    /// One connection per request: its slot is offered again once the connection is gone,
    /// not when the answer arrives.
    per_request: bool,
}

impl Outcomes for Tally<'_> {
    fn sent(&mut self, f: &InFlight, at: u64) {
        if self.book.recording(f.intended) {
            self.book.rec.counters.sent += 1;
            self.book
                .rec
                .hist
                .send_lag
                .saturating_record(at.saturating_sub(f.intended).max(1));
        }
    }

    fn answered(&mut self, f: &InFlight, status: Option<u16>, now: u64) {
        if self.book.recording(f.intended) {
            self.book.rec.response(f.intended, f.noticed, f.sent, now);
            if let Some(code) = status {
                self.book.rec.status(code);
            }
        }
        if let Some(p) = self.pacer.as_mut().filter(|_| !self.per_request) {
            p.release(self.idx);
        }
    }

    fn orphaned(&mut self, f: &InFlight, ending: Ending) {
        match ending {
            Ending::Broken if self.book.recording(f.intended) => {
                self.book.rec.counters.errors.reset += 1;
            }
            Ending::Quiet => {
                if let Some(p) = self.pacer.as_mut() {
                    p.resend(f.intended, now_ns());
                }
            }
            Ending::Broken | Ending::Unconnected => {}
        }
    }
}

/// Run one worker thread to completion.
pub fn run(thread: usize, plan: Arc<Plan>, gate: Arc<StartGate>, tx: Sender<Msg>) {
    clock::tighten_timer_slack();
    clock::request_short_slice();
    let mut worker = match Worker::new(thread, plan, tx.clone()) {
        Ok(w) => w,
        Err(e) => {
            let _ = tx.send(Msg::Connected {
                up: 0,
                failures: 1,
                first_error: Some(format!("cannot create poll loop: {e}")),
                connect: Box::new(new_histogram()),
            });
            let _ = tx.send(Msg::Finished {
                end_ns: now_ns(),
                first_error: None,
            });
            return;
        }
    };
    worker.calibrate_wake();
    worker.connect_all();
    match gate.wait() {
        Some(start_ns) => worker.run_load(start_ns),
        None => {
            let _ = tx.send(Msg::Finished {
                end_ns: now_ns(),
                first_error: None,
            });
        }
    }
}

struct Worker {
    thread: usize,
    plan: Arc<Plan>,
    tx: Sender<Msg>,
    poll: Poll,
    events: Events,
    slots: Vec<Slot>,
    book: Book,
    pacer: Option<Pacer>,
    timer: Option<Timer>,
    /// Some connection may be connecting (its completion must be seen at once, for the
    /// connect time); recomputed at housekeeping.
    connecting: bool,
    wake: WakeModel,
    budget_ns: u64,
    rng: Rng,
    scratch: Vec<u8>,
    connect_hist: Histogram<u64>,
    connect_failures: u64,
    measure_end: u64,
    interval: u64,
    budget: Option<u64>,
    issued: u64,
    draining: bool,
    per_request: bool,
    sources: SourceAddrs,
}

impl Worker {
    fn new(thread: usize, plan: Arc<Plan>, tx: Sender<Msg>) -> io::Result<Worker> {
        let share =
            plan.connections / plan.threads + usize::from(thread < plan.connections % plan.threads);
        let budget = plan.requests.map(|n| {
            n / plan.threads as u64 + u64::from((thread as u64) < n % plan.threads as u64)
        });
        let poll = Poll::new()?;
        let slots = (0..share)
            .map(|i| {
                let seq_base = ((thread as u64) << 56) | ((i as u64) << 32);
                match &plan.kind {
                    Kind::Udp => Slot::Datagram(Box::new(DatagramSlot::new(seq_base))),
                    Kind::Tcp | Kind::Http { .. } => {
                        let session = match &plan.kind {
                            Kind::Http { request, head } => {
                                StreamSession::Http(HttpClient::new(request.clone(), *head))
                            }
                            _ => StreamSession::Echo(EchoStream::new()),
                        };
                        let conn = StreamConn::new(session, seq_base, plan.pipeline);
                        Slot::Stream(Box::new(StreamSlot {
                            conn: if plan.per_request {
                                conn.per_request()
                            } else {
                                conn
                            },
                            socket: None,
                        }))
                    }
                }
            })
            .collect();
        let timer = if plan.rate.is_some() {
            let timer = Timer::new()?;
            poll.registry()
                .register(&mut SourceFd(&timer.raw_fd()), TIMER, Interest::READABLE)?;
            Some(timer)
        } else {
            None
        };
        Ok(Worker {
            thread,
            tx,
            poll,
            events: Events::with_capacity(1024),
            slots,
            book: Book {
                rec: Recorder::default(),
                measure_start: u64::MAX,
                first_error: None,
            },
            pacer: None,
            timer,
            connecting: true,
            wake: WakeModel::new(OVERSHOOT_PRIOR_NS),
            budget_ns: (plan.max_lateness_ns as f64 * BUDGET_SHARE) as u64,
            rng: Rng::new(0x5EED ^ thread as u64),
            scratch: vec![0; 64 * 1024],
            connect_hist: new_histogram(),
            connect_failures: 0,
            measure_end: u64::MAX,
            interval: 0,
            budget,
            issued: 0,
            draining: false,
            per_request: plan.per_request,
            sources: SourceAddrs::new(plan.addr, thread, plan.threads),
            plan,
        })
    }

    fn running(&self) -> bool {
        self.book.measure_start != u64::MAX
    }

    // ---------------------------------------------------------------- connection set-up

    /// Open loop: measure how late this machine wakes the thread from a timed wait, before
    /// any socket is registered (a window's worth of waits, about 30 ms), so the pacer plans
    /// its first sends with a measured overshoot rather than a guess.
    fn calibrate_wake(&mut self) {
        let Some(timer) = self.timer.as_mut() else {
            return;
        };
        for _ in 0..WINDOW {
            let wanted = now_ns() + CALIBRATION_SLEEP_NS;
            if timer.arm_at(wanted).is_err() {
                return;
            }
            loop {
                match self
                    .poll
                    .poll(&mut self.events, Some(Duration::from_millis(10)))
                {
                    Err(e) if e.kind() != io::ErrorKind::Interrupted => return,
                    _ => {}
                }
                if now_ns() >= wanted {
                    break;
                }
            }
            self.wake.observe(wanted, now_ns());
            timer.acknowledge();
        }
    }

    /// Set-up phase: connect everything, wait for the results, report them.
    fn connect_all(&mut self) {
        if self.per_request {
            // Every request brings its own connection; there is nothing to set up.
            let _ = self.tx.send(Msg::Connected {
                up: 0,
                failures: 0,
                first_error: None,
                connect: Box::new(new_histogram()),
            });
            return;
        }
        let now = now_ns();
        for idx in 0..self.slots.len() {
            self.start_connect(idx, now);
        }
        let deadline = now + self.plan.connect_timeout_ns;
        while self.slots.iter().any(|s| match s {
            Slot::Stream(s) => matches!(s.conn.phase(), Phase::Connecting { .. }),
            Slot::Datagram(_) => false,
        }) {
            let now = now_ns();
            if now >= deadline {
                for idx in 0..self.slots.len() {
                    if let Slot::Stream(s) = &self.slots[idx] {
                        if matches!(s.conn.phase(), Phase::Connecting { .. }) {
                            self.connect_timed_out(idx, now);
                        }
                    }
                }
                break;
            }
            let wait = Duration::from_nanos((deadline - now).min(10_000_000));
            if let Err(e) = self.poll.poll(&mut self.events, Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.book.note(format_args!("poll failed: {e}"));
                    break;
                }
            }
            let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
            for event in events.iter().filter(|e| e.token() != TIMER) {
                self.check_connected(event.token().0, now_ns());
            }
            self.events = events;
        }
        let up = self.slots.iter().filter(|s| s.is_up()).count();
        let _ = self.tx.send(Msg::Connected {
            up,
            failures: self.connect_failures,
            first_error: self.book.first_error.take(),
            connect: Box::new(std::mem::replace(&mut self.connect_hist, new_histogram())),
        });
    }

    /// Begin connecting connection `idx` (UDP sockets are up at once).
    fn start_connect(&mut self, idx: usize, now: u64) {
        self.connecting = true;
        let addr = self.plan.addr;
        let local = if self.per_request {
            self.sources.next_addr()
        } else {
            None
        };
        let registry = self.poll.registry();
        let result = match &mut self.slots[idx] {
            Slot::Stream(s) => s.connect(addr, local, registry, Token(idx), now),
            Slot::Datagram(d) => d.open(addr, registry, Token(idx)),
        };
        match result {
            Ok(()) if self.slots[idx].is_up() => self.on_up(idx, now),
            Ok(()) => {}
            Err(e) => self.connect_failed(idx, now, ConnectFailure::of(&e), e),
        }
    }

    /// A connecting socket signalled: find out whether it is connected.
    fn check_connected(&mut self, idx: usize, now: u64) {
        let per_request = self.per_request;
        let Some(Slot::Stream(s)) = self.slots.get_mut(idx) else {
            return;
        };
        match s.check_connected(now, !per_request) {
            Ok(Some(took)) => {
                if !self.running() {
                    self.connect_hist.saturating_record(took);
                } else if now >= self.book.measure_start {
                    self.book.rec.hist.connect.saturating_record(took);
                    self.book.rec.counters.connects += 1;
                }
                self.on_up(idx, now);
            }
            Ok(None) => {}
            Err(e) => self.connect_failed(idx, now, ConnectFailure::of(&e), e),
        }
    }

    fn connect_timed_out(&mut self, idx: usize, now: u64) {
        self.connect_failed(idx, now, ConnectFailure::TimedOut, "connect timed out");
    }

    /// A connection attempt failed: counted by `kind`, never as a latency. Long-lived
    /// connections retry after a pause; one connection per request frees its slot for the
    /// next request (closed loop: at the next housekeeping, so a target that refuses at once
    /// is not retried in a tight loop).
    fn connect_failed(&mut self, idx: usize, now: u64, kind: ConnectFailure, why: impl Display) {
        self.connect_failures += 1;
        if self.running() && now >= self.book.measure_start {
            self.book.rec.counters.errors.connect += 1;
            self.book.rec.counters.errors.connect_kinds.count(kind);
        }
        if kind == ConnectFailure::NoLocalAddress {
            self.book.note(format_args!(
                "no local address for a new connection (out of source ports): {why}"
            ));
        } else {
            self.book.note(why);
        }
        let per_request = self.per_request;
        let retry_at = if per_request {
            now
        } else {
            now + RECONNECT_BACKOFF_NS
        };
        let registry = self.poll.registry();
        let Worker {
            slots, book, pacer, ..
        } = self;
        match &mut slots[idx] {
            Slot::Stream(s) => {
                s.drop_socket(registry, !per_request);
                s.conn.close(
                    Ending::Unconnected,
                    retry_at,
                    &mut Tally {
                        book,
                        pacer: pacer.as_mut(),
                        idx,
                        per_request,
                    },
                );
            }
            Slot::Datagram(d) => d.drop_socket(registry),
        }
        if per_request {
            if let Some(p) = self.pacer.as_mut() {
                p.release(idx);
            }
        }
    }

    /// Connection `idx` can carry requests: offer its slots (only once the load runs).
    fn on_up(&mut self, idx: usize, now: u64) {
        if !self.running() {
            return;
        }
        if self.per_request {
            // Its request was queued before connecting: send it.
            self.flush(idx);
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            for _ in 0..self.plan.pipeline {
                p.release(idx);
            }
        } else {
            self.refill(idx, now);
        }
    }

    // ---------------------------------------------------------------- the load loop

    fn run_load(&mut self, start_ns: u64) {
        clock::sleep_until(start_ns);
        let measure_start = start_ns + self.plan.warmup_ns;
        self.book.measure_start = measure_start;
        self.measure_end = self
            .plan
            .duration_ns
            .map_or(u64::MAX, |d| measure_start + d);
        if self.plan.duration_ns.is_none() && self.budget.is_none() {
            self.measure_end = measure_start + 10 * NS_PER_SEC;
        }
        if let Some(rate) = self.plan.rate {
            let threads = self.plan.threads as f64;
            let schedule = Schedule::new(
                start_ns,
                rate / threads,
                self.plan.arrival,
                self.thread as f64 / threads,
                None,
                0xC0FFEE ^ self.thread as u64,
            );
            self.pacer = Some(Pacer::new(schedule, self.slots.len(), self.plan.pipeline));
        }
        let now = now_ns();
        for idx in 0..self.slots.len() {
            if self.per_request {
                self.offer(idx, now);
            } else if self.slots[idx].is_up() {
                self.on_up(idx, now);
            }
        }
        let mut next_housekeeping = now;
        let mut warm = self.plan.warmup_ns > 0;
        loop {
            let now = now_ns();
            if warm && now >= measure_start {
                // Whatever was counted during warm-up is thrown away.
                self.book.rec = Recorder::default();
                warm = false;
            }
            if now >= next_housekeeping {
                if self.housekeeping(now) {
                    break;
                }
                let period = if self.pacer.is_some() {
                    OPEN_LOOP_HOUSEKEEPING_NS
                } else {
                    HOUSEKEEPING_NS
                };
                next_housekeeping = (now + period).min(self.measure_end);
            }
            self.pace(now);
            if let Err(e) = self.wait(next_housekeeping) {
                self.book.note(format_args!("poll failed: {e}"));
                break;
            }
            self.handle_events();
        }
        let end = now_ns().min(self.measure_end);
        self.send_interval(end);
        let _ = self.tx.send(Msg::Finished {
            end_ns: end,
            first_error: self.book.first_error.take(),
        });
    }

    /// The next send time, unless the run is draining (closed loop: none).
    fn next_send(&self) -> Option<u64> {
        if self.draining {
            return None;
        }
        self.pacer.as_ref().and_then(Pacer::next_send)
    }

    /// Wait for I/O or the next send time, as [`plan_wait`] decides; idle time is counted,
    /// and every timed wait teaches the wake model how late this machine wakes.
    fn wait(&mut self, next_housekeeping: u64) -> io::Result<()> {
        let now = now_ns();
        let policy = WaitPolicy {
            budget_ns: self.budget_ns,
            overshoot_ns: self.wake.expected(),
            gap_ns: self.pacer.as_ref().map_or(u64::MAX, Pacer::mean_gap_ns),
        };
        let plan = plan_wait(now, self.next_send(), next_housekeeping, policy);
        // Deaf to I/O only where nothing but a response can be waiting: a connect's completion
        // must be seen at once (its time is measured), and so must a response while requests
        // wait for the slot it frees.
        let pacer = self
            .pacer
            .as_ref()
            .filter(|_| !self.per_request && !self.connecting);
        let (deadline, after) = match plan {
            Wait::Sleep { wake } => match pacer.and_then(|p| p.sleep_through_until(now, wake)) {
                Some(until) => (self.sleep_through_io(until)?, now_ns()),
                None => (self.block(wake, next_housekeeping)?, now_ns()),
            },
            Wait::Glance { until } => {
                poll_ignoring_eintr(&mut self.poll, &mut self.events, Duration::ZERO)?;
                (None, self.spin_if_quiet(now, until))
            }
        };
        let measuring = now >= self.book.measure_start;
        if let Some(wanted) = deadline.filter(|&w| after >= w) {
            self.wake.observe(wanted, after);
            if measuring {
                self.book
                    .rec
                    .hist
                    .wake_overshoot
                    .saturating_record((after - wanted).max(1));
            }
        }
        let slept = !matches!(plan, Wait::Glance { .. });
        if measuring {
            let c = &mut self.book.rec.counters;
            if slept || self.events.is_empty() {
                c.idle_ns += after.saturating_sub(now);
            }
            c.wakeups += u64::from(slept);
        }
        Ok(())
    }

    /// Block until I/O, or until `wake` by the timer (or housekeeping, whichever comes
    /// first). Returns the exact deadline to learn the wake-up overshoot from: only the
    /// timer's is exact (epoll's own timeout is in whole milliseconds, rounded up). In open
    /// loop housekeeping too waits on the timer, so that a send just after it is planned on
    /// time; closed loop has no timer and waits on epoll's timeout.
    fn block(&mut self, wake: u64, next_housekeeping: u64) -> io::Result<Option<u64>> {
        // One timer, re-armed only when the wake-up time changes.
        let (exact, until) = match self.timer.as_mut().map(|t| t.arm_at(wake)) {
            Some(Ok(())) => (Some(wake), next_housekeeping),
            _ => (None, next_housekeeping.min(wake)),
        };
        let timeout = Duration::from_nanos(until.saturating_sub(now_ns()));
        poll_ignoring_eintr(&mut self.poll, &mut self.events, timeout)?;
        Ok(exact)
    }

    /// A coalesced sleep: sleep until `wake`, deaf to I/O (housekeeping waits for it too,
    /// late by at most the budget's slack), then collect, without blocking, whatever became
    /// ready meanwhile. A plain absolute `clock_nanosleep`: no timer to arm or read back.
    fn sleep_through_io(&mut self, wake: u64) -> io::Result<Option<u64>> {
        clock::sleep_until_exactly(wake);
        poll_ignoring_eintr(&mut self.poll, &mut self.events, Duration::ZERO)?;
        Ok(Some(wake))
    }

    /// After a glance found no I/O: wait on the clock until `until`, for at most
    /// [`SPIN_SLICE_NS`], counting the time as spent spinning. Returns the time it ended.
    fn spin_if_quiet(&mut self, began: u64, until: u64) -> u64 {
        let mut now = now_ns();
        if !self.events.is_empty() {
            return now;
        }
        let until = until.min(now + SPIN_SLICE_NS);
        let (mut stalls, mut stalled_ns) = (0, 0);
        while now < until {
            std::hint::spin_loop();
            let last = now;
            now = now_ns();
            if now - last > STALL_NS {
                stalls += 1;
                stalled_ns += now - last;
            }
        }
        if began >= self.book.measure_start {
            let c = &mut self.book.rec.counters;
            c.spin_ns += now.saturating_sub(began);
            c.stalls += stalls;
            c.stalled_ns += stalled_ns;
        }
        now
    }

    /// Open loop: take every due request and hand out as many as there are free slots.
    fn pace(&mut self, now: u64) {
        if self.draining {
            return;
        }
        let Worker {
            book,
            pacer,
            budget,
            issued,
            ..
        } = self;
        let Some(pacer) = pacer.as_mut() else {
            return;
        };
        let measure_start = book.measure_start;
        pacer.take_due(
            now,
            |due| {
                if due < measure_start {
                    return true;
                }
                if budget.is_some_and(|b| *issued >= b) {
                    return false;
                }
                *issued += 1;
                true
            },
            book,
        );
        if pacer.backlog_len() > 0 {
            self.dispatch();
        }
    }

    /// Give backlog requests to connections with a free pipeline slot, one write per touched
    /// connection.
    fn dispatch(&mut self) {
        let mut touched: Option<usize> = None;
        while let Some(pacer) = self.pacer.as_mut() {
            let Some(due) = pacer.front() else {
                break;
            };
            let Some(idx) = pacer.take_slot() else {
                break;
            };
            let Some(slot) = self.slots.get(idx) else {
                continue;
            };
            if !slot.can_take(self.plan.pipeline, self.per_request) {
                continue;
            }
            if let Some(t) = touched.filter(|&t| t != idx) {
                self.flush(t);
                touched = None;
            }
            if !self.submit(idx, due.intended, due.noticed) {
                if let Some(p) = self.pacer.as_mut() {
                    p.release(idx);
                }
                break;
            }
            if let Some(p) = self.pacer.as_mut() {
                p.pop();
            }
            if self.book.recording(due.intended) {
                let waited = now_ns().saturating_sub(due.noticed);
                self.book
                    .rec
                    .hist
                    .conn_wait
                    .saturating_record(waited.max(1));
            }
            if self.per_request {
                self.start_connect(idx, now_ns());
            } else {
                touched = Some(idx);
            }
        }
        if let Some(idx) = touched {
            self.flush(idx);
        }
    }

    /// Closed loop: fill connection `idx` up to the pipeline depth and send.
    fn refill(&mut self, idx: usize, now: u64) {
        if self.draining || !self.slots[idx].can_take(self.plan.pipeline, self.per_request) {
            return;
        }
        let mut added = false;
        while self.slots[idx].can_take(self.plan.pipeline, self.per_request) {
            if now >= self.book.measure_start {
                if self.budget.is_some_and(|b| self.issued >= b) {
                    break;
                }
                self.issued += 1;
            }
            if !self.submit(idx, now, now) {
                break;
            }
            added = true;
            if self.per_request {
                // The request is queued on a connection that is down: it can take no more.
                break;
            }
        }
        if added && self.per_request {
            self.start_connect(idx, now);
        } else if added {
            self.flush(idx);
        }
    }

    /// One connection per request: slot `idx` is free for the next request (open loop: its
    /// token goes back to the pacer; closed loop: the next request goes out now).
    fn offer(&mut self, idx: usize, now: u64) {
        match self.pacer.as_mut() {
            Some(p) => p.release(idx),
            None => self.refill(idx, now),
        }
    }

    /// Queue one request on connection `idx` (UDP sends it at once). False when it cannot go.
    /// (`noticed`: when the loop saw it due; the server's share of its latency starts there.)
    fn submit(&mut self, idx: usize, intended: u64, noticed: u64) -> bool {
        let size = self.rng.in_range(self.plan.size.min, self.plan.size.max);
        let recording = self.book.recording(intended);
        match &mut self.slots[idx] {
            Slot::Stream(s) => {
                s.conn.submit(intended, noticed, size);
                true
            }
            Slot::Datagram(d) => match d.send(intended, noticed, size) {
                Sent::Ok { at, bytes } => {
                    if recording {
                        let rec = &mut self.book.rec;
                        rec.hist
                            .send_lag
                            .saturating_record(at.saturating_sub(intended).max(1));
                        rec.counters.sent += 1;
                        rec.counters.udp.sent += 1;
                        rec.counters.bytes_sent += bytes as u64;
                    }
                    true
                }
                Sent::WouldBlock => false,
                Sent::Refused => {
                    if recording {
                        self.book.rec.counters.errors.connect += 1;
                    }
                    false
                }
            },
        }
    }

    /// Write what stream connection `idx` has queued; a failed write breaks the connection.
    fn flush(&mut self, idx: usize) {
        let per_request = self.per_request;
        let Worker {
            slots, book, pacer, ..
        } = self;
        let Slot::Stream(s) = &mut slots[idx] else {
            return;
        };
        match s.flush(&mut Tally {
            book,
            pacer: pacer.as_mut(),
            idx,
            per_request,
        }) {
            Ok(n) => {
                if now_ns() >= self.book.measure_start {
                    self.book.rec.counters.bytes_sent += n;
                }
            }
            Err(e) => {
                self.book.note(e);
                self.close(idx, Ending::Broken, now_ns());
            }
        }
    }

    fn handle_events(&mut self) {
        // Take the event buffer out so handlers can borrow `self` freely; no allocation.
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let mut next_send = self.next_send();
        for event in events.iter() {
            let token = event.token();
            if token == TIMER {
                if let Some(t) = self.timer.as_mut() {
                    t.acknowledge();
                }
                continue;
            }
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            let writable = event.is_writable() || event.is_error();
            self.on_ready(token.0, readable, writable, event.is_read_closed());
            // Between events, a send that came due goes out before the rest of the batch.
            if let Some(due) = next_send {
                let now = now_ns();
                if now >= due {
                    self.pace(now);
                    next_send = self.next_send();
                }
            }
        }
        self.events = events;
    }

    fn on_ready(&mut self, idx: usize, readable: bool, writable: bool, peer_closed: bool) {
        let Some(slot) = self.slots.get(idx) else {
            return;
        };
        match slot {
            Slot::Stream(s) => match s.conn.phase() {
                Phase::Connecting { .. } => self.check_connected(idx, now_ns()),
                Phase::Up => {
                    if readable {
                        self.read_stream(idx, peer_closed);
                    }
                    if writable && self.slots[idx].is_up() {
                        self.flush(idx);
                    }
                }
                Phase::Down { .. } => {}
            },
            Slot::Datagram(d) => {
                if readable && d.up {
                    self.read_datagrams(idx);
                }
            }
        }
    }

    fn read_stream(&mut self, idx: usize, peer_closed: bool) {
        let per_request = self.per_request;
        let Worker {
            slots,
            book,
            pacer,
            scratch,
            ..
        } = self;
        let Slot::Stream(s) = &mut slots[idx] else {
            return;
        };
        let mut received = 0;
        let end = s.read(
            scratch,
            &mut received,
            peer_closed,
            &mut Tally {
                book,
                pacer: pacer.as_mut(),
                idx,
                per_request,
            },
        );
        let now = now_ns();
        if now >= self.book.measure_start {
            self.book.rec.counters.bytes_received += received;
        }
        match end {
            ReadEnd::Drained if self.pacer.is_some() => self.dispatch(),
            ReadEnd::Drained => self.refill(idx, now),
            ReadEnd::Close(ending, why) => {
                if let Some(why) = why {
                    if matches!(&why, ReadError::Stream(e) if e.is_verification()) {
                        self.book.rec.counters.errors.verify += 1;
                    }
                    self.book.note(why);
                }
                self.close(idx, ending, now);
            }
        }
    }

    fn read_datagrams(&mut self, idx: usize) {
        let mut freed = 0;
        loop {
            let Worker {
                slots,
                book,
                scratch,
                ..
            } = self;
            let Slot::Datagram(d) = &mut slots[idx] else {
                return;
            };
            match d.recv(scratch) {
                Ok(Some((reply, n, now))) => {
                    let recording = now >= book.measure_start;
                    let rec = &mut book.rec;
                    match reply {
                        Reply::Matched {
                            intended,
                            noticed,
                            sent,
                            reordered,
                        } => {
                            freed += 1;
                            if intended >= book.measure_start {
                                rec.counters.udp.received += 1;
                                rec.counters.bytes_received += n as u64;
                                rec.counters.udp.reordered += u64::from(reordered);
                                rec.response(intended, noticed, sent, now.max(sent));
                            }
                        }
                        Reply::Duplicate if recording => rec.counters.udp.duplicated += 1,
                        Reply::Late if recording => rec.counters.udp.late += 1,
                        Reply::Corrupt if recording => {
                            rec.counters.errors.verify += 1;
                            book.note("a UDP echo differs from the datagram sent");
                        }
                        _ => {}
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // ICMP port unreachable surfaces here as ECONNREFUSED.
                    if now_ns() >= book.measure_start {
                        book.rec.counters.errors.connect += 1;
                    }
                    book.note(e);
                    break;
                }
            }
        }
        self.datagram_slots_freed(idx, freed);
    }

    fn datagram_slots_freed(&mut self, idx: usize, freed: usize) {
        if freed == 0 {
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            for _ in 0..freed {
                p.release(idx);
            }
            self.dispatch();
        } else {
            self.refill(idx, now_ns());
        }
    }

    /// Drop stream connection `idx`; its unanswered requests are errors or get resent, per
    /// `ending`; a quiet close reconnects at once.
    fn close(&mut self, idx: usize, ending: Ending, now: u64) {
        let per_request = self.per_request;
        let backoff = if ending == Ending::Quiet || per_request {
            0
        } else {
            RECONNECT_BACKOFF_NS
        };
        let registry = self.poll.registry();
        let Worker {
            slots, book, pacer, ..
        } = self;
        let Slot::Stream(s) = &mut slots[idx] else {
            return;
        };
        s.drop_socket(registry, !per_request);
        s.conn.close(
            ending,
            now + backoff,
            &mut Tally {
                book,
                pacer: pacer.as_mut(),
                idx,
                per_request,
            },
        );
        if per_request {
            // Done (or broken): the slot takes the next request on a fresh connection. A
            // broken one waits for housekeeping in closed loop, so a server that resets every
            // connection is not hammered in a tight loop.
            if ending == Ending::Quiet || self.pacer.is_some() {
                self.offer(idx, now);
            }
        } else if backoff == 0 && !self.draining {
            self.start_connect(idx, now);
        }
    }

    /// Periodic work; returns true when the run is over.
    fn housekeeping(&mut self, now: u64) -> bool {
        let cutoff = now.saturating_sub(self.plan.timeout_ns);
        let connect_cutoff = now.saturating_sub(self.plan.connect_timeout_ns);
        let mut outstanding = 0;
        let mut connecting = false;
        for idx in 0..self.slots.len() {
            match &self.slots[idx] {
                Slot::Stream(s) => match s.conn.phase() {
                    // One connection per request, closed loop: a slot a failure left idle
                    // takes its next request (open loop: the pacer hands it one).
                    Phase::Down { .. } if self.per_request && self.pacer.is_none() => {
                        self.refill(idx, now)
                    }
                    Phase::Down { .. } if self.per_request => {}
                    Phase::Down { retry_at } if retry_at <= now && !self.draining => {
                        self.start_connect(idx, now)
                    }
                    Phase::Connecting { since } if since < connect_cutoff => {
                        self.connect_timed_out(idx, now)
                    }
                    Phase::Up => self.expire(idx, cutoff, now),
                    _ => {}
                },
                Slot::Datagram(d) if d.up => self.expire(idx, cutoff, now),
                Slot::Datagram(_) => {}
            }
            outstanding += self.slots[idx].in_flight();
            connecting |= matches!(&self.slots[idx], Slot::Stream(s)
                if matches!(s.conn.phase(), Phase::Connecting { .. }));
        }
        self.connecting = connecting;
        loop {
            let boundary = self.book.measure_start + (self.interval + 1) * INTERVAL_NS;
            if boundary > now.min(self.measure_end) {
                break;
            }
            self.send_interval(boundary);
        }
        if now >= self.measure_end {
            return true;
        }
        if let Some(budget) = self.budget {
            let backlog = self.pacer.as_ref().map_or(0, Pacer::backlog_len);
            if self.issued >= budget && backlog == 0 {
                self.draining = true;
                if let Some(p) = self.pacer.as_mut() {
                    p.stop();
                }
                return outstanding == 0;
            }
        }
        false
    }

    /// Time out the oldest request(s) of connection `idx` sent before `cutoff`.
    fn expire(&mut self, idx: usize, cutoff: u64, now: u64) {
        let measure_start = self.book.measure_start;
        match &mut self.slots[idx] {
            Slot::Stream(s) => {
                let Some(f) = s.conn.expired(cutoff) else {
                    return;
                };
                if f.intended >= measure_start {
                    self.book.rec.timeout(f.intended, f.noticed, f.sent, now);
                }
                self.book.note("request timed out");
                // The stream is out of step now; start over on a fresh connection.
                self.close(idx, Ending::Quiet, now);
            }
            Slot::Datagram(d) => {
                let mut freed = 0;
                while let Some(lost) = d.tracker.expire_before(cutoff) {
                    freed += 1;
                    if lost.intended >= measure_start {
                        self.book
                            .rec
                            .timeout(lost.intended, lost.noticed, lost.sent, now);
                        self.book.rec.counters.udp.lost += 1;
                    }
                }
                self.datagram_slots_freed(idx, freed);
            }
        }
    }

    /// Hand the current interval's measurements to the collector.
    fn send_interval(&mut self, end: u64) {
        let begin = self
            .book
            .measure_start
            .saturating_add(self.interval * INTERVAL_NS);
        if end <= begin {
            return;
        }
        if let Some(p) = self.pacer.as_mut() {
            let (peak, overflowed) = p.take_peak();
            self.book.rec.counters.backlog_peak = peak as u64;
            self.book.rec.counters.backlog_overflows = u64::from(overflowed);
        }
        let recorder = std::mem::take(&mut self.book.rec);
        let _ = self.tx.send(Msg::Interval {
            index: self.interval,
            length_ns: end.saturating_sub(begin),
            recorder: Box::new(recorder),
        });
        self.interval += 1;
    }
}

/// `poll` that treats an interrupted wait as an empty one.
fn poll_ignoring_eintr(poll: &mut Poll, events: &mut Events, timeout: Duration) -> io::Result<()> {
    match poll.poll(events, Some(timeout)) {
        Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}
