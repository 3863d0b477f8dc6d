//! [`HttpSession`]: one connection's HTTP/1.1 state, driven by whoever owns the socket.
//!
//! Here: the session's state and what its caller calls. Answering the complete requests in the
//! input is in [`serve`], a chunked body being decoded in [`chunked_body`], the header and body
//! deadlines in [`deadlines`].

mod chunked_body;
mod deadlines;
mod serve;

use super::deadline::Millis;
use super::request::{partial_verdict, Parsed, Reject};
use super::routes::Routes;
use super::HttpEnv;
use chunked_body::ChunkedBody;
use serve::starts_as_head;

/// What the caller does next after handing bytes to an [`HttpSession`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// All input was handled (an unfinished request may be buffered): write `out`, keep reading.
    Continue,
    /// `out` reached the budget and unhandled input is buffered in the session: stop reading,
    /// flush `out`, then call [`HttpSession::resume`].
    Paused,
    /// The connection is done: flush `out`, then close. Later input is ignored.
    CloseAfterFlush,
}

const CLOSED: u8 = 1;
const PAUSED: u8 = 1 << 1;
const CONTINUE_SENT: u8 = 1 << 2;
const PEER_CLOSED: u8 = 1 << 3;
/// The server is shutting down: answer the complete requests already buffered, mark the last
/// response `Connection: close`, then close.
const DRAINING: u8 = 1 << 4;
/// Only the monitoring routes are served (see [`HttpSession::monitoring_only`]).
const MONITORING: u8 = 1 << 5;
/// The wait whose deadline is running: a head's, or a body's (neither: no deadline runs; both:
/// the wait is to be looked at afresh, as after a response).
const TIMING_HEADERS: u8 = 1 << 6;
const TIMING_BODY: u8 = 1 << 7;
const TIMING: u8 = TIMING_HEADERS | TIMING_BODY;

/// Smallest step by which a chunked body's buffer commitment grows.
const CHUNKED_COMMIT_STEP: usize = 16 * 1024;

/// Buffer capacity above which a leftover unfinished request gets its storage trimmed.
const SHRINK_ABOVE: usize = 4096;

/// One HTTP/1.1 server connection, sans IO: bytes in, response bytes and [`Step`]s out.
///
/// 48 bytes, and no heap allocation while idle: input is parsed straight from the caller's read
/// buffer; only a request split across reads (or input left over by a [`Step::Paused`]) is copied
/// into the session, and that copy is freed as soon as it has been answered.
///
/// Driving it:
/// 1. bytes read → [`on_input`](Self::on_input); write `out`; act on the [`Step`];
/// 2. after [`Step::Paused`], stop reading, flush `out`, then [`resume`](Self::resume)
///    (repeat while it says `Paused`);
/// 3. after every call, [`poll_timeout`](Self::poll_timeout) says when the session next needs
///    the clock; once that time has come, call [`handle_timeout`](Self::handle_timeout) (it
///    answers `408` when a header or body deadline has passed). Every call reads the time from
///    [`HttpEnv::now`]: the session runs its own deadlines;
/// 4. on end of input, [`on_peer_closed`](Self::on_peer_closed);
/// 5. on shutdown, [`begin_drain`](Self::begin_drain);
/// 6. with a shared [`BufferBudget`](super::BufferBudget), book the change of
///    [`buffered_commitment`](Self::buffered_commitment) after every call.
///
/// ```
/// use reactor_proto::http::{
///     DateCache, HttpEnv, HttpLimits, HttpSession, NoStats, Step, UNLIMITED_BUDGET,
/// };
///
/// let (date, limits) = (DateCache::default(), HttpLimits::default());
/// let env = HttpEnv {
///     date: &date, stats: &NoStats, limits: &limits, budget: &UNLIMITED_BUDGET, now: 0,
/// };
/// let mut session = HttpSession::new();
/// let mut out = Vec::new();
/// let mut sent = Vec::new(); // stands in for the socket
/// // Two pipelined requests, the second split across reads, with a tiny output budget.
/// for read in [&b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HT"[..], b"TP/1.1\r\nHost: a\r\n\r\n"] {
///     let mut step = session.on_input(read, &mut out, &env, 16);
///     loop {
///         sent.append(&mut out); // write (or queue) the output
///         match step {
///             Step::Paused => step = session.resume(&mut out, &env, 16),
///             Step::Continue => break,
///             Step::CloseAfterFlush => unreachable!("keep-alive"),
///         }
///     }
/// }
/// assert_eq!(sent.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count(), 2);
/// assert!(!session.has_buffered_input() && session.heap_bytes() == 0);
/// ```
#[derive(Debug, Default)]
pub struct HttpSession {
    /// Unhandled input: the start of an unfinished request, or what a pause left.
    pending: Vec<u8>,
    /// Total length (head + body) of the request at the front of `pending` once its head is
    /// complete; 0 while the head is still incomplete.
    need: u32,
    flags: u8,
    /// Final responses written (not `100 Continue`), wrapping; see [`HttpSession::responses`].
    responses: u16,
    /// A chunked request body being decoded (its head already parsed).
    chunked: Option<Box<ChunkedBody>>,
    /// When the running [`Deadline`] falls, on the caller's clock; `NO_DEADLINE` (0) when none
    /// runs.
    deadline: Millis,
}

