//! Every command-line flag, in one place, each documented once.
//!
//! The parsed [`Cli`] is turned into a [`crate::run::RunConfig`] by `main`; nothing else reads
//! the command line.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit statuses, in `--help` and the man page; a script tells a valid measurement from
/// an invalid or interrupted one by the status alone.
pub const EXIT_CODES: &str = "\
Exit status:
  0    a valid measurement
  1    no measurement: the target could not be reached, or no request completed
  2    the command line is wrong (a flag, a value, or a combination; nothing was sent)
  3    verification failed: a response differed from what was sent
  4    the error rate passed --max-error-rate
  5    measured, but the self-check marked the run invalid (the summary says why)
  130  interrupted by Ctrl-C: the summary, --json and --hdr-log are of what was measured";

/// `reactor-loadgen <tcp|udp|http> <target> [options]` or `reactor-loadgen merge A.hlog B.hlog`.
#[derive(Debug, Parser)]
#[command(
    name = "reactor-loadgen",
    version = reactor_cli::VERSION,
    arg_required_else_help = true,
    after_help = EXIT_CODES,
    about = "Load generator for TCP echo, UDP echo and HTTP/1.1 (and HTTPS) servers with coordinated-omission-correct latency"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Instead of a run: write a man page or a shell completion script to stdout.
    #[arg(long, value_enum, value_name = "WHAT", exclusive = true)]
    pub generate: Option<reactor_cli::Generate>,

    /// Instead of a run: write the man pages of the command and of every subcommand
    /// (reactor-loadgen.1, reactor-loadgen-tcp.1, ...) into DIR.
    #[arg(long, value_name = "DIR", exclusive = true)]
    pub man_dir: Option<PathBuf>,
}

/// Duration flags: a bare number is seconds (`-d 10`), or a value with a unit (`500ms`, `2m`).
fn duration_arg(text: &str) -> Result<humantime::Duration, String> {
    reactor_cli::parse_duration(text).map(humantime::Duration::from)
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// TCP echo: send --size byte messages, wait until every byte came back, verify each byte.
    #[command(after_help = EXIT_CODES)]
    Tcp(RunArgs),
    /// UDP echo: datagrams with sequence numbers; loss, reordering and duplicates are counted.
    #[command(after_help = EXIT_CODES)]
    Udp(RunArgs),
    /// HTTP/1.1 keep-alive requests against a URL such as http://127.0.0.1:8080/, or over TLS
    /// against https://127.0.0.1:8443/.
    #[command(after_help = EXIT_CODES)]
    Http(HttpArgs),
    /// Add the histograms of several --hdr-log files (from several machines) into one.
    Merge(MergeArgs),
    /// Measure what this machine allows an open-loop generator: how late timed waits return,
    /// and how often a spinning thread loses its CPU (run it pinned where the load would run).
    Probe(ProbeArgs),
}

