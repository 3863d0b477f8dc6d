//! The per-request limits and timeouts that keep a hostile or broken client from making the
//! server buffer, or wait, without bound.
//!
//! Every server design in the comparison takes its limits from [`HttpLimits::default`] (the
//! reactor's flags default to the same values), so they all refuse and time out alike.

use std::time::Duration;

/// Size limits and timeouts applied to every request, shared by all connections of a server.
///
/// Every limit is checked before the session buffers more than the limit allows, so the bytes a
/// session holds for one unfinished request never exceed
/// [`max_header_bytes`](Self::max_header_bytes) + [`max_body_bytes`](Self::max_body_bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest request line (method, target, version and line ending) in bytes.
    /// Longer → `414 URI Too Long` and close (the rest of the request cannot be framed safely).
    ///
    /// Default: 8 KiB.
    pub max_request_line: usize,
    /// Longest header section (request line, headers and the empty line) in bytes.
    /// Longer → `431 Request Header Fields Too Large` and close.
    ///
    /// Values above [`MAX_HEADER_BYTES_CEILING`] are treated as that ceiling.
    ///
    /// Default: 8 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in one request. More → `431` and close.
    /// Values above [`MAX_HEADERS_CEILING`] are treated as that ceiling.
    ///
    /// Default: 64.
    pub max_headers: usize,
    /// Largest request body the server accepts, on any route; `POST /echo` sends it back. A
    /// larger `Content-Length` → `413 Content Too Large` and close, without reading the body; a
    /// chunked body → `413` and close as soon as its decoded size passes the limit.
    ///
    /// Values above [`MAX_BODY_CEILING`] are treated as that ceiling.
    ///
    /// Default: 1 MiB.
    pub max_body_bytes: usize,
    /// How long a started request may take to complete its head, from its first byte (or from
    /// the answer to the request before it). Longer → `408 Request Timeout` and close. Zero:
    /// no limit. An idle keep-alive connection is not waiting for a head.
    ///
    /// Default: 10 s.
    pub header_timeout: Duration,
    /// How long a request whose head is complete may take to deliver its whole body, however
    /// it paces it. Longer → `408 Request Timeout` and close. Zero: no limit.
    ///
    /// Default: 30 s.
    pub body_timeout: Duration,
}

/// Hard ceiling on [`HttpLimits::max_headers`]: the header slots live on the stack while parsing.
pub const MAX_HEADERS_CEILING: usize = 128;

/// Hard ceiling on [`HttpLimits::max_header_bytes`] (1 MiB): an unfinished head is buffered
/// whole and re-parsed as lines arrive, so a head may not grow without bound however the limit
/// is set (real clients send a few KiB; servers commonly refuse beyond 8 to 64 KiB).
pub const MAX_HEADER_BYTES_CEILING: usize = 1 << 20;

/// Hard ceiling on [`HttpLimits::max_body_bytes`] (1 GiB): bodies are buffered whole.
pub const MAX_BODY_CEILING: usize = 1 << 30;

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_request_line: 8 * 1024,
            max_header_bytes: 8 * 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl HttpLimits {
    /// The header slot count actually used: `max_headers` capped at [`MAX_HEADERS_CEILING`].
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(MAX_HEADERS_CEILING)
    }

    /// The header section limit actually used: `max_header_bytes` capped at
    /// [`MAX_HEADER_BYTES_CEILING`].
    pub(crate) fn header_bytes(&self) -> usize {
        self.max_header_bytes.min(MAX_HEADER_BYTES_CEILING)
    }

    /// Most bytes one unfinished request may occupy in a session's buffer.
    pub fn max_request_bytes(&self) -> usize {
        self.header_bytes().saturating_add(self.max_body_bytes)
    }
}
