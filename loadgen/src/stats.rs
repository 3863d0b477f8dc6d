//! What the workers measure: counters and nanosecond HdrHistograms, per thread and per second.
//!
//! Each worker records into its own [`Recorder`] (no sharing, no locks) and hands the whole thing
//! over once a second; the collector adds them up. Histograms are only ever combined by adding
//! counts, never by averaging percentiles.

use std::ops::AddAssign;

use hdrhistogram::Histogram;

pub use crate::tls_stats::{
    Handshake, HandshakeFailure, HandshakeFailures, Handshakes, Negotiated, TlsCounts,
};

/// A gap this long between two clock reads of a thread spinning on the clock means it was
/// off its CPU.
pub const STALL_NS: u64 = 20_000;

/// Significant decimal digits of every histogram.
pub const SIGFIG: u8 = 3;

/// A new empty auto-resizing nanosecond histogram.
pub fn new_histogram() -> Histogram<u64> {
    // 1 ns .. 1 h initial range; auto-resize keeps anything larger rather than dropping it.
    let mut h = Histogram::new_with_bounds(1, 3_600 * 1_000_000_000, SIGFIG)
        .expect("constant histogram bounds are valid");
    h.auto(true);
    h
}

/// Why connection attempts failed (each also counts in [`ErrorCounts::connect`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConnectFailures {
    /// The target refused (ECONNREFUSED: nothing listening, or the accept queue full).
    pub refused: u64,
    /// Not established within --connect-timeout (or ETIMEDOUT).
    pub timed_out: u64,
    /// Reset while connecting (ECONNRESET).
    pub reset: u64,
    /// The kernel had no local address/port to give (EADDRNOTAVAIL, EADDRINUSE).
    pub no_local_address: u64,
    /// Connected, but the TLS handshake failed or timed out ([`TlsCounts::failures`] says why).
    pub tls_handshake: u64,
    /// Anything else.
    pub other: u64,
}

/// The kind of a failed connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// ECONNREFUSED.
    Refused,
    /// Our own connect timeout, or ETIMEDOUT.
    TimedOut,
    /// ECONNRESET.
    Reset,
    /// EADDRNOTAVAIL or EADDRINUSE: out of local ports/addresses.
    NoLocalAddress,
    /// The TLS handshake failed or timed out.
    TlsHandshake,
    /// Anything else.
    Other,
}

impl ConnectFailure {
    /// Classify an error from `socket`/`bind`/`connect` or the connect's completion.
    pub fn of(e: &std::io::Error) -> ConnectFailure {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => ConnectFailure::Refused,
            Some(libc::ETIMEDOUT) => ConnectFailure::TimedOut,
            Some(libc::ECONNRESET) => ConnectFailure::Reset,
            Some(libc::EADDRNOTAVAIL) | Some(libc::EADDRINUSE) => ConnectFailure::NoLocalAddress,
            _ => ConnectFailure::Other,
        }
    }
}

impl ConnectFailures {
    /// Count one failure of `kind`.
    pub fn count(&mut self, kind: ConnectFailure) {
        match kind {
            ConnectFailure::Refused => self.refused += 1,
            ConnectFailure::TimedOut => self.timed_out += 1,
            ConnectFailure::Reset => self.reset += 1,
            ConnectFailure::NoLocalAddress => self.no_local_address += 1,
            ConnectFailure::TlsHandshake => self.tls_handshake += 1,
            ConnectFailure::Other => self.other += 1,
        }
    }
}

impl AddAssign for ConnectFailures {
    fn add_assign(&mut self, o: Self) {
        self.refused += o.refused;
        self.timed_out += o.timed_out;
        self.reset += o.reset;
        self.no_local_address += o.no_local_address;
        self.tls_handshake += o.tls_handshake;
        self.other += o.other;
    }
}

/// Errors by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Failed or timed-out connection attempts.
    pub connect: u64,
    /// The same attempts by why they failed (measured ones; set-up failures are only counted).
    pub connect_kinds: ConnectFailures,
    /// Requests that got no response within --timeout (latency still recorded).
    pub timeout: u64,
    /// Requests lost because the connection was reset or closed under them.
    pub reset: u64,
    /// Responses whose bytes differ from what was sent, or malformed HTTP.
    pub verify: u64,
    /// HTTP responses with status 400 or above.
    pub http_status: u64,
}

impl ErrorCounts {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.reset + self.verify + self.http_status
    }
}