impl HttpSession {
    /// A fresh connection, expecting a request.
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection to a monitoring listener: `GET /metrics` and `GET /healthz` are served,
    /// every other target is `404`, so a port opened for scrapers exposes nothing else
    /// (`/echo`, `/stats`).
    pub fn monitoring_only() -> Self {
        Self {
            flags: MONITORING,
            ..Self::default()
        }
    }

    pub(super) fn routes(&self) -> Routes {
        if self.has(MONITORING) {
            Routes::Monitoring
        } else {
            Routes::All
        }
    }

    /// Feed freshly read bytes; append the responses to every complete request to `out`, in
    /// order. Stops early once `out.len() >= out_budget`, keeping the rest of `input` inside the
    /// session, and returns [`Step::Paused`]. While paused the caller should stop reading (input
    /// given anyway is queued behind the buffered input, so it is the caller's read size that
    /// bounds the buffer then). After a close, input is ignored.
    pub fn on_input(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
        out_budget: usize,
    ) -> Step {
        let step = self.take_input(input, out, env, out_budget);
        self.track_deadline(env);
        step
    }

    fn take_input(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
        out_budget: usize,
    ) -> Step {
        if self.has(CLOSED) {
            return Step::CloseAfterFlush;
        }
        let mut input = input;
        if self.chunked.is_some() {
            match self.feed_chunked(input, out, env) {
                Some(used) => input = &input[used..],
                // A refusal found in this read closes like one found with the head.
                None => return self.finish(self.step_after_chunked()),
            }
            if self.has(CLOSED) {
                return Step::CloseAfterFlush;
            }
        }
        if self.pending.is_empty() {
            let (used, step) = self.serve(input, out, env, out_budget);
            if step != Step::CloseAfterFlush && used < input.len() {
                let rest = &input[used..];
                if step == Step::Continue && !self.head_fits(rest.len(), env) {
                    return self.reject(out, env, Reject::Overloaded, starts_as_head(rest));
                }
                self.reserve_body();
                self.pending.extend_from_slice(&input[used..]);
            }
            return self.finish(step);
        }
        if !self.has(PAUSED) && !self.head_fits(input.len(), env) {
            let head_request = starts_as_head(&self.pending);
            return self.reject(out, env, Reject::Overloaded, head_request);
        }
        self.pending.extend_from_slice(input);
        if self.has(PAUSED) || self.worth_parsing(input) {
            return self.serve_pending(out, env, out_budget);
        }
        // Only an incomplete head is held to the head limits; once the head is complete
        // (`need > 0`) the buffered bytes are body, bounded by `need` itself.
        if self.need == 0 {
            if let Parsed::Reject(reject) = partial_verdict(&self.pending, env.limits) {
                let head_request = starts_as_head(&self.pending);
                return self.reject(out, env, reject, head_request);
            }
        }
        self.finish(Step::Continue)
    }

