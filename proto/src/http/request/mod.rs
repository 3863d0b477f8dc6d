//! Reading one request head: parsing with `httparse` within the limits, then the checks RFC 9112
//! and RFC 9110 ask of a server (request target, version, `Host`, framing, `Expect`) and the
//! framing and connection facts the session needs.
//!
//! The head's types and its parsing are here; what the header fields say, and whether they agree,
//! in [`fields`]; the syntax of single values (request target, `Host`, `Content-Length`, lists)
//! in [`values`].

use std::mem::MaybeUninit;

mod fields;
mod values;

use super::chunked::is_tchar;
use super::limits::{HttpLimits, MAX_HEADERS_CEILING};
use super::target::Target;
use fields::{read_headers, RequestLine};

/// Longest method accepted before the request line is complete; longer ones get `501` at once
/// (RFC 9112 §3: a method longer than any the server implements). Registered methods are at
/// most 17 bytes.
pub(crate) const MAX_METHOD: usize = 32;

/// The request methods the server implements; every other one is answered `501`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    /// Not implemented (methods are case-sensitive: `get` is one of these).
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

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length` bytes (0 when absent).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the session needs from a complete request head. Owns nothing: the route is resolved
/// while the input is at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub method: Method,
    /// The resource the target names.
    pub target: Target,
    /// Bytes of the head (request line, headers, empty line); the body starts here.
    pub len: usize,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection stays open after this request.
    pub keep_alive: bool,
    /// Whether keep-alive must be spelled out (`Connection: keep-alive` for HTTP/1.0).
    pub explicit_keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expects_continue: bool,
}

impl Head {
    /// `Content-Length`, or 0 for a chunked body (its length is unknown until decoded).
    pub fn body_len(&self) -> usize {
        match self.framing {
            Framing::Length(len) => len,
            Framing::Chunked => 0,
        }
    }
}

/// Why a request is refused before it is routed. Each of these ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// 400: not HTTP/1.x syntax, a bad or missing `Host`, or contradictory framing.
    Malformed,
    /// 408: the request (head or body) took longer than the server allows.
    Timeout,
    /// 413: body over [`HttpLimits::max_body_bytes`].
    BodyTooLarge,
    /// 414: request line over [`HttpLimits::max_request_line`].
    RequestLineTooLong,
    /// 417: an expectation other than `100-continue`.
    ExpectationFailed,
    /// 431: header section over [`HttpLimits::max_header_bytes`] or too many fields.
    HeadersTooLarge,
    /// 501: a transfer coding the server does not implement, or an over-long method.
    NotImplemented,
    /// 503: the server-wide buffer budget cannot hold this body now.
    Overloaded,
    /// 505: an HTTP major version other than 1.
    VersionNotSupported,
}

/// The outcome of looking at the start of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The head is complete (the body may not be).
    Head(Head),
    /// More bytes are needed to finish the head; nothing is wrong so far.
    Partial,
    /// The request is refused.
    Reject(Reject),
}

/// Parse the head at the start of `data`, looking at no more than the header limit.
pub(crate) fn parse_head(data: &[u8], limits: &HttpLimits) -> Parsed {
    let window = &data[..data.len().min(limits.header_bytes())];
    match parse_window(window, limits) {
        Err(httparse::Error::Version) => parse_other_version(data, window, limits),
        Err(httparse::Error::TooManyHeaders) => Parsed::Reject(Reject::HeadersTooLarge),
        Err(_) => Parsed::Reject(Reject::Malformed),
        Ok(None) => partial_verdict(data, limits),
        Ok(Some(head)) => head,
    }
}

/// `httparse` on the window, then the checks on what it found; `Ok(None)` when incomplete.
fn parse_window(window: &[u8], limits: &HttpLimits) -> Result<Option<Parsed>, httparse::Error> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CEILING];
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(window, &mut slots[..limits.header_slots()])? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => {
            let (Some(method), Some(target), Some(version)) =
                (request.method, request.path, request.version)
            else {
                return Ok(Some(Parsed::Reject(Reject::Malformed)));
            };
            // method SP target SP HTTP/1.x CRLF
            if method.len() > MAX_METHOD {
                return Ok(Some(Parsed::Reject(Reject::NotImplemented)));
            }
            if method.len() + target.len() + 12 > limits.max_request_line {
                return Ok(Some(Parsed::Reject(Reject::RequestLineTooLong)));
            }
            let line = RequestLine {
                method,
                target,
                http11: version >= 1,
            };
            Ok(Some(read_headers(&line, request.headers, len, limits)))
        }
    }
}

/// A request line whose version `httparse` does not know (it parses only 1.0 and 1.1). A higher
/// 1.x minor version is served as HTTP/1.1 (RFC 9110 §2.5, RFC 9112 §2.3); another major version
/// is `505`; anything else is malformed.
fn parse_other_version(data: &[u8], window: &[u8], limits: &HttpLimits) -> Parsed {
    let start = window
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    let Some(end) = window[start..]
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
    else {
        return partial_verdict(data, limits);
    };
    let line = &window[start..start + end];
    let Some(space) = line.iter().rposition(|&b| b == b' ') else {
        return Parsed::Reject(Reject::Malformed);
    };
    match &line[space + 1..] {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
            let mut patched = window.to_vec();
            patched[start + space + 8] = b'1';
            match parse_window(&patched, limits) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => partial_verdict(data, limits),
                Err(httparse::Error::TooManyHeaders) => Parsed::Reject(Reject::HeadersTooLarge),
                Err(_) => Parsed::Reject(Reject::Malformed),
            }
        }
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Parsed::Reject(Reject::VersionNotSupported)
        }
        _ => Parsed::Reject(Reject::Malformed),
    }
}

/// Whether an unfinished head has already broken a limit.
pub(crate) fn partial_verdict(data: &[u8], limits: &HttpLimits) -> Parsed {
    // Runs on every read of an unfinished head: the common case is one short scan.
    if data.len() > MAX_METHOD && !data[..=MAX_METHOD].contains(&b' ') {
        let start = data
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let method = &data[start..data.len().min(start + MAX_METHOD + 1)];
        if method.len() > MAX_METHOD && method.iter().all(|&b| is_tchar(b)) {
            return Parsed::Reject(Reject::NotImplemented);
        }
    }
    if data.len() > limits.max_request_line {
        let probe = &data[..=limits.max_request_line];
        if !probe.contains(&b'\n') {
            return Parsed::Reject(Reject::RequestLineTooLong);
        }
    }
    if data.len() >= limits.header_bytes() {
        return Parsed::Reject(Reject::HeadersTooLarge);
    }
    Parsed::Partial
}

#[cfg(test)]
mod tests;
