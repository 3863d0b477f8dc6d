//! `--find-max`: the highest offered rate whose corrected latency quantile meets the SLO.
//!
//! The SLO is judged on the headline latency (from the moment the generator noticed a request
//! was due, so connection wait plus service time), not on the latency from the intended send
//! time: the open loop may trade up to half of
//! `--max-lateness` of its own schedule lateness for fewer wake-ups, and that trade must not
//! be charged to the server. The lateness itself is bounded by the self-check, and each step
//! prints both quantiles.
//!
//! A step is judged on what the server did, not on the whole self-check: the
//! generator's schedule lateness (which on a loaded or virtual machine can exceed
//! `--max-lateness` at any rate, saturated server or not) is out of the judged latency, and
//! it can only make the load burstier, so the server's figure is conservative. What ends the
//! search as "limited by the generator" is the generator's own evidence: it was out of CPU
//! (or its loop never idle), or it failed to send what it offered while connections were
//! free. A step that did not get at least [`CARRIED`] of its offered load sent fails (the
//! server, or the connections, could not carry it).
//!
//! Doubles the rate until a step fails (SLO missed, run invalid, or errors), then bisects
//! between the last passing and the first failing rate until they are within 5 %. Each step is
//! a complete open-loop run. A failing step is measured again before it is believed (two of
//! three runs decide), so one noisy step cannot end the search; a step that is invalid because
//! the generator was the limit ends it with "limited by the generator", never with a rate
//! presented as the server's.

use anyhow::Result;
use serde_json::{json, Value};

use crate::cli::Slo;
use crate::report;
use crate::run::{run_once, RunConfig, RunResult};
use crate::units::format_ns;

/// Most doubling steps.
const MAX_RAMP_STEPS: usize = 24;
/// Most bisection steps.
const MAX_BISECT_STEPS: usize = 8;
/// Runs of a failing rate: it fails when most of them fail.
const ATTEMPTS: usize = 3;
/// Share of the offered load a step must have sent to pass.
const CARRIED: f64 = 0.95;

/// One measured run of the curve.
#[derive(Debug, Clone)]
pub struct Step {
    /// Offered rate.
    pub rate: f64,
    /// The SLO quantile of the server's share of the corrected latency, ns.
    pub quantile_ns: u64,
    /// The same quantile of the whole corrected latency (with the generator's lateness), ns.
    pub latency_quantile_ns: u64,
    /// Achieved request rate.
    pub achieved: f64,
    /// Self-check passed.
    pub valid: bool,
    /// SLO met, valid, and error-free enough.
    pub pass: bool,
    /// Invalid because the generator was the limit.
    pub generator_limited: bool,
    /// Generator CPU share of its threads.
    pub cpu_share: f64,
}

/// The generator, not the server, could not go faster.
#[derive(Debug, Clone, Copy)]
pub struct GeneratorLimit {
    /// Offered rate of the step that showed it.
    pub rate: f64,
    /// Generator CPU share of its threads in that step.
    pub cpu_share: f64,
}

/// The search's outcome.
pub struct Search {
    /// Every run, in the order made.
    pub steps: Vec<Step>,
    /// Highest passing rate and its run.
    pub best: Option<(f64, RunResult)>,
    /// Set when the search stopped because the generator was the limit: `best` is then only a
    /// lower bound of what the server can do.
    pub generator_limit: Option<GeneratorLimit>,
    /// The lowest rate the server was found not to meet the SLO at (the server is the limit).
    pub server_limit: Option<f64>,
}

impl Search {
    /// Who limited the search: "generator", "server", or none (the ramp ran out of steps).
    pub fn limited_by(&self) -> Option<&'static str> {
        if self.generator_limit.is_some() {
            Some("generator")
        } else if self.server_limit.is_some() {
            Some("server")
        } else {
            None
        }
    }
}

/// How a rate fared after as many runs as it took to be sure.
enum Outcome {
    Pass(Box<RunResult>),
    Fail,
    GeneratorLimited(GeneratorLimit),
}

/// Search for the highest passing rate, starting from `config.rate` (or 1000/s).
pub fn search(config: &RunConfig, slo: Slo, max_error_rate: f64) -> Result<Search> {
    let mut s = Search {
        steps: Vec::new(),
        best: None,
        generator_limit: None,
        server_limit: None,
    };
    let mut rate = config.rate.unwrap_or(1000.0).max(1.0);
    let mut failed: Option<f64> = None;
    for _ in 0..MAX_RAMP_STEPS {
        if crate::interrupt::requested() {
            return Ok(s);
        }
        match settle_rate(config, rate, slo, max_error_rate, &mut s.steps)? {
            Outcome::Pass(r) => {
                s.best = Some((rate, *r));
                rate *= 2.0;
            }
            Outcome::Fail => {
                failed = Some(rate);
                break;
            }
            Outcome::GeneratorLimited(g) => {
                s.generator_limit = Some(g);
                return Ok(s);
            }
        }
    }
    s.server_limit = failed;
    if let Some(mut hi) = failed {
        let mut lo = s.best.as_ref().map_or(0.0, |b| b.0);
        for _ in 0..MAX_BISECT_STEPS {
            if hi - lo <= 0.05 * hi || crate::interrupt::requested() {
                break;
            }
            let mid = (lo + hi) / 2.0;
            match settle_rate(config, mid, slo, max_error_rate, &mut s.steps)? {
                Outcome::Pass(r) => {
                    lo = mid;
                    s.best = Some((mid, *r));
                }
                Outcome::Fail => {
                    hi = mid;
                    s.server_limit = Some(mid);
                }
                Outcome::GeneratorLimited(g) => {
                    s.generator_limit = Some(g);
                    return Ok(s);
                }
            }
        }
    }
    Ok(s)
}

