//! HTTP/1.1 client: one request's bytes, and the framing of the responses that come back
//! (Content-Length, chunked transfer coding, or read until close, as RFC 9112 section 6.3 says).
//!
//! [`ResponseReader`] is fed the bytes of a connection as they arrive, in pieces of any size,
//! and reports each complete response (status, whether the server closes after it) in order;
//! it never touches a socket and never panics on what a server sends.

use thiserror::Error;

/// Longest response head accepted before the response is declared malformed.
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// One response completed on a connection, in request order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The server announced it closes the connection after this response.
    pub closes: bool,
}

/// Why the responses on a connection cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    /// The bytes are not an HTTP/1.x response (or its framing is contradictory).
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    /// The server closed the connection in the middle of a response.
    #[error("connection closed mid-response")]
    Truncated,
}

/// Build the bytes of one request.
pub fn build_request(
    method: &str,
    host: &str,
    path: &str,
    headers: &[String],
    body: Option<&str>,
) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\n");
    let has = |name: &str| {
        headers.iter().any(|h| {
            h.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    };
    if !has("host") {
        r.push_str(&format!("Host: {host}\r\n"));
    }
    if !has("user-agent") {
        r.push_str("User-Agent: reactor-loadgen\r\n");
    }
    for h in headers {
        r.push_str(h.trim());
        r.push_str("\r\n");
    }
    if let Some(b) = body {
        if !has("content-length") {
            r.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b.as_bytes());
    }
    bytes
}

/// Where the parser is inside the current response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed { left: u64 },
    ChunkSize,
    ChunkData { left: u64 },
    ChunkDataEnd,
    Trailers,
    UntilClose,
}

/// The response framing of one keep-alive connection.
#[derive(Debug)]
pub struct ResponseReader {
    head_request: bool,
    buf: Vec<u8>,
    state: State,
    status: u16,
    closes: bool,
}

impl ResponseReader {
    /// A reader of the responses to requests of one method; `head_request` for method HEAD,
    /// whose responses carry no body whatever their headers say.
    pub fn new(head_request: bool) -> ResponseReader {
        ResponseReader {
            head_request,
            buf: Vec::with_capacity(4096),
            state: State::Head,
            status: 0,
            closes: false,
        }
    }

    /// Frame as many responses as `data` completes, pushing each to `done` in order.
    pub fn on_bytes(&mut self, data: &[u8], done: &mut Vec<Response>) -> Result<(), FramingError> {
        // Fast path: body bytes of a fixed-length response need no buffering.
        let mut data = data;
        if self.buf.is_empty() {
            if let State::Fixed { left } = self.state {
                let take = (left as usize).min(data.len());
                data = &data[take..];
                self.state = State::Fixed {
                    left: left - take as u64,
                };
                self.finish_if_done(done);
            }
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        let result = self.parse(&mut pos, done);
        self.buf.drain(..pos);
        result
    }

    fn parse(&mut self, pos: &mut usize, done: &mut Vec<Response>) -> Result<(), FramingError> {
        loop {
            let rest = &self.buf[*pos..];
            match self.state {
                State::Head => {
                    if rest.is_empty() {
                        return Ok(());
                    }
                    let mut headers = [httparse::EMPTY_HEADER; 64];
                    let mut resp = httparse::Response::new(&mut headers);
                    match resp.parse(rest) {
                        Ok(httparse::Status::Partial) => {
                            if rest.len() > MAX_HEAD {
                                return Err(FramingError::Malformed(
                                    "response head too long".into(),
                                ));
                            }
                            return Ok(());
                        }
                        Ok(httparse::Status::Complete(n)) => {
                            let status = resp.code.unwrap_or(0);
                            let framing = framing(&resp, self.head_request)?;
                            *pos += n;
                            if (100..200).contains(&status) {
                                continue; // interim response: the real one follows
                            }
                            self.status = status;
                            self.closes = framing.closes;
                            self.state = framing.state;
                            self.finish_if_done(done);
                        }
                        Err(e) => return Err(FramingError::Malformed(e.to_string())),
                    }
                }
                State::Fixed { left } => {
                    let take = (left as usize).min(rest.len());
                    *pos += take;
                    self.state = State::Fixed {
                        left: left - take as u64,
                    };
                    if !self.finish_if_done(done) {
                        return Ok(());
                    }
                }
                State::ChunkSize => {
                    let Some(line_end) = find_crlf(rest) else {
                        return check_line_len(rest);
                    };
                    let line = &rest[..line_end];
                    let hex = line.split(|&b| b == b';').next().unwrap_or(line);
                    let size = parse_hex(hex)?;
                    *pos += line_end + 2;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData { left: size }
                    };
                }
                State::ChunkData { left } => {
                    let take = (left as usize).min(rest.len());
                    *pos += take;
                    if take as u64 == left {
                        self.state = State::ChunkDataEnd;
                    } else {
                        self.state = State::ChunkData {
                            left: left - take as u64,
                        };
                        return Ok(());
                    }
                }
                State::ChunkDataEnd => {
                    if rest.len() < 2 {
                        return Ok(());
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(FramingError::Malformed("chunk not followed by CRLF".into()));
                    }
                    *pos += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(line_end) = find_crlf(rest) else {
                        return check_line_len(rest);
                    };
                    *pos += line_end + 2;
                    if line_end == 0 {
                        self.complete(done);
                    }
                }
                State::UntilClose => {
                    *pos += rest.len();
                    return Ok(());
                }
            }
        }
    }

