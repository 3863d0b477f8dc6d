//! The session's own deadlines: which wait it is in, when that wait's deadline falls, and the
//! `408` once it has passed (see [`crate::http::Deadline`]).

use super::{starts_as_head, HttpSession, CLOSED, PAUSED, TIMING, TIMING_BODY, TIMING_HEADERS};
use crate::http::deadline::{Deadline, Millis, NO_DEADLINE};
use crate::http::request::{Method, Reject};
use crate::http::HttpEnv;

impl HttpSession {
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
            self.disarm();
            return None;
        };
        let head_request = match &self.chunked {
            Some(chunked) => chunked.head.method == Method::Head,
            None => starts_as_head(&self.pending),
        };
        let _ = self.reject(out, env, Reject::Timeout, head_request);
        self.disarm();
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

    /// After a call: start the deadline of a wait that began (a new head, a body after its
    /// head, the next request after an answer), keep a wait's deadline running while it lasts,
    /// drop it when nothing is awaited.
    ///
    /// The wait whose deadline runs is kept in the [`TIMING`] bits of `flags`, and a final
    /// response sets both bits, which match no wait ([`HttpSession::restart_wait`]). So a call
    /// that changed nothing costs one look at the state and one comparison: a head fed a byte
    /// at a time pays that per byte.
    pub(super) fn track_deadline(&mut self, env: &HttpEnv<'_>) {
        let wait = self.waiting_for();
        let timing = match wait {
            None => 0,
            Some(Deadline::Headers) => TIMING_HEADERS,
            Some(Deadline::Body) => TIMING_BODY,
        };
        if self.flags & TIMING == timing {
            return;
        }
        self.flags = (self.flags & !TIMING) | timing;
        self.deadline = match wait {
            None => NO_DEADLINE,
            Some(wait) => wait.due(env.now, env.limits),
        };
    }

    /// A final response was written: whatever is awaited next belongs to another request, so
    /// its deadline starts afresh at the end of the call.
    pub(super) fn restart_wait(&mut self) {
        self.flags |= TIMING;
    }

    /// No deadline runs (the session stopped taking input, or its deadline was handled).
    pub(super) fn disarm(&mut self) {
        self.flags &= !TIMING;
        self.deadline = NO_DEADLINE;
    }
}
