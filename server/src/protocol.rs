//! The bridge between a connection and the sans-IO protocol code in `reactor-proto`.
//!
//! A connection speaks either TCP echo or HTTP/1.1. Both are driven the same way: input bytes
//! go in, and a [`Reaction`] comes back saying what to send and whether to close. Echo's answer
//! is the input itself, so its bytes are written straight from the read buffer with no copy;
//! HTTP's responses are appended to `out`, the loop's staging buffer as lent to one
//! connection's turn ([`crate::staging::Turn`]; pipelined responses batched into one write).

use std::cell::Cell;

use reactor_proto::http::{
    BufferBudget, DateCache, Deadline, HttpEnv, HttpLimits, HttpSession, Millis, StatsSource, Step,
};

use crate::metrics::Metrics;
use crate::stats::{http_status_slot, CloseReason, Stats, HTTP_STATUS_CODES};

/// The protocol state of one connection.
#[derive(Debug)]
pub enum Protocol {
    /// TCP echo: stateless.
    Echo,
    /// HTTP/1.1: 40 bytes, no heap while idle.
    Http(HttpSession),
}

/// Where a reaction's output bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The first `n` bytes of the read buffer (echo).
    Input(usize),
    /// What the call appended to `out`.
    Staged,
}

/// What the connection must do after the protocol saw input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaction {
    /// Bytes to send.
    pub output: Output,
    /// Close once the output is flushed, for this reason.
    pub close: Option<CloseReason>,
    /// Stop reading: the protocol holds input it will process after output drains.
    pub paused: bool,
}

/// Loop-wide state the protocols read: the HTTP date, limits, metrics and the buffer budget.
/// It holds no bytes of any connection (those live in the staging [`crate::staging::Turn`]).
pub struct ProtocolCtx<'a> {
    /// The loop's cached clock: HTTP sessions measure their deadlines on it.
    pub now: Millis,
    /// The cached `Date` header.
    pub date: &'a DateCache,
    /// HTTP request limits and timeouts.
    pub http_limits: &'a HttpLimits,
    /// Every reactor's published numbers, for `GET /metrics`.
    pub metrics: &'a Metrics,
    /// The server-wide bound on buffered request bytes, shared by every reactor thread. Each
    /// session's [`HttpSession::buffered_commitment`] is booked here after every call, and
    /// released by [`Protocol::release`] when the connection goes.
    pub budget: &'a BufferBudget,
}

/// `GET /stats` is answered with this reactor's live counters, `GET /metrics` with every
/// reactor's published numbers; responses are tallied by status during one session call and
/// added to the counters after it.
struct ServerStats<'a> {
    stats: &'a Stats,
    metrics: &'a Metrics,
    statuses: [Cell<u32>; HTTP_STATUS_CODES.len() + 1],
}

impl StatsSource for ServerStats<'_> {
    fn write_stats_json(&self, out: &mut Vec<u8>) {
        // Serialising a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(out, &self.stats.to_json());
    }

    fn write_metrics(&self, out: &mut Vec<u8>) {
        self.metrics.render(out);
    }

    fn record_response(&self, code: u16) {
        let slot = &self.statuses[http_status_slot(code)];
        slot.set(slot.get().wrapping_add(1));
    }
}

impl Protocol {
    /// Handles `input`, appending any answer to `out`; `out_budget` bounds the output produced
    /// by this call.
    pub fn on_input(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        ctx: &ProtocolCtx<'_>,
        stats: &mut Stats,
        out_budget: usize,
    ) -> Reaction {
        match self {
            Protocol::Echo => Reaction {
                output: Output::Input(input.len()),
                close: None,
                paused: false,
            },
            Protocol::Http(session) => {
                let step = serve_http(session, out, ctx, stats, |session, out, env| {
                    session.on_input(input, out, env, out_budget)
                });
                http_reaction(step)
            }
        }
    }

    /// Continues with input held back by an earlier pause.
    pub fn resume(
        &mut self,
        out: &mut Vec<u8>,
        ctx: &ProtocolCtx<'_>,
        stats: &mut Stats,
        out_budget: usize,
    ) -> Reaction {
        match self {
            Protocol::Echo => idle_reaction(),
            Protocol::Http(session) => {
                let step = serve_http(session, out, ctx, stats, |session, out, env| {
                    session.resume(out, env, out_budget)
                });
                http_reaction(step)
            }
        }
    }

