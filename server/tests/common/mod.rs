//! The server's integration tests on top of the project's test kit: the real
//! `reactor-server` binary on ephemeral loopback ports, found through its `listening` lines.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::process::Command;

pub use reactor_testkit::http::get_ok as http_get;
pub use reactor_testkit::net::{connect, echo_roundtrip};
pub use reactor_testkit::{eventually, proc_status_kib, run_bounded, Listening, RunOutput};

/// A running `reactor-server` process, killed on drop; the kit's [`Listening`] with the
/// server's listeners by name.
pub struct Server {
    process: Listening,
    /// TCP echo address, if started.
    pub tcp: Option<SocketAddr>,
    /// UDP echo address, if started.
    pub udp: Option<SocketAddr>,
    /// HTTP address, if started.
    pub http: Option<SocketAddr>,
    /// HTTPS address, if started.
    pub https: Option<SocketAddr>,
    /// Metrics address, if started.
    pub metrics: Option<SocketAddr>,
}

/// Path of the binary under test.
pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_reactor-server")
}

impl Server {
    /// Starts the server with `args` (listener flags included) and waits for its
    /// `listening` lines.
    pub fn start(args: &[&str]) -> Server {
        Self::start_with(Command::new(server_bin()).args(args))
    }

    /// Starts a prepared command (extra env, rlimits, ...) and waits for its `listening` lines.
    pub fn start_with(cmd: &mut Command) -> Server {
        quiet_by_default(cmd);
        let expected = count_listeners(cmd);
        Self::from(Listening::start(cmd, expected))
    }

    /// Like [`start_with`](Self::start_with), with stderr collected line by line into
    /// [`Listening::stderr_lines`].
    pub fn start_capturing_stderr(cmd: &mut Command) -> Server {
        quiet_by_default(cmd);
        let expected = count_listeners(cmd);
        Self::from(Listening::start_capturing_stderr(cmd, expected))
    }

    fn from(process: Listening) -> Server {
        Server {
            tcp: process.addr("tcp"),
            udp: process.addr("udp"),
            http: process.addr("http"),
            https: process.addr("https"),
            metrics: process.addr("metrics"),
            process,
        }
    }

    /// TCP echo address (panics if not started).
    pub fn tcp(&self) -> SocketAddr {
        self.tcp.expect("tcp listener")
    }

    /// The server's counters from `GET /stats` (needs the HTTP listener).
    pub fn stats(&self) -> serde_json::Value {
        let addr = self.http.expect("http listener for /stats");
        serde_json::from_slice(&http_get(addr, "/stats")).expect("stats JSON")
    }
}

impl Deref for Server {
    type Target = Listening;
    fn deref(&self) -> &Listening {
        &self.process
    }
}

impl DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Listening {
        &mut self.process
    }
}

/// Logs at `warn` unless the test or its environment chose a level.
fn quiet_by_default(cmd: &mut Command) {
    if !cmd.get_envs().any(|(k, _)| k == "RUST_LOG") {
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        );
    }
}

/// How many `listening` lines the arguments ask for: the named listeners, or all three
/// defaults when none is named, plus the metrics listener.
fn count_listeners(cmd: &Command) -> usize {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let named = ["--tcp", "--udp", "--http", "--https"]
        .iter()
        .filter(|flag| args.iter().any(|a| a == *flag))
        .count();
    let metrics = usize::from(args.iter().any(|a| a == "--metrics"));
    if named == 0 {
        3 + metrics
    } else {
        named + metrics
    }
}
