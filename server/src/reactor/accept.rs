//! Accepting TCP connections: the per-turn budget, the pause after descriptor exhaustion, and
//! taking a connection into the slab.

use std::io;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};
use reactor_proto::http::HttpSession;

use super::Reactor;
use crate::connection::{Connection, Flow};
use crate::protocol::Protocol;
use crate::timers::{duration_to_millis, Millis};
use crate::tls::TlsLayer;
use crate::token;

/// After EMFILE/ENFILE, how long accepting pauses before it is retried.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Which protocol a listener's connections speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    Echo,
    Http,
    /// `--https`: HTTP over TLS.
    Https,
    /// `--metrics`: HTTP serving `/metrics` and `/healthz` only.
    Monitoring,
}

/// A TCP listener and its accept-pause state.
#[derive(Debug)]
pub(super) struct Listener {
    pub(super) socket: TcpListener,
    pub(super) service: Service,
    pub(super) token: Token,
    /// Accepting is paused until then after descriptor exhaustion.
    pub(super) paused_until: Option<Millis>,
    /// Descriptor exhaustion was logged and the backlog has not been drained since (so an
    /// episode is logged once, however often accepting pauses and resumes within it).
    pub(super) exhausted: bool,
}

impl Reactor {
    pub(super) fn accept(&mut self, listener_token: Token) {
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
    pub(super) fn pause_accepting(&mut self, idx: usize, e: &io::Error) {
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
    pub(super) fn admit(&mut self, mut stream: TcpStream, service: Service) {
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
}

impl Reactor {
    /// A new HTTPS connection's TLS state, or `None` (logged) if rustls cannot make one.
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
}

/// Whether `accept` failed for lack of descriptors or kernel memory (retryable later).
fn is_descriptor_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