/// Options shared by every workload.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Target: HOST:PORT for tcp and udp, a http:// or https:// URL for http.
    pub target: String,

    /// Connections in total (UDP: connected sockets), spread over the threads.
    #[arg(short = 'c', long, default_value_t = 10, value_parser = reactor_cli::count::<usize>(0..=u32::MAX.into()))]
    pub connections: usize,

    /// Threads; each runs its own mio poll loop and owns its connections.
    #[arg(short = 't', long, default_value_t = 1, value_parser = reactor_cli::count::<usize>(0..=u32::MAX.into()))]
    pub threads: usize,

    /// Measured duration (10s, 500ms, 2m). Default 10s unless --requests is given.
    #[arg(short = 'd', long, value_parser = duration_arg)]
    pub duration: Option<humantime::Duration>,

    /// Run this long before measuring; nothing done during warm-up is recorded.
    #[arg(long, default_value = "0s", value_parser = duration_arg)]
    pub warmup: humantime::Duration,

    /// Stop after this many measured requests in total (split evenly over threads): `5000`,
    /// `10k`, `1M`.
    #[arg(long, value_parser = reactor_cli::count::<u64>(0..=u64::MAX - 1))]
    pub requests: Option<u64>,

    /// Requests in flight per connection.
    #[arg(long, default_value_t = 1, value_parser = reactor_cli::count::<usize>(0..=u32::MAX.into()))]
    pub pipeline: usize,

    /// A new connection for every request: connect, send, read and verify the whole answer,
    /// close (tcp: the client closes first; http: the request says `Connection: close`).
    /// -c is then the number of requests in flight. On a 127.0.0.0/8 target the source
    /// address of each connection is spread over 127.0.0.0/8 (bind to 127.x.y.z:0 before
    /// connect), so churn does not run out of local ports; on any other target the kernel
    /// picks the source address and port as usual. Needs --pipeline 1.
    #[arg(long)]
    pub connect_per_request: bool,

    /// Per-request timeout; a timed-out request is counted and its latency still recorded.
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    pub timeout: humantime::Duration,

    /// Time allowed to establish a connection (UDP: to get the first echo back); over https
    /// it bounds the TLS handshake too, which is timed from the end of the connect.
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    pub connect_timeout: humantime::Duration,

    /// Payload size of tcp/udp messages: N bytes, or MIN..MAX for a random size per message;
    /// a size takes a unit too (`64`, `1KiB`, `16..4KiB`).
    #[arg(long, default_value = "64")]
    pub size: SizeSpec,

    /// Open loop: offered rate in requests per second in total (`5000`, `10k`, `1.5M`).
    /// Without it: closed loop.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Open-loop arrival process.
    #[arg(long, value_enum, default_value_t = Arrival::Uniform)]
    pub arrival: Arrival,

    /// Open-loop lateness limit: the run is invalid when the p99 schedule lateness (or, with
    /// the generator saturated, the p99 wait for a connection) exceeds this. The engine paces
    /// by half of it: it sleeps past a send time by what that leaves after the machine's
    /// wake-up overshoot, batching sends into fewer wake-ups, or spins when nothing is left.
    #[arg(long, default_value = "1ms", value_parser = duration_arg)]
    pub max_lateness: humantime::Duration,

    /// Keep idle CPUs polling instead of halting for the run, through the kernel's PM QoS
    /// (`/dev/cpu_dma_latency` held at 0 µs, as cyclictest does; needs root). Timed waits then
    /// cost less CPU and return sooner where a halt is expensive, as on a VM. The request
    /// covers every CPU, the server's too, and burns power while idle; the report says so.
    #[arg(long)]
    pub idle_poll: bool,

    /// Kept for old scripts: an invalid run always exits 5 now.
    #[arg(long, hide = true)]
    pub strict: bool,

    /// Ramp and bisect the offered rate to the highest one meeting --slo.
    #[arg(long, requires = "slo")]
    pub find_max: bool,

    /// Latency objective for --find-max, e.g. p99=1ms or p99.9=5ms.
    #[arg(long)]
    pub slo: Option<Slo>,

    /// Write the result as JSON (schema in loadgen/README.md) to this path; `-` for stdout
    /// (the summary then goes to stderr).
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Write per-second latency histograms as a standard HdrHistogram interval log to this
    /// path; `-` for stdout (the summary then goes to stderr).
    #[arg(long)]
    pub hdr_log: Option<PathBuf>,

    /// Tag of the histograms in --hdr-log (default: the host name).
    #[arg(long)]
    pub tag: Option<String>,

    /// Start measuring at this Unix time (seconds, fractions allowed), to synchronise generators.
    #[arg(long, value_parser = parse_unix_time)]
    pub start_at: Option<f64>,

    /// Fail when errors exceed this share of requests: 0.01 or 1%.
    #[arg(long, value_parser = parse_ratio)]
    pub max_error_rate: Option<f64>,
}

/// HTTP options on top of [`RunArgs`].
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// The shared options; the target is a http:// or https:// URL.
    #[command(flatten)]
    pub run: RunArgs,

    /// https: trust the certificates in this PEM file (a CA, or a self-signed server
    /// certificate) instead of the system's roots.
    #[arg(long, value_name = "PEM", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// https: do not verify the server's certificate (the handshake is still real TLS). The
    /// summary and the JSON say so.
    #[arg(long, short = 'k')]
    pub insecure: bool,

    /// https: resume TLS sessions across a thread's connections (tickets or session IDs), as
    /// browsers, curl and wrk do; `off` makes every handshake a full one. Matters with
    /// --connect-per-request, where every request brings its own handshake.
    #[arg(long, value_enum, value_name = "on|off", default_value_t = Switch::On)]
    pub tls_resume: Switch,

    /// Request method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,

    /// Extra request header "Name: value"; may be repeated.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Request body (sent with a Content-Length).
    #[arg(long)]
    pub body: Option<String>,
}

