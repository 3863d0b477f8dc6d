//! Every command-line flag, its environment fallback and its default, in one place.
//!
//! Each limit and timeout is documented with its default, so an operator can see what the
//! server does without reading the code. Addresses default to loopback: listening on every
//! interface is an explicit choice (`--tcp 0.0.0.0:7000` or `HOST=0.0.0.0`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Default TCP and UDP echo port when only a host is known.
pub const DEFAULT_ECHO_PORT: u16 = 7000;
/// Default HTTP port when neither `--http` nor `PORT` says otherwise.
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// How the values of flags are written, after the flags in `--help` and the man page.
const VALUE_FORMS: &str = "\
Values:
  ADDR      HOST:PORT, [IPv6]:PORT or PORT (bound on --host), e.g. 127.0.0.1:8080
  N         a whole number, or one with k (thousand) or M (million): 100, 16k
  SIZE      a number of bytes (65536) or one with a unit: 64KiB, 8MiB, 1GiB
            (KiB, MiB, GiB are powers of 1024; KB, MB, GB powers of 1000)
  DURATION  a number of seconds (30) or one with a unit: 250ms, 30s, 1m30s";

/// Largest byte size a memory limit takes: 1 TiB, far above any machine this runs on, and
/// below what a `usize` holds on a 64-bit target.
const MAX_BYTES: u64 = 1 << 40;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `2026-11-23T19:00:00Z INFO message` lines for people.
    Text,
    /// One JSON object per line, for cloud log collectors.
    Json,
}

/// A single-threaded mio reactor serving TCP echo, UDP echo and HTTP/1.1 "Hello, client!".
///
/// With no listener flag at all, all three listen on loopback: TCP and UDP echo on port 7000,
/// HTTP on 8080 (or `$PORT`). `HOST` changes the default host. Naming any listener starts only
/// the ones named. Port 0 picks a free port; the bound addresses are printed on stdout as
/// `listening <tcp|udp|http> <addr>`.
#[derive(Debug, Clone, Parser)]
#[command(name = "reactor-server", version = reactor_cli::VERSION, about, long_about = None,
          after_help = VALUE_FORMS)]
pub struct Config {
    /// TCP echo listener: `HOST:PORT`, `[V6]:PORT` or a bare port (bound on `HOST`).
    #[arg(long, value_name = "ADDR", env = "REACTOR_TCP")]
    pub tcp: Option<String>,

    /// UDP echo socket: `HOST:PORT`, `[V6]:PORT` or a bare port (bound on `HOST`).
    #[arg(long, value_name = "ADDR", env = "REACTOR_UDP")]
    pub udp: Option<String>,

    /// HTTP/1.1 listener: `HOST:PORT`, `[V6]:PORT` or a bare port (bound on `HOST`).
    #[arg(long, value_name = "ADDR", env = "REACTOR_HTTP")]
    pub http: Option<String>,

    /// HTTPS listener (HTTP/1.1 over TLS 1.3 or 1.2): `HOST:PORT`, `[V6]:PORT` or a bare port;
    /// needs `--tls-cert` and `--tls-key`.
    #[arg(long, value_name = "ADDR", env = "REACTOR_HTTPS")]
    pub https: Option<String>,

