//! A client-side HTTP/1.1 response reader for tests that drive servers over raw sockets:
//! pipelined responses, answers to `HEAD`, `Content-Length` and chunked bodies, and checks
//! that the server closed or kept the connection.
//!
//! It is deliberately strict: anything that is not a well-formed response fails the test.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::net::connect;

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// `(name lower-cased, value trimmed)`, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads responses off a stream, keeping bytes that belong to the next one.
pub struct ResponseReader {
    /// The connection (public, for tests that shut it down or change its timeouts).
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl ResponseReader {
    /// Wraps a connected stream (its read timeout bounds every wait).
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects to `addr` with the kit's timeouts.
    pub fn connect(addr: SocketAddr) -> Self {
        Self::new(connect(addr))
    }

    /// Writes `bytes` to the server.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Bytes read but not yet parsed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads more bytes into the buffer; false on EOF.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) => panic!("read failed (a timeout means the server did not answer): {e}"),
        }
    }

    /// Reads until `self.buf` holds `len` bytes.
    fn fill_to(&mut self, len: usize, what: &str) {
        while self.buf.len() < len {
            assert!(self.fill(), "EOF inside {what}");
        }
    }

    /// Position just past the next CRLF at or after `from`, reading as needed.
    fn line_end(&mut self, from: usize, what: &str) -> usize {
        loop {
            if let Some(pos) = self.buf[from..].windows(2).position(|w| w == b"\r\n") {
                return from + pos + 2;
            }
            assert!(
                self.fill(),
                "EOF before the end of {what}; got {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// The next response; `head_only` for answers to `HEAD` (no body despite the framing).
    pub fn response(&mut self, head_only: bool) -> Response {
        let head_end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            assert!(
                self.fill(),
                "EOF before a complete response head; got {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("ASCII head");
        self.buf.drain(..head_end);
        let (status, headers) = parse_head(&head);
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 100 || status == 204 || status == 304 {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        response.body = if chunked {
            self.chunked_body()
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("content-length");
            self.fill_to(len, "a response body");
            self.buf.drain(..len).collect()
        } else {
            // Delimited by the end of the stream.
            while self.fill() {}
            std::mem::take(&mut self.buf)
        };
        response
    }

    /// A chunked body, de-chunked; the trailer section is read and dropped.
    fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let end = self.line_end(0, "a chunk-size line");
            let line = String::from_utf8_lossy(&self.buf[..end - 2]).into_owned();
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).expect("hex chunk size");
            self.buf.drain(..end);
            if size == 0 {
                loop {
                    let end = self.line_end(0, "the trailer section");
                    self.buf.drain(..end);
                    if end == 2 {
                        return body;
                    }
                }
            }
            self.fill_to(size + 2, "a chunk");
            body.extend_from_slice(&self.buf[..size]);
            assert_eq!(&self.buf[size..size + 2], b"\r\n", "CRLF after chunk data");
            self.buf.drain(..size + 2);
        }
    }

    /// Asserts the server closes the connection with nothing more to say (bounded by the read
    /// timeout).
    pub fn expect_eof(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected EOF, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(e) => panic!("expected EOF, got error {e}"),
        }
    }

    /// Asserts the connection is still open and idle: a read of `quiet` times out.
    pub fn expect_open(&mut self, quiet: Duration) {
        let before = self.stream.read_timeout().expect("read timeout");
        self.stream.set_read_timeout(Some(quiet)).expect("timeout");
        let mut chunk = [0u8; 64];
        let result = self.stream.read(&mut chunk);
        self.stream.set_read_timeout(before).expect("timeout");
        match result {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected an open idle connection, got {other:?}"),
        }
    }
}

/// The status code and headers of a response head (status line plus header lines).
fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    assert!(
        status_line.starts_with("HTTP/1.1 ") && status_line.len() >= 12,
        "status line {status_line:?}"
    );
    let status = status_line[9..12].parse().expect("status code");
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').expect("header colon");
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers)
}

/// A one-shot `GET path` with `Connection: close`; the whole response.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    let mut reader = ResponseReader::connect(addr);
    reader
        .send(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes());
    reader.response(false)
}

/// A one-shot `GET path`; the body of its `200` response (any other status fails the test).
pub fn get_ok(addr: SocketAddr, path: &str) -> Vec<u8> {
    let response = get(addr, path);
    assert_eq!(response.status, 200, "GET {path}: {response:?}");
    response.body
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Answers the first client's request (one read) with `bytes`, then closes.
    fn serve_once(bytes: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let _ = conn.read(&mut [0u8; 1024]);
                let _ = conn.write_all(bytes);
            }
        });
        addr
    }

    #[test]
    fn pipelined_chunked_and_length_delimited_responses_are_read_in_turn() {
        let addr = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
              HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nT: v\r\n\r\n\
              HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n",
        );
        let mut reader = ResponseReader::connect(addr);
        reader.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(reader.response(false).body, b"hi");
        assert_eq!(reader.response(false).body, b"abcd");
        let head = reader.response(true);
        assert_eq!(
            (head.status, head.header("content-length")),
            (404, Some("5"))
        );
        reader.expect_eof();
    }

    #[test]
    fn a_body_without_framing_runs_to_the_end_of_the_stream() {
        let addr = serve_once(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end");
        assert_eq!(get(addr, "/").body_text(), "to the end");
    }
}