/// Arguments of `merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Interval logs written by --hdr-log.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,

    /// Also write the sum as a one-interval log here; `-` for stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,

    /// Write the merged percentiles as JSON here; `-` for stdout.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Arguments of `probe`.
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// How long to probe: half in timed waits, half spinning.
    #[arg(short = 'd', long, default_value = "2s", value_parser = duration_arg)]
    pub duration: humantime::Duration,

    /// Probe with idle CPUs polling instead of halting, as `--idle-poll` runs them.
    #[arg(long)]
    pub idle_poll: bool,

    /// Write the measurements as JSON here; `-` for stdout.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// A feature switched on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// Open-loop inter-arrival distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arrival {
    /// Evenly spaced sends.
    Uniform,
    /// Exponentially distributed gaps (a Poisson process).
    Poisson,
}

/// Payload size: fixed or uniformly random in an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeSpec {
    /// Smallest size in bytes.
    pub min: usize,
    /// Largest size in bytes.
    pub max: usize,
}

impl FromStr for SizeSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |v: &str| {
            let bytes = reactor_cli::parse_bytes(v)?;
            usize::try_from(bytes).map_err(|_| format!("{v:?} is too large a size"))
        };
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (parse(a)?, parse(b.trim_start_matches('='))?),
            None => (parse(s)?, parse(s)?),
        };
        if min == 0 || min > max {
            return Err(format!(
                "size must be N or MIN..MAX with 0 < MIN <= MAX (bytes, e.g. 64, 1KiB or 16..4KiB), got {s:?}"
            ));
        }
        Ok(SizeSpec { min, max })
    }
}

/// A latency objective such as `p99=1ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// Quantile in 0..1 (p99 is 0.99).
    pub quantile: f64,
    /// Bound on that quantile of the corrected latency, nanoseconds.
    pub limit_ns: u64,
}

impl FromStr for Slo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (q, d) = s
            .split_once('=')
            .ok_or_else(|| format!("expected pNN=DURATION, e.g. p99=1ms, got {s:?}"))?;
        let pct: f64 = q
            .strip_prefix('p')
            .ok_or_else(|| format!("expected a percentile like p99, got {q:?}"))?
            .parse()
            .map_err(|e| format!("bad percentile {q:?}: {e}"))?;
        if !(0.0..100.0).contains(&pct) {
            return Err(format!("percentile must be below 100, got {q:?}"));
        }
        if d.trim().parse::<f64>().is_ok() {
            return Err(format!(
                "the threshold {d:?} needs a unit: write {q}={d}ms, {q}={d}us or {q}={d}s"
            ));
        }
        let limit = reactor_cli::parse_duration(d)?;
        Ok(Slo {
            quantile: pct / 100.0,
            limit_ns: limit.as_nanos() as u64,
        })
    }
}

/// Parse a rate: a plain number, or one with an SI suffix (`10k` = 10,000, `1.5M` =
/// 1,500,000), optionally followed by `/s`.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    let value = number.trim().parse::<f64>().map_err(|_| {
        format!("bad rate {s:?}: write requests per second, e.g. 5000, 10k or 1.5M")
    })? * scale;
    if !(value > 0.0 && value.is_finite()) {
        return Err(format!("the rate must be a positive number, got {s:?}"));
    }
    Ok(value)
}

/// `--start-at`: Unix time in seconds, fractions allowed; the error names the form.
fn parse_unix_time(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!(
            "bad time {s:?}: expected Unix seconds, e.g. 1767225600 or 1767225600.5 \
             (`$(( $(date +%s) + 10 ))` is ten seconds from now)"
        )),
    }
}

/// Parse `0.01` or `1%` into a ratio.
fn parse_ratio(s: &str) -> Result<f64, String> {
    let value = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => s.trim().parse::<f64>(),
    }
    .map_err(|_| format!("bad ratio {s:?}: expected a share such as 0.01 or 1%"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "ratio must be within 0..1 (or 0%..100%), got {s:?}"
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
