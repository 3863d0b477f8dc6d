//! Statistics over repeats: medians with bootstrap confidence intervals, ratios of medians with
//! theirs, a one-sided Mann–Whitney rank test for "is the new run worse" between two runs, and
//! a one-sided Wilcoxon signed-rank test for the same question over pairs measured side by side.
//!
//! Why these: a handful of repeats on a shared machine is neither normal nor independent of the
//! machine's phase, so the tools are distribution-free. The bootstrap (percentile method, a fixed
//! seed so a report is reproducible) gives the intervals; the rank test's exact null
//! distribution gives a false-alarm rate that holds for any distribution of the figures
//! (criterion pairs a bootstrap with a noise threshold the same way).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2000;
/// Fixed seed: the same samples always give the same interval.
const SEED: u64 = 0x5eed_c0de;

/// A point estimate with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate (a median, or a ratio of medians).
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
    /// How many values it was computed from (the smaller group for a ratio).
    pub n: usize,
}

impl Estimate {
    /// No data: every figure NaN.
    pub fn none() -> Estimate {
        Estimate {
            value: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            n: 0,
        }
    }

    /// Half the interval's width relative to the value (0.05: ±5%).
    pub fn relative_half_width(&self) -> f64 {
        (self.high - self.low) / 2.0 / self.value.abs()
    }
}

/// The median of `v` (mean of the middle two for an even count); NaN when empty. NaNs are
/// dropped first.
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// The `q` quantile (0..=1) of sorted `v`, linear between neighbours.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// One bootstrap resample's median.
fn resampled_median(v: &[f64], rng: &mut StdRng, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..v.len()).map(|_| v[rng.random_range(0..v.len())]));
    median(scratch)
}

fn interval(value: f64, mut boot: Vec<f64>, n: usize) -> Estimate {
    boot.retain(|x| x.is_finite());
    if boot.is_empty() {
        return Estimate {
            value,
            low: value,
            high: value,
            n,
        };
    }
    boot.sort_by(f64::total_cmp);
    Estimate {
        value,
        low: quantile(&boot, 0.025),
        high: quantile(&boot, 0.975),
        n,
    }
}

/// The median of `values` with a 95% percentile-bootstrap interval. With one value the
/// interval is that value (nothing says how wide it is: `n` says so).
pub fn median_ci(values: &[f64]) -> Estimate {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return Estimate::none();
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut scratch = Vec::with_capacity(v.len());
    let boot = (0..RESAMPLES)
        .map(|_| resampled_median(&v, &mut rng, &mut scratch))
        .collect();
    interval(median(&v), boot, v.len())
}

/// median(`new`) / median(`old`) with a 95% bootstrap interval (each group resampled on its own).
pub fn ratio_ci(old: &[f64], new: &[f64]) -> Estimate {
    let old: Vec<f64> = old.iter().copied().filter(|x| !x.is_nan()).collect();
    let new: Vec<f64> = new.iter().copied().filter(|x| !x.is_nan()).collect();
    if old.is_empty() || new.is_empty() {
        return Estimate::none();
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut scratch = Vec::new();
    let boot = (0..RESAMPLES)
        .map(|_| {
            let o = resampled_median(&old, &mut rng, &mut scratch);
            let n = resampled_median(&new, &mut rng, &mut scratch);
            n / o
        })
        .collect();
    interval(median(&new) / median(&old), boot, old.len().min(new.len()))
}

/// One-sided Mann–Whitney test: the probability, were both groups drawn from one distribution,
/// of `new` ranking at least this far above `old`. Exact (from the distribution of U over all
/// arrangements); ties count half, rounded towards the larger p. NaNs are dropped; 1 when a
/// group is empty.
pub fn mann_whitney_greater(old: &[f64], new: &[f64]) -> f64 {
    let old: Vec<f64> = old.iter().copied().filter(|x| !x.is_nan()).collect();
    let new: Vec<f64> = new.iter().copied().filter(|x| !x.is_nan()).collect();
    if old.is_empty() || new.is_empty() {
        return 1.0;
    }
    // U: pairs where new beats old, ties half.
    let twice_u: usize = new
        .iter()
        .flat_map(|n| old.iter().map(move |o| (n, o)))
        .map(|(n, o)| match n.total_cmp(o) {
            std::cmp::Ordering::Greater => 2,
            std::cmp::Ordering::Equal => 1,
            std::cmp::Ordering::Less => 0,
        })
        .sum();
    let u = twice_u / 2;
    let counts = u_distribution(new.len(), old.len());
    let total: f64 = counts.iter().sum();
    counts[u.min(counts.len() - 1)..].iter().sum::<f64>() / total
}

/// How many arrangements of `m` and `n` values give each U = 0..=m·n (the coefficients of the
/// Gaussian binomial): `c(m, n) = c(m-1, n) shifted by n + c(m, n-1)`.
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // row[j] = distribution for (i, j) while i grows.
    let mut row: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for _i in 1..=m {
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        next.push(vec![1.0]);
        for j in 1..=n {
            let up = &row[j]; // (i-1, j), shifted by j
            let left = &next[j - 1]; // (i, j-1)
            let len = (up.len() + j).max(left.len());
            let mut c = vec![0.0; len];
            for (k, x) in up.iter().enumerate() {
                c[k + j] += x;
            }
            for (k, x) in left.iter().enumerate() {
                c[k] += x;
            }
            next.push(c);
        }
        row = next;
    }
    row.pop().unwrap_or_else(|| vec![1.0])
}