    /// Complete the response when a fixed-length body has been fully read.
    fn finish_if_done(&mut self, done: &mut Vec<Response>) -> bool {
        if self.state == (State::Fixed { left: 0 }) {
            self.complete(done);
            true
        } else {
            false
        }
    }

    fn complete(&mut self, done: &mut Vec<Response>) {
        done.push(Response {
            status: self.status,
            closes: self.closes,
        });
        self.state = State::Head;
    }

    /// End of stream: completes a read-until-close body, otherwise it is fine only between
    /// responses.
    pub fn on_eof(&mut self, done: &mut Vec<Response>) -> Result<(), FramingError> {
        match self.state {
            State::UntilClose => {
                self.closes = true;
                self.complete(done);
                Ok(())
            }
            State::Head if self.buf.is_empty() => Ok(()),
            _ => Err(FramingError::Truncated),
        }
    }

    /// Forget any partial response.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.state = State::Head;
    }
}

/// The body framing of one response head.
struct Framing {
    state: State,
    closes: bool,
}

/// How the body of `resp` is delimited (RFC 9112 section 6.3).
fn framing(resp: &httparse::Response, head_request: bool) -> Result<Framing, FramingError> {
    let status = resp.code.unwrap_or(0);
    let mut closes = resp.version == Some(0);
    let mut chunked = false;
    let mut length = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            if v.split(',').any(|t| t.trim() == "close") {
                closes = true;
            } else if v.split(',').any(|t| t.trim() == "keep-alive") {
                closes = false;
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            chunked = v
                .split(',')
                .next_back()
                .is_some_and(|t| t.trim() == "chunked");
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| FramingError::Malformed("bad Content-Length".into()))?;
            if length.is_some_and(|l| l != v) {
                return Err(FramingError::Malformed("conflicting Content-Length".into()));
            }
            length = Some(v);
        }
    }
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    let state = if no_body {
        State::Fixed { left: 0 }
    } else if chunked {
        State::ChunkSize
    } else if let Some(l) = length {
        State::Fixed { left: l }
    } else {
        closes = true;
        State::UntilClose
    };
    Ok(Framing { state, closes })
}

/// Offset of the first CRLF.
fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
}

/// A partial line is fine until it is longer than any line we accept.
fn check_line_len(partial: &[u8]) -> Result<(), FramingError> {
    if partial.len() > MAX_LINE {
        Err(FramingError::Malformed("chunk line too long".into()))
    } else {
        Ok(())
    }
}

/// A chunk size: hexadecimal, at most 15 digits (no overflow).
fn parse_hex(hex: &[u8]) -> Result<u64, FramingError> {
    let s = std::str::from_utf8(hex)
        .map_err(|_| FramingError::Malformed("chunk size not ASCII".into()))?
        .trim();
    if s.is_empty() || s.len() > 15 {
        return Err(FramingError::Malformed(format!("bad chunk size {s:?}")));
    }
    u64::from_str_radix(s, 16).map_err(|_| FramingError::Malformed(format!("bad chunk size {s:?}")))
}

#[cfg(test)]
mod tests;
