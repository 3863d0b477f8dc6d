//! Tests of the client role: request bytes and the framing of responses in any split.

use super::*;

fn session() -> ResponseReader {
    ResponseReader::new(false)
}

fn feed_bytewise(s: &mut ResponseReader, data: &[u8]) -> Vec<Response> {
    let mut done = Vec::new();
    for b in data {
        s.on_bytes(std::slice::from_ref(b), &mut done).unwrap();
    }
    done
}

#[test]
fn request_has_host_and_body_length() {
    let r = build_request("POST", "h:1", "/x", &["X-A: b".into()], Some("hey"));
    let text = String::from_utf8(r).unwrap();
    assert!(text.starts_with("POST /x HTTP/1.1\r\nHost: h:1\r\n"));
    assert!(text.contains("X-A: b\r\n"));
    assert!(text.ends_with("Content-Length: 3\r\n\r\nhey"));
}

#[test]
fn content_length_responses_pipelined() {
    let mut s = session();
    let one = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello, client!";
    let mut data = one.to_vec();
    data.extend_from_slice(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    let mut done = Vec::new();
    s.on_bytes(&data, &mut done).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].status, 200);
    assert_eq!(done[1].status, 404);
    assert!(feed_bytewise(&mut s, one).len() == 1);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let mut s = session();
    let data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nHello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n";
    assert_eq!(feed_bytewise(&mut s, data).len(), 1);
    let mut done = Vec::new();
    s.on_bytes(data, &mut done).unwrap();
    s.on_bytes(data, &mut done).unwrap();
    assert_eq!(done.len(), 2);
}

#[test]
fn interim_and_no_body_statuses() {
    let mut s = session();
    let data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n";
    let done = feed_bytewise(&mut s, data);
    assert_eq!(
        done.iter().map(|c| c.status).collect::<Vec<_>>(),
        [204, 304]
    );
}

#[test]
fn head_has_no_body() {
    let mut s = ResponseReader::new(true);
    let done = feed_bytewise(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    assert_eq!(done.len(), 1);
}

#[test]
fn close_delimited_and_connection_close() {
    let mut s = session();
    let mut done = Vec::new();
    s.on_bytes(b"HTTP/1.0 200 OK\r\n\r\nbody", &mut done)
        .unwrap();
    assert!(done.is_empty());
    s.on_eof(&mut done).unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].closes);
    let mut s = session();
    let mut done = Vec::new();
    s.on_bytes(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
        &mut done,
    )
    .unwrap();
    assert!(done[0].closes);
}

#[test]
fn garbage_and_truncation_are_errors() {
    let mut s = session();
    assert!(s.on_bytes(b"SSH-2.0-x\r\n\r\n", &mut Vec::new()).is_err());
    let mut s = session();
    s.on_bytes(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(s.on_eof(&mut Vec::new()), Err(FramingError::Truncated));
    let mut s = session();
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert!(s.on_bytes(bad, &mut Vec::new()).is_err());
}
