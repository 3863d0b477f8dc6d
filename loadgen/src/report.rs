//! Turning a [`RunResult`] into the human summary, the self-check verdict and the JSON document.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use crate::clock::NS_PER_SEC;
use crate::run::{RunResult, Workload};
pub use crate::units::{format_ns, percentile_row};

/// Version of the JSON document; bumped on incompatible changes.
pub const SCHEMA_VERSION: u64 = 1;

/// p99 schedule lateness above which the generator is judged unable to keep its schedule.
const MAX_SCHEDULE_LATENESS_NS: u64 = 1_000_000;
/// Generator CPU share of its threads above which it is called saturated.
const SATURATED_CPU: f64 = 0.95;

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// `{p50, p75, p90, p99, p999, p9999, max, min, mean, count}` in microseconds.
pub fn percentiles_us(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"p50": null, "p75": null, "p90": null, "p99": null, "p999": null,
            "p9999": null, "max": null, "min": null, "mean": null, "count": 0});
    }
    json!({
        "p50": us(h.value_at_quantile(0.50)),
        "p75": us(h.value_at_quantile(0.75)),
        "p90": us(h.value_at_quantile(0.90)),
        "p99": us(h.value_at_quantile(0.99)),
        "p999": us(h.value_at_quantile(0.999)),
        "p9999": us(h.value_at_quantile(0.9999)),
        "max": us(h.max()),
        "min": us(h.min()),
        "mean": h.mean() / 1e3,
        "count": h.len(),
    })
}

/// The self-check: is the run trustworthy, and what should the reader be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// False when the generator could not do what it was asked.
    pub valid: bool,
    /// Why it is invalid.
    pub reasons: Vec<String>,
    /// Things worth knowing that do not invalidate the numbers.
    pub warnings: Vec<String>,
}

/// Generator CPU use as a share of its threads' capacity.
pub fn cpu_share(r: &RunResult) -> f64 {
    let cpu = (r.cpu_user + r.cpu_sys).as_nanos() as f64;
    cpu / (r.measured_ns as f64 * r.config.threads.max(1) as f64)
}

/// Judge the run.
pub fn verdict(r: &RunResult) -> Verdict {
    let mut v = Verdict {
        valid: true,
        ..Verdict::default()
    };
    let share = cpu_share(r);
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    if let Some(rate) = r.config.rate {
        let late = &r.total.hist.schedule_lateness;
        let p99 = late.value_at_quantile(0.99);
        if !late.is_empty() && p99 > MAX_SCHEDULE_LATENESS_NS {
            v.valid = false;
            v.reasons.push(format!(
                "generator fell behind its own schedule: p99 lateness {} (limit {})",
                format_ns(p99),
                format_ns(MAX_SCHEDULE_LATENESS_NS)
            ));
        }
        let scheduled = late.len() as f64 / secs;
        if late.len() > 100 && scheduled < 0.9 * rate {
            v.valid = false;
            v.reasons.push(format!(
                "generator scheduled only {scheduled:.0} of the {rate:.0} req/s offered"
            ));
        }
        // In open loop the generator spins for the last stretch before each send time, so at
        // high rates its CPU reads ~100% by design; whether it kept up is judged by the two
        // schedule checks above, which measure exactly that.
        if share > SATURATED_CPU {
            v.warnings.push(format!(
                "generator CPU at {:.0}% of its {} thread(s), spin-waiting for send times                  included; the schedule checks decide validity",
                share * 100.0,
                r.config.threads
            ));
        }
        let sent = r.total.counters.sent as f64 / secs;
        if sent < 0.9 * rate && v.valid {
            v.warnings.push(format!(
                "only {sent:.0} of {rate:.0} req/s offered could be sent: the server (or \
                 --connections x --pipeline) limits the rate; latency includes the queueing"
            ));
        }
    } else if share > SATURATED_CPU {
        v.warnings.push(format!(
            "generator CPU saturated ({:.0}% of its {} thread(s)): throughput may be the \
             generator's limit, not the server's",
            share * 100.0,
            r.config.threads
        ));
    }
    if r.connected < r.config.connections {
        v.warnings.push(format!(
            "only {} of {} connections could be established",
            r.connected, r.config.connections
        ));
    }
    v
}

