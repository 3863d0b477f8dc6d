//! The per-connection state every design needs around the shared `reactor_proto` HTTP session:
//! the session itself, its `Date:` cache, clock, limits and output buffer. The designs only move
//! bytes between this and their sockets and wake it when [`HttpConn::poll_timeout`] says; all
//! HTTP rules, the header and body timeouts included, live in `reactor_proto::http`.

use std::time::{Duration, Instant, SystemTime};

use reactor_proto::http::{
    DateCache, HttpEnv, HttpLimits, HttpSession, Millis, NoStats, Step, UNLIMITED_BUDGET,
};

/// Output bytes produced before the session pauses so the caller writes them out first: keeps a
/// flood of pipelined requests from growing the output without bound.
pub const OUT_BUDGET: usize = 64 * 1024;

/// One HTTP connection's protocol state, owned by whichever thread or task serves it.
///
/// Each connection owns its small `Date:` cache (refreshed per read, a clock read and a compare)
/// and its clock (milliseconds since it was accepted), so nothing is shared between threads but
/// the limits; `/stats` reports `{}` (these designs keep no counters).
#[derive(Debug)]
pub struct HttpConn {
    session: HttpSession,
    date: DateCache,
    limits: &'static HttpLimits,
    /// Where the session's clock starts.
    epoch: Instant,
    out: Vec<u8>,
}

impl HttpConn {
    /// A fresh connection applying `limits` (every design's come from [`crate::Listen`], so
    /// they equal the reactor's).
    pub fn new(limits: &'static HttpLimits) -> Self {
        Self {
            session: HttpSession::new(),
            date: DateCache::new(SystemTime::now()),
            limits,
            epoch: Instant::now(),
            out: Vec::new(),
        }
    }

    /// Runs `call` with the session's environment at the current time.
    fn with_env<T>(
        &mut self,
        call: impl FnOnce(&mut HttpSession, &mut Vec<u8>, &HttpEnv<'_>) -> T,
    ) -> T {
        let env = HttpEnv {
            date: &self.date,
            stats: &NoStats,
            limits: self.limits,
            budget: &UNLIMITED_BUDGET,
            now: millis_since(self.epoch, Instant::now()),
        };
        call(&mut self.session, &mut self.out, &env)
    }

    /// Hands freshly read bytes to the session; the answers are in [`output`](Self::output).
    pub fn on_input(&mut self, input: &[u8]) -> Step {
        self.date.refresh(SystemTime::now());
        self.with_env(|session, out, env| session.on_input(input, out, env, OUT_BUDGET))
    }

    /// After [`Step::Paused`] and writing the output: continue with the buffered requests.
    pub fn resume(&mut self) -> Step {
        self.with_env(|session, out, env| session.resume(out, env, OUT_BUDGET))
    }

    /// The peer closed its side: true when the connection should close once output is written.
    pub fn on_peer_closed(&mut self) -> bool {
        self.session.on_peer_closed()
    }

    /// When the session next needs the clock (a request's header or body deadline), if ever:
    /// the design wakes it then with [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let due = self.session.poll_timeout()?;
        Some(self.epoch + Duration::from_millis(due))
    }

    /// The time [`poll_timeout`](Self::poll_timeout) named has come: true when a deadline
    /// passed, `408` is queued and the connection closes once it is written; false when nothing
    /// was due yet (woken early: ask `poll_timeout` again).
    pub fn handle_timeout(&mut self) -> bool {
        self.date.refresh(SystemTime::now());
        self.with_env(|session, out, env| session.handle_timeout(out, env).is_some())
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

/// Whole milliseconds from `epoch` to `now`, rounded down (a deadline is never seen early).
fn millis_since(epoch: Instant, now: Instant) -> Millis {
    Millis::try_from(now.saturating_duration_since(epoch).as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIMITS: HttpLimits = HttpLimits {
        max_request_line: 8 * 1024,
        max_header_bytes: 8 * 1024,
        max_headers: 64,
        max_body_bytes: 1024,
        header_timeout: Duration::from_millis(20),
        body_timeout: Duration::from_millis(20),
    };

    #[test]
    fn answers_get_and_keeps_the_connection() {
        let mut conn = HttpConn::new(&LIMITS);
        let step = conn.on_input(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(step, Step::Continue);
        assert!(conn.output().starts_with(b"HTTP/1.1 200"));
        assert!(conn.output().ends_with(reactor_proto::http::HELLO_BODY));
        conn.clear_output();
        assert!(conn.output().is_empty());
    }

    #[test]
    fn pipelined_flood_pauses_and_resumes_to_the_end() {
        let mut conn = HttpConn::new(&LIMITS);
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

    #[test]
    fn a_stalled_head_gets_408_once_its_deadline_has_passed() {
        let mut conn = HttpConn::new(&LIMITS);
        assert_eq!(conn.on_input(b"GET / HTTP/1.1\r\n"), Step::Continue);
        let due = conn.poll_timeout().expect("a header deadline runs");
        assert!(due > Instant::now());
        while Instant::now() < due {
            std::thread::sleep(due - Instant::now());
        }
        assert!(conn.handle_timeout());
        assert!(conn.output().starts_with(b"HTTP/1.1 408"));
        assert_eq!(conn.poll_timeout(), None);
    }
}