impl AddAssign for ErrorCounts {
    fn add_assign(&mut self, o: Self) {
        self.connect += o.connect;
        self.connect_kinds += o.connect_kinds;
        self.timeout += o.timeout;
        self.reset += o.reset;
        self.verify += o.verify;
        self.http_status += o.http_status;
    }
}

/// UDP datagram accounting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UdpCounts {
    /// Datagrams sent.
    pub sent: u64,
    /// Distinct datagrams echoed back in time.
    pub received: u64,
    /// Datagrams with no echo within --timeout.
    pub lost: u64,
    /// Echoes that arrived after a later datagram's echo.
    pub reordered: u64,
    /// Extra copies of an echo.
    pub duplicated: u64,
    /// Echoes that arrived after their datagram was counted lost.
    pub late: u64,
}

impl AddAssign for UdpCounts {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.received += o.received;
        self.lost += o.lost;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.late += o.late;
    }
}

/// Plain counters of one thread over one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Requests answered (timeouts are not included; they are in `errors.timeout`).
    pub requests: u64,
    /// Requests written to the network.
    pub sent: u64,
    /// Open loop: requests that fell due by the schedule (the offered load, counted).
    pub due: u64,
    /// Open loop: requests due but never sent by the end of the run (still waiting for a
    /// connection); their latency so far is in the histograms as a lower bound.
    pub unsent: u64,
    /// Connections established.
    pub connects: u64,
    /// Payload bytes written.
    pub bytes_sent: u64,
    /// Payload bytes read.
    pub bytes_received: u64,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// TLS handshakes (https targets).
    pub tls: TlsCounts,
    /// UDP accounting.
    pub udp: UdpCounts,
    /// HTTP responses by status code (index = code, 0..=599).
    pub status: Vec<u64>,
    /// Time the loop had nothing to do (blocked in `epoll` or waiting for a send time), ns;
    /// the rest of the wall time it was busy.
    pub idle_ns: u64,
    /// The part of `idle_ns` spent awake: looking at I/O without blocking and waiting on the
    /// clock for a send time too close to sleep for (CPU the engine spent on precision).
    pub spin_ns: u64,
    /// Waits that slept or blocked (not a glance at ready I/O): each ends in a wake-up, the
    /// open loop's main cost beyond the requests themselves.
    pub wakeups: u64,
    /// While spinning, gaps of over [`STALL_NS`] between two clock reads: the thread was
    /// off its CPU (on a VM, the host ran something else). Their count and total length.
    pub stalls: u64,
    /// Total length of those stalls, ns.
    pub stalled_ns: u64,
    /// Largest open-loop backlog (requests due and waiting for a connection); the maximum
    /// over threads and intervals when added.
    pub backlog_peak: u64,
    /// Intervals in which the backlog hit its cap and the schedule was left to fall behind.
    pub backlog_overflows: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            requests: 0,
            sent: 0,
            due: 0,
            unsent: 0,
            connects: 0,
            bytes_sent: 0,
            bytes_received: 0,
            errors: ErrorCounts::default(),
            tls: TlsCounts::default(),
            udp: UdpCounts::default(),
            status: vec![0; 600],
            idle_ns: 0,
            spin_ns: 0,
            wakeups: 0,
            stalls: 0,
            stalled_ns: 0,
            backlog_peak: 0,
            backlog_overflows: 0,
        }
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, o: &Counters) {
        self.requests += o.requests;
        self.sent += o.sent;
        self.due += o.due;
        self.unsent += o.unsent;
        self.connects += o.connects;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        self.errors += o.errors;
        self.tls += o.tls;
        self.udp += o.udp;
        self.idle_ns += o.idle_ns;
        self.spin_ns += o.spin_ns;
        self.wakeups += o.wakeups;
        self.stalls += o.stalls;
        self.stalled_ns += o.stalled_ns;
        self.backlog_peak = self.backlog_peak.max(o.backlog_peak);
        self.backlog_overflows += o.backlog_overflows;
        for (a, b) in self.status.iter_mut().zip(&o.status) {
            *a += b;
        }
    }
}

