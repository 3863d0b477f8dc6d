//! Reading one request head: parsing with `httparse` within the limits, then the checks RFC 9112
//! and RFC 9110 ask of a server (request target, version, `Host`, framing, `Expect`) and the
//! framing and connection facts the session needs.

use std::mem::MaybeUninit;

use super::chunked::is_tchar;
use super::limits::{HttpLimits, MAX_BODY_CEILING, MAX_HEADERS_CEILING};
use super::target::Target;

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

/// The request line, as `httparse` split it.
struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
    http11: bool,
}

/// What the header fields say, before it is checked for consistency.
#[derive(Default)]
struct Fields {
    content_length: Option<usize>,
    /// `Transfer-Encoding` was present.
    transfer_encoding: bool,
    /// The last coding listed so far is `chunked`.
    chunked_last: bool,
    /// A coding followed `chunked` (chunked twice, or not last).
    after_chunked: bool,
    /// A coding other than `chunked` was listed.
    other_coding: bool,
    hosts: u32,
    conn_close: bool,
    conn_keep_alive: bool,
    expects_continue: bool,
}

fn read_headers(
    line: &RequestLine<'_>,
    headers: &[httparse::Header<'_>],
    len: usize,
    limits: &HttpLimits,
) -> Parsed {
    let mut fields = Fields::default();
    for header in headers {
        if let Err(reject) = fields.add(header) {
            return Parsed::Reject(reject);
        }
    }
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0), and a valid one.
    if fields.hosts > 1 || (line.http11 && fields.hosts == 0) {
        return Parsed::Reject(Reject::Malformed);
    }
    let Some(target) = parse_target(line.method, line.target.as_bytes()) else {
        return Parsed::Reject(Reject::Malformed);
    };
    let framing = match fields.framing(line.http11) {
        Ok(framing) => framing,
        Err(reject) => return Parsed::Reject(reject),
    };
    if let Framing::Length(body_len) = framing {
        if body_len > limits.max_body_bytes.min(MAX_BODY_CEILING) {
            return Parsed::Reject(Reject::BodyTooLarge);
        }
    }
    let keep_alive = if line.http11 {
        !fields.conn_close
    } else {
        fields.conn_keep_alive && !fields.conn_close
    };
    Parsed::Head(Head {
        method: Method::from_token(line.method),
        target,
        len,
        framing,
        keep_alive,
        explicit_keep_alive: keep_alive && !line.http11,
        expects_continue: fields.expects_continue && line.http11,
    })
}