    /// Continue with input a [`Step::Paused`] left buffered, once the caller has flushed `out`.
    /// Returns [`Step::Continue`] when there is nothing left to do.
    pub fn resume(&mut self, out: &mut Vec<u8>, env: &HttpEnv<'_>, out_budget: usize) -> Step {
        if self.has(CLOSED) {
            return Step::CloseAfterFlush;
        }
        let step = match self.has(PAUSED) {
            true => self.serve_pending(out, env, out_budget),
            false => self.finish(Step::Continue),
        };
        self.track_deadline(env);
        step
    }

    /// Whether the session holds input it has not answered yet (an unfinished request, or the
    /// rest of a paused batch).
    pub fn has_buffered_input(&self) -> bool {
        !self.pending.is_empty() || self.chunked.is_some()
    }

    /// Bytes of input held by the session. Never more than
    /// [`HttpLimits::max_request_bytes`](super::HttpLimits::max_request_bytes), except after a
    /// [`Step::Paused`], when it is at most what the caller passed in.
    pub fn buffered_len(&self) -> usize {
        self.pending.len() + self.chunked.as_ref().map_or(0, |c| c.body.len())
    }

    /// Heap bytes the session holds (its input and body buffers' capacity); 0 while idle.
    pub fn heap_bytes(&self) -> usize {
        let chunked = self.chunked.as_ref().map_or(0, |c| c.body.capacity());
        self.pending.capacity() + chunked
    }

    /// Request bytes the session holds or has committed to hold: its buffers, and the whole of
    /// a `Content-Length` request whose body it is waiting for. What a server books in its
    /// [`BufferBudget`](super::BufferBudget).
    pub fn buffered_commitment(&self) -> usize {
        let chunked = self.chunked.as_ref().map_or(0, |c| c.committed);
        self.pending.capacity().max(self.need as usize) + chunked
    }

    /// Whether the session is waiting for [`resume`](Self::resume) (its output budget was
    /// reached with input left over).
    pub fn is_paused(&self) -> bool {
        self.has(PAUSED)
    }

    /// The server is shutting down. Complete requests already buffered (a paused pipeline) are
    /// still answered, the last with `Connection: close`; an unfinished one is abandoned.
    /// Returns true when the caller should close after flushing `out` now; false when it should
    /// keep calling [`resume`](Self::resume), which ends with [`Step::CloseAfterFlush`].
    pub fn begin_drain(&mut self) -> bool {
        self.stop_input(DRAINING)
    }

    /// The peer half-closed (read returned 0). Returns true when the caller should close after
    /// flushing `out` (an unfinished request is abandoned); false when complete requests are
    /// still buffered by a pause: keep calling [`resume`](Self::resume), which ends with
    /// [`Step::CloseAfterFlush`].
    pub fn on_peer_closed(&mut self) -> bool {
        self.stop_input(PEER_CLOSED)
    }

    /// No more input will be taken (`why`: [`DRAINING`] or [`PEER_CLOSED`]); no deadline runs.
    /// True when the caller should close after flushing; false while paused complete
    /// requests remain to be answered through [`resume`](Self::resume).
    fn stop_input(&mut self, why: u8) -> bool {
        self.flags |= why;
        self.disarm();
        if self.has(PAUSED) && !self.has(CLOSED) {
            return false;
        }
        let _ = self.close();
        true
    }

    /// Final responses written so far, as a wrapping counter: a caller counts requests served
    /// by the difference before and after a call (one call answers far fewer than 65,536).
    pub fn responses(&self) -> u16 {
        self.responses
    }

    /// Whether the session has decided to close (later input is ignored).
    pub fn is_closed(&self) -> bool {
        self.has(CLOSED)
    }

    pub(super) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}
