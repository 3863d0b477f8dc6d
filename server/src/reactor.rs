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

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

use reactor_proto::http::{BufferBudget, DateCache, HttpLimits, HttpSession};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::bufpool::BufPool;
use crate::connection::{ConnCtx, ConnLimits, Connection, Flow};
use crate::listeners::ReactorSockets;
use crate::logging;
use crate::metrics::{LoopStats, Metrics, Snapshot, PUBLISH_EVERY_MS};
use crate::protocol::{Protocol, ProtocolCtx};
use crate::staging::Staging;
use crate::stats::{CloseReason, Stats};
use crate::timers::{duration_to_millis, poll_timeout, Clock, Millis, Timers};
use crate::tls::config::TlsFiles;
use crate::tls::{self, TlsLayer};
use crate::token;
use crate::udp::{UdpEcho, UdpTurn};

/// Read buffer size: holds the largest UDP datagram, and 64 KiB TCP reads.
const SCRATCH_BYTES: usize = 64 * 1024;
/// Events fetched per `poll`.
const EVENTS_PER_POLL: usize = 1024;
/// After EMFILE/ENFILE, how long accepting pauses before it is retried.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// How long a closing connection waits for the peer's FIN after our last byte (nginx's
/// lingering close).
const LINGER: Duration = Duration::from_secs(2);

/// Timer kinds a connection can have pending at once (idle, stall, header, body, linger, TLS
/// handshake).
const TIMER_KINDS: usize = 6;
/// Dead timer entries tolerated before a purge, so small tables are not purged constantly.
const TIMER_PURGE_SLACK: usize = 4096;

/// Everything a reactor needs to know, derived from the command line.
#[derive(Debug, Clone)]
pub struct ReactorConfig {
    /// Per-connection limits and timeouts.
    pub limits: ConnLimits,
    /// HTTP request limits.
    pub http_limits: HttpLimits,
    /// `--max-buffered`: one budget shared by every reactor thread.
    pub http_budget: Arc<BufferBudget>,
    /// `--max-conns`.
    pub max_conns: usize,
    /// `--accept-budget`.
    pub accept_budget: usize,
    /// `--max-datagram`.
    pub max_datagram: usize,
    /// `--udp-queue`.
    pub udp_queue: usize,
    /// `--drain-timeout`.
    pub drain_timeout: Duration,
    /// `--stats-interval` (zero: only at exit).
    pub stats_interval: Duration,
    /// HTTPS: the TLS configuration every connection shares (`None` without `--https`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `--tls-handshake-timeout` in ms, 0 = off.
    pub tls_handshake_ms: Millis,
    /// HTTPS: the certificate and key files, read again on SIGHUP.
    pub tls_files: Option<TlsFiles>,
}

impl ReactorConfig {
    /// Derives the reactor settings from the parsed flags.
    pub fn from_flags(cfg: &crate::config::Config, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        Self {
            limits: ConnLimits {
                max_output: cfg.max_output as usize,
                read_budget: cfg.read_budget,
                idle_ms: duration_to_millis(cfg.idle_timeout),
                write_stall_ms: duration_to_millis(cfg.write_timeout),
                header_ms: duration_to_millis(cfg.header_timeout),
                body_ms: duration_to_millis(cfg.body_timeout),
                linger_ms: duration_to_millis(LINGER),
            },
            http_limits: HttpLimits {
                max_header_bytes: cfg.max_header_bytes,
                max_body_bytes: cfg.max_body,
                ..HttpLimits::default()
            },
            http_budget: Arc::new(BufferBudget::new(cfg.max_buffered)),
            max_conns: cfg.max_conns as usize,
            accept_budget: cfg.accept_budget,
            max_datagram: cfg.max_datagram,
            udp_queue: cfg.udp_queue,
            drain_timeout: cfg.drain_timeout,
            stats_interval: cfg.stats_interval,
            tls_files: match (&tls, &cfg.tls_cert, &cfg.tls_key) {
                (Some(_), Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            tls,
            tls_handshake_ms: duration_to_millis(cfg.tls_handshake_timeout),
        }
    }
}

/// Which protocol a listener's connections speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Echo,
    Http,
    /// `--https`: HTTP over TLS.
    Https,
    /// `--metrics`: HTTP serving `/metrics` and `/healthz` only.
    Monitoring,
}

/// A TCP listener and its accept-pause state.
#[derive(Debug)]
struct Listener {
    socket: TcpListener,
    service: Service,
    token: Token,
    /// Accepting is paused until then after descriptor exhaustion.
    paused_until: Option<Millis>,
    /// Descriptor exhaustion was logged and the backlog has not been drained since (so an
    /// episode is logged once, however often accepting pauses and resumes within it).
    exhausted: bool,
}

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

