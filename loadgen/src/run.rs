//! One run: resolve the target, start the workers, gather their per-second reports.
//!
//! The calling thread is the collector: it releases the workers together once every
//! connection is set up, adds up their interval reports (histograms by adding counts), and
//! feeds the progress line ([`crate::progress`]) from those messages, never from the workers'
//! own data.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::Histogram;
use thiserror::Error;

use crate::cli::{Arrival, SizeSpec};
use crate::clock::{self, now_ns};
use crate::progress::{Goal, Progress};
use crate::stats::{new_histogram, Handshakes, Recorder};
use crate::tls::{TlsOptions, TlsPlan};
use crate::worker::rxstamp::{self, Stamping};
use crate::worker::{self, Kind, Msg, Plan, StartGate};
use crate::workload::http::build_request;

/// Which workload, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1.
    Http,
}

impl Workload {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Tcp => "tcp",
            Workload::Udp => "udp",
            Workload::Http => "http",
        }
    }
}

/// HTTP request options.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Method.
    pub method: String,
    /// Extra headers.
    pub headers: Vec<String>,
    /// Body.
    pub body: Option<String>,
    /// TLS flags (https targets).
    pub tls: TlsOptions,
}

/// A fully resolved run description.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Workload.
    pub workload: Workload,
    /// Target as given.
    pub target: String,
    /// Connections in total.
    pub connections: usize,
    /// Threads.
    pub threads: usize,
    /// Pipeline depth.
    pub pipeline: usize,
    /// A new connection for every request.
    pub connect_per_request: bool,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Warm-up.
    pub warmup: Duration,
    /// Request count limit.
    pub requests: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Payload sizes.
    pub size: SizeSpec,
    /// Offered rate (open loop).
    pub rate: Option<f64>,
    /// Arrival process.
    pub arrival: Arrival,
    /// Start at this Unix time.
    pub start_at: Option<f64>,
    /// HTTP options.
    pub http: HttpOptions,
    /// Draw the progress line.
    pub progress: bool,
    /// Self-check limit on schedule lateness (p99).
    pub max_lateness: Duration,
    /// Idle CPUs were polling when the run began: `--idle-poll`, or another process's PM QoS
    /// request (reported either way, since it changes what a wake-up costs).
    pub idle_poll: bool,
}

/// Failures that end a run before it measured anything.
#[derive(Debug, Error)]
pub enum RunError {
    /// No connection could be established.
    #[error("target {target} unreachable: {reason}")]
    Unreachable {
        /// Target as given.
        target: String,
        /// First error seen.
        reason: String,
    },
}

/// One second of the run, all threads added.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Seconds since measuring began.
    pub index: u64,
    /// Covered length (the last one may be shorter).
    pub length_ns: u64,
    /// Requests answered.
    pub requests: u64,
    /// Errors of all kinds.
    pub errors: u64,
    /// Corrected latency of the interval.
    pub latency: Histogram<u64>,
    /// Connect times of the connections established in the interval.
    pub connect: Histogram<u64>,
    /// TLS handshake times of the connections established in the interval.
    pub handshake: Histogram<u64>,
}

/// Everything measured in one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// What was run.
    pub config: RunConfig,
    /// Resolved address.
    pub addr: SocketAddr,
    /// Measured wall time.
    pub measured_ns: u64,
    /// All threads and intervals added.
    pub total: Recorder,
    /// Connect latency of every connection counted in `connects`: those of the set-up plus
    /// those made while measuring (reconnects; one per request with --connect-per-request).
    pub connect: Histogram<u64>,
    /// Connections established: at set-up plus while measuring.
    pub connects: u64,
    /// Connections established during set-up (none with a connection per request).
    pub connected: usize,
    /// https targets: every TLS handshake's time and the counts of the run (set-up plus
    /// measuring; those of the measured time alone are in `total`).
    pub tls: Option<Handshakes>,
    /// Per-second series.
    pub intervals: Vec<Interval>,
    /// Generator CPU time (user) during the measured period.
    pub cpu_user: Duration,
    /// Generator CPU time (system) during the measured period.
    pub cpu_sys: Duration,
    /// Wall-clock time measuring began.
    pub started: SystemTime,
    /// First error message seen by any worker.
    pub first_error: Option<String>,
    /// Ctrl-C stopped the run early: the figures are of what was measured until then.
    pub interrupted: bool,
    /// The kernel stamped arriving responses (see [`rxstamp`]).
    pub kernel_stamps: bool,
    /// Reads while measuring that came without a kernel stamp: their responses were timed
    /// when the generator read them, which adds its own wake-up delay.
    pub unstamped_reads: u64,
    /// Answers whose kernel stamp fell before their request's send (a clock step): timed at
    /// the read instead, like the unstamped ones.
    pub stamps_before_send: u64,
    /// The kernel's connection-tracking table at the end of the run (none without one).
    pub conntrack: Option<crate::conntrack::Conntrack>,
}

