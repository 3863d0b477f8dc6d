//! Open-loop pacing: the intended send time of every request, on an absolute schedule.
//!
//! Send times are computed from the start time and the request's index (uniform) or from an
//! accumulated sum of exponential gaps (Poisson), never from "now", so a late loop does not
//! shift the schedule: whatever is late stays late and shows up as latency and send lag
//! instead of disappearing (the coordinated-omission correction of wrk2).

use crate::cli::Arrival;

/// A small fast PRNG (SplitMix64) for arrival gaps and payload sizes; not cryptographic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x853C_49E6_748F_EA9B)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `min..=max`.
    pub fn in_range(&mut self, min: usize, max: usize) -> usize {
        if min >= max {
            return min;
        }
        min + (self.next_u64() % (max - min + 1) as u64) as usize
    }
}

/// The intended send times of one thread's share of the offered load.
#[derive(Debug, Clone)]
pub struct Schedule {
    start_ns: u64,
    gap_ns: f64,
    arrival: Arrival,
    phase: f64,
    index: u64,
    offset_ns: f64,
    limit: Option<u64>,
    rng: Rng,
}

impl Schedule {
    /// `rate` requests per second starting at `start_ns`; `phase` in [0,1) staggers threads so
    /// their uniform schedules interleave instead of coinciding; at most `limit` requests.
    pub fn new(
        start_ns: u64,
        rate: f64,
        arrival: Arrival,
        phase: f64,
        limit: Option<u64>,
        seed: u64,
    ) -> Schedule {
        let gap_ns = 1e9 / rate;
        let mut s = Schedule {
            start_ns,
            gap_ns,
            arrival,
            phase,
            index: 0,
            offset_ns: 0.0,
            limit,
            rng: Rng::new(seed),
        };
        s.offset_ns = s.offset_of(0);
        s
    }

    fn offset_of(&mut self, index: u64) -> f64 {
        match self.arrival {
            Arrival::Uniform => (index as f64 + self.phase) * self.gap_ns,
            Arrival::Poisson => {
                let u = self.rng.next_f64();
                let gap = -(1.0 - u).ln() * self.gap_ns;
                if index == 0 {
                    gap
                } else {
                    self.offset_ns + gap
                }
            }
        }
    }

    /// The mean time between two sends, ns.
    pub fn mean_gap_ns(&self) -> f64 {
        self.gap_ns
    }

    /// The next intended send time, or `None` when the request limit is reached.
    pub fn peek(&self) -> Option<u64> {
        if self.limit.is_some_and(|l| self.index >= l) {
            return None;
        }
        Some(self.start_ns + self.offset_ns as u64)
    }

    /// Move past the request returned by [`Schedule::peek`].
    pub fn advance(&mut self) {
        self.index += 1;
        self.offset_ns = self.offset_of(self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_absolute_and_exact() {
        let mut s = Schedule::new(1_000, 1000.0, Arrival::Uniform, 0.0, None, 1);
        for k in 0..10_000u64 {
            assert_eq!(s.peek(), Some(1_000 + k * 1_000_000));
            s.advance();
        }
    }

    #[test]
    fn phase_staggers() {
        let s = Schedule::new(0, 1000.0, Arrival::Uniform, 0.5, None, 1);
        assert_eq!(s.peek(), Some(500_000));
    }

    #[test]
    fn poisson_mean_rate() {
        let mut s = Schedule::new(0, 10_000.0, Arrival::Poisson, 0.0, None, 7);
        let mut last = 0;
        for _ in 0..100_000 {
            let t = s.peek().unwrap();
            assert!(t >= last);
            last = t;
            s.advance();
        }
        // 100k requests at 10k/s take about 10 s.
        let secs = last as f64 / 1e9;
        assert!((secs - 10.0).abs() < 0.3, "{secs}");
    }

    #[test]
    fn limit_stops() {
        let mut s = Schedule::new(0, 10.0, Arrival::Uniform, 0.0, Some(2), 1);
        s.advance();
        s.advance();
        assert_eq!(s.peek(), None);
    }

    #[test]
    fn rng_range() {
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let v = r.in_range(5, 9);
            assert!((5..=9).contains(&v));
        }
    }
}
