//! Session-level tests: routes, errors, split input, pipelining, budget and keep-alive rules.

use super::*;
use std::time::{Duration, UNIX_EPOCH};

const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const BIG: usize = usize::MAX;

struct Fixture {
    date: DateCache,
    limits: HttpLimits,
    stats: FixedStats,
}

struct FixedStats;

impl StatsSource for FixedStats {
    fn write_stats_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"requests":7}"#);
    }
}

impl Fixture {
    fn new() -> Self {
        Self::with_limits(HttpLimits::default())
    }

    fn with_limits(limits: HttpLimits) -> Self {
        Self {
            date: DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            limits,
            stats: FixedStats,
        }
    }

    fn env(&self) -> HttpEnv<'_> {
        HttpEnv {
            date: &self.date,
            stats: &self.stats,
            limits: &self.limits,
        }
    }

    /// Feed `input` in one read; returns the output and the step.
    fn run(&self, session: &mut HttpSession, input: &[u8]) -> (String, Step) {
        let mut out = Vec::new();
        let step = session.on_input(input, &mut out, &self.env(), BIG);
        (String::from_utf8_lossy(&out).into_owned(), step)
    }

    /// Feed `input` one byte at a time.
    fn run_bytewise(&self, session: &mut HttpSession, input: &[u8]) -> (String, Step) {
        let mut out = Vec::new();
        let mut step = Step::Continue;
        for byte in input {
            step = session.on_input(std::slice::from_ref(byte), &mut out, &self.env(), BIG);
        }
        (String::from_utf8_lossy(&out).into_owned(), step)
    }

    fn one(&self, input: &[u8]) -> (String, Step) {
        self.run(&mut HttpSession::new(), input)
    }
}

fn hello(conn: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nServer: reactor\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\
         {conn}Date: {DATE}\r\n\r\nHello, client!"
    )
}

fn status_of(response: &str) -> &str {
    &response[9..12]
}

#[test]
fn session_is_small_and_idle_without_heap() {
    assert!(std::mem::size_of::<HttpSession>() <= 32);
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let (out, step) = f.run_bytewise(&mut session, GET);
    assert_eq!((out, step), (hello(""), Step::Continue));
    assert!(!session.has_buffered_input());
    assert_eq!(session.heap_bytes(), 0);
}

#[test]
fn get_root_byte_exact_and_keep_alive() {
    let f = Fixture::new();
    assert_eq!(f.one(GET), (hello(""), Step::Continue));
}

#[test]
fn head_root_has_headers_only() {
    let f = Fixture::new();
    let (out, step) = f.one(b"HEAD / HTTP/1.1\r\n\r\n");
    assert_eq!(out, hello("").trim_end_matches("Hello, client!"));
    assert_eq!(step, Step::Continue);
}

