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
            budget: &UNLIMITED_BUDGET,
            now: 0,
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
    assert!(std::mem::size_of::<HttpSession>() <= 48);
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
    let (out, step) = f.one(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(out, hello("").trim_end_matches("Hello, client!"));
    assert_eq!(step, Step::Continue);
}

#[test]
fn healthz_stats_and_echo() {
    let f = Fixture::new();
    let (out, _) = f.one(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nok\n"),
        "{out}"
    );
    let (out, _) = f.one(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.contains("Content-Type: application/json\r\nContent-Length: 14\r\n"));
    assert!(out.ends_with(r#"{"requests":7}"#), "{out}");
    let (out, _) = f.one(b"HEAD /stats HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.contains("Content-Length: 14\r\n") && out.ends_with("\r\n\r\n"));
    let (out, step) = f.one(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert!(
        out.contains("Content-Length: 5\r\n") && out.ends_with("\r\n\r\nhello"),
        "{out}"
    );
    assert_eq!(step, Step::Continue);
    let (out, _) = f.one(b"POST /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.contains("Content-Length: 0\r\n") && out.ends_with("\r\n\r\n"));
}

#[test]
fn not_found_and_method_not_allowed_keep_the_connection() {
    let f = Fixture::new();
    let (out, step) = f.one(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status_of(&out), step), ("404", Step::Continue));
    let (out, step) = f.one(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status_of(&out), step), ("405", Step::Continue));
    assert!(out.contains("Allow: GET, HEAD\r\n"));
    let (out, _) = f.one(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.contains("Allow: POST\r\n"));
    // The body of an unrouted request is skipped, keeping the stream framed.
    let (out, step) =
        f.one(b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(step, Step::Continue);
    assert!(
        out.starts_with("HTTP/1.1 501") && out.ends_with(&hello("")),
        "{out}"
    );
    // Methods are case-sensitive: an unknown one is 501, and the connection stays.
    for unknown in [
        &b"get / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let (out, step) = f.one(unknown);
        assert_eq!((status_of(&out), step), ("501", Step::Continue));
        assert!(!out.contains("Allow"));
    }
}

#[test]
fn errors_close_with_the_right_status() {
    let limits = HttpLimits {
        max_request_line: 64,
        max_header_bytes: 128,
        max_headers: 4,
        max_body_bytes: 8,
        ..HttpLimits::default()
    };
    let f = Fixture::with_limits(limits);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(80));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "b".repeat(200)
    );
    let cases: [(&[u8], &str); 8] = [
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", "400"),
        (b"\x00\x01\x02\r\n\r\n", "400"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "400",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "501",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n",
            "413",
        ),
        (long_target.as_bytes(), "414"),
        (big_header.as_bytes(), "431"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n",
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
    assert_eq!((status_of(&out), step), ("501", Step::CloseAfterFlush));
    let mut session = HttpSession::new();
    let long_target = [&b"GET /"[..], &[b'a'; 8 * 1024]].concat();
    let (out, step) = f.run(&mut session, &long_target);
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
    let (_, step) = f.run(&mut session, b"GET / HTTP/1.1\r\nHost: x\r\n");
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
    let (out, step) = f.one(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
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
    let input = [
        &b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        GET,
    ]
    .concat();
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
        b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
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
    assert!(
        session.is_paused()
            && session.has_buffered_input()
            && session.waiting_for() != Some(Deadline::Headers)
    );
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
    let mut session = HttpSession::new();
    assert_eq!(session.waiting_for(), None);
    let (_, step) = f.run(&mut session, b"GET / HTTP/1.1\r\nHost: x\r\nHo");
    assert_eq!(step, Step::Continue);
    assert!(session.waiting_for() == Some(Deadline::Headers));
    let mut out = Vec::new();
    let due = session.poll_timeout().unwrap();
    let env = HttpEnv {
        now: due,
        ..f.env()
    };
    assert_eq!(
        session.handle_timeout(&mut out, &env),
        Some(Deadline::Headers)
    );
    let out = String::from_utf8(out).unwrap_or_default();
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n") && out.contains("close\r\n"));
    assert!(session.is_closed() && session.waiting_for() != Some(Deadline::Headers));

    // Waiting for a body is not waiting for headers.
    let mut session = HttpSession::new();
    let _ = f.run(
        &mut session,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab",
    );
    assert!(session.waiting_for() != Some(Deadline::Headers) && session.has_buffered_input());
    let (out, step) = f.run(&mut session, b"cd");
    assert!(out.ends_with("\r\n\r\nabcd") && step == Step::Continue);
}

#[test]
fn expect_continue_is_answered_once() {
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let head =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
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
    assert!(session.waiting_for() == Some(Deadline::Headers));
    let (rest, step) = f.run(&mut session, b"TP/1.1\r\nHost: x\r\n\r\n");
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
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
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
    let pipelined = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
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

const CHUNKED_ECHO: &[u8] = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
    5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n";

fn echo_of(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nServer: reactor\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nDate: {DATE}\r\n\r\n{body}",
        body.len()
    )
}

/// RFC 9112 §7.1: chunked request bodies are decoded, in any split, and the stream stays framed.
#[test]
fn chunked_bodies_are_decoded_however_split() {
    let f = Fixture::new();
    let input = [CHUNKED_ECHO, GET].concat();
    let expected = echo_of("hello world") + &hello("");
    assert_eq!(f.one(&input), (expected.clone(), Step::Continue));
    let mut session = HttpSession::new();
    assert_eq!(
        f.run_bytewise(&mut session, &input),
        (expected.clone(), Step::Continue)
    );
    assert_eq!(session.heap_bytes(), 0);
    let head_len = CHUNKED_ECHO
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap()
        + 4;
    for split in 1..input.len() {
        let mut session = HttpSession::new();
        let (first, _) = f.run(&mut session, &input[..split]);
        let in_body = split >= head_len && split < CHUNKED_ECHO.len();
        assert_eq!(
            session.waiting_for() == Some(Deadline::Body),
            in_body,
            "{split}"
        );
        let in_head = split < head_len || split > CHUNKED_ECHO.len();
        assert_eq!(
            session.waiting_for() == Some(Deadline::Headers),
            in_head,
            "{split}"
        );
        let (second, step) = f.run(&mut session, &input[split..]);
        assert_eq!(
            (first + &second, step),
            (expected.clone(), Step::Continue),
            "{split}"
        );
    }
}

/// RFC 9112 §7.1 with the body limit, bad framing and `Expect`.
#[test]
fn chunked_limits_and_errors_close() {
    let f = Fixture::with_limits(HttpLimits {
        max_body_bytes: 8,
        ..HttpLimits::default()
    });
    let head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (body, status) in [
        ("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", "413"),
        ("ffffffffffffffffff\r\n", "400"),
        ("5\nhello\r\n0\r\n\r\n", "400"),
        ("5\r\nhelloGET / HTTP/1.1\r\n\r\n", "400"),
        ("0\r\nbad trailer\r\n\r\n", "400"),
    ] {
        let input = format!("{head}{body}GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        for bytewise in [false, true] {
            let mut session = HttpSession::new();
            let (out, step) = if bytewise {
                f.run_bytewise(&mut session, input.as_bytes())
            } else {
                f.run(&mut session, input.as_bytes())
            };
            assert_eq!(
                (status_of(&out), step),
                (status, Step::CloseAfterFlush),
                "{body}"
            );
            assert_eq!(
                out.matches("HTTP/1.1 ").count(),
                1,
                "one response only: {out}"
            );
        }
    }
    let mut session = HttpSession::new();
    let expect = "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (out, step) = f.run(&mut session, expect.as_bytes());
    assert_eq!(
        (out.as_str(), step),
        ("HTTP/1.1 100 Continue\r\n\r\n", Step::Continue)
    );
    let (out, _) = f.run(&mut session, b"2\r\nok\r\n0\r\n\r\n");
    assert_eq!(out, echo_of("ok"));
}

/// Content-Length and Transfer-Encoding together cannot smuggle a second request (§6.1, §11.2).
#[test]
fn content_length_with_transfer_encoding_is_refused() {
    let f = Fixture::new();
    let smuggle = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n\
        0\r\n\r\nGET /stats HTTP/1.1\r\nHost: x\r\n\r\n";
    let (out, step) = f.one(smuggle);
    assert_eq!((status_of(&out), step), ("400", Step::CloseAfterFlush));
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1);
}

/// The issue's hand-written cases, as a new user would send them.
#[test]
fn conformance_cases_from_the_report() {
    let f = Fixture::new();
    for (input, status, close) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], "400", true),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "400", true),
        (b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", "200", false),
        (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", "200", false),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505", true),
        (b"get / HTTP/1.1\r\nHost: x\r\n\r\n", "501", false),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400", true),
        (b"GET / HTTP/1.1\r\nHost: a/b@c\r\n\r\n", "400", true),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "501",
            true,
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
            "417",
            true,
        ),
    ] {
        let (out, step) = f.one(input);
        let expected_step = if close {
            Step::CloseAfterFlush
        } else {
            Step::Continue
        };
        assert_eq!((status_of(&out), step), (status, expected_step), "{out}");
        assert_eq!(out.contains("Connection: close"), close, "{out}");
    }
    let method = [&[b'A'; 9000][..], b" / HTTP/1.1\r\nHost: x\r\n\r\n"].concat();
    assert_eq!(status_of(&f.one(&method).0), "501");
}

