//! Turning a [`RunResult`] into the human summary, the self-check ([`SelfCheck`]) and the JSON
//! document: percentiles and shares here, the self-check in [`self_check`], the text in
//! [`summary`](mod@summary), the JSON in [`json`].

mod json;
mod self_check;
mod summary;

use hdrhistogram::Histogram;
use reactor_report::{PercentileIntervals, Percentiles};

use crate::ci;
use crate::cli::Arrival;
use crate::run::RunResult;

pub use json::{to_json, to_report};
pub use self_check::{
    cpu_share, generator_saturated, loop_busy_share, self_check, spin_share, wakeups_per_request,
    SelfCheck,
};
pub use summary::summary;

/// Version of the JSON documents (run, probe, merge); bumped on incompatible changes.
pub use reactor_report::SCHEMA_VERSION;

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// `{p50, p75, p90, p99, p999, p9999, max, min, mean, count}` in microseconds, all null
/// when the histogram is empty.
pub fn percentiles_us(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles {
            ci95: ci95_us(h),
            ..Percentiles::default()
        };
    }
    let q = |x| Some(us(h.value_at_quantile(x)));
    Percentiles {
        p50: q(0.50),
        p75: q(0.75),
        p90: q(0.90),
        p99: q(0.99),
        p999: q(0.999),
        p9999: q(0.9999),
        max: Some(us(h.max())),
        min: Some(us(h.min())),
        mean: Some(h.mean() / 1e3),
        count: h.len(),
        ci95: ci95_us(h),
    }
}

/// The percentiles the summary prints, spelled as its percentile rows spell them (the JSON
/// document's keys are `p999` and `p9999`).
const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

/// Each percentile's 95% confidence interval in microseconds, from its order statistics
/// ([`crate::ci`]); `None` where there are too few samples to bound it.
pub fn ci95_us(h: &Histogram<u64>) -> PercentileIntervals {
    let bound = |q| ci::ci95(h, q).map(|(lo, hi)| [us(lo), us(hi)]);
    PercentileIntervals {
        p50: bound(0.50),
        p75: bound(0.75),
        p90: bound(0.90),
        p99: bound(0.99),
        p999: bound(0.999),
        p9999: bound(0.9999),
    }
}

/// Lost UDP datagrams as a share of those sent and resolved (answered or lost).
pub fn loss_ratio(r: &RunResult) -> f64 {
    let u = &r.total.counters.udp;
    let resolved = u.received + u.lost;
    if resolved == 0 {
        0.0
    } else {
        u.lost as f64 / resolved as f64
    }
}

/// Errors as a share of requests answered plus errors.
pub fn error_rate(r: &RunResult) -> f64 {
    let c = &r.total.counters;
    let errors = c.errors.total();
    // An error status is an answered request too: count each outcome once.
    let all = (c.requests + errors).saturating_sub(c.errors.http_status);
    if all == 0 {
        0.0
    } else {
        errors as f64 / all as f64
    }
}

#[cfg(test)]
mod tests;

/// The arrival process as `--arrival` spells it, in the summary and the JSON alike.
fn arrival_name(arrival: Arrival) -> &'static str {
    match arrival {
        Arrival::Uniform => "uniform",
        Arrival::Poisson => "poisson",
    }
}
