//! `reactor-loadgen`: a load generator for TCP echo, UDP echo and HTTP/1.1 servers whose
//! latency numbers can be trusted.
//!
//! # Design
//! - **Threads own everything.** `-t` threads each run one `mio` poll loop over their own
//!   connections ([`worker`]) and record into their own HdrHistograms ([`stats`]); once a second
//!   each moves its interval's recorder to the collector ([`run`]) over a channel. No locks or
//!   shared counters on the hot path; histograms are combined only by adding counts.
//! - **Sans-IO protocols.** Request encoding, response framing and byte-for-byte verification
//!   live in [`workload`] (TCP echo, UDP echo, HTTP/1.1) and are unit-tested without sockets.
//! - **Honest time.** One monotonic nanosecond clock ([`clock`]). In open loop every request has
//!   an intended send time on an absolute schedule ([`schedule`]); the loop checks the vDSO
//!   clock between batches of I/O and paces by its lateness budget (`--max-lateness`) and the
//!   machine's measured wake-up overshoot: when a sleep fits the budget it sleeps through I/O
//!   (`clock_nanosleep`) and sends every request due by then in one pass; when it does not, it
//!   wakes early and waits the rest on the clock. Responses carry the kernel's arrival stamps
//!   (`SO_TIMESTAMPNS`), so reading them late changes nothing. Latency is measured from the
//!   intended time (coordinated omission corrected), beside service time (from the actual send)
//!   and send lag. A timed-out request is counted and its latency recorded, never dropped.
//! - **A connection per request.** `--connect-per-request` gives each request its own
//!   connection (connect, exchange, verify, close, as the seeds' clients do), with connect time
//!   in its own histogram, failures counted by kind and, on loopback, source addresses spread
//!   over 127.0.0.0/8 so churn does not exhaust local ports.
//! - **HTTPS.** `https://` targets speak TLS 1.3/1.2 through rustls, a sans-IO layer between
//!   the socket and the HTTP framing ([`worker::tls`]), configured in [`mod@tls`]: verified
//!   against the system roots, `--cacert` or not at all (`--insecure`), sessions resumed per
//!   thread (`--tls-resume`), the handshake timed and counted apart from the connect.
//! - **Self-check.** The generator splits send lag into its own schedule lateness and the wait
//!   for a free connection, measures its CPU and how busy its loop was, and marks a run invalid,
//!   naming itself, when it rather than the server was the bottleneck ([`report`]).
//! - **Progress.** On a terminal, a line on stderr with the phase, time left, rate, p99 and
//!   errors, fed by the collector's messages ([`progress`]); nothing of it off a terminal.
//! - **Outputs.** Human summary and versioned JSON ([`report`]), standard HdrHistogram interval
//!   logs and their merge ([`hdrlog`]), the `--find-max` search ([`findmax`]), and `probe`
//!   ([`mod@probe`]): what the machine itself allows (wake-up overshoot, CPU stalls).

#![warn(missing_docs)]

pub mod ci;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod conntrack;
pub mod findmax;
pub mod hdrlog;
pub mod interrupt;
pub mod probe;
pub mod progress;
pub mod report;
pub mod run;
pub mod schedule;
pub mod stats;
pub mod tls;
pub mod tls_report;
pub mod tls_sessions;
pub mod tls_stats;
pub mod units;
pub mod validate;
pub mod worker;
pub mod workload;
