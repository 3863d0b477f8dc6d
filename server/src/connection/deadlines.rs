//! A connection's timers: idle, write stall and the protocol's deadlines (an HTTP request's
//! header and body timeouts, which the session itself keeps; see
//! `reactor_proto::http::HttpSession::poll_timeout`). All are lazy (see [`crate::timers`]).

use mio::Token;

use super::read::Call;
use super::{
    ConnCtx, ConnLimits, Connection, Flow, CLOSE_AFTER_FLUSH, IDLE_ARMED, LINGERING, NEVER,
    STALL_ARMED,
};
use crate::stats::CloseReason;
use crate::timers::{Millis, TimerKind, Timers};

impl Connection {
    /// Schedules `kind` at `since + after_ms` unless that timer is off (`after_ms == 0`) or an
    /// entry already exists (`armed` flag): each connection has at most one entry per kind.
    pub(super) fn arm(
        &mut self,
        armed: u16,
        kind: TimerKind,
        since: Millis,
        after_ms: Millis,
        token: Token,
        timers: &mut Timers,
    ) {
        if after_ms > 0 && !self.has(armed) {
            self.flags |= armed;
            timers.schedule(since.saturating_add(after_ms), kind, token);
        }
    }

    pub(super) fn arm_idle(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        let since = self.last_active;
        self.arm(
            IDLE_ARMED,
            TimerKind::Idle,
            since,
            ctx.limits.idle_ms,
            token,
            ctx.timers,
        );
    }

    pub(super) fn check_idle(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !IDLE_ARMED;
        let stalled = self.stalled_since != NEVER;
        match idle_verdict(ctx.now, self.last_active, stalled, ctx.limits) {
            IdleVerdict::Close => Flow::Close(CloseReason::IdleTimeout),
            IdleVerdict::CheckAgainAt(deadline) => {
                self.flags |= IDLE_ARMED;
                ctx.timers.schedule(deadline, TimerKind::Idle, token);
                Flow::Open
            }
        }
    }

    pub(super) fn note_stall(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if self.stalled_since == NEVER {
            self.stalled_since = ctx.now;
        }
        let (since, after) = (self.stalled_since, ctx.limits.write_stall_ms);
        self.arm(
            STALL_ARMED,
            TimerKind::WriteStall,
            since,
            after,
            token,
            ctx.timers,
        );
    }

    pub(super) fn check_stall(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !STALL_ARMED;
        if self.stalled_since == NEVER {
            return Flow::Open;
        }
        if ctx.now.saturating_sub(self.stalled_since) >= ctx.limits.write_stall_ms {
            return Flow::Close(CloseReason::WriteTimeout);
        }
        self.note_stall(token, ctx);
        Flow::Open
    }

    /// After a protocol call: makes sure a [`TimerKind::Protocol`] entry is due no later than
    /// the protocol's next deadline. Deadlines only move later while one wait lasts, so most
    /// calls schedule nothing; an earlier one (a body deadline shorter than the header deadline
    /// it follows) gets its own entry, and the later entry finds nothing due when it fires.
    pub(super) fn track_protocol_deadline(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if let Some(due) = self.protocol.poll_timeout() {
            if due < self.protocol_timer_at {
                self.protocol_timer_at = due;
                ctx.timers.schedule(due, TimerKind::Protocol, token);
            }
        }
    }

    /// A [`TimerKind::Protocol`] entry fired: let the protocol act if its deadline has passed
    /// (HTTP answers `408` and closes), or wait for the deadline it names now.
    pub(super) fn check_protocol_deadline(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        if ctx.now >= self.protocol_timer_at {
            self.protocol_timer_at = NEVER; // the earliest entry is the one that fired
        }
        if self.has(CLOSE_AFTER_FLUSH | LINGERING) {
            return Flow::Open;
        }
        match self.protocol.poll_timeout() {
            Some(due) if due <= ctx.now => self
                .exchange(Call::Timeout, token, ctx)
                .unwrap_or(Flow::Open),
            _ => {
                self.track_protocol_deadline(token, ctx);
                Flow::Open
            }
        }
    }
}

/// What an idle timer that came due decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdleVerdict {
    /// Idle for the whole timeout: close.
    Close,
    /// Not idle (or the stall is the write timeout's business): look again then, always after
    /// `now`, so a re-armed idle timer can never be due in the turn that fired it.
    CheckAgainAt(Millis),
}

/// The idle timer's decision at `now` for a connection last active at `last_active`.
///
/// Output stuck at the cap is the write timeout's business when there is one (the close reason
/// then says what really happened); with `--write-timeout 0` a stall that moves no byte is
/// idleness like any other.
fn idle_verdict(
    now: Millis,
    last_active: Millis,
    stalled: bool,
    limits: &ConnLimits,
) -> IdleVerdict {
    let idle_for = now.saturating_sub(last_active);
    if idle_for < limits.idle_ms {
        return IdleVerdict::CheckAgainAt(last_active.saturating_add(limits.idle_ms));
    }
    if stalled && limits.write_stall_ms > 0 {
        // Re-arming from `last_active` would name a deadline already past.
        return IdleVerdict::CheckAgainAt(now.saturating_add(limits.idle_ms));
    }
    IdleVerdict::Close
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle_ms: Millis, write_stall_ms: Millis) -> ConnLimits {
        ConnLimits {
            max_output: 1,
            read_budget: 1,
            idle_ms,
            write_stall_ms,
            linger_ms: 0,
        }
    }

    #[test]
    fn a_re_armed_idle_timer_is_always_due_after_now() {
        // Every combination of idle and write timeouts (equal, shorter, longer, off), stalled
        // or not, at and past the deadline: re-arming never names a time already reached.
        for idle_ms in [1, 5, 10] {
            for write_stall_ms in [0, 1, 5, 10, 20] {
                let limits = limits(idle_ms, write_stall_ms);
                for last_active in 0..30 {
                    for now in last_active..last_active + 40 {
                        for stalled in [false, true] {
                            if let IdleVerdict::CheckAgainAt(at) =
                                idle_verdict(now, last_active, stalled, &limits)
                            {
                                assert!(at > now, "re-armed at {at} <= now {now}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn idleness_closes_unless_the_write_timeout_owns_the_stall() {
        let l = limits(10, 20);
        assert_eq!(idle_verdict(5, 0, false, &l), IdleVerdict::CheckAgainAt(10));
        assert_eq!(idle_verdict(10, 0, false, &l), IdleVerdict::Close);
        assert_eq!(idle_verdict(10, 0, true, &l), IdleVerdict::CheckAgainAt(20));
        // No write timeout: a stall that moves nothing is idle.
        assert_eq!(
            idle_verdict(10, 0, true, &limits(10, 0)),
            IdleVerdict::Close
        );
    }
}