    /// HTTPS: the certificate chain, PEM (the server's certificate first).
    #[arg(long, value_name = "PEM", env = "REACTOR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// HTTPS: the certificate's private key, PEM (PKCS#8, SEC1 EC or PKCS#1 RSA).
    #[arg(long, value_name = "PEM", env = "REACTOR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// HTTPS: close a connection whose TLS handshake is not complete this long after it was
    /// accepted (0 = never).
    #[arg(long, value_name = "DURATION", env = "REACTOR_TLS_HANDSHAKE_TIMEOUT", default_value = "5s",
          value_parser = reactor_cli::parse_duration)]
    pub tls_handshake_timeout: Duration,

    /// Host that bare ports and the default listeners bind to (the container/cloud convention).
    #[arg(long, value_name = "IP", env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST),
          value_parser = parse_ip)]
    pub host: IpAddr,

    /// Port of the default HTTP listener (cloud platforms route HTTP traffic to `$PORT`).
    #[arg(long, value_name = "PORT", env = "PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Reactor threads. Each runs its own poll loop and connection table on its own sockets,
    /// bound with SO_REUSEPORT so the kernel spreads connections and datagrams over them.
    #[arg(long, value_name = "N", env = "REACTOR_THREADS", default_value_t = 1,
          value_parser = reactor_cli::count::<u16>(1..=1024))]
    pub threads: u16,

    /// Listen backlog of each TCP listener (the kernel caps it at net.core.somaxconn).
    #[arg(long, value_name = "N", env = "REACTOR_BACKLOG", default_value_t = 4096,
          value_parser = reactor_cli::count::<i32>(1..=i32::MAX as u64))]
    pub backlog: i32,

    /// Most TCP connections (echo and HTTP together) one reactor holds; further connections
    /// are accepted and closed at once, and counted as rejected.
    #[arg(long, value_name = "N", env = "REACTOR_MAX_CONNS", default_value_t = 16_384,
          value_parser = reactor_cli::count::<u32>(1..=1 << 24))]
    pub max_conns: u32,

    /// Bytes a connection may owe its peer before the server stops reading from it.
    #[arg(long, value_name = "SIZE", env = "REACTOR_MAX_OUTPUT", default_value = "64KiB",
          value_parser = reactor_cli::byte_size::<u32>(1..=u32::MAX.into()))]
    pub max_output: u32,

    /// Close connections idle for longer than this (0 = never).
    #[arg(long, value_name = "DURATION", env = "REACTOR_IDLE_TIMEOUT", default_value = "60s",
          value_parser = reactor_cli::parse_duration)]
    pub idle_timeout: Duration,

    /// Close connections whose output stayed at the cap (peer not reading) this long (0 = never).
    #[arg(long, value_name = "DURATION", env = "REACTOR_WRITE_TIMEOUT", default_value = "30s",
          value_parser = reactor_cli::parse_duration)]
    pub write_timeout: Duration,

    /// On SIGINT/SIGTERM, how long to keep flushing owed output before exiting anyway.
    #[arg(long, value_name = "DURATION", env = "REACTOR_DRAIN_TIMEOUT", default_value = "5s",
          value_parser = reactor_cli::parse_duration)]
    pub drain_timeout: Duration,

    /// HTTP: close with 408 a client that has not finished its request headers this long
    /// after starting them (slowloris protection).
    #[arg(long, value_name = "DURATION", env = "REACTOR_HEADER_TIMEOUT", default_value = "10s",
          value_parser = reactor_cli::parse_duration)]
    pub header_timeout: Duration,

    /// HTTP: close with 408 a client that has not sent its whole request body this long after
    /// its head (slow-POST protection; 0 = never).
    #[arg(long, value_name = "DURATION", env = "REACTOR_BODY_TIMEOUT", default_value = "30s",
          value_parser = reactor_cli::parse_duration)]
    pub body_timeout: Duration,

    /// HTTP: request bytes all connections together may buffer (across threads); a request
    /// whose body does not fit is refused with 503 and `Retry-After`.
    #[arg(long, value_name = "SIZE", env = "REACTOR_MAX_BUFFERED", default_value = "256MiB",
          value_parser = reactor_cli::byte_size::<usize>(0..=MAX_BYTES))]
    pub max_buffered: usize,

    /// HTTP: largest request head (request line plus headers) before 431; 1 to 1MiB (1048576,
    /// the ceiling: a head is buffered whole until complete).
    #[arg(long, value_name = "SIZE", env = "REACTOR_MAX_HEADER_BYTES", default_value = "8KiB",
          value_parser = reactor_cli::byte_size::<usize>(
              1..=reactor_proto::http::MAX_HEADER_BYTES_CEILING as u64))]
    pub max_header_bytes: usize,

    /// HTTP: largest request body (`Content-Length` or decoded chunked) before 413.
    #[arg(long, value_name = "SIZE", env = "REACTOR_MAX_BODY", default_value = "1MiB",
          value_parser = reactor_cli::byte_size::<usize>(0..=MAX_BYTES))]
    pub max_body: usize,

    /// UDP: largest datagram echoed; larger ones are dropped and counted, never echoed
    /// truncated.
    #[arg(long, value_name = "SIZE", env = "REACTOR_MAX_DATAGRAM", default_value_t = reactor_proto::udp::MAX_UDP_PAYLOAD_V4,
          value_parser = reactor_cli::byte_size::<usize>(1..=65_535))]
    pub max_datagram: usize,

    /// UDP: datagrams held while the socket cannot send; beyond this they are dropped and
    /// counted.
    #[arg(long, value_name = "N", env = "REACTOR_UDP_QUEUE", default_value_t = 1024,
          value_parser = reactor_cli::count::<usize>(0..=1 << 24))]
    pub udp_queue: usize,

    /// Bytes read from one connection per readiness event before others get a turn.
    #[arg(long, value_name = "SIZE", env = "REACTOR_READ_BUDGET", default_value = "256KiB",
          value_parser = reactor_cli::byte_size::<usize>(1..=u32::MAX.into()))]
    pub read_budget: usize,

    /// Connections accepted per listener readiness event before others get a turn.
    #[arg(long, value_name = "N", env = "REACTOR_ACCEPT_BUDGET", default_value_t = 64,
          value_parser = reactor_cli::count::<usize>(1..=u32::MAX.into()))]
    pub accept_budget: usize,

    /// Log the counters this often (0 = only at exit). Verbosity follows `RUST_LOG`.
    #[arg(long, value_name = "DURATION", env = "REACTOR_STATS_INTERVAL", default_value = "30s",
          value_parser = reactor_cli::parse_duration)]
    pub stats_interval: Duration,

    /// Log line format on stderr.
    #[arg(long, value_enum, env = "REACTOR_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Prometheus metrics on their own listener (`GET /metrics`), for a server that runs echo
    /// only; the HTTP listener serves `/metrics` too.
    #[arg(long, value_name = "ADDR", env = "REACTOR_METRICS")]
    pub metrics: Option<String>,

    /// Instead of serving: GET /healthz from the HTTP server at ADDR, exit 0 if it answers
    /// 200 (for container HEALTHCHECKs in images without curl).
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["tcp", "udp"])]
    pub health_check: Option<String>,

    /// Instead of serving: write a man page or a shell completion script to stdout (other
    /// flags and the environment, e.g. a container's HOST and PORT, are ignored).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub generate: Option<reactor_cli::Generate>,
}