#[test]
fn healthz_stats_and_echo() {
    let f = Fixture::new();
    let (out, _) = f.one(b"GET /healthz HTTP/1.1\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nok\n"),
        "{out}"
    );
    let (out, _) = f.one(b"GET /stats HTTP/1.1\r\n\r\n");
    assert!(out.contains("Content-Type: application/json\r\nContent-Length: 14\r\n"));
    assert!(out.ends_with(r#"{"requests":7}"#), "{out}");
    let (out, _) = f.one(b"HEAD /stats HTTP/1.1\r\n\r\n");
    assert!(out.contains("Content-Length: 14\r\n") && out.ends_with("\r\n\r\n"));
    let (out, step) = f.one(b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    assert!(
        out.contains("Content-Length: 5\r\n") && out.ends_with("\r\n\r\nhello"),
        "{out}"
    );
    assert_eq!(step, Step::Continue);
    let (out, _) = f.one(b"POST /echo HTTP/1.1\r\n\r\n");
    assert!(out.contains("Content-Length: 0\r\n") && out.ends_with("\r\n\r\n"));
}

#[test]
fn not_found_and_method_not_allowed_keep_the_connection() {
    let f = Fixture::new();
    let (out, step) = f.one(b"GET /nope HTTP/1.1\r\n\r\n");
    assert_eq!((status_of(&out), step), ("404", Step::Continue));
    let (out, step) = f.one(b"DELETE / HTTP/1.1\r\n\r\n");
    assert_eq!((status_of(&out), step), ("405", Step::Continue));
    assert!(out.contains("Allow: GET, HEAD\r\n"));
    let (out, _) = f.one(b"GET /echo HTTP/1.1\r\n\r\n");
    assert!(out.contains("Allow: POST\r\n"));
    // The body of an unrouted request is skipped, keeping the stream framed.
    let (out, step) =
        f.one(b"PUT /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n");
    assert_eq!(step, Step::Continue);
    assert!(
        out.starts_with("HTTP/1.1 404") && out.ends_with(&hello("")),
        "{out}"
    );
}

#[test]
fn errors_close_with_the_right_status() {
    let limits = HttpLimits {
        max_request_line: 64,
        max_header_bytes: 128,
        max_headers: 4,
        max_body_bytes: 8,
    };
    let f = Fixture::with_limits(limits);
    let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(80));
    let big_header = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(200));
    let cases: [(&[u8], &str); 8] = [
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", "400"),
        (b"\x00\x01\x02\r\n\r\n", "400"),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "400",
        ),
        (
            b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "411",
        ),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 9\r\n\r\n", "413"),
        (long_target.as_bytes(), "414"),
        (big_header.as_bytes(), "431"),
        (
            b"GET / HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n",
            "431",
        ),
    ];
    for (input, status) in cases {
        for bytewise in [false, true] {
            let mut session = HttpSession::new();
            let (out, step) = if bytewise {
                f.run_bytewise(&mut session, input)
            } else {
                f.run(&mut session, input)
            };
            assert_eq!(status_of(&out), status, "{out}");
            assert!(out.contains("Connection: close\r\n"), "{out}");
            assert_eq!(step, Step::CloseAfterFlush);
            assert!(session.is_closed() && !session.has_buffered_input());
            let (more, step) = f.run(&mut session, GET);
            assert_eq!((more.as_str(), step), ("", Step::CloseAfterFlush));
        }
    }
}

