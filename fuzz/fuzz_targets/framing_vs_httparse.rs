//! Differential: where `httparse` and `Content-Length` alone frame a request (a complete head,
//! one unambiguous length, no `Transfer-Encoding`), the session must frame it the same way: a
//! marker request placed right after it is answered as the next request, or the session closes
//! after the first answer. Where `httparse` rejects the head, the session answers at most one
//! error and closes. So no request can hide inside another.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const MARKER: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: m\r\n\r\n";

/// The statuses in a transcript, with whether each response said `Connection: close`.
fn responses(mut out: &[u8], first_is_head: bool) -> Vec<(u16, bool)> {
    let mut found = Vec::new();
    while !out.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(len)) = response.parse(out) else {
            panic!("not a response: {:?}", String::from_utf8_lossy(out));
        };
        let code = response.code.unwrap_or_default();
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let close = header("connection") == Some(b"close");
        let length: usize = header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        let body = if code == 100 || (found.is_empty() && first_is_head) {
            0
        } else {
            length
        };
        out = &out[len + body..];
        if code != 100 {
            found.push((code, close));
        }
    }
    found
}

fuzz_target!(|data: &[u8]| {
    let limits = reactor_proto::http::HttpLimits::default();
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(data) {
        Ok(httparse::Status::Complete(head_len)) => {
            let mut length = None;
            for header in request.headers.iter() {
                if header.name.eq_ignore_ascii_case("transfer-encoding") {
                    return; // only the session frames chunked bodies
                }
                if header.name.eq_ignore_ascii_case("content-length") {
                    let Some(value) = std::str::from_utf8(header.value)
                        .ok()
                        .filter(|v| {
                            !v.trim().is_empty() && v.trim().bytes().all(|b| b.is_ascii_digit())
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                    else {
                        return; // an invalid length: the session refuses it (checked elsewhere)
                    };
                    if length.is_some_and(|seen| seen != value) {
                        return;
                    }
                    length = Some(value);
                }
            }
            let body = length.unwrap_or(0);
            let total = head_len + body;
            if total > data.len() || body > limits.max_body_bytes {
                return;
            }
            let is_head = request.method == Some("HEAD");
            let input = [&data[..total], MARKER].concat();
            let run = common::drive(&input, &[], usize::MAX, &limits);
            let found = responses(&run.out, is_head);
            assert!(!found.is_empty(), "a complete request got no answer");
            let (_, first_closes) = found[0];
            if first_closes {
                assert_eq!(found.len(), 1, "answers after a close: {found:?}");
            } else {
                // Framed as httparse framed it: the marker is exactly the next request.
                assert_eq!(found.len(), 2, "{found:?}");
                assert_eq!(found[1], (200, false), "{found:?}");
            }
        }
        Ok(httparse::Status::Partial) => {}
        Err(error) => {
            if error == httparse::Error::Version {
                return; // the session serves HTTP/1.2 and up as 1.1; httparse does not
            }
            let input = [data, MARKER].concat();
            let run = common::drive(&input, &[], usize::MAX, &limits);
            // A refusal of what starts as a HEAD request has no body either.
            let start = data
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            let found = responses(&run.out, data[start..].starts_with(b"HEAD "));
            assert!(found.len() <= 1, "{found:?}");
            if let Some(&(code, close)) = found.first() {
                assert!(code >= 400 && close, "{found:?}");
            }
        }
    }
});