/// The listeners to open, resolved from flags, `HOST` and `PORT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenPlan {
    /// TCP echo address.
    pub tcp: Option<SocketAddr>,
    /// UDP echo address.
    pub udp: Option<SocketAddr>,
    /// HTTP address.
    pub http: Option<SocketAddr>,
    /// HTTPS address.
    pub https: Option<SocketAddr>,
    /// Metrics-only HTTP address (`--metrics`); never opened by default.
    pub metrics: Option<SocketAddr>,
}

/// A listener address that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid --{what} address {given:?}: expected HOST:PORT, [IPv6]:PORT or PORT, e.g. 127.0.0.1:8080")]
pub struct BadAddress {
    what: &'static str,
    given: String,
}

impl Config {
    /// Works out which sockets to bind. Naming any listener opens only those named;
    /// naming none opens all three on their defaults.
    pub fn listen_plan(&self) -> Result<ListenPlan, BadAddress> {
        let any_named =
            self.tcp.is_some() || self.udp.is_some() || self.http.is_some() || self.https.is_some();
        let default = |port| if any_named { None } else { Some(port) };
        let http_default = self.port.unwrap_or(DEFAULT_HTTP_PORT);
        Ok(ListenPlan {
            tcp: self.resolve("tcp", self.tcp.as_deref(), default(DEFAULT_ECHO_PORT))?,
            udp: self.resolve("udp", self.udp.as_deref(), default(DEFAULT_ECHO_PORT))?,
            http: self.resolve("http", self.http.as_deref(), default(http_default))?,
            https: self.resolve("https", self.https.as_deref(), None)?,
            metrics: self.resolve("metrics", self.metrics.as_deref(), None)?,
        })
    }

    fn resolve(
        &self,
        what: &'static str,
        given: Option<&str>,
        default_port: Option<u16>,
    ) -> Result<Option<SocketAddr>, BadAddress> {
        match given {
            Some(text) => parse_listen_addr(text, self.host)
                .map(Some)
                .ok_or_else(|| BadAddress {
                    what,
                    given: text.to_owned(),
                }),
            None => Ok(default_port.map(|port| SocketAddr::new(self.host, port))),
        }
    }
}

/// `--host`: an IP address; the error names the form.
fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not an IP address: expected e.g. 127.0.0.1, 0.0.0.0 or ::")
    })
}

