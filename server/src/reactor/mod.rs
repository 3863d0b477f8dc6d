//! The poll loop: one `mio::Poll`, one slab of connections, timers, signals.
//!
//! Each turn: sleep in `poll` until an event or the earliest deadline, handle the events,
//! revisit the sockets that were cut short by a fairness budget or backpressure (they get no
//! new edge, so the loop must remember them), fire due timers, log stats when due.
//!
//! Shutdown (SIGINT/SIGTERM): listeners and the UDP socket close at once, every connection
//! flushes what it owes and closes, and the loop exits when the slab is empty or
//! `--drain-timeout` has passed. A second signal exits at once. With HTTPS, SIGHUP reads the
//! certificate and key again for new connections.
//!
//! Where things are: the loop, event dispatch and the connection table here; accepting in
//! [`accept`]; revisits, timers, metrics publication and the stats log (the work of each turn
//! after its events) in [`periodic`]; signals and draining in [`shutdown`]; the certificate
//! reload in [`tls_reload`]; the settings derived from the flags in [`config`].
mod accept;
mod config;
mod periodic;
mod shutdown;
mod tls_reload;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Interest, Poll, Registry, Token};
use reactor_proto::http::DateCache;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::bufpool::BufPool;
use crate::connection::{ConnCtx, Connection, Flow};
use crate::listeners::ReactorSockets;
use crate::logging;
use crate::metrics::{LoopStats, Metrics};
use crate::protocol::ProtocolCtx;
use crate::staging::Staging;
use crate::stats::{CloseReason, Stats};
use crate::timers::{duration_to_millis, poll_timeout, Clock, Millis, Timers};
use crate::token;
use crate::udp::{UdpEcho, UdpTurn};

use accept::{Listener, Service};
pub use config::ReactorConfig;

/// Read buffer size: holds the largest UDP datagram, and 64 KiB TCP reads.
const SCRATCH_BYTES: usize = 64 * 1024;
/// Events fetched per `poll`.
const EVENTS_PER_POLL: usize = 1024;

/// One single-threaded event loop and everything it owns.
pub struct Reactor {
    poll: Poll,
    registry: Registry,
    signals: Signals,
    conns: Slab<Connection>,
    next_generation: u32,
    listeners: Vec<Listener>,
    udp: Option<UdpEcho>,
    timers: Timers,
    clock: Clock,
    revisit: Vec<Token>,
    revisit_now: Vec<Token>,
    scratch: Vec<u8>,
    staging: Staging,
    pool: BufPool,
    stats: Stats,
    date: DateCache,
    cfg: ReactorConfig,
    drain_deadline: Option<Millis>,
    force_exit: bool,
    next_stats: Option<Millis>,
    name: String,
    /// Where this reactor publishes its numbers for `GET /metrics`, and its slot there.
    metrics: Arc<Metrics>,
    metrics_slot: usize,
    loop_stats: LoopStats,
    next_publish: Millis,
}

impl Reactor {
    /// Creates a reactor serving `sockets`; `name` labels its log lines, and it publishes its
    /// numbers into slot `metrics_slot` of `metrics`.
    pub fn new(
        sockets: ReactorSockets,
        cfg: ReactorConfig,
        name: String,
        metrics: Arc<Metrics>,
        metrics_slot: usize,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        // SIGHUP (reload the certificate) is handled only with HTTPS; otherwise it keeps its
        // default action.
        let mut signals = match cfg.tls_files.is_some() {
            true => Signals::new([SIGINT, SIGTERM, SIGHUP])?,
            false => Signals::new([SIGINT, SIGTERM])?,
        };
        registry.register(&mut signals, token::SIGNALS, Interest::READABLE)?;
        let mut listeners = Vec::new();
        for (socket, service, token) in [
            (sockets.tcp, Service::Echo, token::TCP_LISTENER),
            (sockets.http, Service::Http, token::HTTP_LISTENER),
            (sockets.https, Service::Https, token::HTTPS_LISTENER),
            (
                sockets.metrics,
                Service::Monitoring,
                token::METRICS_LISTENER,
            ),
        ] {
            if let Some(mut socket) = socket {
                registry.register(&mut socket, token, Interest::READABLE)?;
                listeners.push(Listener {
                    socket,
                    service,
                    token,
                    paused_until: None,
                    exhausted: false,
                });
            }
        }
        let udp = match sockets.udp {
            Some(socket) => {
                let mut udp = UdpEcho::new(socket, cfg.max_datagram, cfg.udp_queue);
                registry.register(udp.socket_mut(), token::UDP, Interest::READABLE)?;
                Some(udp)
            }
            None => None,
        };
        let clock = Clock::new();
        let next_stats =
            (!cfg.stats_interval.is_zero()).then(|| duration_to_millis(cfg.stats_interval));
        Ok(Self {
            poll,
            registry,
            signals,
            conns: Slab::new(),
            next_generation: 0,
            listeners,
            udp,
            timers: Timers::new(),
            clock,
            revisit: Vec::new(),
            revisit_now: Vec::new(),
            scratch: vec![0; SCRATCH_BYTES],
            staging: Staging::with_capacity(SCRATCH_BYTES),
            pool: BufPool::new(),
            stats: Stats::default(),
            date: DateCache::new(SystemTime::now()),
            cfg,
            drain_deadline: None,
            force_exit: false,
            next_stats,
            name,
            metrics,
            metrics_slot,
            loop_stats: LoopStats::default(),
            next_publish: 0,
        })
    }

