//! A chunked request body being decoded across reads: its head, the decoder, the body so far,
//! and the buffer budget it has claimed.

use super::{HttpSession, CHUNKED_COMMIT_STEP, CLOSED};
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::http::limits::MAX_BODY_CEILING;
use crate::http::request::{Head, Method, Reject};
use crate::http::response::{Connection, CONTINUE};
use crate::http::routes::respond;
use crate::http::HttpEnv;

/// A chunked request in progress: its head, the decoder, the body decoded so far.
#[derive(Debug)]
pub(super) struct ChunkedBody {
    pub(super) head: Head,
    pub(super) decoder: ChunkedDecoder,
    pub(super) body: Vec<u8>,
    /// Bytes the session has claimed from the budget for this body.
    pub(super) committed: usize,
}

impl HttpSession {
    /// A chunked request's head is parsed and `body` follows it: decode what is there. Returns
    /// the body bytes used once the request is answered; `None` when all of `body` was taken
    /// and more is needed (or the request was refused: then the session is closed).
    pub(super) fn start_chunked(
        &mut self,
        head: Head,
        body: &[u8],
        out: &mut Vec<u8>,
        env: &HttpEnv<'_>,
    ) -> Option<usize> {
        let limits = env.limits;
        let max_body = limits.max_body_bytes.min(MAX_BODY_CEILING);
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
    pub(super) fn feed_chunked(
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
}
