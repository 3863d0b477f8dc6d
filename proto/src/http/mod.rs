//! An incremental, sans-IO HTTP/1.1 server session answering the "Hello, client!" routes.
//!
//! Every server design drives the same [`HttpSession`]: it hands over bytes it read and gets back
//! response bytes (appended to its own output `Vec`) and a [`Step`] telling it what to do next.
//! The session never touches a socket, a clock or a timer; the caller supplies the wall-clock
//! date through [`DateCache`], the monotonic time of each call as [`HttpEnv::now`], the `/stats`
//! body through [`StatsSource`] and the limits and timeouts through [`HttpLimits`], all bundled
//! in an [`HttpEnv`]. The session keeps its own header and body deadlines on that time: the
//! caller asks [`HttpSession::poll_timeout`] when to wake it and calls
//! [`HttpSession::handle_timeout`] then.
//!
//! # Routes
//! | request | response |
//! | --- | --- |
//! | `GET /` | `200`, `Hello, client!` (`text/plain`) |
//! | `GET /healthz` | `200`, `ok` |
//! | `GET /stats` | `200`, the [`StatsSource`] JSON (`application/json`) |
//! | `GET /metrics` | `200`, the [`StatsSource`] Prometheus text (`text/plain; version=0.0.4`) |
//! | `POST /echo` | `200`, the request body (`application/octet-stream`) |
//! | `HEAD` on a `GET` route | the same head, no body |
//! | `GET`, `HEAD` or `POST` on a known path that does not take it | `405` with `Allow` |
//! | another path | `404` |
//! | any other method (methods are case-sensitive: `get` is one) | `501` |
//!
//! Every response carries `Server`, `Content-Type`, `Content-Length` and `Date`. The target may
//! be in origin-form (`/path?query`) or absolute-form (`http://host/path`).
//!
//! # Connection rules and errors
//! HTTP/1.1 keeps the connection open unless the request says `Connection: close`; HTTP/1.0
//! closes unless it says `Connection: keep-alive` (then the response says so too). A 1.x minor
//! version above 1 is served as HTTP/1.1. Pipelined requests are answered in order into one
//! output buffer. Request bodies are framed by `Content-Length` or `Transfer-Encoding: chunked`
//! (decoded incrementally, extensions ignored, trailers discarded).
//!
//! Errors that leave the request stream unframeable, or that the server refuses to wait out,
//! close the connection after the response: `400` malformed request (bad syntax, a missing,
//! repeated or invalid `Host` in HTTP/1.1, conflicting `Content-Length`s, `Content-Length` with
//! `Transfer-Encoding`, chunked not last, bad chunk framing), `408` header or body timeout,
//! `413` body over [`HttpLimits::max_body_bytes`], `414` request line over
//! [`HttpLimits::max_request_line`], `417` an expectation other than `100-continue`, `431` head
//! over [`HttpLimits::max_header_bytes`] or [`HttpLimits::max_headers`], `501` a transfer coding
//! other than chunked or a method longer than any implemented, `503` (with `Retry-After`) a body
//! that does not fit the server-wide [`BufferBudget`], `505` an HTTP major version other than 1.
//! `404`, `405` and `501` for an unknown method keep the connection.
//!
//! `Expect: 100-continue` gets a `100 Continue` once the head is accepted and the body is still
//! missing. The full list of requirements of RFC 9112 and RFC 9110 the session meets, each with
//! the test that shows it, is `docs/http-conformance.md`.
//!
//! # Cost
//! Parsing runs straight on the caller's read buffer; a request split across reads is copied into
//! the session, and its head is re-parsed only when a new line arrives or its body is complete,
//! so byte-at-a-time input costs one parse per line, not per byte. `GET /` is written from
//! precomputed bytes and the cached date line, without allocating.

mod budget;
mod chunked;
mod date;
mod deadline;
mod limits;
mod request;
mod response;
mod routes;
mod session;
mod target;

pub use budget::BufferBudget;
pub use chunked::{ChunkError, ChunkedDecoder, MAX_CHUNK_LINE};
pub use date::DateCache;
pub use deadline::{duration_to_millis, Deadline, Millis};
pub use limits::{HttpLimits, MAX_BODY_CEILING, MAX_HEADERS_CEILING, MAX_HEADER_BYTES_CEILING};
pub use response::{HELLO_BODY, SERVER_NAME};
pub use session::{HttpSession, Step};

/// Supplies the bodies of `GET /stats` (the server's counters as one JSON document) and
/// `GET /metrics` (the Prometheus text exposition format).
pub trait StatsSource {
    /// Append the JSON document to `out` (and nothing else).
    fn write_stats_json(&self, out: &mut Vec<u8>);

    /// A final response with status `code` was written (for per-status counters); by default
    /// ignored. Called once per response, `100 Continue` excluded.
    fn record_response(&self, _code: u16) {}

    /// Append the Prometheus exposition text to `out`; by default nothing (an empty, valid
    /// exposition) for servers that keep no metrics.
    fn write_metrics(&self, _out: &mut Vec<u8>) {}
}

/// A [`StatsSource`] with nothing to report: writes `{}`. Handy for tests and benches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStats;

impl StatsSource for NoStats {
    fn write_stats_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{}");
    }
}

/// What a session borrows from its server for one call: shared, read-only, owned by the server.
#[derive(Clone, Copy)]
pub struct HttpEnv<'a> {
    /// The `Date:` value; the server refreshes it (once per loop turn is plenty).
    pub date: &'a DateCache,
    /// The `GET /stats` body.
    pub stats: &'a dyn StatsSource,
    /// The request limits.
    pub limits: &'a HttpLimits,
    /// The server-wide bound on buffered request bytes ([`BufferBudget::unlimited`] for none).
    pub budget: &'a BufferBudget,
    /// The time of this call on the caller's monotonic clock, in milliseconds from any start:
    /// the session's deadlines are measured on it (see [`HttpSession::poll_timeout`]).
    pub now: Millis,
}

/// A budget that never refuses, for [`HttpEnv::budget`] when memory is bounded otherwise.
pub static UNLIMITED_BUDGET: BufferBudget = BufferBudget::unlimited();

impl std::fmt::Debug for HttpEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEnv")
            .field("date", &self.date)
            .field("limits", &self.limits)
            .field("budget", &self.budget)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_deadlines;
#[cfg(test)]
mod tests_refusals;