    /// Whether the protocol has input to process without reading more (after a pause).
    pub fn wants_resume(&self) -> bool {
        match self {
            Protocol::Echo => false,
            Protocol::Http(session) => session.is_paused(),
        }
    }

    /// The peer sent FIN. HTTP abandons an unfinished request, but still answers complete
    /// requests held back by a pause (see [`wants_resume`](Self::wants_resume)).
    pub fn on_peer_closed(&mut self, budget: &BufferBudget) {
        if let Protocol::Http(session) = self {
            let before = session.buffered_commitment();
            session.on_peer_closed();
            budget.settle(before, session.buffered_commitment());
        }
    }

    /// The connection is going away: give back what its session had booked in the budget.
    pub fn release(&self, budget: &BufferBudget) {
        if let Protocol::Http(session) = self {
            budget.release(session.buffered_commitment());
        }
    }

    /// Graceful shutdown. Returns true when the connection should close once its output is
    /// flushed; false when HTTP still has complete pipelined requests to answer (it then says
    /// so by closing itself after the last, which carries `Connection: close`).
    pub fn begin_drain(&mut self, budget: &BufferBudget) -> bool {
        match self {
            Protocol::Echo => true,
            Protocol::Http(session) => {
                let before = session.buffered_commitment();
                let close_now = session.begin_drain();
                budget.settle(before, session.buffered_commitment());
                close_now
            }
        }
    }

    /// When the protocol next needs the clock (an HTTP request's header or body deadline), on
    /// the loop's clock; `None` for echo and for an HTTP session awaiting nothing.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self {
            Protocol::Echo => None,
            Protocol::Http(session) => session.poll_timeout(),
        }
    }

    /// The loop's clock reached [`poll_timeout`](Self::poll_timeout): HTTP appends `408` to
    /// `out` and closes if a deadline has passed, and does nothing otherwise.
    pub fn handle_timeout(
        &mut self,
        out: &mut Vec<u8>,
        ctx: &ProtocolCtx<'_>,
        stats: &mut Stats,
    ) -> Reaction {
        let Protocol::Http(session) = self else {
            return idle_reaction();
        };
        let mut expired = None;
        let _ = serve_http(session, out, ctx, stats, |session, out, env| {
            expired = session.handle_timeout(out, env);
            Step::Continue
        });
        Reaction {
            output: Output::Staged,
            close: expired.map(|deadline| match deadline {
                Deadline::Headers => CloseReason::HeaderTimeout,
                Deadline::Body => CloseReason::BodyTimeout,
            }),
            paused: false,
        }
    }
}

fn idle_reaction() -> Reaction {
    Reaction {
        output: Output::Staged,
        close: None,
        paused: false,
    }
}

/// Runs one session call with the HTTP environment (the `/stats` body reads `stats`), then
/// counts the responses it wrote into `stats` and books the change of its buffered bytes.
fn serve_http(
    session: &mut HttpSession,
    out: &mut Vec<u8>,
    ctx: &ProtocolCtx<'_>,
    stats: &mut Stats,
    call: impl FnOnce(&mut HttpSession, &mut Vec<u8>, &HttpEnv<'_>) -> Step,
) -> Step {
    let before = session.responses();
    let committed = session.buffered_commitment();
    let (step, statuses) = {
        let source = ServerStats {
            stats,
            metrics: ctx.metrics,
            statuses: Default::default(),
        };
        let env = HttpEnv {
            date: ctx.date,
            stats: &source,
            limits: ctx.http_limits,
            budget: ctx.budget,
            now: ctx.now,
        };
        let step = call(session, out, &env);
        (step, source.statuses)
    };
    ctx.budget.settle(committed, session.buffered_commitment());
    stats.http_responses += u64::from(session.responses().wrapping_sub(before));
    for (count, tally) in stats.http_status.iter_mut().zip(statuses) {
        *count += u64::from(tally.into_inner());
    }
    step
}

fn http_reaction(step: Step) -> Reaction {
    Reaction {
        output: Output::Staged,
        close: (step == Step::CloseAfterFlush).then_some(CloseReason::Protocol),
        paused: step == Step::Paused,
    }
}