impl Fields {
    fn add(&mut self, header: &httparse::Header<'_>) -> Result<(), Reject> {
        let name = header.name.as_bytes();
        let value = header.value.trim_ascii();
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                self.hosts += 1;
                if !is_valid_host(value) {
                    return Err(Reject::Malformed);
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list_members(value) {
                    self.conn_close |= token.eq_ignore_ascii_case(b"close");
                    self.conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let value = parse_content_length(value).ok_or(Reject::Malformed)?;
                if self.content_length.is_some_and(|seen| seen != value) {
                    return Err(Reject::Malformed);
                }
                self.content_length = Some(value);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.transfer_encoding = true;
                for coding in list_members(value) {
                    self.add_coding(coding)?;
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                for expectation in list_members(value) {
                    if !expectation.eq_ignore_ascii_case(b"100-continue") {
                        return Err(Reject::ExpectationFailed);
                    }
                    self.expects_continue = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One member of a `Transfer-Encoding` list, in order.
    fn add_coding(&mut self, coding: &[u8]) -> Result<(), Reject> {
        let name = coding
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(Reject::Malformed);
        }
        if self.chunked_last {
            // Something follows chunked: either chunked twice or chunked not last (§6.3).
            self.after_chunked = true;
        }
        if name.eq_ignore_ascii_case(b"chunked") {
            if name.len() != coding.len() {
                return Err(Reject::Malformed); // chunked takes no parameters
            }
            self.chunked_last = true;
        } else {
            self.chunked_last = false;
            self.other_coding = true;
        }
        Ok(())
    }

    /// The body framing, by RFC 9112 §6.1 and §6.3.
    fn framing(&self, http11: bool) -> Result<Framing, Reject> {
        if !self.transfer_encoding {
            return Ok(Framing::Length(self.content_length.unwrap_or(0)));
        }
        // Transfer-Encoding with Content-Length may be a smuggling attempt; in HTTP/1.0 the
        // framing is faulty; chunked must be the final coding, exactly once: all 400, close.
        if self.content_length.is_some() || !http11 || !self.chunked_last || self.after_chunked {
            return Err(Reject::Malformed);
        }
        if self.other_coding {
            return Err(Reject::NotImplemented);
        }
        Ok(Framing::Chunked)
    }
}

/// The non-empty members of a comma-separated field value (RFC 9110 §5.6.1), trimmed.
fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|member| !member.is_empty())
}

/// Resolve the request target (RFC 9112 §3.2): origin-form, or absolute-form with an `http` or
/// `https` scheme (whose authority replaces `Host`). `*` is only for `OPTIONS`, which the server
/// does not implement; authority-form only for `CONNECT`, likewise. `None`: a malformed target.
fn parse_target(method: &str, target: &[u8]) -> Option<Target> {
    if target.contains(&b'#') {
        // A fragment is the client's business and never part of a request target (§3.2).
        return None;
    }
    if target.first() == Some(&b'/') {
        return Some(Target::from_path(path_of(target)));
    }
    if target == b"*" {
        return (method == "OPTIONS").then_some(Target::Other);
    }
    if method == "CONNECT" {
        return Some(Target::Other);
    }
    let scheme_end = target.windows(3).position(|w| w == b"://")?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    let authority_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.is_empty() || authority.contains(&b'@') || !is_valid_host(authority) {
        return None;
    }
    match path.first() {
        Some(b'/') => Some(Target::from_path(path_of(path))),
        _ => Some(Target::from_path(b"/")),
    }
}

/// The path of an origin-form target: everything before the query.
fn path_of(target: &[u8]) -> &[u8] {
    match target.iter().position(|&b| b == b'?') {
        Some(query) => &target[..query],
        None => target,
    }
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): an IP literal in brackets,
/// or a reg-name / IPv4 address of unreserved, sub-delims and percent-encoded octets. Empty is
/// valid (a target without authority).
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    // Fast path, taken by nearly every request: a reg-name or IPv4 address with an optional
    // port, no percent-encoding: one pass over a table.
    let mut colon = None;
    let plain = value.iter().enumerate().all(|(i, &b)| {
        if b == b':' && colon.is_none() {
            colon = Some(i);
            return true;
        }
        is_unreserved_or_sub(b) || (colon.is_some() && b.is_ascii_digit())
    });
    if plain {
        let port_ok = colon.is_none_or(|c| value[c + 1..].iter().all(u8::is_ascii_digit));
        if port_ok {
            return true;
        }
    }
    host_with_literal_or_escapes(value)
}

/// The general [`is_valid_host`]: IP literals and percent-encoded octets.
fn host_with_literal_or_escapes(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        if !is_ip_literal(&value[1..close]) {
            return false;
        }
        (&value[..=close], &value[close + 1..])
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &value[value.len()..]),
        }
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    port_ok && (host.first() == Some(&b'[') || is_reg_name(host))
}

