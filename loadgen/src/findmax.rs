//! `--find-max`: the highest offered rate whose corrected latency quantile meets the SLO.
//!
//! Doubles the rate until a step fails (SLO missed, run invalid, or errors), then bisects
//! between the last passing and the first failing rate until they are within 5 %. Each step is
//! a complete open-loop run, so every point of the curve is an honest measurement in itself.

use anyhow::Result;
use serde_json::{json, Value};

use crate::cli::Slo;
use crate::report::{self, format_ns};
use crate::run::{run_once, RunConfig, RunResult};

/// Most doubling steps.
const MAX_RAMP_STEPS: usize = 24;
/// Most bisection steps.
const MAX_BISECT_STEPS: usize = 8;

/// One measured point of the curve.
#[derive(Debug, Clone)]
pub struct Step {
    /// Offered rate.
    pub rate: f64,
    /// The SLO quantile of the corrected latency, ns.
    pub quantile_ns: u64,
    /// Achieved request rate.
    pub achieved: f64,
    /// Self-check passed.
    pub valid: bool,
    /// SLO met, valid, and error-free enough.
    pub pass: bool,
}

/// The search's outcome.
pub struct Search {
    /// Every run, in the order made.
    pub steps: Vec<Step>,
    /// Highest passing rate and its run.
    pub best: Option<(f64, RunResult)>,
}

/// Search for the highest passing rate, starting from `config.rate` (or 1000/s).
pub fn search(config: &RunConfig, slo: Slo, max_error_rate: f64) -> Result<Search> {
    let mut steps = Vec::new();
    let mut best: Option<(f64, RunResult)> = None;
    let mut rate = config.rate.unwrap_or(1000.0).max(1.0);
    let mut failed: Option<f64> = None;
    let measure = |rate: f64, steps: &mut Vec<Step>| -> Result<(bool, RunResult)> {
        let mut c = config.clone();
        c.rate = Some(rate);
        let r = run_once(&c)?;
        let v = report::verdict(&r);
        let q = r.total.hist.latency.value_at_quantile(slo.quantile);
        let pass = v.valid
            && !r.total.hist.latency.is_empty()
            && q <= slo.limit_ns
            && report::error_rate(&r) <= max_error_rate
            && r.total.counters.errors.verify == 0;
        let achieved = r.total.counters.requests as f64 / (r.measured_ns as f64 / 1e9);
        println!(
            "find-max: offered {rate:>10.0} req/s  achieved {achieved:>10.0} req/s  p{} {:>9}  {}{}",
            slo.quantile * 100.0,
            format_ns(q),
            if pass { "pass" } else { "FAIL" },
            if v.valid { "" } else { " (run invalid)" }
        );
        steps.push(Step {
            rate,
            quantile_ns: q,
            achieved,
            valid: v.valid,
            pass,
        });
        Ok((pass, r))
    };
    for _ in 0..MAX_RAMP_STEPS {
        let (pass, r) = measure(rate, &mut steps)?;
        if pass {
            best = Some((rate, r));
            rate *= 2.0;
        } else {
            failed = Some(rate);
            break;
        }
    }
    if let Some(mut hi) = failed {
        let mut lo = best.as_ref().map_or(0.0, |b| b.0);
        for _ in 0..MAX_BISECT_STEPS {
            if hi - lo <= 0.05 * hi {
                break;
            }
            let mid = (lo + hi) / 2.0;
            let (pass, r) = measure(mid, &mut steps)?;
            if pass {
                lo = mid;
                best = Some((mid, r));
            } else {
                hi = mid;
            }
        }
    }
    Ok(Search { steps, best })
}

/// The `find_max` JSON object.
pub fn to_json(search: &Search, slo: Slo) -> Value {
    json!({
        "slo": {"quantile": slo.quantile, "limit_us": slo.limit_ns as f64 / 1e3},
        "max_rps": search.best.as_ref().map(|b| b.0),
        "steps": search.steps.iter().map(|s| json!({
            "offered_rps": s.rate,
            "achieved_rps": s.achieved,
            "quantile_us": s.quantile_ns as f64 / 1e3,
            "valid": s.valid,
            "pass": s.pass,
        })).collect::<Vec<_>>(),
    })
}