    // ----- accepting ----------------------------------------------------------------------

    fn accept(&mut self, listener_token: Token) {
        let Some(idx) = self
            .listeners
            .iter()
            .position(|l| l.token == listener_token)
        else {
            return;
        };
        if self.listeners[idx].paused_until.is_some() {
            return; // the pause timer retries
        }
        for _ in 0..self.cfg.accept_budget {
            let listener = &mut self.listeners[idx];
            match listener.socket.accept() {
                Ok((stream, _peer)) => {
                    let service = listener.service;
                    self.admit(stream, service);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The backlog is empty: a descriptor-exhaustion episode, if any, is over.
                    if listener.exhausted {
                        listener.exhausted = false;
                        log::info!("{}: backlog drained, accepting normally again", self.name);
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_descriptor_exhaustion(&e) => {
                    self.pause_accepting(idx, &e);
                    return;
                }
                Err(e) => {
                    // ECONNABORTED and friends concern one pending connection, not the listener.
                    self.stats.accept_errors += 1;
                    log::debug!("{}: accept failed: {e}", self.name);
                }
            }
        }
        // Budget spent: other sockets get their turn, this listener gets the next one.
        self.revisit.push(listener_token);
    }

    /// Out of descriptors: with edge-triggered readiness, retrying now would spin and waiting
    /// for an event would leave queued clients in the backlog until the next connection
    /// attempt. So stop accepting for a moment and retry on a timer (as nginx does), while
    /// the connections we have keep being served.
    fn pause_accepting(&mut self, idx: usize, e: &io::Error) {
        let now = self.clock.now();
        let listener = &mut self.listeners[idx];
        listener.paused_until = Some(now.saturating_add(duration_to_millis(ACCEPT_PAUSE)));
        self.stats.accept_fd_exhausted += 1;
        if !listener.exhausted {
            listener.exhausted = true;
            log::warn!(
                "{}: accept: {e}; pausing accepts, retrying every {} ms, serving the {} open connections",
                self.name,
                ACCEPT_PAUSE.as_millis(),
                self.conns.len()
            );
        }
    }

    /// Takes an accepted connection into the slab.
    ///
    /// With a connection per message (the seed clients' pattern) this is a hot path, so it
    /// spends exactly the system calls a connection needs: `accept4` (nonblocking and
    /// close-on-exec in the same call, by mio; plus one `EAGAIN` per wake-up to learn the
    /// backlog is empty, which edge-triggered readiness requires), one `epoll_ctl(ADD)` here,
    /// then the reads and writes, and `close` when it ends (closing removes it from the epoll
    /// set, so no `epoll_ctl(DEL)`). No `setsockopt`: TCP_NODELAY is inherited from the
    /// listener on Linux. No allocation either: the slab slot is reused, an echo connection
    /// has no buffer until output is refused, an HTTP session none until a request is split.
    fn admit(&mut self, mut stream: TcpStream, service: Service) {
        self.stats.accepted += 1;
        if self.conns.len() >= self.cfg.max_conns {
            // Closing at once tells the client promptly, instead of leaving it in the backlog.
            self.stats.rejected_max_conns += 1;
            return;
        }
        if !cfg!(target_os = "linux") {
            // Elsewhere accepted sockets need not inherit it from the listener.
            let _ = stream.set_nodelay(true);
        }
        let tls = match service {
            Service::Https => match self.tls_layer() {
                Some(layer) => Some(layer),
                None => return, // dropping the stream closes it
            },
            _ => None,
        };
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let entry = self.conns.vacant_entry();
        let token = token::connection(entry.key(), generation);
        if let Err(e) = self
            .registry
            .register(&mut stream, token, Interest::READABLE)
        {
            self.stats.accept_errors += 1;
            log::warn!("{}: cannot register connection: {e}", self.name);
            return;
        }
        let protocol = match service {
            Service::Echo => Protocol::Echo,
            Service::Http | Service::Https => Protocol::Http(HttpSession::new()),
            Service::Monitoring => Protocol::Http(HttpSession::monitoring_only()),
        };
        let mut conn = Connection::new(stream, generation, protocol, self.clock.now());
        if let Some(layer) = tls {
            conn = conn.with_tls(layer);
        }
        entry.insert(conn);
        self.stats.active += 1;
        self.with_conn(token, |conn, ctx| {
            conn.start(token, ctx);
            Flow::Open
        });
    }

    /// A new connection's TLS state, or `None` (logged) if rustls cannot make one.
    fn tls_layer(&mut self) -> Option<TlsLayer> {
        let config = self.cfg.tls.clone()?;
        match TlsLayer::new(config, self.clock.now(), self.cfg.tls_handshake_ms) {
            Ok(layer) => Some(layer),
            Err(e) => {
                self.stats.accept_errors += 1;
                log::warn!("{}: cannot start TLS on a connection: {e}", self.name);
                None
            }
        }
    }

    // ----- UDP, revisits, timers ----------------------------------------------------------

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

    /// Sockets cut short last turn get another one now (they will see no new edge).
    fn run_revisits(&mut self) {
        std::mem::swap(&mut self.revisit, &mut self.revisit_now);
        let mut due = std::mem::take(&mut self.revisit_now);
        for &token in &due {
            match token {
                token::UDP => self.on_udp(true, false),
                token::TCP_LISTENER
                | token::HTTP_LISTENER
                | token::HTTPS_LISTENER
                | token::METRICS_LISTENER => self.accept(token),
                token => self.with_conn(token, |conn, ctx| conn.resume(token, ctx)),
            }
        }
        due.clear();
        self.revisit_now = due;
    }

    fn fire_timers(&mut self) {
        let now = self.clock.now();
        while let Some(entry) = self.timers.pop_due(now) {
            let token = Token(entry.token);
            self.with_conn(token, |conn, ctx| conn.on_timer(entry.kind, token, ctx));
        }
        self.purge_dead_timers();
        for idx in 0..self.listeners.len() {
            if self.listeners[idx].paused_until.is_some_and(|t| t <= now) {
                self.listeners[idx].paused_until = None;
                let token = self.listeners[idx].token;
                self.accept(token);
            }
        }
    }

    /// Each connection has at most one entry per timer kind, so a heap far larger than the
    /// connection table is mostly entries of closed connections: drop them in one pass.
    fn purge_dead_timers(&mut self) {
        if self.timers.len() <= TIMER_KINDS * self.conns.len() + TIMER_PURGE_SLACK {
            return;
        }
        let conns = &self.conns;
        self.timers.retain(|entry| {
            token::split(Token(entry.token)).is_some_and(|(key, generation)| {
                conns.get(key).is_some_and(|c| c.generation() == generation)
            })
        });
    }

    /// Copies this reactor's numbers to its metrics slot (at most every [`PUBLISH_EVERY_MS`]
    /// while busy, and first thing in a turn, so a scrape that woke the loop sees fresh ones).
    fn publish_metrics(&mut self, now: Millis) {
        let output_queued_bytes = self
            .conns
            .iter()
            .map(|(_, c)| c.queued_bytes() as u64)
            .sum();
        let snapshot = Snapshot {
            stats: self.stats.clone(),
            loop_stats: self.loop_stats.clone(),
            timers_pending: self.timers.len() as u64,
            output_queued_bytes,
        };
        self.metrics.publish(self.metrics_slot, &snapshot);
        self.next_publish = now.saturating_add(PUBLISH_EVERY_MS);
    }

    fn log_stats_if_due(&mut self) {
        let now = self.clock.now();
        if let Some(due) = self.next_stats.filter(|&due| due <= now) {
            logging::log_stats(module_path!(), &self.name, "", &self.stats);
            let interval = duration_to_millis(self.cfg.stats_interval);
            self.next_stats = Some(
                due.max(now.saturating_sub(interval))
                    .saturating_add(interval),
            );
        }
    }

    // ----- shutdown -----------------------------------------------------------------------

    fn on_signals(&mut self) {
        let (mut stop, mut reload) = (false, false);
        for signal in self.signals.pending() {
            stop |= signal == SIGINT || signal == SIGTERM;
            reload |= signal == SIGHUP;
        }
        if reload {
            self.reload_tls();
        }
        if !stop {
            return;
        }
        if self.drain_deadline.is_some() {
            log::warn!("{}: second signal: exiting without waiting", self.name);
            self.force_exit = true;
            return;
        }
        self.begin_drain();
    }

    /// SIGHUP: reads the certificate and key again for new HTTPS connections; a pair that
    /// does not load is logged and the current one kept.
    fn reload_tls(&mut self) {
        let (Some(current), Some(files)) = (&self.cfg.tls, &self.cfg.tls_files) else {
            return;
        };
        match tls::config::reload(current, files) {
            Ok(config) => {
                self.cfg.tls = Some(config);
                log::info!(
                    "{}: SIGHUP: new HTTPS connections use {} and {}",
                    self.name,
                    files.cert.display(),
                    files.key.display()
                );
            }
            Err(e) => log::warn!(
                "{}: SIGHUP: keeping the current certificate: {}",
                self.name,
                error_chain(&e)
            ),
        }
    }

    fn begin_drain(&mut self) {
        let now = self.clock.now();
        log::info!(
            "{}: shutting down: {} connections to drain (at most {:?})",
            self.name,
            self.conns.len(),
            self.cfg.drain_timeout
        );
        self.listeners.clear();
        self.udp = None;
        self.drain_deadline = Some(now.saturating_add(duration_to_millis(self.cfg.drain_timeout)));
        let tokens: Vec<Token> = self
            .conns
            .iter()
            .map(|(key, conn)| token::connection(key, conn.generation()))
            .collect();
        for token in tokens {
            self.with_conn(token, |conn, ctx| conn.begin_shutdown(token, ctx));
        }
    }

    fn finished(&self, now: Millis) -> bool {
        match self.drain_deadline {
            None => false,
            Some(deadline) => self.force_exit || self.conns.is_empty() || now >= deadline,
        }
    }

    fn close_remaining(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        if !keys.is_empty() {
            let (owing, owed) = self
                .conns
                .iter()
                .map(|(_, conn)| conn.queued_bytes())
                .filter(|&queued| queued > 0)
                .fold((0usize, 0usize), |(n, bytes), queued| {
                    (n + 1, bytes + queued)
                });
            log::warn!(
                "{}: drain timeout: {}",
                self.name,
                drain_summary(keys.len(), owing, owed)
            );
        }
        for key in keys {
            self.close(key, CloseReason::Shutdown);
        }
    }
}

/// What the drain-timeout log says about the connections it closes: how many still owed output
/// (and how much), and how many owed nothing (idle, or waiting for the peer's FIN).
fn drain_summary(open: usize, owing: usize, owed_bytes: usize) -> String {
    let idle = open - owing;
    match (owing, idle) {
        (0, _) => format!("closing {open} connections that owed no output"),
        (_, 0) => {
            format!("closing {open} connections with {owed_bytes} bytes of output still owed")
        }
        _ => format!(
            "closing {open} connections: {owing} with {owed_bytes} bytes of output still owed, \
             {idle} that owed none"
        ),
    }
}

/// An error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Whether `accept` failed for lack of descriptors or kernel memory (retryable later).
fn is_descriptor_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