    /// Runs until a signal's graceful shutdown completes; returns the final counters.
    pub fn run(mut self) -> io::Result<Stats> {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        // When the turn being handled began (poll returned) and how many events it had.
        let mut turn: Option<(Instant, usize)> = None;
        loop {
            let now = self.clock.update();
            if let Some((began, events)) = turn.take() {
                let busy = self.clock.last_instant().saturating_duration_since(began);
                self.loop_stats.record_turn(events, busy);
            }
            if self.finished(now) {
                break;
            }
            let timeout = self.poll_timeout(now);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = self.clock.update();
            self.date.refresh(SystemTime::now());
            if now >= self.next_publish {
                self.publish_metrics(now);
            }
            let mut handled = 0;
            for event in events.iter() {
                handled += 1;
                self.dispatch(event);
            }
            turn = Some((self.clock.last_instant(), handled));
            self.run_revisits();
            self.fire_timers();
            self.log_stats_if_due();
        }
        self.close_remaining();
        self.publish_metrics(self.clock.now());
        logging::log_stats(module_path!(), &self.name, "stopped; ", &self.stats);
        Ok(self.stats)
    }

    fn poll_timeout(&self, now: Millis) -> Option<Duration> {
        if !self.revisit.is_empty() {
            return Some(Duration::ZERO);
        }
        let pauses = self.listeners.iter().map(|l| l.paused_until);
        let singles = [
            self.timers.next_deadline(),
            self.drain_deadline,
            self.next_stats,
        ];
        poll_timeout(now, singles.into_iter().chain(pauses))
    }

    fn dispatch(&mut self, event: &mio::event::Event) {
        match event.token() {
            token::SIGNALS => self.on_signals(),
            token::UDP => self.on_udp(event.is_readable(), event.is_writable()),
            token::TCP_LISTENER
            | token::HTTP_LISTENER
            | token::HTTPS_LISTENER
            | token::METRICS_LISTENER => self.accept(event.token()),
            token => {
                let fin = event.is_read_closed();
                if event.is_writable() {
                    self.with_conn(token, |conn, ctx| conn.on_writable(token, ctx));
                }
                if event.is_readable() || fin || event.is_error() {
                    self.with_conn(token, |conn, ctx| conn.on_readable(token, fin, ctx));
                }
            }
        }
    }

    /// Runs `f` on the connection `token` names, if it still exists (its generation matches),
    /// and closes it if `f` says so.
    fn with_conn(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut Connection, &mut ConnCtx<'_>) -> Flow,
    ) {
        let Some((key, generation)) = token::split(token) else {
            return;
        };
        let Reactor {
            conns,
            registry,
            clock,
            stats,
            timers,
            revisit,
            scratch,
            staging,
            pool,
            cfg,
            date,
            metrics,
            ..
        } = self;
        let Some(conn) = conns.get_mut(key) else {
            return;
        };
        if conn.generation() != generation {
            return; // a stale event or timer of a connection that has since closed
        }
        let mut ctx = ConnCtx {
            registry,
            now: clock.now(),
            stats,
            timers,
            revisit,
            scratch,
            pool,
            limits: &cfg.limits,
            staging,
            proto: ProtocolCtx {
                now: clock.now(),
                date,
                http_limits: &cfg.http_limits,
                metrics,
                budget: &cfg.http_budget,
            },
        };
        if let Flow::Close(reason) = f(conn, &mut ctx) {
            self.close(key, reason);
        }
    }

    /// Removes a connection. Dropping the socket closes its descriptor, which also removes it
    /// from the epoll set (we never duplicate descriptors), so no `deregister` call is spent.
    fn close(&mut self, key: usize, reason: CloseReason) {
        if let Some(mut conn) = self.conns.try_remove(key) {
            conn.recycle(&mut self.pool);
            conn.release_budget(&self.cfg.http_budget);
            self.stats.record_close(reason);
            log::trace!("{}: closed connection {key}: {}", self.name, reason.name());
        }
    }

    fn on_udp(&mut self, readable: bool, writable: bool) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        if writable {
            udp.on_writable(&mut self.stats, &self.registry, token::UDP);
        }
        if readable {
            let turn = udp.on_readable(&mut self.stats, &self.registry, token::UDP);
            if turn == UdpTurn::MoreReady {
                self.revisit.push(token::UDP);
            }
        }
    }
}