/// A body that does not fit the server-wide budget is refused with 503 and `Retry-After`; one
/// that fits is committed whole while it arrives.
#[test]
fn bodies_beyond_the_buffer_budget_get_503() {
    let f = Fixture::new();
    let budget = BufferBudget::new(1000);
    let env = HttpEnv {
        budget: &budget,
        ..f.env()
    };
    let mut out = Vec::new();
    let mut fits = HttpSession::new();
    let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\nabc";
    assert_eq!(fits.on_input(head, &mut out, &env, BIG), Step::Continue);
    assert!(out.is_empty() && fits.waiting_for() == Some(Deadline::Body));
    assert!(fits.buffered_commitment() >= 900 + 50);
    budget.settle(0, fits.buffered_commitment());
    let mut refused = HttpSession::new();
    let step = refused.on_input(head, &mut out, &env, BIG);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!((status_of(&text), step), ("503", Step::CloseAfterFlush));
    assert!(text.contains("Retry-After: 1\r\n") && text.contains("Connection: close\r\n"));
    assert_eq!(refused.buffered_commitment(), 0);
    // A body that arrives whole in one read is not buffered, so it needs no budget.
    out.clear();
    let whole = [&head[..head.len() - 3], &[b'x'; 900]].concat();
    let step = HttpSession::new().on_input(&whole, &mut out, &env, BIG);
    assert_eq!(
        (status_of(&String::from_utf8_lossy(&out)), step),
        ("200", Step::Continue)
    );
    // Chunked bodies claim the budget as they grow.
    out.clear();
    let mut chunked = HttpSession::new();
    let start = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n";
    let step = chunked.on_input(start, &mut out, &env, BIG);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!((status_of(&text), step), ("503", Step::CloseAfterFlush));
    budget.settle(fits.buffered_commitment(), 0);
    out.clear();
    let mut chunked = HttpSession::new();
    let roomy = BufferBudget::new(1 << 20);
    let env = HttpEnv {
        budget: &roomy,
        ..f.env()
    };
    assert_eq!(chunked.on_input(start, &mut out, &env, BIG), Step::Continue);
    assert!(chunked.buffered_commitment() >= 16);
    assert_eq!(
        chunked.on_input(b"0\r\n\r\n", &mut out, &env, BIG),
        Step::Continue
    );
    assert_eq!(chunked.buffered_commitment(), 0);
}

