//! Reading one request head: parsing with `httparse` within the limits, and the framing and
//! connection facts the session needs from the headers.

use std::mem::MaybeUninit;

use super::limits::{HttpLimits, MAX_BODY_CEILING, MAX_HEADERS_CEILING};

/// The request methods the routes know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Other,
}

impl Method {
    fn from_token(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            _ => Self::Other,
        }
    }
}

/// What the session needs from a complete request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head<'a> {
    pub method: Method,
    /// The target's path, without any query string.
    pub path: &'a [u8],
    /// Bytes of the head (request line, headers, empty line); the body starts here.
    pub len: usize,
    /// `Content-Length`, 0 when absent.
    pub body_len: usize,
    /// Whether the connection stays open after this request.
    pub keep_alive: bool,
    /// Whether keep-alive must be spelled out (`Connection: keep-alive` for HTTP/1.0).
    pub explicit_keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expects_continue: bool,
}

/// Why a request is refused before it is routed. Each of these ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// 400: not HTTP/1.x syntax, or contradictory framing.
    Malformed,
    /// 411: a `Transfer-Encoding` body (chunked bodies are not supported).
    LengthRequired,
    /// 413: `Content-Length` over [`HttpLimits::max_body_bytes`].
    BodyTooLarge,
    /// 414: request line over [`HttpLimits::max_request_line`].
    RequestLineTooLong,
    /// 431: header section over [`HttpLimits::max_header_bytes`] or too many fields.
    HeadersTooLarge,
}

/// The outcome of looking at the start of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// The head is complete (the body may not be).
    Head(Head<'a>),
    /// More bytes are needed to finish the head; nothing is wrong so far.
    Partial,
    /// The request is refused.
    Reject(Reject),
}

/// Parse the head at the start of `data`, looking at no more than the header limit.
pub(crate) fn parse_head<'a>(data: &'a [u8], limits: &HttpLimits) -> Parsed<'a> {
    let window = &data[..data.len().min(limits.max_header_bytes)];
    let mut slots = [const { MaybeUninit::<httparse::Header<'a>>::uninit() }; MAX_HEADERS_CEILING];
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(window, &mut slots[..limits.header_slots()]) {
        Ok(httparse::Status::Complete(len)) => {
            let (Some(method), Some(target), Some(version)) =
                (request.method, request.path, request.version)
            else {
                return Parsed::Reject(Reject::Malformed);
            };
            // method SP target SP HTTP/1.x CRLF
            if method.len() + target.len() + 12 > limits.max_request_line {
                return Parsed::Reject(Reject::RequestLineTooLong);
            }
            read_headers(method, target, version, request.headers, len, limits)
        }
        Ok(httparse::Status::Partial) => partial_verdict(data, limits),
        Err(httparse::Error::TooManyHeaders) => Parsed::Reject(Reject::HeadersTooLarge),
        Err(_) => Parsed::Reject(Reject::Malformed),
    }
}

/// Whether an unfinished head has already broken a limit.
pub(crate) fn partial_verdict<'a>(data: &[u8], limits: &HttpLimits) -> Parsed<'a> {
    if data.len() > limits.max_request_line {
        let probe = &data[..=limits.max_request_line];
        if !probe.contains(&b'\n') {
            return Parsed::Reject(Reject::RequestLineTooLong);
        }
    }
    if data.len() >= limits.max_header_bytes {
        return Parsed::Reject(Reject::HeadersTooLarge);
    }
    Parsed::Partial
}

fn read_headers<'a>(
    method: &'a str,
    target: &'a str,
    version: u8,
    headers: &[httparse::Header<'a>],
    len: usize,
    limits: &HttpLimits,
) -> Parsed<'a> {
    let mut content_length: Option<usize> = None;
    let mut conn_close = false;
    let mut conn_keep_alive = false;
    let mut expects_continue = false;
    for header in headers {
        let name = header.name.as_bytes();
        match name.len() {
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in header.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    conn_close |= token.eq_ignore_ascii_case(b"close");
                    conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let Some(value) = parse_content_length(header.value) else {
                    return Parsed::Reject(Reject::Malformed);
                };
                if content_length.is_some_and(|seen| seen != value) {
                    return Parsed::Reject(Reject::Malformed);
                }
                content_length = Some(value);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                return Parsed::Reject(Reject::LengthRequired);
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expects_continue = header
                    .value
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }
    let body_len = content_length.unwrap_or(0);
    if body_len > limits.max_body_bytes.min(MAX_BODY_CEILING) {
        return Parsed::Reject(Reject::BodyTooLarge);
    }
    let http11 = version >= 1;
    let keep_alive = if http11 {
        !conn_close
    } else {
        conn_keep_alive && !conn_close
    };
    let target = target.as_bytes();
    let path = match target.iter().position(|&b| b == b'?') {
        Some(query) => &target[..query],
        None => target,
    };
    Parsed::Head(Head {
        method: Method::from_token(method),
        path,
        len,
        body_len,
        keep_alive,
        explicit_keep_alive: keep_alive && !http11,
        expects_continue: expects_continue && http11,
    })
}

/// A `Content-Length` value: ASCII digits only (no sign, no list), at most 18 of them.
fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    usize::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Head<'_> {
        match parse_head(raw, &HttpLimits::default()) {
            Parsed::Head(head) => head,
            other => panic!("expected a head, got {other:?}"),
        }
    }

    #[test]
    fn simple_get() {
        let h = head(b"GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\nrest");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.path, b"/");
        assert_eq!(h.len, 31);
        assert_eq!(h.body_len, 0);
        assert!(h.keep_alive && !h.explicit_keep_alive);
    }

    #[test]
    fn connection_rules() {
        assert!(!head(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.1\r\nConnection: x, close\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        let h10 = head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h10.keep_alive && h10.explicit_keep_alive);
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(
            head(b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\n").body_len,
            5
        );
        let same_twice = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(head(same_twice).body_len, 5);
        let limits = HttpLimits::default();
        for bad in [
            &b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad, &limits), Parsed::Reject(Reject::Malformed));
        }
        let big = b"POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
        assert_eq!(
            parse_head(big, &limits),
            Parsed::Reject(Reject::BodyTooLarge)
        );
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            parse_head(chunked, &limits),
            Parsed::Reject(Reject::LengthRequired)
        );
    }

    #[test]
    fn limits() {
        let limits = HttpLimits {
            max_request_line: 32,
            max_header_bytes: 64,
            max_headers: 2,
            ..HttpLimits::default()
        };
        let long_line = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n";
        assert_eq!(
            parse_head(long_line, &limits),
            Parsed::Reject(Reject::RequestLineTooLong)
        );
        assert_eq!(
            parse_head(&long_line[..40], &limits),
            Parsed::Reject(Reject::RequestLineTooLong)
        );
        let many = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(
            parse_head(many, &limits),
            Parsed::Reject(Reject::HeadersTooLarge)
        );
        let big = [&b"GET / HTTP/1.1\r\nX: "[..], &[b'x'; 60]].concat();
        assert_eq!(
            parse_head(&big, &limits),
            Parsed::Reject(Reject::HeadersTooLarge)
        );
        assert_eq!(parse_head(&big[..40], &limits), Parsed::Partial);
        assert_eq!(
            parse_head(b"\x01\x02", &limits),
            Parsed::Reject(Reject::Malformed)
        );
    }
}
