//! Request-head parsing: limits, framing, `Host`, targets, versions.

use super::*;

fn head(raw: &[u8]) -> Head {
    match parse_head(raw, &HttpLimits::default()) {
        Parsed::Head(head) => head,
        other => panic!("expected a head, got {other:?}"),
    }
}

#[test]
fn simple_get() {
    let h = head(b"GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\nrest");
    assert_eq!(h.method, Method::Get);
    assert_eq!(h.target, Target::Root);
    assert_eq!(h.len, 31);
    assert_eq!(h.framing, Framing::Length(0));
    assert!(h.keep_alive && !h.explicit_keep_alive);
}

#[test]
fn connection_rules() {
    assert!(!head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").keep_alive);
    assert!(!head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n").keep_alive);
    assert!(!head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
    let h10 = head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert!(h10.keep_alive && h10.explicit_keep_alive);
}

#[test]
fn content_length_rules() {
    assert_eq!(
        head(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").body_len(),
        5
    );
    let same_twice =
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(head(same_twice).body_len(), 5);
    // `1*DIGIT`: leading zeros are valid, however many.
    let zeros = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000005\r\n\r\n";
    assert_eq!(head(zeros).body_len(), 5);
    let limits = HttpLimits::default();
    for bad in [
        &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        assert_eq!(parse_head(bad, &limits), Parsed::Reject(Reject::Malformed));
    }
    let big = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n";
    assert_eq!(
        parse_head(big, &limits),
        Parsed::Reject(Reject::BodyTooLarge)
    );
    let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(head(chunked).framing, Framing::Chunked);
}

fn verdict(raw: &[u8]) -> Parsed {
    parse_head(raw, &HttpLimits::default())
}

fn rejected(raw: &[u8]) -> Option<Reject> {
    match verdict(raw) {
        Parsed::Reject(reject) => Some(reject),
        _ => None,
    }
}

/// RFC 9112 §3.2: exactly one valid Host in HTTP/1.1.
#[test]
fn host_rules() {
    let malformed = Some(Reject::Malformed);
    assert_eq!(rejected(b"GET / HTTP/1.1\r\n\r\n"), malformed);
    assert_eq!(
        rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        malformed
    );
    assert_eq!(
        rejected(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
        malformed
    );
    for bad in [
        "a b", "a/b@c", "a@b", "[::1", "[zz]", "a:8o", "a%zz", "a\"b", "[::1]x",
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
        assert_eq!(rejected(raw.as_bytes()), malformed, "{bad}");
    }
    for good in [
        "",
        "a",
        "a:80",
        "a:",
        "127.0.0.1:8080",
        "[::1]:8080",
        "[v1.x]",
        "x%41.y_~-",
    ] {
        let raw = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
        assert!(matches!(verdict(raw.as_bytes()), Parsed::Head(_)), "{good}");
    }
    assert!(matches!(
        verdict(b"GET / HTTP/1.0\r\n\r\n"),
        Parsed::Head(_)
    ));
}

/// RFC 9112 §3.2.2: absolute-form is accepted; its authority is checked like a Host.
#[test]
fn request_target_forms() {
    let get = |target: &str| {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: ignored\r\n\r\n");
        match verdict(raw.as_bytes()) {
            Parsed::Head(head) => Some(head.target),
            _ => None,
        }
    };
    assert_eq!(get("http://x/"), Some(Target::Root));
    assert_eq!(get("HTTP://x:80"), Some(Target::Root));
    assert_eq!(get("https://x?q=1"), Some(Target::Root));
    assert_eq!(get("http://x/healthz?y"), Some(Target::Healthz));
    assert_eq!(get("http://x/other"), Some(Target::Other));
    for bad in [
        "/#frag",
        "/healthz#x",
        "/?q#x",
        "http://x/#f",
        "http://x#f",
        "http://",
        "http:///",
        "ftp://x/",
        "http://u@x/",
        "x",
        "*",
        "x:80",
    ] {
        assert_eq!(get(bad), None, "{bad}");
    }
    let options = verdict(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(
        options,
        Parsed::Head(Head {
            method: Method::Other,
            ..
        })
    ));
    let connect = verdict(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    assert!(matches!(
        connect,
        Parsed::Head(Head {
            method: Method::Other,
            ..
        })
    ));
}

/// RFC 9112 §6.1, §6.3, §11.2: the framing rules that keep requests from being smuggled.
#[test]
fn transfer_encoding_rules() {
    let te = |value: &str, extra: &str, version: &str| {
        let raw = format!(
            "POST /echo HTTP/{version}\r\nHost: a\r\nTransfer-Encoding: {value}\r\n{extra}\r\n"
        );
        verdict(raw.as_bytes())
    };
    let is_chunked = |p: Parsed| matches!(p, Parsed::Head(h) if h.framing == Framing::Chunked);
    assert!(is_chunked(te("chunked", "", "1.1")));
    assert!(is_chunked(te("Chunked", "", "1.1")));
    assert!(is_chunked(te(" , chunked ,", "", "1.1")));
    let reject = |r| Parsed::Reject(r);
    assert_eq!(
        te("gzip, chunked", "", "1.1"),
        reject(Reject::NotImplemented)
    );
    assert_eq!(
        te("x-custom, chunked", "", "1.1"),
        reject(Reject::NotImplemented)
    );
    for (value, extra, version) in [
        ("chunked", "Content-Length: 5\r\n", "1.1"),
        ("chunked", "", "1.0"),
        ("gzip", "", "1.1"),
        ("chunked, gzip", "", "1.1"),
        ("chunked, chunked", "", "1.1"),
        ("chunked", "Transfer-Encoding: chunked\r\n", "1.1"),
        ("chunked;q=1", "", "1.1"),
        ("", "", "1.1"),
        ("chu\"nked", "", "1.1"),
    ] {
        assert_eq!(
            te(value, extra, version),
            reject(Reject::Malformed),
            "{value} {extra}"
        );
    }
}

/// RFC 9110 §2.5, RFC 9112 §2.3: unknown 1.x minors are 1.1, other majors 505.
#[test]
fn versions() {
    let h = head(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    assert!(h.keep_alive && !h.explicit_keep_alive);
    assert_eq!(h.len, 27);
    assert_eq!(verdict(b"GET / HTTP/1.9\r\nHost: a\r\n"), Parsed::Partial);
    assert_eq!(rejected(b"GET / HTTP/1.2\r\n\r\n"), Some(Reject::Malformed));
    assert_eq!(
        rejected(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        Some(Reject::VersionNotSupported)
    );
    assert_eq!(
        rejected(b"GET / HTTP/0.9\r\n\r\n"),
        Some(Reject::VersionNotSupported)
    );
    for bad in [
        &b"GET / HTTP/1.10\r\n\r\n"[..],
        b"GET / HTTP/x.1\r\n\r\n",
        b"GET / FTP/1.1\r\n\r\n",
        b"GET /\r\n\r\n",
    ] {
        assert_eq!(rejected(bad), Some(Reject::Malformed), "{bad:?}");
    }
}

/// RFC 9112 §3: methods are case-sensitive tokens; one longer than any implemented is 501.
#[test]
fn methods() {
    let method = |raw: &[u8]| match verdict(raw) {
        Parsed::Head(head) => Some(head.method),
        _ => None,
    };
    assert_eq!(
        method(b"get / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Some(Method::Other)
    );
    assert_eq!(
        method(b"PUT / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Some(Method::Other)
    );
    let long = [
        &[b'A'; MAX_METHOD + 1][..],
        b" / HTTP/1.1\r\nHost: a\r\n\r\n",
    ]
    .concat();
    assert_eq!(rejected(&long), Some(Reject::NotImplemented));
    assert_eq!(
        rejected(&long[..MAX_METHOD + 1]),
        Some(Reject::NotImplemented)
    );
    assert_eq!(verdict(&long[..MAX_METHOD]), Parsed::Partial);
    let long_target = [&b"GET /"[..], &[b'a'; 9000], b" HTTP/1.1\r\n"].concat();
    assert_eq!(rejected(&long_target), Some(Reject::RequestLineTooLong));
}

/// RFC 9112 §2.2, §5.1, §5.2, RFC 9110 §5.5: syntax a server must refuse.
#[test]
fn field_syntax_errors_are_400() {
    for bad in [
        &b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        assert_eq!(
            rejected(bad),
            Some(Reject::Malformed),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// RFC 9110 §10.1.1: 100-continue is understood (ignored in 1.0); anything else is 417.
#[test]
fn expectations() {
    assert!(
        head(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").expects_continue
    );
    assert!(!head(b"POST /echo HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue);
    assert_eq!(
        rejected(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n"),
        Some(Reject::ExpectationFailed)
    );
}

#[test]
fn limits() {
    let limits = HttpLimits {
        max_request_line: 32,
        max_header_bytes: 64,
        max_headers: 2,
        ..HttpLimits::default()
    };
    let long_line = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(
        parse_head(long_line, &limits),
        Parsed::Reject(Reject::RequestLineTooLong)
    );
    assert_eq!(
        parse_head(&long_line[..40], &limits),
        Parsed::Reject(Reject::RequestLineTooLong)
    );
    let many = b"GET / HTTP/1.1\r\nHost: a\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
    assert_eq!(
        parse_head(many, &limits),
        Parsed::Reject(Reject::HeadersTooLarge)
    );
    let big = [&b"GET / HTTP/1.1\r\nHost: a\r\nX: "[..], &[b'x'; 60]].concat();
    assert_eq!(
        parse_head(&big, &limits),
        Parsed::Reject(Reject::HeadersTooLarge)
    );
    assert_eq!(parse_head(&big[..40], &limits), Parsed::Partial);
    assert_eq!(
        parse_head(b"\x01\x02", &limits),
        Parsed::Reject(Reject::Malformed)
    );
}
