//! The per-connection state every design needs around the shared `reactor_proto` HTTP session:
//! the session itself, its `Date:` cache, limits and output buffer. The designs only move bytes
//! between this and their sockets; all HTTP rules live in `reactor_proto::http`.

use std::time::{Duration, SystemTime};

use reactor_proto::http::{
    DateCache, HttpEnv, HttpLimits, HttpSession, NoStats, Step, UNLIMITED_BUDGET,
};

/// Output bytes produced before the session pauses so the caller writes them out first: keeps a
/// flood of pipelined requests from growing the output without bound.
pub const OUT_BUDGET: usize = 64 * 1024;

/// How long a started request may take to send its complete head (slowloris defence).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP connection's protocol state, owned by whichever thread or task serves it.
///
/// Each connection owns its small `Date:` cache (refreshed per read, a clock read and a compare)
/// so nothing is shared between threads; `/stats` reports `{}` (these designs keep no counters).
#[derive(Debug)]
pub struct HttpConn {
    session: HttpSession,
    date: DateCache,
    limits: HttpLimits,
    out: Vec<u8>,
}

impl Default for HttpConn {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpConn {
    /// A fresh connection with the default limits.
    pub fn new() -> Self {
        Self {
            session: HttpSession::new(),
            date: DateCache::new(SystemTime::now()),
            limits: HttpLimits::default(),
            out: Vec::new(),
        }
    }

    /// Hands freshly read bytes to the session; the answers are in [`output`](Self::output).
    pub fn on_input(&mut self, input: &[u8]) -> Step {
        self.date.refresh(SystemTime::now());
        let env = HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: &self.limits,
            budget: &UNLIMITED_BUDGET,
        };
        self.session
            .on_input(input, &mut self.out, &env, OUT_BUDGET)
    }

    /// After [`Step::Paused`] and writing the output: continue with the buffered requests.
    pub fn resume(&mut self) -> Step {
        let env = HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: &self.limits,
            budget: &UNLIMITED_BUDGET,
        };
        self.session.resume(&mut self.out, &env, OUT_BUDGET)
    }

    /// The peer closed its side: true when the connection should close once output is written.
    pub fn on_peer_closed(&mut self) -> bool {
        self.session.on_peer_closed()
    }

    /// Whether a request has started and its head is still incomplete (the header timer runs).
    pub fn awaiting_headers(&self) -> bool {
        self.session.awaiting_headers()
    }

    /// The header timer fired: queue `408`; the caller writes it and closes.
    pub fn on_header_timeout(&mut self) {
        let env = HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: &self.limits,
            budget: &UNLIMITED_BUDGET,
        };
        self.session.on_header_timeout(&mut self.out, &env);
    }

    /// Response bytes to write.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Forget the output once written (keeps the allocation).
    pub fn clear_output(&mut self) {
        self.out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_get_and_keeps_the_connection() {
        let mut conn = HttpConn::new();
        let step = conn.on_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(step, Step::Continue);
        assert!(conn.output().starts_with(b"HTTP/1.1 200"));
        assert!(conn.output().ends_with(reactor_proto::http::HELLO_BODY));
        conn.clear_output();
        assert!(conn.output().is_empty());
    }

    #[test]
    fn pipelined_flood_pauses_and_resumes_to_the_end() {
        let mut conn = HttpConn::new();
        let requests = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10_000);
        let mut step = conn.on_input(&requests);
        let mut answers = 0;
        loop {
            answers += conn
                .output()
                .windows(8)
                .filter(|w| w == b"HTTP/1.1")
                .count();
            conn.clear_output();
            match step {
                Step::Paused => step = conn.resume(),
                _ => break,
            }
        }
        assert_eq!(answers, 10_000);
    }
}