/// Inside `[...]`: an IPv6 address (hex digits, `:` and `.` for an embedded IPv4) or an
/// `IPvFuture` (`v` hex `.` then unreserved, sub-delims or `:`), RFC 3986 §3.2.2.
fn is_ip_literal(literal: &[u8]) -> bool {
    match literal {
        [b'v' | b'V', rest @ ..] => {
            let Some(dot) = rest.iter().position(|&b| b == b'.') else {
                return false;
            };
            let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
            !version.is_empty()
                && version.iter().all(u8::is_ascii_hexdigit)
                && !tail.is_empty()
                && tail.iter().all(|&b| b == b':' || is_unreserved_or_sub(b))
        }
        _ => {
            literal.contains(&b':')
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
    }
}

fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        match host[i] {
            b'%' => {
                let hex = host.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved_or_sub(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// RFC 3986 `unreserved` or `sub-delims`.
fn is_unreserved_or_sub(b: u8) -> bool {
    UNRESERVED_OR_SUB[usize::from(b)]
}

/// Lookup table for [`is_unreserved_or_sub`]: `Host` is checked on every request.
static UNRESERVED_OR_SUB: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// A `Content-Length` value: `1*DIGIT` (no sign, no list), any number of leading zeros, then
/// at most 18 significant digits (so the value cannot overflow).
fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[zeros..];
    if digits.len() > 18 {
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

    fn head(raw: &[u8]) -> Head {
        match parse_head(raw, &HttpLimits::default()) {
            Parsed::Head(head) => head,
            other => panic!("expected a head, got {other:?}"),
        }
    }

    #[test]
    fn simple_get() {
        let h = head(b"GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\nrest");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target, Target::Root);
        assert_eq!(h.len, 31);
        assert_eq!(h.framing, Framing::Length(0));
        assert!(h.keep_alive && !h.explicit_keep_alive);
    }

    #[test]
    fn connection_rules() {
        assert!(!head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        let h10 = head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h10.keep_alive && h10.explicit_keep_alive);
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(
            head(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").body_len(),
            5
        );
        let same_twice =
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(head(same_twice).body_len(), 5);
        // `1*DIGIT`: leading zeros are valid, however many.
        let zeros = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000005\r\n\r\n";
        assert_eq!(head(zeros).body_len(), 5);
        let limits = HttpLimits::default();
        for bad in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad, &limits), Parsed::Reject(Reject::Malformed));
        }
        let big = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n";
        assert_eq!(
            parse_head(big, &limits),
            Parsed::Reject(Reject::BodyTooLarge)
        );
        let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(head(chunked).framing, Framing::Chunked);
    }

    fn verdict(raw: &[u8]) -> Parsed {
        parse_head(raw, &HttpLimits::default())
    }

    fn rejected(raw: &[u8]) -> Option<Reject> {
        match verdict(raw) {
            Parsed::Reject(reject) => Some(reject),
            _ => None,
        }
    }

    /// RFC 9112 §3.2: exactly one valid Host in HTTP/1.1.
    #[test]
    fn host_rules() {
        let malformed = Some(Reject::Malformed);
        assert_eq!(rejected(b"GET / HTTP/1.1\r\n\r\n"), malformed);
        assert_eq!(
            rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            malformed
        );
        assert_eq!(
            rejected(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            malformed
        );
        for bad in [
            "a b", "a/b@c", "a@b", "[::1", "[zz]", "a:8o", "a%zz", "a\"b", "[::1]x",
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(rejected(raw.as_bytes()), malformed, "{bad}");
        }
        for good in [
            "",
            "a",
            "a:80",
            "a:",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[v1.x]",
            "x%41.y_~-",
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert!(matches!(verdict(raw.as_bytes()), Parsed::Head(_)), "{good}");
        }
        assert!(matches!(
            verdict(b"GET / HTTP/1.0\r\n\r\n"),
            Parsed::Head(_)
        ));
    }

    /// RFC 9112 §3.2.2: absolute-form is accepted; its authority is checked like a Host.
    #[test]
    fn request_target_forms() {
        let get = |target: &str| {
            let raw = format!("GET {target} HTTP/1.1\r\nHost: ignored\r\n\r\n");
            match verdict(raw.as_bytes()) {
                Parsed::Head(head) => Some(head.target),
                _ => None,
            }
        };
        assert_eq!(get("http://x/"), Some(Target::Root));
        assert_eq!(get("HTTP://x:80"), Some(Target::Root));
        assert_eq!(get("https://x?q=1"), Some(Target::Root));
        assert_eq!(get("http://x/healthz?y"), Some(Target::Healthz));
        assert_eq!(get("http://x/other"), Some(Target::Other));
        for bad in [
            "/#frag",
            "/healthz#x",
            "/?q#x",
            "http://x/#f",
            "http://x#f",
            "http://",
            "http:///",
            "ftp://x/",
            "http://u@x/",
            "x",
            "*",
            "x:80",
        ] {
            assert_eq!(get(bad), None, "{bad}");
        }
        let options = verdict(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(matches!(
            options,
            Parsed::Head(Head {
                method: Method::Other,
                ..
            })
        ));
        let connect = verdict(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
        assert!(matches!(
            connect,
            Parsed::Head(Head {
                method: Method::Other,
                ..
            })
        ));
    }

    /// RFC 9112 §6.1, §6.3, §11.2: the framing rules that keep requests from being smuggled.
    #[test]
    fn transfer_encoding_rules() {
        let te = |value: &str, extra: &str, version: &str| {
            let raw = format!(
                "POST /echo HTTP/{version}\r\nHost: a\r\nTransfer-Encoding: {value}\r\n{extra}\r\n"
            );
            verdict(raw.as_bytes())
        };
        let is_chunked = |p: Parsed| matches!(p, Parsed::Head(h) if h.framing == Framing::Chunked);
        assert!(is_chunked(te("chunked", "", "1.1")));
        assert!(is_chunked(te("Chunked", "", "1.1")));
        assert!(is_chunked(te(" , chunked ,", "", "1.1")));
        let reject = |r| Parsed::Reject(r);
        assert_eq!(
            te("gzip, chunked", "", "1.1"),
            reject(Reject::NotImplemented)
        );
        assert_eq!(
            te("x-custom, chunked", "", "1.1"),
            reject(Reject::NotImplemented)
        );
        for (value, extra, version) in [
            ("chunked", "Content-Length: 5\r\n", "1.1"),
            ("chunked", "", "1.0"),
            ("gzip", "", "1.1"),
            ("chunked, gzip", "", "1.1"),
            ("chunked, chunked", "", "1.1"),
            ("chunked", "Transfer-Encoding: chunked\r\n", "1.1"),
            ("chunked;q=1", "", "1.1"),
            ("", "", "1.1"),
            ("chu\"nked", "", "1.1"),
        ] {
            assert_eq!(
                te(value, extra, version),
                reject(Reject::Malformed),
                "{value} {extra}"
            );
        }
    }

    /// RFC 9110 §2.5, RFC 9112 §2.3: unknown 1.x minors are 1.1, other majors 505.
    #[test]
    fn versions() {
        let h = head(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n");
        assert!(h.keep_alive && !h.explicit_keep_alive);
        assert_eq!(h.len, 27);
        assert_eq!(verdict(b"GET / HTTP/1.9\r\nHost: a\r\n"), Parsed::Partial);
        assert_eq!(rejected(b"GET / HTTP/1.2\r\n\r\n"), Some(Reject::Malformed));
        assert_eq!(
            rejected(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            Some(Reject::VersionNotSupported)
        );
        assert_eq!(
            rejected(b"GET / HTTP/0.9\r\n\r\n"),
            Some(Reject::VersionNotSupported)
        );
        for bad in [
            &b"GET / HTTP/1.10\r\n\r\n"[..],
            b"GET / HTTP/x.1\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
        ] {
            assert_eq!(rejected(bad), Some(Reject::Malformed), "{bad:?}");
        }
    }

    /// RFC 9112 §3: methods are case-sensitive tokens; one longer than any implemented is 501.
    #[test]
    fn methods() {
        let method = |raw: &[u8]| match verdict(raw) {
            Parsed::Head(head) => Some(head.method),
            _ => None,
        };
        assert_eq!(
            method(b"get / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(Method::Other)
        );
        assert_eq!(
            method(b"PUT / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(Method::Other)
        );
        let long = [
            &[b'A'; MAX_METHOD + 1][..],
            b" / HTTP/1.1\r\nHost: a\r\n\r\n",
        ]
        .concat();
        assert_eq!(rejected(&long), Some(Reject::NotImplemented));
        assert_eq!(
            rejected(&long[..MAX_METHOD + 1]),
            Some(Reject::NotImplemented)
        );
        assert_eq!(verdict(&long[..MAX_METHOD]), Parsed::Partial);
        let long_target = [&b"GET /"[..], &[b'a'; 9000], b" HTTP/1.1\r\n"].concat();
        assert_eq!(rejected(&long_target), Some(Reject::RequestLineTooLong));
    }

    /// RFC 9112 §2.2, §5.1, §5.2, RFC 9110 §5.5: syntax a server must refuse.
    #[test]
    fn field_syntax_errors_are_400() {
        for bad in [
            &b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(
                rejected(bad),
                Some(Reject::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// RFC 9110 §10.1.1: 100-continue is understood (ignored in 1.0); anything else is 417.
    #[test]
    fn expectations() {
        assert!(
            head(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n")
                .expects_continue
        );
        assert!(!head(b"POST /echo HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue);
        assert_eq!(
            rejected(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n"),
            Some(Reject::ExpectationFailed)
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
        let long_line = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(
            parse_head(long_line, &limits),
            Parsed::Reject(Reject::RequestLineTooLong)
        );
        assert_eq!(
            parse_head(&long_line[..40], &limits),
            Parsed::Reject(Reject::RequestLineTooLong)
        );
        let many = b"GET / HTTP/1.1\r\nHost: a\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(
            parse_head(many, &limits),
            Parsed::Reject(Reject::HeadersTooLarge)
        );
        let big = [&b"GET / HTTP/1.1\r\nHost: a\r\nX: "[..], &[b'x'; 60]].concat();
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
