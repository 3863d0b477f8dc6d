//! Tests of the byte-stream connection state machine: events in, decisions out, no socket.

use super::*;
use crate::workload::http::HttpClient;
use crate::workload::tcp::EchoStream;

#[derive(Default)]
struct Log {
    sent: Vec<(u64, u64)>,
    answered: Vec<(u64, Option<u16>, u64)>,
    orphaned: Vec<(u64, Ending)>,
}

impl Log {
    /// Call `f` on the connection, then drain what it reports.
    fn after<T>(&mut self, c: &mut StreamConn, f: impl FnOnce(&mut StreamConn) -> T) -> T {
        let result = f(c);
        while let Some(e) = c.poll_event() {
            match e {
                ConnEvent::Sent { f, at } => self.sent.push((f.intended, at)),
                ConnEvent::Answered { f, status, at } => {
                    self.answered.push((f.intended, status, at))
                }
                ConnEvent::Orphaned { f, ending } => self.orphaned.push((f.intended, ending)),
            }
        }
        result
    }
}

fn echo() -> StreamConn {
    StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 4)
}

fn up(c: &mut StreamConn) {
    c.connecting(100);
    assert_eq!(c.established(350), Some(250));
    assert!(c.is_up());
}

#[test]
fn connecting_then_established_reports_the_connect_time() {
    let mut c = echo();
    assert_eq!(c.phase(), Phase::Down { retry_at: 0 });
    assert_eq!(c.established(5), None, "not connecting");
    up(&mut c);
}

#[test]
fn over_tls_the_connect_and_the_handshake_are_timed_apart() {
    let mut c = echo();
    c.submit(1, 1, 64);
    c.connecting(100);
    assert_eq!(c.handshaking(350), Some(250));
    assert_eq!(c.phase(), Phase::Handshaking { since: 350 });
    assert!(!c.is_up(), "requests wait for the handshake");
    assert_eq!(c.handshaking(400), None, "not connecting any more");
    assert_eq!(c.established(1_350), Some(1_000));
    assert!(c.is_up());
}

#[test]
fn a_request_is_sent_when_its_last_byte_is_written() {
    let mut c = echo();
    up(&mut c);
    let mut log = Log::default();
    c.submit(1_000, 1_000, 64);
    c.submit(2_000, 2_000, 64);
    assert_eq!(c.pending().len(), 128);
    log.after(&mut c, |c| c.wrote(63, 5_000));
    assert!(log.sent.is_empty(), "one byte of the first is still queued");
    log.after(&mut c, |c| c.wrote(65, 6_000));
    assert_eq!(log.sent, vec![(1_000, 6_000), (2_000, 6_000)]);
    assert!(c.pending().is_empty());
}

#[test]
fn echoed_bytes_answer_requests_in_order() {
    let mut c = echo();
    up(&mut c);
    let mut log = Log::default();
    c.submit(1, 1, 64);
    c.submit(2, 2, 64);
    let wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 10));
    assert_eq!(
        log.after(&mut c, |c| c.received(&wire[..100], Arrival::read_at(20))),
        Ok(Received::Open)
    );
    assert_eq!(log.answered, vec![(1, None, 20)]);
    assert_eq!(
        log.after(&mut c, |c| c.received(&wire[100..], Arrival::read_at(30))),
        Ok(Received::Open)
    );
    assert_eq!(log.answered.len(), 2);
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn a_wrong_byte_is_an_error_and_close_orphans_the_rest_newest_first() {
    let mut c = echo();
    up(&mut c);
    let mut log = Log::default();
    c.submit(1, 1, 64);
    c.submit(2, 2, 64);
    let mut wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 10));
    wire[20] ^= 0xFF;
    let err = log
        .after(&mut c, |c| c.received(&wire, Arrival::read_at(20)))
        .unwrap_err();
    assert!(err.is_verification());
    log.after(&mut c, |c| c.close(Ending::Broken, 99));
    assert_eq!(log.orphaned, vec![(2, Ending::Broken), (1, Ending::Broken)]);
    assert_eq!(c.phase(), Phase::Down { retry_at: 99 });
    assert!(c.pending().is_empty());
}

#[test]
fn eof_mid_request_is_broken_and_eof_when_idle_is_quiet() {
    let mut c = echo();
    up(&mut c);
    let mut log = Log::default();
    assert_eq!(log.after(&mut c, |c| c.eof(5)), Ending::Quiet);
    c.submit(1, 1, 64);
    let wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 10));
    assert_eq!(log.after(&mut c, |c| c.eof(20)), Ending::Broken);
}

