//! The human summary of a run: what was asked, what happened, the percentiles, the self-check.

use std::fmt::Write as _;

use super::self_check::wide_intervals;
use super::{
    arrival_name, cpu_share, loop_busy_share, loss_ratio, spin_share, wakeups_per_request,
    SelfCheck,
};
use crate::clock::NS_PER_SEC;
use crate::run::{RunResult, Workload};
use crate::units::{self, percentile_row};

/// The human summary.
pub fn summary(r: &RunResult, v: &SelfCheck) -> String {
    let c = &r.total.counters;
    let secs = r.measured_ns as f64 / NS_PER_SEC as f64;
    let mut s = String::new();
    let cfg = &r.config;
    let mode = match cfg.rate {
        Some(rate) => format!(
            "open loop, {rate:.0} req/s offered ({} arrivals)",
            arrival_name(cfg.arrival)
        ),
        None => "closed loop".to_string(),
    };
    let mode = if cfg.connect_per_request {
        format!("{mode}, a new connection per request")
    } else {
        mode
    };
    let mode = if cfg.idle_poll {
        format!("{mode}, idle CPUs polling, not halting")
    } else {
        mode
    };
    let _ = writeln!(
        s,
        "{} {} ({}): {}, {}, pipeline {}, {mode}",
        cfg.workload.name(),
        cfg.target,
        r.addr,
        units::count(cfg.connections, "connection"),
        units::count(cfg.threads, "thread"),
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
    if cfg.rate.is_some() {
        let _ = writeln!(
            s,
            "  offered    {} due, {} sent ({:.1}%), {} never sent",
            c.due,
            c.sent,
            c.sent as f64 * 100.0 / c.due.max(1) as f64,
            c.unsent
        );
    }
    let row = percentile_row;
    s.push_str(&row("latency", &r.total.hist.latency));
    if let Some(line) = wide_intervals(&r.total.hist.latency) {
        s.push_str(&line);
    }
    if cfg.rate.is_some() {
        s.push_str(&row("intended", &r.total.hist.intended_latency));
        s.push_str(&row("service", &r.total.hist.service));
        s.push_str(&row("send lag", &r.total.hist.send_lag));
        s.push_str(&row("  late", &r.total.hist.schedule_lateness));
        s.push_str(&row("  conn wait", &r.total.hist.conn_wait));
        s.push_str(&row("wake-up", &r.total.hist.wake_overshoot));
    }
    s.push_str(&row("connect", &r.connect));
    s.push_str(&crate::tls_report::summary(r));
    if cfg.connect_per_request || c.connects > 0 {
        let _ = writeln!(
            s,
            "  connects   {} in total, {:.0}/s while measuring",
            r.connects,
            c.connects as f64 / secs
        );
    }
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
    if let (true, Some(first)) = (e.total() > e.http_status, &r.first_error) {
        let _ = writeln!(s, "  first error {first}");
    }
    let k = &e.connect_kinds;
    if e.connect > 0 {
        let _ = writeln!(
            s,
            "  connect errors: refused {}, timed out {}, reset {}, no local address {}, \
             tls handshake {}, other {}",
            k.refused, k.timed_out, k.reset, k.no_local_address, k.tls_handshake, k.other
        );
    }
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
    let _ = write!(
        s,
        "  generator  CPU {:.2} s user + {:.2} s system = {:.0}% of {}, loop busy {:.0}%",
        r.cpu_user.as_secs_f64(),
        r.cpu_sys.as_secs_f64(),
        cpu_share(r) * 100.0,
        units::count(cfg.threads, "thread"),
        loop_busy_share(r) * 100.0
    );
    let spin = spin_share(r);
    if spin >= 0.01 {
        let _ = write!(s, ", spinning {:.0}% (waiting on the clock)", spin * 100.0);
    }
    if cfg.rate.is_some() {
        let _ = write!(s, ", {:.2} wake-ups per request", wakeups_per_request(r));
    }
    s.push('\n');
    if v.valid {
        let _ = writeln!(s, "  self-check valid");
    } else {
        let _ = writeln!(s, "  self-check INVALID: {}", v.reasons.join("; "));
    }
    for w in &v.warnings {
        let _ = writeln!(s, "  warning    {w}");
    }
    if r.interrupted {
        let _ = writeln!(
            s,
            "  INTERRUPTED by Ctrl-C after {secs:.2} s: the figures are of what was measured \
             until then"
        );
    }
    s
}