/// `--port`: a port number; the error names the form.
fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a port: expected a number from 0 to 65535"))
}

/// Parses `HOST:PORT`, `[V6]:PORT` or a bare `PORT` (bound on `host`). `localhost` is taken as
/// 127.0.0.1 so no resolver is needed.
pub fn parse_listen_addr(text: &str, host: IpAddr) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Some(SocketAddr::new(host, port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        return Some(SocketAddr::new(
            Ipv4Addr::LOCALHOST.into(),
            port.parse().ok()?,
        ));
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["reactor-server"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).expect("valid flags")
    }

    #[test]
    fn no_listener_flags_open_all_three_on_loopback() {
        let mut c = config(&[]);
        c.port = None;
        c.host = Ipv4Addr::LOCALHOST.into();
        let plan = c.listen_plan().expect("plan");
        assert_eq!(plan.tcp, Some("127.0.0.1:7000".parse().expect("addr")));
        assert_eq!(plan.udp, Some("127.0.0.1:7000".parse().expect("addr")));
        assert_eq!(plan.http, Some("127.0.0.1:8080".parse().expect("addr")));
    }

    #[test]
    fn naming_one_listener_opens_only_that_one() {
        let plan = config(&["--tcp", "127.0.0.1:0"])
            .listen_plan()
            .expect("plan");
        assert_eq!(plan.tcp, Some("127.0.0.1:0".parse().expect("addr")));
        assert_eq!(plan.udp, None);
        assert_eq!(plan.http, None);
    }

    #[test]
    fn host_and_port_shape_the_defaults() {
        let mut c = config(&[]);
        c.host = "0.0.0.0".parse().expect("ip");
        c.port = Some(9999);
        let plan = c.listen_plan().expect("plan");
        assert_eq!(plan.http, Some("0.0.0.0:9999".parse().expect("addr")));
        assert_eq!(plan.tcp, Some("0.0.0.0:7000".parse().expect("addr")));
    }

    #[test]
    fn addresses_parse_in_all_forms() {
        let host: IpAddr = "10.1.2.3".parse().expect("ip");
        assert_eq!(
            parse_listen_addr("80", host),
            Some("10.1.2.3:80".parse().expect("a"))
        );
        assert_eq!(
            parse_listen_addr("[::1]:0", host),
            Some("[::1]:0".parse().expect("a"))
        );
        assert_eq!(
            parse_listen_addr("localhost:5", host),
            Some("127.0.0.1:5".parse().expect("a"))
        );
        assert_eq!(parse_listen_addr("nonsense", host), None);
        assert_eq!(parse_listen_addr("1.2.3.4:99999", host), None);
    }

    #[test]
    fn byte_sizes_take_units_and_plain_numbers() {
        let c = config(&[
            "--max-buffered",
            "8MiB",
            "--max-body",
            "64KiB",
            "--max-output",
            "4096",
            "--read-budget",
            "1MB",
        ]);
        assert_eq!(c.max_buffered, 8 << 20);
        assert_eq!(c.max_body, 64 << 10);
        assert_eq!(c.max_output, 4096);
        assert_eq!(c.read_budget, 1_000_000);
        let defaults = config(&[]);
        assert_eq!(defaults.max_buffered, 256 << 20);
        assert_eq!(defaults.max_header_bytes, 8 << 10);
        assert_eq!(
            defaults.max_datagram,
            reactor_proto::udp::MAX_UDP_PAYLOAD_V4
        );
    }

    #[test]
    fn a_bad_byte_size_names_the_flag_and_the_form() {
        let err = Config::try_parse_from(["reactor-server", "--max-buffered", "8 parsecs"])
            .expect_err("rejected")
            .to_string();
        assert!(
            err.contains("--max-buffered") && err.contains("8MiB"),
            "{err}"
        );
        let err = Config::try_parse_from(["reactor-server", "--max-datagram", "64KiB"])
            .expect_err("over 65535")
            .to_string();
        assert!(err.contains("1..=65535"), "{err}");
    }

    #[test]
    fn bad_address_is_an_error_not_a_panic() {
        let err = config(&["--tcp", "nope"]).listen_plan().unwrap_err();
        assert!(err.to_string().contains("invalid --tcp address"));
        assert!(err.to_string().contains("e.g. 127.0.0.1:8080"));
    }
}