/// How long a run waits for the kernel to confirm that it stamps arriving packets.
const STAMPING_CHECK: Duration = Duration::from_secs(1);

/// The TLS plan of an https target (none for anything else).
pub fn tls_plan(config: &RunConfig) -> Result<Option<TlsPlan>> {
    if config.workload != Workload::Http {
        return Ok(None);
    }
    let url = parse_http_url(&config.target)?;
    if !url.tls {
        return Ok(None);
    }
    TlsPlan::new(&url.host, &config.http.tls).map(Some)
}

/// Resolve `target` for the workload; returns the address and, for HTTP, the request bytes.
pub fn resolve(config: &RunConfig) -> Result<(SocketAddr, Kind)> {
    match config.workload {
        Workload::Tcp | Workload::Udp => {
            let addr = first_addr(&config.target)?;
            let kind = if config.workload == Workload::Tcp {
                Kind::Tcp
            } else {
                Kind::Udp
            };
            Ok((addr, kind))
        }
        Workload::Http => {
            let url = parse_http_url(&config.target)?;
            let addr = first_addr(&url.socket)?;
            let request = build_request(
                &config.http.method,
                &url.host_header,
                &url.path,
                &config.http.headers,
                config.http.body.as_deref(),
            );
            Ok((
                addr,
                Kind::Http {
                    request: request.into(),
                    head: config.http.method.eq_ignore_ascii_case("HEAD"),
                },
            ))
        }
    }
}

fn first_addr(s: &str) -> Result<SocketAddr> {
    s.to_socket_addrs()
        .with_context(|| format!("cannot resolve {s:?} (expected HOST:PORT)"))?
        .next()
        .ok_or_else(|| anyhow!("{s:?} resolves to no address"))
}

/// The parts of a `http://` or `https://` URL the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` to connect to.
    pub socket: String,
    /// Value of the Host header.
    pub host_header: String,
    /// Path and query.
    pub path: String,
    /// `https://`: speak TLS.
    pub tls: bool,
    /// The host alone (no port, no brackets): the TLS server name.
    pub host: String,
}

/// Parse `http[s]://host[:port][/path]`.
pub fn parse_http_url(url: &str) -> Result<HttpUrl> {
    let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => bail!("http target must be an http:// or https:// URL, got {url:?}"),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        bail!("no host in {url:?}");
    }
    let (host, has_port) = match authority.rfind(']') {
        Some(close) => (
            authority[..close].trim_start_matches('['),
            authority[close..].contains(':'),
        ),
        None => match authority.rsplit_once(':') {
            Some((host, _)) => (host, true),
            None => (authority, false),
        },
    };
    let socket = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    Ok(HttpUrl {
        socket,
        host_header: authority.to_string(),
        path,
        tls,
        host: host.to_string(),
    })
}