/// The smallest p the rank test can give with `n` values in each group.
pub fn smallest_p(n: usize) -> f64 {
    let counts = u_distribution(n, n);
    1.0 / counts.iter().sum::<f64>()
}

/// One-sided Wilcoxon signed-rank test: the probability, were every difference in `d` as
/// likely negative as positive, of the positive ones ranking at least this high. Exact (over
/// all 2^n sign assignments); zero differences are dropped, tied magnitudes share their mean
/// rank. NaNs are dropped; 1 when nothing is left.
pub fn signed_rank_greater(d: &[f64]) -> f64 {
    let mut d: Vec<f64> = d
        .iter()
        .copied()
        .filter(|x| !x.is_nan() && *x != 0.0)
        .collect();
    if d.is_empty() {
        return 1.0;
    }
    d.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Twice the ranks (whole numbers even with ties sharing a mean rank).
    let mut twice_rank = vec![0usize; d.len()];
    let mut i = 0;
    while i < d.len() {
        let mut j = i;
        while j + 1 < d.len() && d[j + 1].abs() == d[i].abs() {
            j += 1;
        }
        // Ranks i+1..=j+1 share their mean; twice it is i + j + 2.
        twice_rank[i..=j].fill(i + j + 2);
        i = j + 1;
    }
    let observed: usize = d
        .iter()
        .zip(&twice_rank)
        .filter(|(x, _)| **x > 0.0)
        .map(|(_, r)| r)
        .sum();
    // ways[w]: sign assignments whose positive ranks sum (doubled) to w.
    let total: usize = twice_rank.iter().sum();
    let mut ways = vec![0.0f64; total + 1];
    ways[0] = 1.0;
    for &r in &twice_rank {
        for w in (r..=total).rev() {
            ways[w] += ways[w - r];
        }
    }
    let all: f64 = ways.iter().sum();
    ways[observed..].iter().sum::<f64>() / all
}

/// Pairs the signed-rank test needs for its p to reach `alpha` at all (all differences one
/// way gives 2^-n).
pub fn pairs_for(alpha: f64) -> usize {
    (1..=60)
        .find(|&n| 0.5f64.powi(n as i32) <= alpha)
        .unwrap_or(60)
}

/// Repeats per side that would bring the interval of `ratio` clear of `bound` (the threshold
/// it straddles), from the usual 1/√n narrowing, and at least enough for the rank test to
/// reach `alpha`; None when the ratio sits on the bound (no number of repeats resolves it).
/// With `paired`, the count is of pairs and the test is the signed-rank one.
pub fn repeats_to_resolve(ratio: &Estimate, bound: f64, alpha: f64, paired: bool) -> Option<usize> {
    let half = (ratio.high - ratio.low) / 2.0;
    let gap = (ratio.value - bound).abs();
    if !(gap > 0.0 && half.is_finite()) || ratio.n == 0 {
        return None;
    }
    let by_width = (ratio.n as f64 * (half / gap).powi(2)).ceil() as usize;
    let by_test = if paired {
        pairs_for(alpha)
    } else {
        (1..=50).find(|&n| smallest_p(n) <= alpha).unwrap_or(50)
    };
    Some(by_width.max(by_test).max(ratio.n + 1))
}

#[cfg(test)]
mod tests;
