//! How the loop waits for its next turn: the decision is [`plan_wait`]'s (sans-IO, in
//! [`super::pacer`]); this carries it out and learns from it.
//!
//! The ways to wait: a coalesced sleep (one absolute `clock_nanosleep`, deaf to I/O, when
//! nothing but responses can be waiting: they carry kernel arrival stamps), a block in `epoll`
//! (one `timerfd` armed for the wake-up) when I/O must be seen at once, or a glance at ready
//! I/O without blocking followed by a few microseconds' wait on the clock. Every timed wait
//! teaches the wake model how late this machine wakes; idle and spinning time are counted.

use std::io;
use std::time::Duration;

use mio::{Events, Poll};

use super::engine::Worker;
use super::pacer::{plan_wait, Pacer, Wait, WaitPolicy, SPIN_SLICE_NS};
use super::wake::WINDOW;
use crate::clock::{self, now_ns};
use crate::stats::STALL_NS;

/// Length of each timed wait that measures the machine's wake-ups before an open-loop run.
const CALIBRATION_SLEEP_NS: u64 = 200_000;

impl Worker {
    /// Open loop: measure how late this machine wakes the thread from a timed wait, before
    /// any socket is registered (a window's worth of waits, about 30 ms), so the pacer plans
    /// its first sends with a measured overshoot rather than a guess.
    pub(super) fn calibrate_wake(&mut self) {
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

    /// The next send time, unless the run is draining (closed loop: none).
    pub(super) fn next_send(&self) -> Option<u64> {
        if self.draining {
            return None;
        }
        self.pacer.as_ref().and_then(Pacer::next_send)
    }

    /// Wait for I/O or the next send time, as [`plan_wait`] decides.
    pub(super) fn wait(&mut self, next_housekeeping: u64) -> io::Result<()> {
        let now = now_ns();
        let policy = WaitPolicy {
            lateness_allowance_ns: self.lateness_allowance_ns,
            overshoot_ns: self.wake.expected(),
            gap_ns: self.pacer.as_ref().map_or(u64::MAX, Pacer::mean_gap_ns),
        };
        let plan = plan_wait(now, self.next_send(), next_housekeeping, policy);
        // Deaf to I/O only where nothing but a response can be waiting, and its arrival is
        // stamped: a connect's completion must be seen at once (its time is measured), and
        // so must a response while requests wait for the slot it frees.
        let pacer = self
            .pacer
            .as_ref()
            .filter(|_| self.plan.kernel_stamps && !self.per_request && !self.connecting);
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
        let measuring = self.book.measures(now);
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
    /// late by at most the allowance's slack), then collect, without blocking, whatever
    /// became ready meanwhile. A plain absolute `clock_nanosleep`: no timer to arm or read.
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
        if self.book.measures(began) {
            let c = &mut self.book.rec.counters;
            c.spin_ns += now.saturating_sub(began);
            c.stalls += stalls;
            c.stalled_ns += stalled_ns;
        }
        now
    }
}

/// `poll` that treats an interrupted wait as an empty one.
pub(super) fn poll_ignoring_eintr(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Duration,
) -> io::Result<()> {
    match poll.poll(events, Some(timeout)) {
        Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
        _ => Ok(()),
    }
}