/// The latency histograms of an interval (all nanoseconds).
#[derive(Debug, Clone)]
pub struct Histograms {
    /// The headline: response time minus the time the generator noticed the request was due,
    /// i.e. what the server caused (service time plus any wait for a busy connection: the
    /// coordinated-omission part) without the generator's own schedule lateness (the delay
    /// it chose to batch sends, or its late wake-ups). Equals service time in closed loop.
    pub latency: Histogram<u64>,
    /// Response time minus actual send time.
    pub service: Histogram<u64>,
    /// Response time minus intended send time: `latency` plus the generator's own schedule
    /// lateness (open loop; the same as `latency` in closed loop).
    pub intended_latency: Histogram<u64>,
    /// Actual minus intended send time (open loop).
    pub send_lag: Histogram<u64>,
    /// Time a due request waited in the backlog for a free connection slot (open loop).
    pub conn_wait: Histogram<u64>,
    /// How late the loop noticed that a request was due (the generator's own delay).
    pub schedule_lateness: Histogram<u64>,
    /// From `connect()` to established, for connections made while measuring.
    pub connect: Histogram<u64>,
    /// TLS handshakes (from the ClientHello to completion, after the connect), for
    /// connections made while measuring.
    pub handshake: Histogram<u64>,
    /// How late the loop's timed waits returned (the machine's wake-up latency).
    pub wake_overshoot: Histogram<u64>,
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms {
            latency: new_histogram(),
            service: new_histogram(),
            intended_latency: new_histogram(),
            send_lag: new_histogram(),
            conn_wait: new_histogram(),
            schedule_lateness: new_histogram(),
            connect: new_histogram(),
            handshake: new_histogram(),
            wake_overshoot: new_histogram(),
        }
    }
}

impl Histograms {
    /// Add another set into this one.
    pub fn add(&mut self, o: &Histograms) {
        // Both auto-resize, so adding cannot fail for lack of range.
        let _ = self.latency.add(&o.latency);
        let _ = self.service.add(&o.service);
        let _ = self.intended_latency.add(&o.intended_latency);
        let _ = self.send_lag.add(&o.send_lag);
        let _ = self.conn_wait.add(&o.conn_wait);
        let _ = self.schedule_lateness.add(&o.schedule_lateness);
        let _ = self.connect.add(&o.connect);
        let _ = self.handshake.add(&o.handshake);
        let _ = self.wake_overshoot.add(&o.wake_overshoot);
    }
}

/// Everything one thread measured in one interval.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Counters.
    pub counters: Counters,
    /// Histograms.
    pub hist: Histograms,
}

impl Recorder {
    /// Record one answered request: intended at `intended`, noticed due at `noticed`, sent
    /// at `sent`, answered at `now`.
    #[inline]
    pub fn response(&mut self, intended: u64, noticed: u64, sent: u64, now: u64) {
        self.counters.requests += 1;
        self.latencies(intended, noticed, sent, now);
    }

    /// Record a request that timed out at `now`: counted as an error, its latency kept.
    pub fn timeout(&mut self, intended: u64, noticed: u64, sent: u64, now: u64) {
        self.counters.errors.timeout += 1;
        self.latencies(intended, noticed, sent, now);
    }

    #[inline]
    fn latencies(&mut self, intended: u64, noticed: u64, sent: u64, now: u64) {
        let h = &mut self.hist;
        h.latency
            .saturating_record(now.saturating_sub(noticed).max(1));
        h.service.saturating_record(now.saturating_sub(sent).max(1));
        h.intended_latency
            .saturating_record(now.saturating_sub(intended).max(1));
    }

    /// Record a request still unsent when the run ended at `now`: counted, and its latency
    /// so far recorded (a lower bound), so an overload does not vanish from the figures.
    pub fn unsent(&mut self, intended: u64, noticed: u64, now: u64) {
        self.counters.unsent += 1;
        self.waited(intended, noticed, now);
    }

    /// Record a request that timed out at `now` before it was ever sent: an error, with its
    /// latency (and no service time: the server never saw it).
    pub fn timeout_unsent(&mut self, intended: u64, noticed: u64, now: u64) {
        self.counters.errors.timeout += 1;
        self.waited(intended, noticed, now);
    }

    fn waited(&mut self, intended: u64, noticed: u64, now: u64) {
        let h = &mut self.hist;
        h.latency
            .saturating_record(now.saturating_sub(noticed).max(1));
        h.intended_latency
            .saturating_record(now.saturating_sub(intended).max(1));
    }

    /// Record one HTTP status code.
    #[inline]
    pub fn status(&mut self, code: u16) {
        if let Some(slot) = self.counters.status.get_mut(code as usize) {
            *slot += 1;
        }
        if code >= 400 {
            self.counters.errors.http_status += 1;
        }
    }

    /// Add another recorder into this one.
    pub fn add(&mut self, o: &Recorder) {
        self.counters += &o.counters;
        self.hist.add(&o.hist);
    }
}

#[cfg(test)]
mod tests;
