//! How sure a percentile is: distribution-free 95% confidence intervals from order
//! statistics (the binomial bounds Lancet and Le Boudec's "Performance Evaluation of Computer
//! and Communication Systems" §2.2 use).
//!
//! With `n` independent samples, the number below the true `q` quantile is Binomial(n, q); by
//! its normal approximation the true quantile lies, with 95% confidence, between the samples
//! of rank `⌊nq − 1.96·√(nq(1−q))⌋` and `⌈nq + 1.96·√(nq(1−q))⌉ + 1`. When either rank falls
//! outside `1..=n` there are too few samples to bound that quantile at all, and the report
//! says so rather than print a percentile as if it were known. (Samples of a load test are
//! not quite independent; the interval is a floor on the uncertainty, not a ceiling.)

use hdrhistogram::Histogram;

/// The z value of a two-sided 95% interval.
const Z95: f64 = 1.96;

/// The ranks (1-based, inclusive) of the order statistics bounding the `q` quantile of `n`
/// samples with 95% confidence, or `None` when there are too few samples.
pub fn ranks(n: u64, q: f64) -> Option<(u64, u64)> {
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let nf = n as f64;
    let spread = Z95 * (nf * q * (1.0 - q)).sqrt();
    let lo = (nf * q - spread).floor();
    let hi = (nf * q + spread).ceil() + 1.0;
    if lo < 1.0 || hi > nf {
        return None;
    }
    Some((lo as u64, hi as u64))
}

/// The value of rank `k` (1-based) in `h`.
fn value_at_rank(h: &Histogram<u64>, k: u64) -> u64 {
    let n = h.len();
    // value_at_quantile returns the smallest value with at least that share at or below it.
    h.value_at_quantile(k as f64 / n as f64)
}

/// The 95% confidence interval of the `q` quantile of `h`, or `None` (too few samples).
pub fn ci95(h: &Histogram<u64>, q: f64) -> Option<(u64, u64)> {
    let (lo, hi) = ranks(h.len(), q)?;
    Some((value_at_rank(h, lo), value_at_rank(h, hi)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_histogram;

    #[test]
    fn ranks_widen_with_the_tail_and_vanish_without_samples() {
        // 1,000 samples: the median is known to within about ±31 ranks.
        assert_eq!(ranks(1_000, 0.5), Some((469, 532)));
        // p99 of 1,000: ranks 983..=998.
        assert_eq!(ranks(1_000, 0.99), Some((983, 998)));
        // p99.9 of 1,000 and p99.99 of 2,000 cannot be bounded.
        assert_eq!(ranks(1_000, 0.999), None);
        assert_eq!(ranks(2_000, 0.9999), None);
        assert_eq!(ranks(0, 0.5), None);
    }

    #[test]
    fn the_interval_holds_the_percentile_of_a_uniform_histogram() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v * 100).unwrap();
        }
        let (lo, hi) = ci95(&h, 0.5).unwrap();
        let p50 = h.value_at_quantile(0.5);
        assert!(lo <= p50 && p50 <= hi, "{lo} {p50} {hi}");
        // ±1.96·√2500 = ±98 ranks of 100 each: about ±10 µs around 500 µs.
        assert!(lo >= 489_000 && hi <= 511_000, "{lo} {hi}");
    }
}
