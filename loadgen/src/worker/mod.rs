//! One load thread: its own mio poll loop, its own connections, its own recorder.
//!
//! Nothing here is shared with other threads while the load runs: the thread reports to the
//! collector through a channel once per second (a moved `Recorder`), so the hot path takes no
//! lock and touches no shared cache line.
//!
//! Split by concern, sans-IO where it can be:
//! - [`conn`]: the per-connection state machine of a byte stream (connecting, up, closing, its
//!   requests in flight), events in and outcomes out, unit-tested without sockets;
//! - [`pacer`]: the open loop's schedule, backlog of due requests, free connection slots and
//!   the decision how to wait for the next send;
//! - [`source`]: source addresses spread over 127.0.0.0/8 for connection churn;
//! - [`rxstamp`]: kernel receive timestamps, so a response's time is its arrival, not its read;
//! - [`wake`]: how late the machine wakes a sleeping thread, learnt from the loop's waits;
//! - [`stream`] and [`datagram`]: the transports, which only move bytes;
//! - [`tls`]: the TLS layer of a stream (https), between its socket and its state machine;
//! - [`engine`]: the poll loop, which routes readiness to the connection it belongs to;
//! - [`waiting`]: how the loop waits (sleep, block, glance and spin) and learns from it;
//! - [`lifecycle`]: connection slots: connect, close, reconnect, time out;
//! - [`traffic`]: queue, write and read requests and answers;
//! - [`discipline`]: who sends next (closed loop, open loop, a connection per request);
//! - [`measure`]: the one rule deciding whether an event is measured, and the recording;
//! - [`interval`]: handing each interval's measurements to the collector.
//!
//! Closed loop: every connection keeps `--pipeline` requests in flight and sends the next one
//! as soon as a response completes (intended send time = actual send time). Open loop: the
//! thread's schedule yields intended send times; due requests wait in a backlog until a
//! connection has a free pipeline slot, and their latency counts from the intended time.
//!
//! Connection per request: a slot is free when it has no connection; a request is queued on
//! it, the slot connects, sends once established, and closes when the answer is verified,
//! after which it is free again (closed loop: at once; open loop: its pacer token returns).

mod conn;
mod datagram;
mod discipline;
mod engine;
mod interval;
mod lifecycle;
mod measure;
mod pacer;
pub mod rxstamp;
mod source;
mod stream;
pub mod tls;
mod traffic;
mod waiting;
mod wake;

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};

use hdrhistogram::Histogram;

use crate::cli::{Arrival, SizeSpec};
use crate::clock::NS_PER_SEC;
use crate::stats::{Handshakes, Recorder};
use crate::tls::TlsPlan;

pub use engine::run;

/// Length of one reported interval.
pub const INTERVAL_NS: u64 = NS_PER_SEC;

/// Which protocol to speak.
#[derive(Debug, Clone)]
pub enum Kind {
    /// TCP echo.
    Tcp,
    /// UDP echo.
    Udp,
    /// HTTP/1.1 with this prebuilt request.
    Http {
        /// Bytes of one request.
        request: Arc<[u8]>,
        /// Method is HEAD (responses have no body).
        head: bool,
    },
}

/// Everything a worker needs to know, shared read-only by all workers.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Protocol.
    pub kind: Kind,
    /// Target address.
    pub addr: SocketAddr,
    /// Number of worker threads.
    pub threads: usize,
    /// Connections in total.
    pub connections: usize,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// One request per connection: connect, exchange, close, and a fresh connect for the next.
    pub per_request: bool,
    /// Per-request timeout.
    pub timeout_ns: u64,
    /// Connection set-up timeout.
    pub connect_timeout_ns: u64,
    /// Payload sizes.
    pub size: SizeSpec,
    /// Offered rate in total (open loop), or closed loop.
    pub rate: Option<f64>,
    /// Arrival process of the open loop.
    pub arrival: Arrival,
    /// Unrecorded run time before measuring.
    pub warmup_ns: u64,
    /// Measured run time (`None`: until `requests` are done).
    pub duration_ns: Option<u64>,
    /// Measured requests in total.
    pub requests: Option<u64>,
    /// The self-check's limit on p99 schedule lateness; the open loop paces to stay within it.
    pub max_lateness_ns: u64,
    /// The kernel stamps arriving responses ([`rxstamp::Stamping`] confirmed it): only then
    /// may the open loop sleep through their arrival.
    pub kernel_stamps: bool,
    /// TLS (https targets): whom to trust, what to offer, whether to resume.
    pub tls: Option<TlsPlan>,
}

/// What a worker tells the collector.
#[derive(Debug)]
pub enum Msg {
    /// Connection set-up finished.
    Connected {
        /// Connections established.
        up: usize,
        /// Failed attempts.
        failures: u64,
        /// First failure, for the one-line error.
        first_error: Option<String>,
        /// Connect latency of each established connection.
        connect: Box<Histogram<u64>>,
        /// TLS handshakes of the set-up (https targets).
        handshakes: Box<Handshakes>,
    },
    /// Measurements of interval `index` (second `index` after measuring began).
    Interval {
        /// Interval number.
        index: u64,
        /// Interval length actually covered (the last one is partial).
        length_ns: u64,
        /// What was measured.
        recorder: Box<Recorder>,
    },
    /// The worker stopped at `end_ns`.
    Finished {
        /// Monotonic end time.
        end_ns: u64,
        /// First error seen while the load ran.
        first_error: Option<String>,
    },
}

/// Releases all workers at the same instant once set-up is done, or tells them to give up.
#[derive(Debug, Default)]
pub struct StartGate {
    decision: Mutex<Option<Option<u64>>>,
    changed: Condvar,
}

impl StartGate {
    /// Let workers start at monotonic `start_ns`, or abort with `None`.
    pub fn open(&self, start_ns: Option<u64>) {
        if let Ok(mut d) = self.decision.lock() {
            *d = Some(start_ns);
            self.changed.notify_all();
        }
    }

    /// Block until [`StartGate::open`]; the start time, or `None` to give up.
    pub fn wait(&self) -> Option<u64> {
        let Ok(mut d) = self.decision.lock() else {
            return None;
        };
        loop {
            if let Some(decision) = *d {
                return decision;
            }
            d = match self.changed.wait(d) {
                Ok(d) => d,
                Err(_) => return None,
            };
        }
    }
}