#[test]
fn the_oldest_request_expires_by_its_intended_time() {
    let mut c = echo();
    up(&mut c);
    let mut log = Log::default();
    c.submit(1, 1, 64);
    let n = c.pending().len();
    log.after(&mut c, |c| c.wrote(n, 500));
    assert_eq!(c.expired(1), None, "timed from the intended time");
    assert_eq!(c.expired(2).map(|f| f.intended), Some(1));
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn an_http_close_announcement_asks_to_close_quietly() {
    let request: std::sync::Arc<[u8]> = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice().into();
    let mut c = StreamConn::new(StreamSession::Http(HttpClient::new(request, false)), 0, 2);
    up(&mut c);
    let mut log = Log::default();
    c.submit(7, 7, 0);
    let n = c.pending().len();
    log.after(&mut c, |c| c.wrote(n, 10));
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    assert_eq!(
        log.after(&mut c, |c| c.received(reply, Arrival::read_at(20))),
        Ok(Received::Closing)
    );
    assert_eq!(log.answered, vec![(7, Some(200), 20)]);
}

#[test]
fn a_response_with_no_request_outstanding_is_an_error() {
    let request: std::sync::Arc<[u8]> = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice().into();
    let mut c = StreamConn::new(StreamSession::Http(HttpClient::new(request, false)), 0, 2);
    up(&mut c);
    let mut log = Log::default();
    c.submit(7, 7, 0);
    let n = c.pending().len();
    log.after(&mut c, |c| c.wrote(n, 10));
    let one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let two = [one.as_slice(), one.as_slice()].concat();
    let got = log.after(&mut c, |c| c.received(&two, Arrival::read_at(20)));
    assert_eq!(got, Err(StreamError::SurplusResponse));
    assert_eq!(
        log.answered,
        vec![(7, Some(200), 20)],
        "the first is an answer"
    );
}

#[test]
fn a_stamp_from_before_the_send_is_not_the_arrival() {
    let mut c = StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 1);
    let mut log = Log::default();
    c.submit(1_000, 1_000, 16);
    let wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 2_000));
    let stepped = Arrival {
        stamp: 1_500,
        read: 2_400,
    };
    log.after(&mut c, |c| c.received(&wire, stepped)).unwrap();
    assert_eq!(
        log.answered,
        vec![(1_000, None, 2_400)],
        "timed at the read, not at the send or the stamp"
    );
}

fn one_shot_echo() -> StreamConn {
    StreamConn::new(StreamSession::Echo(EchoStream::new()), 0, 1).per_request()
}

#[test]
fn per_request_queues_while_down_and_asks_to_close_once_answered() {
    let mut c = one_shot_echo();
    let mut log = Log::default();
    assert!(c.is_idle());
    c.submit(1_000, 1_000, 64);
    assert!(!c.is_idle(), "a request is waiting for its connection");
    assert_eq!(
        c.pending().len(),
        64,
        "bytes wait until the connect completes"
    );
    c.connecting(1_100);
    assert_eq!(c.established(1_400), Some(300));
    let wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 1_500));
    assert_eq!(log.sent, vec![(1_000, 1_500)]);
    assert_eq!(
        log.after(&mut c, |c| c.received(&wire[..10], Arrival::read_at(1_600))),
        Ok(Received::Open)
    );
    assert!(
        log.answered.is_empty(),
        "answered only once the whole echo is verified"
    );
    assert_eq!(
        log.after(&mut c, |c| c.received(&wire[10..], Arrival::read_at(1_700))),
        Ok(Received::Closing)
    );
    assert_eq!(log.answered, vec![(1_000, None, 1_700)]);
    log.after(&mut c, |c| c.close(Ending::Quiet, 1_700));
    assert!(log.orphaned.is_empty());
    assert!(
        c.is_idle(),
        "ready for the next request on a fresh connection"
    );
}

#[test]
fn per_request_a_wrong_echo_is_not_a_close_but_an_error() {
    let mut c = one_shot_echo();
    let mut log = Log::default();
    c.submit(1, 1, 64);
    up(&mut c);
    let mut wire = c.pending().to_vec();
    log.after(&mut c, |c| c.wrote(wire.len(), 10));
    wire[63] ^= 1;
    assert!(log
        .after(&mut c, |c| c.received(&wire, Arrival::read_at(20)))
        .unwrap_err()
        .is_verification());
    assert!(log.answered.is_empty());
}

#[test]
fn per_request_eof_before_the_answer_is_broken_and_a_failed_connect_is_unconnected() {
    let mut c = one_shot_echo();
    let mut log = Log::default();
    c.submit(1, 1, 64);
    up(&mut c);
    let n = c.pending().len();
    log.after(&mut c, |c| c.wrote(n, 10));
    assert_eq!(log.after(&mut c, |c| c.eof(20)), Ending::Broken);
    log.after(&mut c, |c| c.close(Ending::Broken, 20));
    c.submit(2, 2, 64);
    c.connecting(30);
    log.after(&mut c, |c| c.close(Ending::Unconnected, 40));
    assert_eq!(
        log.orphaned,
        vec![(1, Ending::Broken), (2, Ending::Unconnected)]
    );
    assert!(c.is_idle());
}

#[test]
fn per_request_http_answer_without_length_completes_at_the_server_close() {
    let request: std::sync::Arc<[u8]> = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        .as_slice()
        .into();
    let session = StreamSession::Http(HttpClient::new(request, false));
    let mut c = StreamConn::new(session, 0, 1).per_request();
    let mut log = Log::default();
    c.submit(5, 5, 0);
    up(&mut c);
    let n = c.pending().len();
    log.after(&mut c, |c| c.wrote(n, 10));
    let reply = b"HTTP/1.0 200 OK\r\nContent-type: text/html\r\n\r\nHello, client!";
    assert_eq!(
        log.after(&mut c, |c| c.received(reply, Arrival::read_at(20))),
        Ok(Received::Open)
    );
    assert_eq!(log.after(&mut c, |c| c.eof(30)), Ending::Quiet);
    assert_eq!(log.answered, vec![(5, Some(200), 30)]);
}
