//! Answering the complete requests at the front of the input, in order, within the output
//! budget; buffering the unfinished rest; refusals; closing.

use super::{
    HttpSession, Step, CLOSED, CONTINUE_SENT, DRAINING, PAUSED, PEER_CLOSED, SHRINK_ABOVE,
};
use crate::http::chunked::ChunkedDecoder;
use crate::http::request::{parse_head, Framing, Head, Method, Parsed, Reject};
use crate::http::response::{write_reject, Connection, CONTINUE};
use crate::http::routes::respond;
use crate::http::HttpEnv;

impl HttpSession {
    /// Whether `extra` more bytes of an unfinished head may be buffered: head bytes are booked
    /// in the server-wide budget like body bytes, so they are refused by it likewise. (A head
    /// already complete waits for a body whose room was checked when the head was parsed.)
    pub(super) fn head_fits(&self, extra: usize, env: &HttpEnv<'_>) -> bool {
        self.need > 0 || extra <= env.budget.room()
    }

    /// Whether new bytes can change the verdict on the buffered unfinished request: its body is
    /// complete, or (head incomplete) a line ended. Skipping the other cases keeps byte-at-a-time
    /// input from re-parsing the head on every byte.
    pub(super) fn worth_parsing(&self, input: &[u8]) -> bool {
        if self.need > 0 {
            self.pending.len() >= self.need as usize
        } else {
            input.contains(&b'\n')
        }
    }

    pub(super) fn serve_pending(
        &mut self,
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
        out_budget: usize,
    ) -> Step {
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
    pub(super) fn reserve_body(&mut self) {
        let need = self.need as usize;
        if need > self.pending.capacity() {
            self.pending.reserve_exact(need - self.pending.len());
        }
    }

    /// Answer the complete requests at the front of `data`; returns the bytes used and the step.
    pub(super) fn serve(
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

    pub(super) fn step_after_chunked(&self) -> Step {
        if self.has(CLOSED) {
            Step::CloseAfterFlush
        } else {
            Step::Continue
        }
    }

    /// Counts the final response written at `out[start..]` and reports its status code.
    pub(super) fn count_response(&mut self, out: &[u8], start: usize, env: &HttpEnv<'_>) {
        self.responses = self.responses.wrapping_add(1);
        self.restart_wait();
        if let Some(code) = status_code(&out[start..]) {
            env.stats.record_response(code);
        }
    }

    /// Append the response for a refused request (without a body if it was a `HEAD`) and close.
    pub(super) fn reject(
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
    pub(super) fn connection_for(&self, head: &Head, rest: &[u8], env: &HttpEnv<'_>) -> Connection {
        let last = self.has(DRAINING) && !starts_with_complete_request(rest, env);
        if !head.keep_alive || last {
            Connection::Close
        } else if head.explicit_keep_alive {
            Connection::KeepAlive
        } else {
            Connection::Implicit
        }
    }

    /// Answer the request whose head is parsed, if its body is all in `data`; returns its length.
    pub(super) fn serve_request(
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
    pub(super) fn finish(&mut self, step: Step) -> Step {
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

    pub(super) fn close(&mut self) -> Step {
        self.flags = (self.flags | CLOSED) & !PAUSED;
        self.need = 0;
        self.pending = Vec::new();
        self.chunked = None;
        Step::CloseAfterFlush
    }
}

/// Whether the request at the start of `data` is a `HEAD` (its answer then has no body, even an
/// error: RFC 9110 §9.3.2).
pub(super) fn starts_as_head(data: &[u8]) -> bool {
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
