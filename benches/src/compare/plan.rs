//! What the comparison runs: the designs, the scenarios and the two profiles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

/// One server design under test: a binary and the arguments that select the design.
#[derive(Debug, Clone, Serialize)]
pub struct Design {
    /// Short name used in tables and charts.
    pub name: String,
    /// One line on the model, for the report.
    pub about: String,
    /// The executable.
    pub bin: PathBuf,
    /// Arguments before the `--tcp/--udp/--http` flags.
    pub args: Vec<String>,
}

/// The designs found in `bin_dir` (the release build): the reactor, the reactor with
/// `--threads 2` when its `--help` offers that flag, and each alternative in `benches/`.
pub fn designs(bin_dir: &Path, reactor_has_threads: bool, uring: bool) -> Vec<Design> {
    let d = |name: &str, about: &str, bin: &str, args: &[&str]| Design {
        name: name.into(),
        about: about.into(),
        bin: bin_dir.join(bin),
        args: args.iter().map(|s| s.to_string()).collect(),
    };
    let mut all = vec![d(
        "reactor",
        "single-threaded mio reactor (server/)",
        "reactor-server",
        &[],
    )];
    if reactor_has_threads {
        all.push(d(
            "reactor-x2",
            "2 mio reactors sharing nothing, SO_REUSEPORT (server/ --threads 2)",
            "reactor-server",
            &["--threads", "2"],
        ));
    }
    all.push(d(
        "threads",
        "thread per connection, blocking std::net",
        "design-threads",
        &[],
    ));
    all.push(d(
        "tokio-current",
        "tokio current_thread runtime, task per connection",
        "design-tokio",
        &["--flavor", "current"],
    ));
    all.push(d(
        "tokio-multi",
        "tokio multi-thread runtime (workers = cores it may use), task per connection",
        "design-tokio",
        &["--flavor", "multi"],
    ));
    if uring {
        all.push(d(
            "uring",
            "io_uring, single thread, completion-based",
            "design-uring",
            &[],
        ));
    }
    all
}

/// Which service a scenario drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1 hello, keep-alive.
    Http,
}

impl Proto {
    /// The name used by the server flags, `listening` lines and the load generator.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Http => "http",
        }
    }
}

/// How much load a scenario offers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Load {
    /// Closed loop: each connection sends its next request as soon as the answer arrives.
    Closed,
    /// Open loop at the same fixed rate for every design, derived from the closed-loop
    /// results of `from` (a share of the slowest design's median throughput there).
    OpenDerived {
        /// The scenario whose throughput sets the rate.
        from: &'static str,
        /// Share of the slowest design's median req/s.
        share: f64,
    },
}

/// One load shape, run against every design.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Stable identifier (file names, JSON).
    pub id: &'static str,
    /// Human title.
    pub title: &'static str,
    /// What it measures, in a sentence.
    pub why: &'static str,
    /// Service driven.
    pub proto: Proto,
    /// Connections (UDP: connected sockets).
    pub conns: usize,
    /// Payload bytes per request (TCP/UDP; HTTP uses the hello route).
    pub size: usize,
    /// Closed or open loop.
    pub load: Load,
}

/// The fixed scenario set from issue 5, in the order they run.
pub fn scenarios() -> Vec<Scenario> {
    let s = |id, title, why, proto, conns, size, load| Scenario {
        id,
        title,
        why,
        proto,
        conns,
        size,
        load,
    };
    vec![
        s(
            "tcp-64b-1c",
            "TCP echo 64 B, 1 connection",
            "latency floor: one round trip at a time",
            Proto::Tcp,
            1,
            64,
            Load::Closed,
        ),
        s(
            "tcp-64b-64c",
            "TCP echo 64 B, 64 connections",
            "throughput with moderate concurrency",
            Proto::Tcp,
            64,
            64,
            Load::Closed,
        ),
        s(
            "tcp-64b-1000c",
            "TCP echo 64 B, 1,000 connections",
            "many connections: per-connection cost",
            Proto::Tcp,
            1000,
            64,
            Load::Closed,
        ),
        s(
            "tcp-16k-64c",
            "TCP echo 16 KiB, 64 connections",
            "bulk data: copies and buffer handling",
            Proto::Tcp,
            64,
            16 * 1024,
            Load::Closed,
        ),
        s(
            "udp-64b",
            "UDP echo 64 B, 16 sockets",
            "datagram path",
            Proto::Udp,
            16,
            64,
            Load::Closed,
        ),
        s(
            "http-64c",
            "HTTP keep-alive GET /, 64 connections",
            "HTTP parsing and response through the shared session",
            Proto::Http,
            64,
            0,
            Load::Closed,
        ),
        s(
            "tcp-64b-64c-open",
            "TCP echo 64 B, 64 connections, fixed rate (open loop)",
            "tail latency at equal offered load",
            Proto::Tcp,
            64,
            64,
            Load::OpenDerived {
                from: "tcp-64b-64c",
                share: 0.5,
            },
        ),
    ]
}

/// How long and how often each scenario runs.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// "quick" or "full".
    pub name: &'static str,
    /// Discarded run before the measured ones.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// Length of each measured run.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Measured runs per scenario and design (the report gives median and min–max).
    pub repeats: usize,
}

impl Profile {
    /// About two minutes for five designs: for CI and a first look.
    pub fn quick() -> Profile {
        Profile {
            name: "quick",
            warmup: Duration::from_millis(300),
            duration: Duration::from_millis(700),
            repeats: 3,
        }
    }

    /// Longer runs and more repeats, for numbers worth publishing (about 15 minutes).
    pub fn full() -> Profile {
        Profile {
            name: "full",
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(4),
            repeats: 5,
        }
    }
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}
