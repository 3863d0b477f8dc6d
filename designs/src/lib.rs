//! Alternative server designs, compared against the mio reactor in `server/`.
//!
//! Each binary in `src/bin/` is one concurrency model serving the same three services through
//! the same protocol code (`reactor_proto`): TCP echo, UDP echo and the HTTP/1.1 hello. They are
//! kept short and idiomatic for their model so that the comparison measures the model, not the
//! effort spent on one contender. This library holds what every design shares and that is not
//! protocol: the command-line contract, the `listening` announcement, signal handling and
//! process limits.

#![warn(missing_docs)]

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use reactor_proto::http::HttpLimits;

pub mod http;

/// Size of the per-connection read buffer every design uses, so they all move data in the same
/// chunks (16 KiB: one read covers the largest echo payload the comparison sends).
pub const READ_BUF: usize = 16 * 1024;

/// Receive buffer for UDP echo: larger than any UDP payload, so a datagram is never truncated
/// and [`datagram_fate`] sees its real length.
pub const MAX_DATAGRAM: usize = 64 * 1024;

/// Whether a received datagram of `len` bytes goes back, by the rule every design shares
/// (`reactor_proto::udp::classify`).
pub fn datagram_fate(len: usize) -> reactor_proto::udp::DatagramFate {
    reactor_proto::udp::classify(len, MAX_DATAGRAM, reactor_proto::udp::MAX_UDP_PAYLOAD_V4)
}

/// The flags every server design accepts (see CONTRIBUTING.md, "command-line contract").
#[derive(Debug, Clone, Args)]
pub struct Listen {
    /// Serve TCP echo on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<SocketAddr>,
    /// Serve UDP echo on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub udp: Option<SocketAddr>,
    /// Serve HTTP/1.1 hello on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// HTTP: answer 408 and close when a started request head is not complete this long after
    /// it started; 0 = never. Default: the reactor's (`HttpLimits::default`, 10 s).
    #[arg(long, value_name = "DURATION", value_parser = reactor_cli::parse_duration)]
    pub header_timeout: Option<Duration>,
    /// HTTP: answer 408 and close when a request body is not complete this long after its head;
    /// 0 = never. Default: the reactor's (`HttpLimits::default`, 30 s).
    #[arg(long, value_name = "DURATION", value_parser = reactor_cli::parse_duration)]
    pub body_timeout: Option<Duration>,
}

impl Listen {
    /// Fails unless at least one service was asked for: a server with nothing to serve is a
    /// mistake on the command line, not a valid configuration.
    pub fn require_any(&self) -> anyhow::Result<()> {
        if self.tcp.is_none() && self.udp.is_none() && self.http.is_none() {
            anyhow::bail!("nothing to serve: give at least one of --tcp, --udp, --http");
        }
        Ok(())
    }

    /// The HTTP limits and timeouts every connection applies: the reactor's defaults
    /// ([`HttpLimits::default`]) with the timeouts given on the command line. Lives as long as
    /// the process, so every thread and task may borrow it.
    pub fn http_limits(&self) -> &'static HttpLimits {
        let defaults = HttpLimits::default();
        Box::leak(Box::new(HttpLimits {
            header_timeout: self.header_timeout.unwrap_or(defaults.header_timeout),
            body_timeout: self.body_timeout.unwrap_or(defaults.body_timeout),
            ..defaults
        }))
    }
}

/// Which service a bound socket provides, as named in the `listening` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1 hello.
    Http,
}

impl Service {
    /// The word used for this service in `listening <word> <addr>` lines and on the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Service::Tcp => "tcp",
            Service::Udp => "udp",
            Service::Http => "http",
        }
    }
}

/// Listen backlog of every design's TCP listeners: room for the 1,000-connection scenario's
/// burst of connects (std's default of 128 would drop SYNs and stall connects by a second),
/// the same as the reactor's default (the kernel caps it at `net.core.somaxconn`).
pub const BACKLOG: i32 = 4096;

/// A blocking TCP listener on `addr` with [`BACKLOG`] and `SO_REUSEADDR`, for every design
/// (tokio converts it with `TcpListener::from_std`).
pub fn bind_tcp(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .context("creating TCP socket")?;
    socket.set_reuse_address(true).context("SO_REUSEADDR")?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding {addr}"))?;
    socket.listen(BACKLOG).context("listen")?;
    Ok(socket.into())
}

/// Prints `listening <service> <addr>` and flushes, so a parent reading our stdout through a
/// pipe sees the line at once instead of waiting for a full buffer.
pub fn announce(service: Service, addr: SocketAddr) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {} {}", service.name(), addr).context("writing listening line")?;
    out.flush().context("flushing listening line")
}

/// Ends the process with status 0 on the first SIGINT or SIGTERM, from a dedicated thread.
///
/// Every design is stateless between requests, so an immediate exit loses nothing; doing it in
/// one shared place keeps the designs free of shutdown plumbing that would differ per model.
pub fn exit_on_signal() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).context("installing handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                let _ = std::io::stdout().flush();
                std::process::exit(0);
            }
        })
        .context("spawning signal thread")?;
    Ok(())
}

/// The common start of every design's `main`: limits and signal handling.
pub fn startup(listen: &Listen) -> anyhow::Result<()> {
    listen.require_any()?;
    reactor_cli::raise_fd_limit();
    exit_on_signal()
}