#[test]
fn oversized_input_without_line_end_is_refused_early() {
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let (out, step) = f.run(&mut session, &[b'G'; 8 * 1024 + 1]);
    assert_eq!((status_of(&out), step), ("414", Step::CloseAfterFlush));
    let mut session = HttpSession::new();
    let mut out = String::new();
    for _ in 0..2000 {
        let (o, step) = f.run(
            &mut session,
            b"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
        out.push_str(&o);
        if step == Step::CloseAfterFlush {
            break;
        }
        assert!(session.buffered_len() <= f.limits.max_request_bytes());
    }
    assert_eq!(status_of(&out), "400"); // the first line is not a request line
}

#[test]
fn header_flood_after_a_valid_request_line_gets_431() {
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let (_, step) = f.run(&mut session, b"GET / HTTP/1.1\r\n");
    assert_eq!(step, Step::Continue);
    let mut out = String::new();
    for _ in 0..2000 {
        let (o, step) = f.run(&mut session, b"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        out.push_str(&o);
        if step == Step::CloseAfterFlush {
            break;
        }
        assert!(session.buffered_len() <= f.limits.max_header_bytes);
    }
    assert_eq!(status_of(&out), "431");
}

#[test]
fn keep_alive_rules() {
    let f = Fixture::new();
    let (out, step) = f.one(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(
        (out, step),
        (hello("Connection: close\r\n"), Step::CloseAfterFlush)
    );
    let (out, step) = f.one(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(
        (out, step),
        (hello("Connection: close\r\n"), Step::CloseAfterFlush)
    );
    let (out, step) = f.one(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        (out, step),
        (hello("Connection: keep-alive\r\n"), Step::Continue)
    );
}

#[test]
fn requests_after_close_are_not_answered() {
    let f = Fixture::new();
    let input = [&b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..], GET].concat();
    let (out, step) = f.one(&input);
    assert_eq!(
        (out, step),
        (hello("Connection: close\r\n"), Step::CloseAfterFlush)
    );
}

#[test]
fn pipelined_requests_answered_in_order_in_one_batch() {
    let f = Fixture::new();
    let input = [
        GET,
        b"GET /nope HTTP/1.1\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
        GET,
    ]
    .concat();
    let expected = f.one(&input);
    assert_eq!(expected.1, Step::Continue);
    assert!(expected.0.starts_with(&hello("")) && expected.0.ends_with(&hello("")));
    assert_eq!(expected.0.matches("HTTP/1.1 ").count(), 4);
    assert!(expected.0.contains("404 Not Found") && expected.0.contains("\r\n\r\nhi"));
    // Every way of splitting the stream in two gives the same output.
    for cut in 0..=input.len() {
        let mut session = HttpSession::new();
        let (mut out, _) = f.run(&mut session, &input[..cut]);
        let (rest, step) = f.run(&mut session, &input[cut..]);
        out.push_str(&rest);
        assert_eq!((out, step), expected.clone(), "cut at {cut}");
        assert!(!session.has_buffered_input());
    }
    let (out, _) = f.run_bytewise(&mut HttpSession::new(), &input);
    assert_eq!(out, expected.0);
}

#[test]
fn budget_pauses_and_resume_finishes() {
    let f = Fixture::new();
    let env = f.env();
    let input = GET.repeat(10);
    let one_len = hello("").len();
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    let step = session.on_input(&input, &mut out, &env, 3 * one_len);
    assert_eq!(step, Step::Paused);
    assert_eq!(out.len(), 3 * one_len);
    assert!(session.is_paused() && session.has_buffered_input() && !session.awaiting_headers());
    let mut total = out.len();
    let mut rounds = 0;
    loop {
        out.clear(); // the caller flushed
        let step = session.resume(&mut out, &env, 3 * one_len);
        total += out.len();
        rounds += 1;
        if step == Step::Continue {
            break;
        }
        assert_eq!(step, Step::Paused);
    }
    assert_eq!((total, rounds), (10 * one_len, 3));
    assert!(!session.has_buffered_input());
    assert_eq!(session.heap_bytes(), 0);
}

#[test]
fn input_while_paused_is_queued_behind() {
    let f = Fixture::new();
    let env = f.env();
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    assert_eq!(
        session.on_input(&GET.repeat(2), &mut out, &env, 1),
        Step::Paused
    );
    assert_eq!(session.on_input(GET, &mut out, &env, 1), Step::Paused);
    out.clear();
    assert_eq!(session.resume(&mut out, &env, BIG), Step::Continue);
    assert_eq!(out, hello("").repeat(2).into_bytes());
}

#[test]
fn header_timeout_only_while_headers_are_incomplete() {
    let f = Fixture::new();
    let env = f.env();
    let mut session = HttpSession::new();
    assert!(!session.awaiting_headers());
    let (_, step) = f.run(&mut session, b"GET / HTTP/1.1\r\nHo");
    assert_eq!(step, Step::Continue);
    assert!(session.awaiting_headers());
    let mut out = Vec::new();
    session.on_header_timeout(&mut out, &env);
    let out = String::from_utf8(out).unwrap_or_default();
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n") && out.contains("close\r\n"));
    assert!(session.is_closed() && !session.awaiting_headers());

    // Waiting for a body is not waiting for headers.
    let mut session = HttpSession::new();
    let _ = f.run(
        &mut session,
        b"POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nab",
    );
    assert!(!session.awaiting_headers() && session.has_buffered_input());
    let (out, step) = f.run(&mut session, b"cd");
    assert!(out.ends_with("\r\n\r\nabcd") && step == Step::Continue);
}

#[test]
fn expect_continue_is_answered_once() {
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let head = b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    let (out, _) = f.run(&mut session, head);
    assert_eq!(out, "HTTP/1.1 100 Continue\r\n\r\n");
    let (out, _) = f.run(&mut session, b"a");
    assert_eq!(out, "");
    let (out, _) = f.run(&mut session, b"bc");
    assert!(
        out.starts_with("HTTP/1.1 200 OK") && out.ends_with("abc"),
        "{out}"
    );
    // Body already there: no interim response.
    let (out, _) = f.run(&mut session, &[&head[..], b"xyz"].concat());
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
}

#[test]
fn peer_close() {
    let f = Fixture::new();
    let env = f.env();
    let mut session = HttpSession::new();
    let _ = f.run(&mut session, b"GET / HT");
    assert!(session.on_peer_closed());
    assert!(!session.has_buffered_input());

    // Complete requests buffered by a pause are still answered, then the session closes.
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    assert_eq!(
        session.on_input(&GET.repeat(3), &mut out, &env, 1),
        Step::Paused
    );
    assert!(!session.on_peer_closed());
    out.clear();
    assert_eq!(session.resume(&mut out, &env, BIG), Step::CloseAfterFlush);
    assert_eq!(out, hello("").repeat(2).into_bytes());
}

#[test]
fn leading_empty_lines_are_tolerated() {
    let f = Fixture::new();
    let (out, step) = f.one(&[&b"\r\n"[..], GET].concat());
    assert_eq!((out, step), (hello(""), Step::Continue));
}

#[test]
fn storage_of_a_worked_off_batch_is_trimmed() {
    let f = Fixture::new();
    let env = f.env();
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    let input = [GET.repeat(500), b"GET / HT".to_vec()].concat();
    assert_eq!(session.on_input(&input, &mut out, &env, 1), Step::Paused);
    assert!(session.heap_bytes() >= input.len() - GET.len());
    out.clear();
    assert_eq!(session.resume(&mut out, &env, BIG), Step::Continue);
    assert_eq!(session.buffered_len(), 8);
    assert!(session.heap_bytes() < 64, "{}", session.heap_bytes());
    assert!(session.awaiting_headers());
    let (rest, step) = f.run(&mut session, b"TP/1.1\r\n\r\n");
    assert_eq!((rest, step), (hello(""), Step::Continue));
    assert_eq!(session.heap_bytes(), 0);
}

#[test]
fn a_body_larger_than_the_head_limit_may_arrive_in_many_reads() {
    // Only the head counts against max_header_bytes; a body trickling in must not become a 431.
    let fx = Fixture::new();
    let body = vec![b'z'; 3 * fx.limits.max_header_bytes];
    let mut session = HttpSession::new();
    let head = format!(
        "POST /echo HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (out, step) = fx.run(&mut session, head.as_bytes());
    assert_eq!((out.as_str(), step), ("", Step::Continue));
    let mut out = String::new();
    for chunk in body.chunks(1000) {
        let (o, step) = fx.run(&mut session, chunk);
        assert_eq!(step, Step::Continue, "after {out:?}");
        out.push_str(&o);
    }
    assert_eq!(status_of(&out), "200");
    assert!(out.ends_with(std::str::from_utf8(&body).expect("ascii")));
    assert!(!session.has_buffered_input());
}

#[test]
fn responses_counts_every_final_answer() {
    let fx = Fixture::new();
    let mut session = HttpSession::new();
    let before = session.responses();
    let pipelined = b"GET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n";
    let (_, step) = fx.run(&mut session, pipelined);
    assert_eq!(step, Step::Continue);
    assert_eq!(session.responses().wrapping_sub(before), 3);
    let (_, step) = fx.run(&mut session, b"BAD\r\n\r\n");
    assert_eq!(step, Step::CloseAfterFlush);
    assert_eq!(
        session.responses().wrapping_sub(before),
        4,
        "a 400 counts too"
    );
}
