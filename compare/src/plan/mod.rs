//! What the comparison runs, as data: the designs (`designs.toml`), the scenarios and curves
//! (`scenarios.toml`) and the two profiles. Adding a server or a load shape is an edit to a TOML
//! file, not to Rust code.

pub mod designs;
pub mod error;
pub mod placeholders;
pub mod scenarios;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use designs::{CleanExit, Design, Readiness, StopSignal};
pub use error::PlanError;
pub use scenarios::{CurvePoint, Disabled, Load, Scenario, Scenarios};

/// Which service a scenario drives and a design serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1 `GET /` answered with "Hello, client!".
    Http,
    /// The same over TLS, with the run's certificate (`{tls_cert}`, `{tls_key}`).
    Https,
}

impl Proto {
    /// All of them, in a fixed order.
    pub const ALL: [Proto; 4] = [Proto::Tcp, Proto::Udp, Proto::Http, Proto::Https];

    /// The name used by the server flags, `listening` lines and the load generator.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Http => "http",
            Proto::Https => "https",
        }
    }

    /// The placeholders for its address and its port.
    pub fn placeholders(self) -> (&'static str, &'static str) {
        match self {
            Proto::Tcp => ("tcp", "tcp_port"),
            Proto::Udp => ("udp", "udp_port"),
            Proto::Http => ("http", "http_port"),
            Proto::Https => ("https", "https_port"),
        }
    }

    /// Whether it is HTTP (plain or over TLS): `GET /`, no payload size.
    pub fn is_http(self) -> bool {
        matches!(self, Proto::Http | Proto::Https)
    }

    /// From a `listening` line's protocol word.
    pub fn from_name(name: &str) -> Option<Proto> {
        Proto::ALL.into_iter().find(|p| p.name() == name)
    }
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
    /// Measured runs per scenario and design (the report gives the median and its interval).
    pub repeats: usize,
}

impl Profile {
    /// A couple of minutes for the built-in designs: for CI and a first look. Five shorter
    /// repeats rather than three longer ones in the same time: the baseline's rank test cannot
    /// reach its 1% false-alarm rate with fewer than five a side (1/20 at best with three).
    pub fn quick() -> Profile {
        Profile {
            name: "quick",
            warmup: Duration::from_millis(200),
            duration: Duration::from_millis(300),
            repeats: 5,
        }
    }

    /// Longer runs and more repeats, for numbers worth publishing.
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
