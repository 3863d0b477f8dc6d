//! The run as a JSON document: the typed [`RunReport`] of `reactor-report`.

use reactor_report::{
    ConnectErrorKinds, Errors, Generator, Interval, LoadMode, RunReport, SizeRange, Udp,
};
use serde_json::Value;

use super::{
    arrival_name, cpu_share, error_rate, loop_busy_share, loss_ratio, percentiles_us, spin_share,
    us, wakeups_per_request, SelfCheck, SCHEMA_VERSION,
};
use crate::clock::NS_PER_SEC;
use crate::run::{RunResult, Workload};

/// The JSON document (schema in loadgen/README.md, types in `reactor-report`).
pub fn to_json(r: &RunResult, v: &SelfCheck) -> Value {
    // Serialising these plain structs cannot fail (string keys, no custom serialisers).
    serde_json::to_value(to_report(r, v)).unwrap_or_default()
}

/// The typed report of one run: what `--json` writes and `compare` reads.
pub fn to_report(r: &RunResult, v: &SelfCheck) -> RunReport {
    let c = &r.total.counters;
    let cfg = &r.config;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let status_codes = c
        .status
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(code, &n)| (code.to_string(), n))
        .collect();
    let timeseries = r
        .intervals
        .iter()
        .map(|iv| {
            let len = iv.length_ns.max(1) as f64 / NS_PER_SEC as f64;
            let q = |x| (!iv.latency.is_empty()).then(|| us(iv.latency.value_at_quantile(x)));
            Interval {
                t_s: iv.index,
                length_s: len,
                requests: iv.requests,
                errors: iv.errors,
                rps: iv.requests as f64 / len,
                p50_us: q(0.5),
                p99_us: q(0.99),
                max_us: (!iv.latency.is_empty()).then(|| us(iv.latency.max())),
            }
        })
        .collect();
    let k = &c.errors.connect_kinds;
    let h = &r.total.hist;
    RunReport {
        schema: reactor_report::SCHEMA.to_string(),
        schema_version: SCHEMA_VERSION,
        workload: cfg.workload.name().to_string(),
        target: cfg.target.clone(),
        address: r.addr.to_string(),
        mode: if cfg.rate.is_some() {
            LoadMode::Open
        } else {
            LoadMode::Closed
        },
        offered_rps: cfg.rate,
        arrival: cfg.rate.map(|_| arrival_name(cfg.arrival).to_owned()),
        connections: cfg.connections,
        connected: r.connected,
        threads: cfg.threads,
        pipeline: cfg.pipeline,
        size: SizeRange {
            min: cfg.size.min,
            max: cfg.size.max,
        },
        started_unix_s: r
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        duration_s: secs,
        requests: c.requests,
        sent: c.sent,
        rps: c.requests as f64 / secs,
        sent_rps: c.sent as f64 / secs,
        bytes_sent: c.bytes_sent,
        bytes_received: c.bytes_received,
        mb_per_s: c.bytes_received as f64 / secs / 1e6,
        errors: Errors {
            total: c.errors.total(),
            connect: c.errors.connect,
            timeout: c.errors.timeout,
            reset: c.errors.reset,
            verify: c.errors.verify,
            http_status: c.errors.http_status,
            connect_by_kind: ConnectErrorKinds {
                refused: k.refused,
                timed_out: k.timed_out,
                reset: k.reset,
                no_local_address: k.no_local_address,
                tls_handshake: k.tls_handshake,
                other: k.other,
            },
        },
        error_rate: error_rate(r),
        verify_failures: c.errors.verify,
        status_codes,
        valid: v.valid,
        invalid_reasons: v.reasons.clone(),
        warnings: v.warnings.clone(),
        latency_us: percentiles_us(&h.latency),
        service_time_us: percentiles_us(&h.service),
        send_lag_us: percentiles_us(&h.send_lag),
        schedule_lateness_us: percentiles_us(&h.schedule_lateness),
        connect_us: percentiles_us(&r.connect),
        generator: Generator {
            cpu_user_s: r.cpu_user.as_secs_f64(),
            cpu_system_s: r.cpu_sys.as_secs_f64(),
            cpu_share_of_threads: cpu_share(r),
            loop_busy_share: loop_busy_share(r),
            spin_share: spin_share(r),
            wakeups: c.wakeups,
            wakeups_per_request: wakeups_per_request(r),
            stalls: c.stalls,
            stalled_s: c.stalled_ns as f64 / NS_PER_SEC as f64,
            wake_overshoot_us: percentiles_us(&h.wake_overshoot),
            idle_poll: cfg.idle_poll,
        },
        timeseries,
        conn_wait_us: percentiles_us(&h.conn_wait),
        intended_latency_us: percentiles_us(&h.intended_latency),
        interrupted: r.interrupted,
        due: c.due,
        unsent: c.unsent,
        max_lateness_us: cfg.max_lateness.as_nanos() as f64 / 1e3,
        limited_by: v.generator_limited.then(|| "generator".to_string()),
        backlog_peak: c.backlog_peak,
        connect_per_request: cfg.connect_per_request,
        connects: r.connects,
        connects_per_s: c.connects as f64 / secs,
        tls: crate::tls_report::to_json(r),
        udp: (cfg.workload == Workload::Udp).then(|| {
            let u = &c.udp;
            Udp {
                sent: u.sent,
                received: u.received,
                lost: u.lost,
                loss_ratio: loss_ratio(r),
                reordered: u.reordered,
                duplicated: u.duplicated,
                late: u.late,
            }
        }),
        find_max: None,
    }
}