/// Run `rate` until the outcome is clear: a pass at once, a failure only when most of
/// [`ATTEMPTS`] runs fail, the generator's limit as soon as one run shows it.
fn settle_rate(
    config: &RunConfig,
    rate: f64,
    slo: Slo,
    max_error_rate: f64,
    steps: &mut Vec<Step>,
) -> Result<Outcome> {
    let mut fails = 0;
    let mut passes = 0;
    let mut last_pass = None;
    while fails * 2 < ATTEMPTS && passes * 2 < ATTEMPTS && !crate::interrupt::requested() {
        let (step, r) = measure(config, rate, slo, max_error_rate)?;
        let (pass, limited, cpu) = (step.pass, step.generator_limited, step.cpu_share);
        steps.push(step);
        if limited {
            return Ok(Outcome::GeneratorLimited(GeneratorLimit {
                rate,
                cpu_share: cpu,
            }));
        }
        if pass {
            if fails == 0 {
                return Ok(Outcome::Pass(Box::new(r)));
            }
            passes += 1;
            last_pass = Some(r);
        } else {
            fails += 1;
            if fails == 1 {
                println!("find-max: measuring {rate:.0} req/s again before believing the failure");
            }
        }
    }
    Ok(match last_pass {
        Some(r) if passes > fails => Outcome::Pass(Box::new(r)),
        _ => Outcome::Fail,
    })
}

fn measure(
    config: &RunConfig,
    rate: f64,
    slo: Slo,
    max_error_rate: f64,
) -> Result<(Step, RunResult)> {
    let mut c = config.clone();
    c.rate = Some(rate);
    let r = run_once(&c)?;
    let v = report::self_check(&r);
    let q = r.total.hist.latency.value_at_quantile(slo.quantile);
    let with_lateness = r
        .total
        .hist
        .intended_latency
        .value_at_quantile(slo.quantile);
    let secs = r.measured_ns as f64 / 1e9;
    let sent_share = r.total.counters.sent as f64 / (rate * secs).max(1.0);
    let h = &r.total.hist;
    // Sent less than offered although no request waited long for a connection: the
    // generator did not offer the load (the server was not holding it back).
    let unsent_by_generator = sent_share < CARRIED
        && (h.conn_wait.is_empty() || h.conn_wait.value_at_quantile(0.99) < slo.limit_ns / 10);
    let generator_limited = report::generator_saturated(&r) || unsent_by_generator;
    let pass = !generator_limited
        && !h.latency.is_empty()
        && q <= slo.limit_ns
        && sent_share >= CARRIED
        && report::error_rate(&r) <= max_error_rate
        && r.total.counters.errors.verify == 0;
    let achieved = r.total.counters.requests as f64 / secs;
    let cpu_share = report::cpu_share(&r);
    let note = if generator_limited {
        format!(
            " (invalid: limited by the generator, CPU {:.0}%)",
            cpu_share * 100.0
        )
    } else if sent_share < CARRIED {
        format!(" (sent {:.0}% of the offered load)", sent_share * 100.0)
    } else if !v.valid {
        " (self-check: invalid, not judged: the server's figure excludes the generator's lateness)"
            .to_string()
    } else {
        String::new()
    };
    println!(
        "find-max: offered {rate:>10.0} req/s  achieved {achieved:>10.0} req/s  p{} {:>9} \
         (with generator lateness {:>9})  {}{note}",
        slo.quantile * 100.0,
        format_ns(q),
        format_ns(with_lateness),
        if pass { "pass" } else { "FAIL" },
    );
    let step = Step {
        rate,
        quantile_ns: q,
        latency_quantile_ns: with_lateness,
        achieved,
        valid: v.valid,
        pass,
        generator_limited,
        cpu_share,
    };
    Ok((step, r))
}

/// The `find_max` JSON object.
pub fn to_json(search: &Search, slo: Slo) -> Value {
    json!({
        "slo": {"quantile": slo.quantile, "limit_us": slo.limit_ns as f64 / 1e3},
        "max_rps": search.best.as_ref().map(|b| b.0),
        "limited_by": search.limited_by(),
        "generator_limit": search.generator_limit.map(|g| json!({
            "offered_rps": g.rate,
            "cpu_share_of_threads": g.cpu_share,
        })),
        "steps": search.steps.iter().map(|s| json!({
            "offered_rps": s.rate,
            "achieved_rps": s.achieved,
            "quantile_us": s.quantile_ns as f64 / 1e3,
            "latency_quantile_us": s.latency_quantile_ns as f64 / 1e3,
            "valid": s.valid,
            "pass": s.pass,
            "generator_limited": s.generator_limited,
            "cpu_share_of_threads": s.cpu_share,
        })).collect::<Vec<_>>(),
    })
}
