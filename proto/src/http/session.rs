//! [`HttpSession`]: one connection's HTTP/1.1 state, driven by whoever owns the socket.

use super::chunked::{ChunkError, ChunkedDecoder};
use super::deadline::{Deadline, Millis, NO_DEADLINE};
use super::request::{parse_head, partial_verdict, Framing, Head, Method, Parsed, Reject};
use super::response::{write_reject, Connection, CONTINUE};
use super::routes::{respond, Routes};
use super::HttpEnv;

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
    /// When the running [`Deadline`] falls, on the caller's clock; [`NO_DEADLINE`] when none runs.
    deadline: Millis,
}

/// A chunked request in progress: its head, the decoder, the body decoded so far.
#[derive(Debug)]
struct ChunkedBody {
    head: Head,
    decoder: ChunkedDecoder,
    body: Vec<u8>,
    /// Bytes the session has claimed from the budget for this body.
    committed: usize,
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

    fn routes(&self) -> Routes {
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
        let before = self.progress();
        let step = self.take_input(input, out, env, out_budget);
        self.track_deadline(before, env);
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
        let before = self.progress();
        let step = match self.has(PAUSED) {
            true => self.serve_pending(out, env, out_budget),
            false => self.finish(Step::Continue),
        };
        self.track_deadline(before, env);
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

    /// When the session next needs the clock: the time (on the caller's clock, as given in
    /// [`HttpEnv::now`]) at which its running deadline falls, if one runs. The answer can change
    /// after any call; a caller with a timer re-reads it after each one.
    pub fn poll_timeout(&self) -> Option<Millis> {
        (self.deadline != NO_DEADLINE).then_some(self.deadline)
    }

    /// The caller's clock reached (or passed) [`poll_timeout`](Self::poll_timeout): if the
    /// deadline has passed at [`HttpEnv::now`], append `408 Request Timeout`, close, and return
    /// which deadline it was (the caller flushes `out`, then closes). `None` when nothing was
    /// due yet (a timer that fired early, or a deadline that moved): nothing changes.
    pub fn handle_timeout(&mut self, out: &mut Vec<u8>, env: &HttpEnv<'_>) -> Option<Deadline> {
        if self.deadline == NO_DEADLINE || env.now < self.deadline {
            return None;
        }
        let Some(expired) = self.waiting_for() else {
            self.deadline = NO_DEADLINE;
            return None;
        };
        let head_request = match &self.chunked {
            Some(chunked) => chunked.head.method == Method::Head,
            None => starts_as_head(&self.pending),
        };
        let _ = self.reject(out, env, Reject::Timeout, head_request);
        self.deadline = NO_DEADLINE;
        Some(expired)
    }

    /// The deadline that applies now: [`Deadline::Headers`] while a request has started and its
    /// head is incomplete, [`Deadline::Body`] while a complete head waits for its body, `None`
    /// otherwise (idle between requests, paused by the caller's output, or closed).
    pub(crate) fn waiting_for(&self) -> Option<Deadline> {
        if self.flags & (CLOSED | PAUSED) != 0 {
            None
        } else if self.need > 0 || self.chunked.is_some() {
            Some(Deadline::Body)
        } else if !self.pending.is_empty() {
            Some(Deadline::Headers)
        } else {
            None
        }
    }

    /// What a call may change that restarts a deadline: the wait, and the responses written.
    fn progress(&self) -> (Option<Deadline>, u16) {
        (self.waiting_for(), self.responses)
    }

    /// After a call: start the deadline of a wait that began (a new head, a body after its
    /// head, the next request after an answer), keep a wait's deadline running while it lasts,
    /// drop it when nothing is awaited.
    fn track_deadline(&mut self, before: (Option<Deadline>, u16), env: &HttpEnv<'_>) {
        let now = self.progress();
        match now.0 {
            None => self.deadline = NO_DEADLINE,
            Some(wait) if now != before || self.deadline == NO_DEADLINE => {
                self.deadline = wait.due(env.now, env.limits);
            }
            Some(_) => {}
        }
    }

    /// The server is shutting down. Complete requests already buffered (a paused pipeline) are
    /// still answered, the last with `Connection: close`; an unfinished one is abandoned.
    /// Returns true when the caller should close after flushing `out` now; false when it should
    /// keep calling [`resume`](Self::resume), which ends with [`Step::CloseAfterFlush`].
    pub fn begin_drain(&mut self) -> bool {
        self.flags |= DRAINING;
        self.deadline = NO_DEADLINE;
        if self.has(PAUSED) && !self.has(CLOSED) {
            return false;
        }
        let _ = self.close();
        true
    }

    /// The peer half-closed (read returned 0). Returns true when the caller should close after
    /// flushing `out` (an unfinished request is abandoned); false when complete requests are
    /// still buffered by a pause: keep calling [`resume`](Self::resume), which ends with
    /// [`Step::CloseAfterFlush`].
    pub fn on_peer_closed(&mut self) -> bool {
        self.flags |= PEER_CLOSED;
        self.deadline = NO_DEADLINE;
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

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Whether `extra` more bytes of an unfinished head may be buffered: head bytes are booked
    /// in the server-wide budget like body bytes, so they are refused by it likewise. (A head
    /// already complete waits for a body whose room was checked when the head was parsed.)
    fn head_fits(&self, extra: usize, env: &HttpEnv<'_>) -> bool {
        self.need > 0 || extra <= env.budget.room()
    }

    /// Whether new bytes can change the verdict on the buffered unfinished request: its body is
    /// complete, or (head incomplete) a line ended. Skipping the other cases keeps byte-at-a-time
    /// input from re-parsing the head on every byte.
    fn worth_parsing(&self, input: &[u8]) -> bool {
        if self.need > 0 {
            self.pending.len() >= self.need as usize
        } else {
            input.contains(&b'\n')
        }
    }

    fn serve_pending(&mut self, out: &mut Vec<u8>, env: &HttpEnv<'_>, out_budget: usize) -> Step {
        let mut pending = std::mem::take(&mut self.pending);
        let (used, step) = self.serve(&pending, out, env, out_budget);
        if step != Step::CloseAfterFlush && used < pending.len() {
            pending.drain(..used);
            if step == Step::Continue && pending.capacity() > SHRINK_ABOVE {
                // A paused batch has been worked off down to one unfinished request: do not keep
                // the batch-sized storage for it.
                pending.shrink_to(pending.len());
            }
            self.pending = pending;
            self.reserve_body();
        }
        self.finish(step)
    }

    /// Once a request's head announces its length, hold exactly that much storage for it, so the
    /// buffer neither regrows nor over-allocates (its capacity is what the budget books).
    fn reserve_body(&mut self) {
        let need = self.need as usize;
        if need > self.pending.capacity() {
            self.pending.reserve_exact(need - self.pending.len());
        }
    }

    /// Answer the complete requests at the front of `data`; returns the bytes used and the step.
    fn serve(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
        out_budget: usize,
    ) -> (usize, Step) {
        self.flags &= !PAUSED;
        let mut used = 0;
        while used < data.len() {
            if out.len() >= out_budget {
                self.flags |= PAUSED;
                return (used, Step::Paused);
            }
            let rest = &data[used..];
            let head = match parse_head(rest, env.limits) {
                Parsed::Head(head) => head,
                Parsed::Partial if self.has(DRAINING) => return (used, self.close()),
                Parsed::Partial => return (used, Step::Continue),
                Parsed::Reject(reject) => {
                    return (used, self.reject(out, env, reject, starts_as_head(rest)))
                }
            };
            if head.framing == Framing::Chunked {
                match self.start_chunked(head, &rest[head.len..], out, env) {
                    Some(len) => used += head.len + len,
                    None => return (data.len(), self.step_after_chunked()),
                }
                if self.has(CLOSED) {
                    return (used, Step::CloseAfterFlush);
                }
                continue;
            }
            match self.serve_request(&head, rest, out, env) {
                Some(len) if self.has(CLOSED) => return (used + len, Step::CloseAfterFlush),
                Some(len) => used += len,
                None if self.has(CLOSED) => return (used, Step::CloseAfterFlush),
                None => return (used, Step::Continue),
            }
        }
        (used, Step::Continue)
    }

    fn step_after_chunked(&self) -> Step {
        if self.has(CLOSED) {
            Step::CloseAfterFlush
        } else {
            Step::Continue
        }
    }

    /// Counts the final response written at `out[start..]` and reports its status code.
    fn count_response(&mut self, out: &[u8], start: usize, env: &HttpEnv<'_>) {
        self.responses = self.responses.wrapping_add(1);
        if let Some(code) = status_code(&out[start..]) {
            env.stats.record_response(code);
        }
    }

    /// Append the response for a refused request (without a body if it was a `HEAD`) and close.
    fn reject(
        &mut self,
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
        reject: Reject,
        head_request: bool,
    ) -> Step {
        let start = out.len();
        write_reject(out, env.date, reject, !head_request);
        self.count_response(out, start, env);
        self.close()
    }

    /// How the response to `head` speaks about the connection, and whether the session closes
    /// after it. While draining, the last complete request buffered closes the connection.
    fn connection_for(&self, head: &Head, rest: &[u8], env: &HttpEnv<'_>) -> Connection {
        let last = self.has(DRAINING) && !starts_with_complete_request(rest, env);
        if !head.keep_alive || last {
            Connection::Close
        } else if head.explicit_keep_alive {
            Connection::KeepAlive
        } else {
            Connection::Implicit
        }
    }

    /// A chunked request's head is parsed and `body` follows it: decode what is there. Returns
    /// the body bytes used once the request is answered; `None` when all of `body` was taken
    /// and more is needed (or the request was refused: then the session is closed).
    fn start_chunked(
        &mut self,
        head: Head,
        body: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
    ) -> Option<usize> {
        let limits = env.limits;
        let max_body = limits.max_body_bytes.min(super::MAX_BODY_CEILING);
        self.chunked = Some(Box::new(ChunkedBody {
            head,
            decoder: ChunkedDecoder::new(max_body, limits.header_bytes()),
            body: Vec::new(),
            committed: 0,
        }));
        let used = self.feed_chunked(body, out, env);
        if used.is_none() && !self.has(CLOSED) && head.expects_continue {
            out.extend_from_slice(CONTINUE);
        }
        used
    }

    /// Give input to the chunked body in progress. Returns the bytes it used once the request is
    /// answered (the rest is the next request); `None` when it took everything and wants more,
    /// or refused the request (the session is then closed).
    fn feed_chunked(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
    ) -> Option<usize> {
        let chunked = self.chunked.as_mut()?;
        let result = chunked.decoder.decode(input, &mut chunked.body);
        let used = match result {
            Ok(used) => used,
            Err(error) => {
                let reject = match error {
                    ChunkError::Malformed => Reject::Malformed,
                    ChunkError::TooLarge => Reject::BodyTooLarge,
                };
                let head_request = chunked.head.method == Method::Head;
                let _ = self.reject(out, env, reject, head_request);
                return None;
            }
        };
        if !chunked.decoder.is_done() {
            // Claim budget ahead of the body's growth, in steps, refusing once it is spent.
            let held = chunked.body.capacity();
            if held > chunked.committed {
                let step = held.max(CHUNKED_COMMIT_STEP);
                if step > env.budget.room() {
                    let head_request = chunked.head.method == Method::Head;
                    let _ = self.reject(out, env, Reject::Overloaded, head_request);
                    return None;
                }
                chunked.committed = held + step;
            }
            return None;
        }
        let done = self.chunked.take()?;
        let conn = self.connection_for(&done.head, &input[used..], env);
        let start = out.len();
        respond(out, env, &done.head, &done.body, conn, self.routes());
        self.count_response(out, start, env);
        if conn == Connection::Close {
            let _ = self.close();
        }
        Some(used)
    }

    /// Answer the request whose head is parsed, if its body is all in `data`; returns its length.
    fn serve_request(
        &mut self,
        head: &Head,
        data: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
    ) -> Option<usize> {
        let total = head.len + head.body_len();
        if data.len() < total {
            if self.has(DRAINING) {
                let _ = self.close();
                return None;
            }
            if self.need == 0 {
                // A body to wait for: it must fit in the server-wide budget.
                let missing = total - data.len();
                if missing > env.budget.room() {
                    let head_request = head.method == Method::Head;
                    let _ = self.reject(out, env, Reject::Overloaded, head_request);
                    return None;
                }
            }
            // Limits keep `total` small; a configuration that does not still fails safe: the
            // request waits for its body as if the head were incomplete, until the header limit.
            self.need = u32::try_from(total).unwrap_or(u32::MAX);
            if head.expects_continue && !self.has(CONTINUE_SENT) {
                out.extend_from_slice(CONTINUE);
                self.flags |= CONTINUE_SENT;
            }
            return None;
        }
        let conn = self.connection_for(head, &data[total..], env);
        let start = out.len();
        let routes = self.routes();
        respond(out, env, head, &data[head.len..total], conn, routes);
        self.count_response(out, start, env);
        self.need = 0;
        self.flags &= !CONTINUE_SENT;
        if conn == Connection::Close {
            let _ = self.close();
        }
        Some(total)
    }

    /// Tidy up after serving: free the buffer once empty, and close on a peer half-close once
    /// nothing answerable is left.
    fn finish(&mut self, step: Step) -> Step {
        match step {
            // Half-closed, or draining for shutdown: nothing more will be read, so close once
            // nothing answerable is left.
            Step::Continue if self.has(PEER_CLOSED | DRAINING) => self.close(),
            Step::Continue if self.pending.is_empty() && self.pending.capacity() > 0 => {
                self.pending = Vec::new();
                step
            }
            _ => step,
        }
    }

    fn close(&mut self) -> Step {
        self.flags = (self.flags | CLOSED) & !PAUSED;
        self.need = 0;
        self.pending = Vec::new();
        self.chunked = None;
        Step::CloseAfterFlush
    }
}

/// Whether the request at the start of `data` is a `HEAD` (its answer then has no body, even an
/// error: RFC 9110 §9.3.2).
fn starts_as_head(data: &[u8]) -> bool {
    let start = data
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    data[start..].starts_with(b"HEAD ")
}

/// Whether `data` starts with a whole request (head and body) that could be answered now.
fn starts_with_complete_request(data: &[u8], env: &HttpEnv<'_>) -> bool {
    match parse_head(data, env.limits) {
        Parsed::Head(head) if head.framing == Framing::Chunked => {
            let limits = env.limits;
            let mut decoder = ChunkedDecoder::new(limits.max_body_bytes, limits.header_bytes());
            let decoded = decoder.decode(&data[head.len..], &mut Vec::new());
            decoded.is_ok() && decoder.is_done()
        }
        Parsed::Head(head) => data.len() >= head.len + head.body_len(),
        Parsed::Partial => false,
        // A refused request is answered too (with its error), so it counts.
        Parsed::Reject(_) => true,
    }
}

/// The status code of the response starting `response` (`HTTP/1.1 200 OK...` gives 200).
fn status_code(response: &[u8]) -> Option<u16> {
    let digits = response.get(9..12)?;
    digits.iter().try_fold(0u16, |code, &d| {
        d.is_ascii_digit().then(|| code * 10 + u16::from(d - b'0'))
    })
}
