//! How late this machine wakes a sleeping thread, learnt from the loop's own timed waits.
//!
//! A thread that blocks until time `t` runs again at `t + overshoot`. On bare metal the
//! overshoot is a few microseconds; on a virtual machine whose idle vCPU halts, it is whatever
//! the host takes to run the vCPU again (tens to hundreds of microseconds, seen on the
//! project's 2-core VM). The pacer needs the overshoot to decide whether it may sleep at all
//! within its lateness budget, and how early to wake when it may not, so the loop feeds every
//! timed wake-up into a [`WakeModel`] and asks it for a high quantile of the recent ones.
//!
//! The quantile is the 90th, not a more extreme one: the slowest wake-ups on a VM are the host
//! taking the vCPU away for a millisecond or more, which a thread spinning on the clock
//! suffers just the same (seen on the project's VM: a pure spin loop lost 4 % of its time in
//! stalls of up to 10 ms). Those stalls say nothing about whether sleeping costs precision, so
//! they must not push the pacer into spinning.
//!
//! Invariant: [`WakeModel::expected`] is the 90th percentile of the last [`WINDOW`] samples
//! (or the prior, until the first [`REFRESH`] samples came in), refreshed every [`REFRESH`]
//! samples.

/// Samples the estimate is taken over.
pub const WINDOW: usize = 128;
/// The estimate is recomputed after this many new samples.
pub const REFRESH: usize = 16;

/// Recent wake-up overshoots and their 90th percentile.
#[derive(Debug, Clone)]
pub struct WakeModel {
    ring: [u32; WINDOW],
    len: usize,
    next: usize,
    fresh: usize,
    expected: u64,
}

impl WakeModel {
    /// A model that assumes `prior_ns` until it has seen enough wake-ups.
    pub fn new(prior_ns: u64) -> WakeModel {
        WakeModel {
            ring: [0; WINDOW],
            len: 0,
            next: 0,
            fresh: 0,
            expected: prior_ns,
        }
    }

    /// A timed wait for `wanted` returned at `woke` (an early return, by I/O, is no sample).
    pub fn observe(&mut self, wanted: u64, woke: u64) {
        let Some(overshoot) = woke.checked_sub(wanted) else {
            return;
        };
        self.ring[self.next] = overshoot.min(u64::from(u32::MAX)) as u32;
        self.next = (self.next + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        self.fresh += 1;
        if self.fresh >= REFRESH {
            self.fresh = 0;
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        let mut sorted = self.ring;
        let samples = &mut sorted[..self.len];
        let rank = (samples.len() * 9).div_ceil(10).saturating_sub(1);
        let (_, p90, _) = samples.select_nth_unstable(rank);
        self.expected = u64::from(*p90);
    }

    /// The overshoot to plan with: the 90th percentile of recent ones (ns).
    pub fn expected(&self) -> u64 {
        self.expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_holds_until_enough_wake_ups_were_seen() {
        let mut m = WakeModel::new(200_000);
        for _ in 0..REFRESH - 1 {
            m.observe(1_000, 1_500);
        }
        assert_eq!(m.expected(), 200_000);
        m.observe(1_000, 1_500);
        assert_eq!(m.expected(), 500);
    }

    #[test]
    fn the_estimate_is_the_90th_percentile_of_the_window() {
        let mut m = WakeModel::new(0);
        // Ten host stalls among 128 wake-ups (under 10 %) leave the estimate alone.
        for i in 0..WINDOW as u64 {
            let overshoot = if i % 13 == 0 { 5_000_000 } else { 10_000 + i };
            m.observe(0, overshoot);
        }
        assert!(m.expected() < 10_200, "{}", m.expected());
        // Sixteen more slow ones make 26 of 128 (over 10 %): the estimate follows them.
        for _ in 0..REFRESH {
            m.observe(0, 800_000);
        }
        assert!(m.expected() >= 800_000, "{}", m.expected());
    }

    #[test]
    fn old_samples_leave_the_window() {
        let mut m = WakeModel::new(0);
        for _ in 0..WINDOW {
            m.observe(0, 500_000);
        }
        for _ in 0..WINDOW {
            m.observe(0, 20_000);
        }
        assert_eq!(m.expected(), 20_000);
    }

    #[test]
    fn an_early_return_is_not_a_sample() {
        let mut m = WakeModel::new(7);
        for _ in 0..REFRESH * 2 {
            m.observe(1_000, 900);
        }
        assert_eq!(m.expected(), 7);
    }
}
