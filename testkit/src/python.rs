//! A peer that is not ours: Python's own `http.server` behind Python's `ssl` module (OpenSSL),
//! as the seeds' `HTTPSConnection` world serves HTTPS. Started as a child process on port 0
//! with a [`TestCert`](crate::tls::TestCert); it counts the requests it answered and prints the
//! count when stopped, which is the ground truth a client's own figures are checked against.

use std::process::Command;
use std::time::Duration;

use crate::tls::TestCert;
use crate::Listening;

/// The server: a `ThreadingHTTPServer` whose connections are wrapped by
/// `ssl.SSLContext.wrap_socket` in their own thread (so a slow or failed handshake holds up
/// no one), answering every GET with `Hello, client!` and counting the answers.
const SERVER: &str = r#"
import http.server, signal, socket, ssl, sys, threading

cert, key, version = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
count = 0
handshake_failures = 0

class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = version
    def do_GET(self):
        global count
        body = b"Hello, client!"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            count += 1
    def log_message(self, *args):
        pass

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def finish_request(self, request, client_address):
        global handshake_failures
        try:
            # The handler writes head and body apart: without this, Nagle holds the body
            # back until the client's delayed ACK (40 ms).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            with lock:
                handshake_failures += 1
            return
        self.RequestHandlerClass(tls, client_address, self)
    def handle_error(self, request, client_address):
        pass

server = Server(("127.0.0.1", 0), Hello)
print(f"listening https 127.0.0.1:{server.server_address[1]}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
server.serve_forever()
with lock:
    print(f"requests {count} handshake_failures {handshake_failures}", flush=True)
"#;

/// Which HTTP version the Python server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0: one request per connection, closed after the answer (the seed's server).
    Http10,
    /// HTTP/1.1: keep-alive (and answers to pipelined requests in order).
    Http11,
}

/// What the server said when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCounts {
    /// Requests answered.
    pub requests: u64,
    /// Connections whose TLS handshake failed.
    pub handshake_failures: u64,
}

/// Python's HTTPS server, killed when dropped.
pub struct PythonHttps {
    process: Listening,
}

impl PythonHttps {
    /// Starts `python3` serving HTTPS with `cert` on 127.0.0.1, port 0.
    pub fn start(cert: &TestCert, version: HttpVersion) -> PythonHttps {
        let version = match version {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        };
        let mut cmd = Command::new("python3");
        cmd.arg("-c")
            .arg(SERVER)
            .arg(&cert.cert_path)
            .arg(&cert.key_path)
            .arg(version);
        PythonHttps {
            process: Listening::start(&mut cmd, 1),
        }
    }

    /// `https://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        let addr = self.process.addr("https").expect("announced https");
        format!("https://{addr}/")
    }

    /// Stops the server (SIGTERM) and returns what it counted.
    pub fn stop(mut self) -> ServerCounts {
        self.process.signal(libc::SIGTERM);
        let line = self
            .process
            .stdout_rest
            .recv_timeout(Duration::from_secs(20))
            .expect("the Python server printed its counts");
        let _ = self.process.wait_exit(Duration::from_secs(10));
        parse_counts(&line).unwrap_or_else(|| panic!("unexpected last line {line:?}"))
    }
}

/// `requests N handshake_failures M`.
fn parse_counts(line: &str) -> Option<ServerCounts> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["requests", n, "handshake_failures", m] => Some(ServerCounts {
            requests: n.parse().ok()?,
            handshake_failures: m.parse().ok()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_line_parses() {
        assert_eq!(
            parse_counts("requests 12 handshake_failures 1"),
            Some(ServerCounts {
                requests: 12,
                handshake_failures: 1
            })
        );
        assert_eq!(parse_counts("listening https 127.0.0.1:1"), None);
    }
}
