//! Writing responses: precomputed byte strings for the fixed parts, the cached date, and a few
//! small writers for the parts that vary (length, connection header, body).

use super::date::DateCache;
use super::request::Reject;

/// `Server:` header value sent on every response.
pub const SERVER_NAME: &str = "reactor";

/// Body of `GET /`.
pub const HELLO_BODY: &[u8] = b"Hello, client!";

/// The interim response sent once to a client waiting on `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Everything of the `GET /` response before the connection and date lines.
const HELLO_HEAD: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Server: reactor\r\n",
    "Content-Type: text/plain\r\n",
    "Content-Length: 14\r\n",
)
.as_bytes();

/// How the response speaks about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connection {
    /// HTTP/1.1 keep-alive: nothing to say.
    Implicit,
    /// `Connection: keep-alive` (an HTTP/1.0 client that asked for it).
    KeepAlive,
    /// `Connection: close`: the server closes after this response.
    Close,
}

impl Connection {
    fn header(self) -> &'static [u8] {
        match self {
            Self::Implicit => b"",
            Self::KeepAlive => b"Connection: keep-alive\r\n",
            Self::Close => b"Connection: close\r\n",
        }
    }
}

/// A response with a known body.
pub(crate) struct Response<'a> {
    /// Status line without CRLF, e.g. `HTTP/1.1 404 Not Found`.
    pub status: &'static str,
    pub content_type: &'static str,
    /// Extra header lines, each ending in CRLF (e.g. `Allow`).
    pub extra: &'static str,
    pub body: &'a [u8],
}

/// The hot path: `GET /` (or `HEAD /` with `with_body == false`).
#[inline]
pub(crate) fn write_hello(out: &mut Vec<u8>, date: &DateCache, conn: Connection, with_body: bool) {
    let conn = conn.header();
    let body = if with_body { HELLO_BODY } else { b"" };
    out.reserve(HELLO_HEAD.len() + conn.len() + date.line().len() + 2 + body.len());
    out.extend_from_slice(HELLO_HEAD);
    out.extend_from_slice(conn);
    out.extend_from_slice(date.line());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Any other response: status line, `Server`, `Content-Type`, `Content-Length`, connection,
/// extra headers, `Date`, then the body unless `with_body` is false (HEAD).
pub(crate) fn write_response(
    out: &mut Vec<u8>,
    date: &DateCache,
    conn: Connection,
    response: &Response<'_>,
    with_body: bool,
) {
    let mut length = [0u8; 20];
    let length = format_decimal(response.body.len() as u64, &mut length);
    let parts: [&[u8]; 13] = [
        response.status.as_bytes(),
        b"\r\nServer: ",
        SERVER_NAME.as_bytes(),
        b"\r\nContent-Type: ",
        response.content_type.as_bytes(),
        b"\r\nContent-Length: ",
        length,
        b"\r\n",
        conn.header(),
        response.extra.as_bytes(),
        date.line(),
        b"\r\n",
        if with_body { response.body } else { b"" },
    ];
    out.reserve(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// The response for a request refused before routing; always closes. `with_body` is false for
/// a `HEAD` request.
pub(crate) fn write_reject(out: &mut Vec<u8>, date: &DateCache, reject: Reject, with_body: bool) {
    let (status, extra, body): (&str, &str, &[u8]) = match reject {
        Reject::Malformed => ("HTTP/1.1 400 Bad Request", "", b"Bad Request\n"),
        Reject::Timeout => ("HTTP/1.1 408 Request Timeout", "", b"Request Timeout\n"),
        Reject::BodyTooLarge => ("HTTP/1.1 413 Content Too Large", "", b"Content Too Large\n"),
        Reject::RequestLineTooLong => ("HTTP/1.1 414 URI Too Long", "", b"URI Too Long\n"),
        Reject::ExpectationFailed => (
            "HTTP/1.1 417 Expectation Failed",
            "",
            b"Expectation Failed\n",
        ),
        Reject::HeadersTooLarge => (
            "HTTP/1.1 431 Request Header Fields Too Large",
            "",
            b"Request Header Fields Too Large\n",
        ),
        Reject::NotImplemented => ("HTTP/1.1 501 Not Implemented", "", b"Not Implemented\n"),
        Reject::Overloaded => (
            "HTTP/1.1 503 Service Unavailable",
            "Retry-After: 1\r\n",
            b"Service Unavailable\n",
        ),
        Reject::VersionNotSupported => (
            "HTTP/1.1 505 HTTP Version Not Supported",
            "",
            b"HTTP Version Not Supported\n",
        ),
    };
    let response = Response {
        status,
        content_type: "text/plain",
        extra,
        body,
    };
    write_response(out, date, Connection::Close, &response, with_body);
}

/// Write `value` in decimal into `buf`, returning the digits.
fn format_decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[start..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn date() -> DateCache {
        DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777))
    }

    #[test]
    fn decimal() {
        let mut buf = [0; 20];
        assert_eq!(format_decimal(0, &mut buf), b"0");
        assert_eq!(format_decimal(1234, &mut buf), b"1234");
        assert_eq!(format_decimal(u64::MAX, &mut buf), b"18446744073709551615");
    }

    #[test]
    fn hello_is_byte_exact() {
        let mut out = Vec::new();
        write_hello(&mut out, &date(), Connection::Implicit, true);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nServer: reactor\r\nContent-Type: text/plain\r\n\
              Content-Length: 14\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nHello, client!"
        );
    }

    #[test]
    fn generic_response_is_byte_exact() {
        let mut out = Vec::new();
        let response = Response {
            status: "HTTP/1.1 405 Method Not Allowed",
            content_type: "text/plain",
            extra: "Allow: GET, HEAD\r\n",
            body: b"Method Not Allowed\n",
        };
        write_response(&mut out, &date(), Connection::KeepAlive, &response, false);
        assert_eq!(
            out,
            b"HTTP/1.1 405 Method Not Allowed\r\nServer: reactor\r\nContent-Type: text/plain\r\n\
              Content-Length: 19\r\nConnection: keep-alive\r\nAllow: GET, HEAD\r\n\
              Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
    }
}
