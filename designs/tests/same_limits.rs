//! Every server in the comparison (the reactor and each design) applies the same HTTP limits
//! and timeouts: a request that stops arriving gets the same `408` from each, and the same body
//! limit draws the same `413`. Short timeouts (flags every server accepts) keep it fast; the
//! assertions are on the responses, never on how long they took.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{designs, Server};
use reactor_testkit::http::{Response, ResponseReader};

/// Timeout flags given to every server.
const TIMEOUTS: [&str; 4] = ["--header-timeout", "300ms", "--body-timeout", "300ms"];

/// The reactor, built beside the designs (once).
fn reactor() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let beside = Path::new(env!("CARGO_BIN_EXE_design-threads"));
        reactor_testkit::sibling_bin(beside, "reactor-server", "reactor-server")
    })
}

/// Every server under comparison, started with the timeout flags and HTTP only; io_uring's is
/// left out, saying why, when the kernel refuses to make a ring.
fn servers() -> Vec<(String, Server)> {
    let reactor = reactor().to_str().expect("UTF-8 path").to_owned();
    let mut all = vec![(reactor, Vec::new())];
    for (bin, args) in designs() {
        all.push((bin.to_owned(), args));
    }
    all.into_iter()
        .filter(|(bin, _)| !bin.ends_with("design-uring") || uring_available())
        .map(|(bin, args)| {
            let args: Vec<&str> = args.iter().copied().chain(TIMEOUTS).collect();
            let server = Server::start(&bin, &args, &["http"]);
            (format!("{bin} {args:?}"), server)
        })
        .collect()
}

/// Whether this kernel makes an io_uring, asked once. The probe runs on a thread of its own:
/// tearing a ring down queues work on the thread that made it, which would interrupt (EINTR)
/// a test thread's next blocking read with a timeout.
fn uring_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let probe = std::thread::spawn(|| io_uring::IoUring::new(8).map(drop));
        match probe.join().expect("probe thread") {
            Ok(()) => true,
            Err(e) => {
                eprintln!("skipping design-uring: the kernel refuses io_uring ({e})");
                false
            }
        }
    })
}

/// Sends `request`, stops, and returns the answer with its `Date` dropped (the one header that
/// may differ between two correct answers), after checking the server then closes.
fn answer_to_stalled(server: &Server, request: &[u8]) -> Response {
    let mut reader = ResponseReader::connect(server.addr("http"));
    reader.send(request);
    let mut response = reader.response(false);
    reader.expect_eof();
    response.headers.retain(|(name, _)| name != "date");
    response
}

/// Each server's answer to `request`, which it must find stalled, all equal and a `408`.
fn assert_same_408(request: &[u8]) {
    let mut answers = Vec::new();
    for (name, server) in servers() {
        let response = answer_to_stalled(&server, request);
        assert_eq!(response.status, 408, "{name}: {response:?}");
        assert_eq!(response.header("connection"), Some("close"), "{name}");
        answers.push((name, response));
        assert!(server.terminate());
    }
    let (first, expected) = &answers[0];
    for (name, response) in &answers[1..] {
        assert_eq!(response, expected, "{name} answers unlike {first}");
    }
}

#[test]
fn a_body_that_stops_arriving_gets_the_same_408_from_every_server() {
    assert_same_408(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nthe first bytes only",
    );
}

#[test]
fn a_chunked_body_that_stops_arriving_gets_the_same_408_from_every_server() {
    assert_same_408(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf a ch",
    );
}

#[test]
fn a_head_that_stops_arriving_gets_the_same_408_from_every_server() {
    assert_same_408(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
}

/// The body limit is the reactor's everywhere: 1 MiB is served, a byte more is refused.
#[test]
fn every_server_applies_the_same_body_limit() {
    const LIMIT: usize = 1024 * 1024;
    for (name, server) in servers() {
        let mut reader = ResponseReader::connect(server.addr("http"));
        let head = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {LIMIT}\r\n\r\n");
        reader.send(head.as_bytes());
        reader.send(&vec![b'x'; LIMIT]);
        let response = reader.response(false);
        assert_eq!(
            (response.status, response.body.len()),
            (200, LIMIT),
            "{name}"
        );
        let over = format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            LIMIT + 1
        );
        reader.send(over.as_bytes());
        let response = reader.response(false);
        assert_eq!(response.status, 413, "{name}: {response:?}");
        assert!(server.terminate());
    }
}