/// The body timeout answers 408 and closes; it applies only while a body is awaited.
#[test]
fn body_timeout_only_while_a_body_is_awaited() {
    let f = Fixture::new();
    let mut session = HttpSession::new();
    let (_, step) = f.run(
        &mut session,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
    );
    assert_eq!(step, Step::Continue);
    assert_eq!(session.waiting_for(), Some(Deadline::Body));
    let mut out = Vec::new();
    let env = HttpEnv {
        now: f.limits.body_timeout.as_millis() as u64,
        ..f.env()
    };
    assert_eq!(session.handle_timeout(&mut out, &env), Some(Deadline::Body));
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(status_of(&text), "408");
    assert!(session.is_closed() && session.waiting_for().is_none());
    assert_eq!(session.poll_timeout(), None);
    let mut idle = HttpSession::new();
    let (_, _) = f.run(&mut idle, GET);
    assert_eq!((idle.waiting_for(), idle.poll_timeout()), (None, None));
}

/// On shutdown, complete requests already buffered are answered, the last one says
/// `Connection: close`, and an unfinished one is dropped.
#[test]
fn draining_answers_what_was_read_and_closes_on_the_last() {
    let f = Fixture::new();
    let env = f.env();
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    let input = [GET.repeat(10), b"GET / HT".to_vec()].concat();
    assert_eq!(session.on_input(&input, &mut out, &env, 1), Step::Paused);
    assert!(!session.begin_drain());
    let mut sent = std::mem::take(&mut out);
    loop {
        match session.resume(&mut out, &env, 1) {
            Step::Paused => sent.append(&mut out),
            Step::CloseAfterFlush => break,
            Step::Continue => panic!("draining must end in a close"),
        }
    }
    sent.append(&mut out);
    let text = String::from_utf8_lossy(&sent).into_owned();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 10);
    assert_eq!(text.matches("Connection: close").count(), 1);
    assert!(text.ends_with(&hello("Connection: close\r\n")), "{text}");
    // A batch ending in an unfinished chunked body: the complete ones are answered, then close.
    let mut session = HttpSession::new();
    let chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
    let input = [GET.repeat(3), chunked.to_vec()].concat();
    assert_eq!(session.on_input(&input, &mut out, &env, 1), Step::Paused);
    assert!(!session.begin_drain());
    let mut sent = std::mem::take(&mut out);
    while session.resume(&mut out, &env, 1) == Step::Paused {
        sent.append(&mut out);
    }
    sent.append(&mut out);
    assert!(session.is_closed());
    let text = String::from_utf8_lossy(&sent).into_owned();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
    assert!(text.ends_with(&hello("Connection: close\r\n")), "{text}");
    // Nothing buffered: close at once.
    let mut idle = HttpSession::new();
    let _ = f.run(&mut idle, GET);
    assert!(idle.begin_drain() && idle.is_closed());
}

