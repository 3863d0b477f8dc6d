//! The poll loop, shaped like mio's example: wait, then route each readiness event to the
//! connection it belongs to. Everything else lives in its own room:
//! [`super::waiting`] decides how to wait, [`super::lifecycle`] keeps the connections,
//! [`super::discipline`] decides who sends next, [`super::measure`] decides what counts, and
//! [`super::interval`] hands measurements to the collector.
//!
//! Open loop, per turn: read the vDSO clock, move every due request into the backlog and hand
//! the backlog to free connections in one pass, then wait. While handling a batch of events
//! the clock is checked between events, so a send that comes due in the middle of a batch is
//! not held up by the rest of it.

use std::io;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use hdrhistogram::Histogram;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::conn::{Phase, StreamConn};
use super::datagram::DatagramSlot;
use super::lifecycle::Slot;
use super::measure::Book;
use super::pacer::{Pacer, LATENESS_SHARE};
use super::source::SourceAddrs;
use super::stream::StreamSlot;
use super::tls::TlsClient;
use super::wake::WakeModel;
use super::{Kind, Msg, Plan, StartGate};
use crate::clock::{self, now_ns, Timer, NS_PER_SEC};
use crate::schedule::{Rng, Schedule};
use crate::stats::{new_histogram, Handshakes};
use crate::workload::http::HttpClient;
use crate::workload::tcp::EchoStream;
use crate::workload::StreamSession;

/// Token of the schedule timer; connections use their index.
pub(super) const TIMER: Token = Token(usize::MAX - 1);
/// Housekeeping period: timeouts, reconnects, interval roll-over, end of run (which is
/// also a deadline of its own, so a run ends on time whatever the period).
const HOUSEKEEPING_NS: u64 = 1_000_000;
/// Housekeeping period in open loop: each round is a wake-up of its own where sends are
/// sparse, so it comes no oftener than a reconnect's back-off needs.
const OPEN_LOOP_HOUSEKEEPING_NS: u64 = 10_000_000;
/// After Ctrl-C, the longest wait for answers in flight.
const DRAIN_NS: u64 = 200_000_000;
/// Wake-up overshoot assumed before the machine was measured (deliberately pessimistic).
const OVERSHOOT_PRIOR_NS: u64 = 1_000_000;

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
                first_error: Some(format!("cannot set up a worker thread: {e}")),
                connect: Box::new(new_histogram()),
                handshakes: Box::default(),
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

/// One load thread's state; its methods are spread over the modules named above, one
/// concern each.
pub(super) struct Worker {
    pub(super) thread: usize,
    pub(super) plan: Arc<Plan>,
    pub(super) tx: Sender<Msg>,
    pub(super) poll: Poll,
    pub(super) events: Events,
    pub(super) slots: Vec<Slot>,
    pub(super) book: Book,
    /// Open loop: the schedule, backlog and free slots (closed loop: none).
    pub(super) pacer: Option<Pacer>,
    pub(super) timer: Option<Timer>,
    /// Some connection may be connecting (its completion must be seen at once, for the
    /// connect time); recomputed at housekeeping.
    pub(super) connecting: bool,
    pub(super) wake: WakeModel,
    /// The schedule lateness the open loop plans to spend (a share of `--max-lateness`).
    pub(super) lateness_allowance_ns: u64,
    pub(super) rng: Rng,
    pub(super) scratch: Vec<u8>,
    /// Connect times of the set-up phase (before the load starts).
    pub(super) setup_connect_hist: Histogram<u64>,
    pub(super) setup_connect_failures: u64,
    /// TLS handshakes of the set-up phase.
    pub(super) setup_handshakes: Handshakes,
    /// https targets: this thread's TLS configuration (its own session cache).
    pub(super) tls: Option<TlsClient>,
    pub(super) measure_end: u64,
    /// Index of the interval being measured.
    pub(super) interval: u64,
    /// This thread's share of `--requests` (none: run for the duration).
    pub(super) request_quota: Option<u64>,
    /// Measured requests issued so far, against the quota.
    pub(super) issued: u64,
    pub(super) draining: bool,
    /// Ctrl-C: the load stopped, and the run ends once what is in flight is answered (or
    /// after [`DRAIN_NS`]).
    pub(super) interrupted: bool,
    pub(super) per_request: bool,
    pub(super) sources: SourceAddrs,
}

