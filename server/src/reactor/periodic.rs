//! What each turn does after its events: revisit the sockets cut short, fire due timers (and
//! purge the entries of closed connections), publish the metrics, log the stats when due.

use mio::Token;

use super::Reactor;
use crate::logging;
use crate::metrics::{Snapshot, PUBLISH_EVERY_MS};
use crate::timers::{duration_to_millis, Millis};
use crate::token;

/// Timer entries a connection can have pending at once: idle, stall, linger, TLS handshake, and
/// up to two for the protocol's deadline (one that moved earlier, and the later one it
/// replaced).
const TIMER_KINDS: usize = 6;
/// Dead timer entries tolerated before a purge, so small tables are not purged constantly.
const TIMER_PURGE_SLACK: usize = 4096;

impl Reactor {
    /// Sockets cut short last turn get another one now (they will see no new edge).
    pub(super) fn run_revisits(&mut self) {
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

    pub(super) fn fire_timers(&mut self) {
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
    pub(super) fn purge_dead_timers(&mut self) {
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
    pub(super) fn publish_metrics(&mut self, now: Millis) {
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

    pub(super) fn log_stats_if_due(&mut self) {
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
}