/// Records the status code of every final response, as a server's per-status counters would.
#[derive(Default)]
struct StatusLog(std::cell::RefCell<Vec<u16>>);

impl StatsSource for StatusLog {
    fn write_stats_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{}");
    }

    fn record_response(&self, code: u16) {
        self.0.borrow_mut().push(code);
    }
}

#[test]
fn every_final_response_reports_its_status_code_once() {
    let (date, limits, log) = (
        DateCache::new(UNIX_EPOCH),
        HttpLimits::default(),
        StatusLog::default(),
    );
    let env = HttpEnv {
        date: &date,
        stats: &log,
        limits: &limits,
        budget: &UNLIMITED_BUDGET,
        now: 0,
    };
    let mut session = HttpSession::new();
    let mut out = Vec::new();
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\
                  GET /nope HTTP/1.1\r\nHost: x\r\n\r\n\
                  POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n\
                  POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi\
                  GET / HTTP/1.1\r\n\r\n";
    let _ = session.on_input(input, &mut out, &env, BIG);
    // 100 Continue is not a final response; the Host-less request is a 400 and closes.
    assert_eq!(*log.0.borrow(), vec![200, 404, 405, 200, 400]);
    assert_eq!(session.responses(), 5);
}

/// RFC 9110 §9.3.2: no content in any answer to HEAD, errors included (found by fuzzing).
#[test]
fn errors_to_head_have_no_body() {
    let f = Fixture::new();
    for input in [
        &b"HEAD 7echo HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"HEAD / HTTP/1.1\r\n\r\n",
        b"\r\nHEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    ] {
        let (out, step) = f.one(input);
        assert_eq!(step, Step::CloseAfterFlush);
        assert!(
            out.ends_with("\r\n\r\n") && out.contains("Content-Length: "),
            "{out}"
        );
    }
    let mut session = HttpSession::new();
    let _ = f.run(&mut session, b"HEAD / HTTP/1.1\r\nHost: x\r\n");
    let mut out = Vec::new();
    let env = HttpEnv {
        now: Millis::MAX,
        ..f.env()
    };
    assert_eq!(
        session.handle_timeout(&mut out, &env),
        Some(Deadline::Headers)
    );
    assert!(out.starts_with(b"HTTP/1.1 408") && out.ends_with(b"\r\n\r\n"));
}