impl Worker {
    fn new(thread: usize, plan: Arc<Plan>, tx: Sender<Msg>) -> io::Result<Worker> {
        let share =
            plan.connections / plan.threads + usize::from(thread < plan.connections % plan.threads);
        let request_quota = plan.requests.map(|n| {
            n / plan.threads as u64 + u64::from((thread as u64) < n % plan.threads as u64)
        });
        let poll = Poll::new()?;
        let tls = match &plan.tls {
            Some(t) => Some(TlsClient {
                config: t.client_config(share).map_err(io::Error::other)?,
                server_name: t.server_name.clone(),
            }),
            None => None,
        };
        let slots = (0..share).map(|i| new_slot(&plan, thread, i)).collect();
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
            book: Book::new(),
            pacer: None,
            timer,
            connecting: true,
            wake: WakeModel::new(OVERSHOOT_PRIOR_NS),
            lateness_allowance_ns: (plan.max_lateness_ns as f64 * LATENESS_SHARE) as u64,
            rng: Rng::new(0x5EED ^ thread as u64),
            scratch: vec![0; 64 * 1024],
            setup_connect_hist: new_histogram(),
            setup_connect_failures: 0,
            setup_handshakes: Handshakes::default(),
            tls,
            measure_end: u64::MAX,
            interval: 0,
            request_quota,
            issued: 0,
            draining: false,
            interrupted: false,
            per_request: plan.per_request,
            sources: SourceAddrs::new(plan.addr, thread, plan.threads),
            plan,
        })
    }

    /// The load: from `start_ns` (all threads alike) until the run ends.
    fn run_load(&mut self, start_ns: u64) {
        clock::sleep_until(start_ns);
        let measure_start = start_ns + self.plan.warmup_ns;
        self.book.start_measuring_at(measure_start);
        self.measure_end = self
            .plan
            .duration_ns
            .map_or(u64::MAX, |d| measure_start + d);
        if self.plan.duration_ns.is_none() && self.request_quota.is_none() {
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
        self.start_disciplines(now_ns());
        let mut next_housekeeping = now_ns();
        let mut warm = self.plan.warmup_ns > 0;
        loop {
            let now = now_ns();
            if warm && now >= measure_start {
                // Whatever was counted during warm-up is thrown away.
                self.book.rec = Default::default();
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
        self.finish(now_ns().min(self.measure_end));
    }

    /// Periodic work: connections tended, intervals rolled over; true when the run is over.
    fn housekeeping(&mut self, now: u64) -> bool {
        if !self.interrupted && crate::interrupt::requested() {
            self.interrupted = true;
            self.draining = true;
            if let Some(p) = self.pacer.as_mut() {
                p.stop();
            }
            self.measure_end = self.measure_end.min(now + DRAIN_NS);
        }
        let outstanding = self.tend_connections(now);
        self.roll_intervals(now);
        if now >= self.measure_end {
            return true;
        }
        (self.interrupted || self.quota_spent()) && outstanding == 0
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
                Phase::Handshaking { .. } => self.drive_handshake(idx),
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
}

/// Connection `i` of `thread`, down, with its protocol state.
fn new_slot(plan: &Plan, thread: usize, i: usize) -> Slot {
    let seq_base = ((thread as u64) << 56) | ((i as u64) << 32);
    let session = match &plan.kind {
        Kind::Udp => return Slot::Datagram(Box::new(DatagramSlot::new(seq_base))),
        Kind::Http { request, head } => {
            StreamSession::Http(HttpClient::new(request.clone(), *head))
        }
        Kind::Tcp => StreamSession::Echo(EchoStream::new()),
    };
    let conn = StreamConn::new(session, seq_base, plan.pipeline);
    Slot::Stream(Box::new(StreamSlot {
        conn: if plan.per_request {
            conn.per_request()
        } else {
            conn
        },
        socket: None,
        tls: None,
    }))
}
