//! What a request's header fields say (framing, `Host`, `Connection`, `Expect`), gathered in one
//! pass and then checked for consistency.

use super::values::{is_valid_host, list_members, parse_content_length, parse_target};
use super::{Framing, Head, Method, Parsed, Reject};
use crate::http::chunked::is_tchar;
use crate::http::limits::{HttpLimits, MAX_BODY_CEILING};

/// The request line, as `httparse` split it.
pub(super) struct RequestLine<'a> {
    pub(super) method: &'a str,
    pub(super) target: &'a str,
    pub(super) http11: bool,
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

pub(super) fn read_headers(
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
