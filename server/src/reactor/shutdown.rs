//! Graceful shutdown: the first SIGINT/SIGTERM closes the listeners and drains every
//! connection, a second exits at once, and the drain timeout closes what is left. (SIGHUP,
//! with HTTPS, reloads the certificate: [`super::tls_reload`].)

use mio::Token;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::Reactor;
use crate::stats::CloseReason;
use crate::timers::{duration_to_millis, Millis};
use crate::token;

impl Reactor {
    pub(super) fn on_signals(&mut self) {
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

    pub(super) fn begin_drain(&mut self) {
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

    pub(super) fn finished(&self, now: Millis) -> bool {
        match self.drain_deadline {
            None => false,
            Some(deadline) => self.force_exit || self.conns.is_empty() || now >= deadline,
        }
    }

    pub(super) fn close_remaining(&mut self) {
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