/// The human summary.
pub fn summary(r: &RunResult, v: &Verdict) -> String {
    let c = &r.total.counters;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let mut s = String::new();
    let cfg = &r.config;
    let mode = match cfg.rate {
        Some(rate) => format!("open loop, {rate:.0} req/s offered ({:?})", cfg.arrival),
        None => "closed loop".to_string(),
    };
    let _ = writeln!(
        s,
        "{} {} ({}): {} connections, {} threads, pipeline {}, {mode}",
        cfg.workload.name(),
        cfg.target,
        r.addr,
        cfg.connections,
        cfg.threads,
        cfg.pipeline
    );
    let _ = writeln!(
        s,
        "  requests   {} in {:.2} s = {:.0} req/s, {:.2} MB/s received, {:.2} MB/s sent",
        c.requests,
        secs,
        c.requests as f64 / secs,
        c.bytes_received as f64 / secs / 1e6,
        c.bytes_sent as f64 / secs / 1e6
    );
    let row = percentile_row;
    s.push_str(&row("latency", &r.total.hist.latency));
    if cfg.rate.is_some() {
        s.push_str(&row("service", &r.total.hist.service));
        s.push_str(&row("send lag", &r.total.hist.send_lag));
    }
    s.push_str(&row("connect", &r.connect));
    let e = &c.errors;
    let _ = writeln!(
        s,
        "  errors     {} (connect {}, timeout {}, reset {}, verify {}, http status {})",
        e.total(),
        e.connect,
        e.timeout,
        e.reset,
        e.verify,
        e.http_status
    );
    if cfg.workload == Workload::Http {
        let codes: Vec<String> = c
            .status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        let _ = writeln!(s, "  status     {}", codes.join(", "));
    }
    if cfg.workload == Workload::Udp {
        let u = &c.udp;
        let _ = writeln!(
            s,
            "  udp        sent {}, received {}, lost {} ({:.2}%), reordered {}, duplicated {}, late {}",
            u.sent,
            u.received,
            u.lost,
            loss_ratio(r) * 100.0,
            u.reordered,
            u.duplicated,
            u.late
        );
    }
    let _ = writeln!(
        s,
        "  generator  CPU {:.2} s user + {:.2} s system = {:.0}% of {} thread(s)",
        r.cpu_user.as_secs_f64(),
        r.cpu_sys.as_secs_f64(),
        cpu_share(r) * 100.0,
        cfg.threads
    );
    if v.valid {
        let _ = writeln!(s, "  self-check valid");
    } else {
        let _ = writeln!(s, "  self-check INVALID: {}", v.reasons.join("; "));
    }
    for w in &v.warnings {
        let _ = writeln!(s, "  warning    {w}");
    }
    s
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
    let all = c.requests + errors;
    if all == 0 {
        0.0
    } else {
        errors as f64 / all as f64
    }
}

/// The JSON document (schema in loadgen/README.md).
pub fn to_json(r: &RunResult, v: &Verdict) -> Value {
    let c = &r.total.counters;
    let cfg = &r.config;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let status: Map<String, Value> = c
        .status
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(code, &n)| (code.to_string(), json!(n)))
        .collect();
    let series: Vec<Value> = r
        .intervals
        .iter()
        .map(|iv| {
            let len = iv.length_ns.max(1) as f64 / NS_PER_SEC as f64;
            let q = |x| (!iv.latency.is_empty()).then(|| us(iv.latency.value_at_quantile(x)));
            json!({
                "t_s": iv.index,
                "length_s": len,
                "requests": iv.requests,
                "errors": iv.errors,
                "rps": iv.requests as f64 / len,
                "p50_us": q(0.5),
                "p99_us": q(0.99),
                "max_us": (!iv.latency.is_empty()).then(|| us(iv.latency.max())),
            })
        })
        .collect();
    let mut doc = json!({
        "schema": "reactor-loadgen",
        "schema_version": SCHEMA_VERSION,
        "workload": cfg.workload.name(),
        "target": cfg.target,
        "address": r.addr.to_string(),
        "mode": if cfg.rate.is_some() { "open" } else { "closed" },
        "offered_rps": cfg.rate,
        "arrival": cfg.rate.map(|_| format!("{:?}", cfg.arrival).to_lowercase()),
        "connections": cfg.connections,
        "connected": r.connected,
        "threads": cfg.threads,
        "pipeline": cfg.pipeline,
        "size": {"min": cfg.size.min, "max": cfg.size.max},
        "started_unix_s": r.started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        "duration_s": secs,
        "requests": c.requests,
        "sent": c.sent,
        "rps": c.requests as f64 / secs,
        "sent_rps": c.sent as f64 / secs,
        "bytes_sent": c.bytes_sent,
        "bytes_received": c.bytes_received,
        "mb_per_s": c.bytes_received as f64 / secs / 1e6,
        "errors": {
            "total": c.errors.total(),
            "connect": c.errors.connect,
            "timeout": c.errors.timeout,
            "reset": c.errors.reset,
            "verify": c.errors.verify,
            "http_status": c.errors.http_status,
        },
        "error_rate": error_rate(r),
        "verify_failures": c.errors.verify,
        "status_codes": status,
        "valid": v.valid,
        "invalid_reasons": v.reasons,
        "warnings": v.warnings,
        "latency_us": percentiles_us(&r.total.hist.latency),
        "service_time_us": percentiles_us(&r.total.hist.service),
        "send_lag_us": percentiles_us(&r.total.hist.send_lag),
        "schedule_lateness_us": percentiles_us(&r.total.hist.schedule_lateness),
        "connect_us": percentiles_us(&r.connect),
        "generator": {
            "cpu_user_s": r.cpu_user.as_secs_f64(),
            "cpu_system_s": r.cpu_sys.as_secs_f64(),
            "cpu_share_of_threads": cpu_share(r),
        },
        "timeseries": series,
    });
    if cfg.workload == Workload::Udp {
        let u = &c.udp;
        doc["udp"] = json!({
            "sent": u.sent,
            "received": u.received,
            "lost": u.lost,
            "loss_ratio": loss_ratio(r),
            "reordered": u.reordered,
            "duplicated": u.duplicated,
            "late": u.late,
        });
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_sensible() {
        assert_eq!(format_ns(850), "850 ns");
        assert_eq!(format_ns(12_345), "12.3 µs");
        assert_eq!(format_ns(4_560_000), "4.56 ms");
        assert_eq!(format_ns(1_200_000_000), "1.20 s");
    }

    #[test]
    fn empty_histogram_gives_nulls() {
        let h = crate::stats::new_histogram();
        assert_eq!(percentiles_us(&h)["p99"], Value::Null);
    }
}