/// Run the load once and collect the results.
pub fn run_once(config: &RunConfig) -> Result<RunResult> {
    let (addr, kind) = resolve(config)?;
    let tls = tls_plan(config)?;
    let https = tls.is_some();
    let threads = config.threads.clamp(1, config.connections.max(1));
    // Held to the end of the run, so that stamping cannot lapse as connections come and go.
    let stamping = Stamping::switch_on(STAMPING_CHECK);
    let plan = Arc::new(Plan {
        kind,
        addr,
        threads,
        connections: config.connections,
        pipeline: config.pipeline.max(1),
        per_request: config.connect_per_request,
        timeout_ns: config.timeout.as_nanos() as u64,
        connect_timeout_ns: config.connect_timeout.as_nanos() as u64,
        size: config.size,
        rate: config.rate,
        arrival: config.arrival,
        warmup_ns: config.warmup.as_nanos() as u64,
        duration_ns: config.duration.map(|d| d.as_nanos() as u64),
        requests: config.requests,
        max_lateness_ns: config.max_lateness.as_nanos() as u64,
        kernel_stamps: stamping.works(),
        tls,
    });
    let gate = Arc::new(StartGate::default());
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for t in 0..threads {
        let (plan, gate, tx) = (plan.clone(), gate.clone(), tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("loadgen-{t}"))
            .spawn(move || worker::run(t, plan, gate, tx))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    drop(tx);

    // Phase 1: connection set-up.
    let progress = Progress::new(config.progress, config.connections, progress_goal(config));
    let mut connect = new_histogram();
    let mut connected = 0;
    let mut connect_failures = 0;
    let mut first_error = None;
    let mut handshakes = Handshakes::default();
    for _ in 0..threads {
        match rx.recv() {
            Ok(Msg::Connected {
                up,
                failures,
                first_error: e,
                connect: h,
                handshakes: tls,
            }) => {
                handshakes.add(&tls);
                connected += up;
                progress.connected(up);
                connect_failures += failures;
                first_error = first_error.or(e);
                let _ = connect.add(&*h);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    if connected == 0 && !config.connect_per_request {
        gate.open(None);
        for h in handles {
            let _ = h.join();
        }
        return Err(RunError::Unreachable {
            target: config.target.clone(),
            reason: first_error.unwrap_or_else(|| "no connection could be made".into()),
        }
        .into());
    }

    // Phase 2: the load, started together.
    let start_ns = match config.start_at {
        Some(unix) => clock::monotonic_at_unix(unix).max(now_ns() + 1_000_000),
        None => now_ns() + 1_000_000,
    };
    gate.open(Some(start_ns));
    let measure_start = start_ns + config.warmup.as_nanos() as u64;
    if !config.warmup.is_zero() {
        progress.warming_up(measure_start);
    }
    let started = clock::unix_at_monotonic(measure_start);
    let wait = measure_start.saturating_sub(now_ns());
    std::thread::sleep(Duration::from_nanos(wait));
    let cpu_before = clock::process_cpu();
    let unstamped_before = rxstamp::unstamped_reads();
    let before_send_before = rxstamp::stamps_before_send();

    progress.measuring(measure_start);
    let mut collector = Collector::new(threads, &progress);
    let mut finished = 0;
    let mut end_ns = measure_start;
    while finished < threads {
        match rx.recv() {
            Ok(Msg::Interval {
                index,
                length_ns,
                recorder,
            }) => collector.add(index, length_ns, &recorder),
            Ok(Msg::Finished {
                end_ns: e,
                first_error: run_error,
            }) => {
                finished += 1;
                progress.draining();
                first_error = first_error.or(run_error);
                end_ns = end_ns.max(e);
            }
            Ok(Msg::Connected { .. }) => {}
            Err(_) => break,
        }
    }
    let cpu_after = clock::process_cpu();
    let unstamped_reads = rxstamp::unstamped_reads().saturating_sub(unstamped_before);
    let stamps_before_send = rxstamp::stamps_before_send().saturating_sub(before_send_before);
    for h in handles {
        let _ = h.join();
    }
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Interval {
            index,
            length_ns,
            recorder,
        } = msg
        {
            collector.add(index, length_ns, &recorder);
        }
    }
    collector.finish();
    let mut total = collector.total;
    total.counters.errors.connect += connect_failures;
    let _ = connect.add(&total.hist.connect);
    // Every established connection's connect time is in the histogram, so it counts them.
    let connects = connect.len();
    let _ = handshakes.hist.add(&total.hist.handshake);
    handshakes.counts += total.counters.tls;
    Ok(RunResult {
        config: config.clone(),
        addr,
        measured_ns: end_ns.saturating_sub(measure_start).max(1),
        total,
        connect,
        connects,
        connected,
        tls: https.then_some(handshakes),
        intervals: collector.intervals,
        cpu_user: cpu_after.0.saturating_sub(cpu_before.0),
        cpu_sys: cpu_after.1.saturating_sub(cpu_before.1),
        started,
        first_error,
        interrupted: crate::interrupt::requested(),
        kernel_stamps: stamping.works(),
        unstamped_reads,
        stamps_before_send,
        conntrack: crate::conntrack::Conntrack::read(),
    })
}

/// When the progress line's measuring phase ends.
fn progress_goal(config: &RunConfig) -> Goal {
    match (config.duration, config.requests) {
        (Some(d), _) => Goal::Time(d.as_nanos() as u64),
        (None, Some(n)) => Goal::Requests(n),
        (None, None) => Goal::Open,
    }
}

/// Adds up interval reports as they arrive, in interval order.
struct Collector<'p> {
    threads: usize,
    progress: &'p Progress,
    pending: std::collections::BTreeMap<u64, (usize, u64, Recorder)>,
    total: Recorder,
    intervals: Vec<Interval>,
}

impl<'p> Collector<'p> {
    fn new(threads: usize, progress: &'p Progress) -> Collector<'p> {
        Collector {
            threads,
            progress,
            pending: Default::default(),
            total: Recorder::default(),
            intervals: Vec::new(),
        }
    }

    fn add(&mut self, index: u64, length_ns: u64, rec: &Recorder) {
        let entry = self
            .pending
            .entry(index)
            .or_insert_with(|| (0, 0, Recorder::default()));
        entry.0 += 1;
        entry.1 = entry.1.max(length_ns);
        entry.2.add(rec);
        // Close every interval that all threads have reported, oldest first.
        while let Some((&first, (count, _, _))) = self.pending.iter().next() {
            if *count < self.threads {
                break;
            }
            if let Some((len, rec)) = self.pending.remove(&first).map(|(_, l, r)| (l, r)) {
                self.close_interval(first, len, rec);
            }
        }
    }

    fn close_interval(&mut self, index: u64, length_ns: u64, rec: Recorder) {
        self.total.add(&rec);
        let iv = Interval {
            index,
            length_ns,
            requests: rec.counters.requests,
            errors: rec.counters.errors.total(),
            latency: rec.hist.latency,
            connect: rec.hist.connect,
            handshake: rec.hist.handshake,
        };
        self.progress.interval(
            length_ns,
            iv.requests,
            self.total.counters.errors.total(),
            self.total.hist.latency.value_at_quantile(0.99),
        );
        self.intervals.push(iv);
    }

    fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        for (index, (_, len, rec)) in rest {
            self.close_interval(index, len, rec);
        }
        self.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = parse_http_url("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(u.socket, "127.0.0.1:8080");
        assert_eq!(u.host_header, "127.0.0.1:8080");
        assert_eq!(u.path, "/a/b?c=d");
        let u = parse_http_url("http://localhost").unwrap();
        assert_eq!((u.socket.as_str(), u.path.as_str()), ("localhost:80", "/"));
        let u = parse_http_url("http://[::1]:81?x").unwrap();
        assert_eq!((u.socket.as_str(), u.path.as_str()), ("[::1]:81", "/?x"));
        assert_eq!(parse_http_url("http://[::1]").unwrap().socket, "[::1]:80");
        assert!(parse_http_url("ftp://x/").is_err());
        assert!(!parse_http_url("http://x/").unwrap().tls);
    }

    #[test]
    fn https_urls_default_to_port_443_and_name_their_host() {
        let u = parse_http_url("https://localhost/x").unwrap();
        assert!(u.tls);
        assert_eq!(
            (u.socket.as_str(), u.host.as_str()),
            ("localhost:443", "localhost")
        );
        let u = parse_http_url("https://[::1]:8443/").unwrap();
        assert_eq!((u.socket.as_str(), u.host.as_str()), ("[::1]:8443", "::1"));
        let u = parse_http_url("https://127.0.0.1:8443").unwrap();
        assert_eq!(
            (u.host.as_str(), u.host_header.as_str()),
            ("127.0.0.1", "127.0.0.1:8443")
        );
    }
}
