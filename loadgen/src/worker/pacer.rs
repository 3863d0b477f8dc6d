//! Open-loop pacing: which requests are due, which wait for a connection, and how the loop
//! should wait for the next send time, as plain decisions without I/O.
//!
//! The loop never spins in the kernel and never arms a timer per send: it checks the (vDSO)
//! clock between batches of I/O, sends every due request in one pass, and sleeps as
//! [`plan_wait`] decides from the lateness budget and the machine's measured wake-up
//! overshoot (and, for a sleep deaf to I/O, as [`Pacer::sleep_through_until`] allows).
//!
//! A request's send lag is split in two: the **schedule lateness** (due, but the loop had not
//! looked yet: the generator's fault) and the **connection wait** (noticed, but every
//! connection's pipeline was full: the server is slow, or there are too few connections, or
//! the generator has not yet read the responses that would free them).

use std::collections::VecDeque;

use crate::schedule::Schedule;

/// Between two looks at ready I/O, wait on the clock at most this long.
pub const SPIN_SLICE_NS: u64 = 5_000;
/// When sleeping would break the budget, wake this much earlier than the expected overshoot
/// alone asks for, and do not block at all for less than it.
pub const EARLY_MARGIN_NS: u64 = 5_000;
/// Share of `--max-lateness` the engine plans to use; the rest is left for the time the loop
/// spends handling events before it looks at the schedule again.
pub const LATENESS_SHARE: f64 = 0.5;
/// Most requests held in the backlog (16 MiB); beyond that the offered rate is hopeless and
/// the schedule is left to fall behind, which the self-check reports.
pub const BACKLOG_CAP: usize = 1 << 20;

/// A due request waiting for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Intended send time.
    pub intended: u64,
    /// When the loop noticed it was due.
    pub noticed: u64,
}

/// What the wait decision knows: the lateness it may spend and how late the machine wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// Schedule lateness the engine aims to stay within (a share of `--max-lateness`).
    pub lateness_allowance_ns: u64,
    /// Expected (90th percentile) overshoot of a timed wait on this machine.
    pub overshoot_ns: u64,
    /// Mean time between two sends.
    pub gap_ns: u64,
}

/// How the loop should wait before its next turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Look at ready I/O without blocking; when nothing is ready, wait on the clock until
    /// `until`, at most [`SPIN_SLICE_NS`], and look again.
    Glance {
        /// Next send time.
        until: u64,
    },
    /// Sleep until `wake`, then send every request due by then in one pass and read what
    /// arrived meanwhile. Responses carry the kernel's arrival stamps, so the sleep may be
    /// deaf to them (reading later changes no measurement) for as long as
    /// [`Pacer::sleep_through_until`] allows; otherwise the loop blocks in `epoll`, so that
    /// I/O ends the wait early.
    Sleep {
        /// Monotonic deadline: housekeeping; or a send time, past it by the budget's slack
        /// or before it by the expected overshoot.
        wake: u64,
    },
}

/// Decide how to wait at `now`, the next send being `next_send` and housekeeping due at
/// `housekeeping`.
///
/// Every wake-up costs CPU (on a VM, tens of microseconds of it) and arrives late by the
/// machine's overshoot, so the decision turns on whether a sleep fits the lateness budget:
/// - it fits (`overshoot < budget`): sleep past the send time by the slack the budget leaves,
///   through I/O, so that one wake-up sends every request that fell due meanwhile and reads
///   every response that came back (the CPU cost follows the number of wake-ups, not of
///   requests); when sends are further apart than the slack, sleep just to the send time;
/// - it does not: sleep only until the expected overshoot before the send time, and wait
///   the rest on the clock (the CPU spent spinning is reported as such).
pub fn plan_wait(now: u64, next_send: Option<u64>, housekeeping: u64, policy: WaitPolicy) -> Wait {
    let Some(due) = next_send.filter(|&due| due < housekeeping) else {
        return Wait::Sleep { wake: housekeeping };
    };
    if due <= now {
        return Wait::Glance { until: due };
    }
    if policy.overshoot_ns < policy.lateness_allowance_ns {
        // Sends further apart than the slack would each get a wake-up of their own anyway:
        // then sleeping past the send time only adds lateness.
        let slack = policy.lateness_allowance_ns - policy.overshoot_ns;
        let past = if policy.gap_ns >= slack { 0 } else { slack };
        // Housekeeping may wait too: it runs late by at most the slack, within the budget.
        Wait::Sleep { wake: due + past }
    } else {
        let early = policy.overshoot_ns + EARLY_MARGIN_NS;
        if due > now + early + EARLY_MARGIN_NS {
            Wait::Sleep { wake: due - early }
        } else {
            Wait::Glance { until: due }
        }
    }
}

/// Lateness and connection wait, to be recorded by the worker.
pub trait PaceLog {
    /// Request intended at `intended` was noticed `lateness` ns late.
    fn noticed(&mut self, intended: u64, lateness: u64);
}

/// One thread's schedule, backlog of due requests and free connection slots.
#[derive(Debug)]
pub struct Pacer {
    schedule: Schedule,
    backlog: VecDeque<Due>,
    free: Vec<usize>,
    stopped: bool,
    peak: usize,
    overflowed: bool,
}

impl Pacer {
    /// Pace by `schedule`; `connections` x `pipeline` slots are reserved up front.
    pub fn new(schedule: Schedule, connections: usize, pipeline: usize) -> Pacer {
        Pacer {
            schedule,
            backlog: VecDeque::with_capacity(4096),
            free: Vec::with_capacity(connections * pipeline * 2),
            stopped: false,
            peak: 0,
            overflowed: false,
        }
    }

    /// The next send time, unless stopped.
    pub fn next_send(&self) -> Option<u64> {
        if self.stopped || self.backlog.len() >= BACKLOG_CAP {
            return None;
        }
        self.schedule.peek()
    }

    /// No more requests from the schedule (draining or request quota spent).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Move every request due by `now` into the backlog; `admit(intended)` says whether it
    /// counts (false: quota spent, stop); lateness goes to `log`. Returns how many came due.
    pub fn take_due(
        &mut self,
        now: u64,
        mut admit: impl FnMut(u64) -> bool,
        log: &mut impl PaceLog,
    ) -> usize {
        let mut n = 0;
        while let Some(due) = self.next_send() {
            if due > now {
                break;
            }
            if !admit(due) {
                self.stopped = true;
                break;
            }
            log.noticed(due, now - due);
            self.backlog.push_back(Due {
                intended: due,
                noticed: now,
            });
            self.schedule.advance();
            n += 1;
        }
        if self.backlog.len() >= BACKLOG_CAP {
            self.overflowed = true;
        }
        self.peak = self.peak.max(self.backlog.len());
        n
    }

    /// The oldest waiting request.
    pub fn front(&self) -> Option<Due> {
        self.backlog.front().copied()
    }

    /// The oldest waiting request was handed to a connection.
    pub fn pop(&mut self) {
        self.backlog.pop_front();
    }

    /// Requests waiting for a connection.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Take the oldest waiting request if it was intended before `cutoff` (it timed out
    /// waiting for a connection).
    pub fn expire_before(&mut self, cutoff: u64) -> Option<Due> {
        let due = *self.backlog.front()?;
        (due.intended < cutoff).then(|| {
            self.backlog.pop_front();
            due
        })
    }

    /// Everything still waiting (the run is over).
    pub fn drain_backlog(&mut self) -> impl Iterator<Item = Due> + '_ {
        self.backlog.drain(..)
    }

    /// Put a request back at the front (its connection closed before it was answered).
    pub fn resend(&mut self, intended: u64, now: u64) {
        self.backlog.push_front(Due {
            intended,
            noticed: now,
        });
    }

    /// Connection `idx` has a free pipeline slot.
    pub fn release(&mut self, idx: usize) {
        self.free.push(idx);
    }

    /// A connection that may have a free slot (the caller checks; stale entries are dropped).
    pub fn take_slot(&mut self) -> Option<usize> {
        self.free.pop()
    }

    /// How long, from `now`, the loop may sleep towards `wake` without reading responses.
    ///
    /// A sleep deaf to responses costs nothing until the next send: they carry their arrival
    /// stamps, and are read on waking before anything is sent. Past the next send, though,
    /// the requests falling due meanwhile all go out on waking, on the slots free now; with
    /// `f` free slots and sends every `g` ns the sleep must end by `next + f/2 * g` (half the
    /// slots kept in reserve for bursts and a late wake-up). `None` when requests already
    /// wait for a slot, or no send is coming (draining): then every response must be read as
    /// it comes, or the generator's own sleep would hold requests back (and cap the rate at
    /// slots per sleep).
    pub fn sleep_through_until(&self, now: u64, wake: u64) -> Option<u64> {
        if !self.backlog.is_empty() {
            return None;
        }
        let next = self.next_send()?;
        let lasts = (self.free.len() / 2) as f64 * self.schedule.mean_gap_ns();
        let until = wake.min(next.saturating_add(lasts as u64));
        (until > now).then_some(until)
    }

    /// Mean time between two sends, ns.
    pub fn mean_gap_ns(&self) -> u64 {
        self.schedule.mean_gap_ns() as u64
    }

    /// Largest backlog since the last call, and whether it ever hit [`BACKLOG_CAP`].
    pub fn take_peak(&mut self) -> (usize, bool) {
        let peak = std::mem::replace(&mut self.peak, self.backlog.len());
        (peak, std::mem::take(&mut self.overflowed))
    }
}

#[cfg(test)]
mod tests;
