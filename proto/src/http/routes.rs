//! The routes: which response a complete request gets. Above the parser: routes read what it
//! parsed ([`Head`]), it never reads routes.

use super::request::{Head, Method};
use super::response::{write_hello, write_response, Connection, Response};
use super::target::Target;
use super::HttpEnv;

const ALLOW_READ: &str = "Allow: GET, HEAD\r\n";
const ALLOW_POST: &str = "Allow: POST\r\n";

/// Which routes a session serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routes {
    /// Every route.
    All,
    /// `/metrics` and `/healthz` only (a listener for scrapers and probes); the rest is 404.
    Monitoring,
}

/// Append the response to a complete request (`body` is exactly its decoded body).
#[inline]
pub(crate) fn respond(
    out: &mut Vec<u8>,
    env: &HttpEnv<'_>,
    head: &Head,
    body: &[u8],
    conn: Connection,
    routes: Routes,
) {
    let with_body = head.method != Method::Head;
    let readable = matches!(head.method, Method::Get | Method::Head);
    let target = match head.target {
        Target::Metrics | Target::Healthz => head.target,
        _ if routes == Routes::Monitoring => Target::Other,
        target => target,
    };
    match target {
        _ if head.method == Method::Other => {
            // RFC 9110 §9.1: an unrecognised (or lower-case) method is 501, not 405.
            let response = plain("HTTP/1.1 501 Not Implemented", b"Not Implemented\n");
            write_response(out, env.date, conn, &response, true);
        }
        Target::Root if readable => write_hello(out, env.date, conn, with_body),
        Target::Healthz if readable => {
            let ok = plain("HTTP/1.1 200 OK", b"ok\n");
            write_response(out, env.date, conn, &ok, with_body);
        }
        Target::Stats if readable => write_stats(out, env, conn, with_body),
        Target::Metrics if readable => write_metrics(out, env, conn, with_body),
        Target::Echo if head.method == Method::Post => {
            let echo = Response {
                status: "HTTP/1.1 200 OK",
                content_type: "application/octet-stream",
                extra: "",
                body,
            };
            write_response(out, env.date, conn, &echo, true);
        }
        Target::Root | Target::Healthz | Target::Stats | Target::Metrics => {
            not_allowed(out, env, conn, ALLOW_READ, with_body);
        }
        Target::Echo => not_allowed(out, env, conn, ALLOW_POST, with_body),
        Target::Other => {
            let missing = plain("HTTP/1.1 404 Not Found", b"Not Found\n");
            write_response(out, env.date, conn, &missing, with_body);
        }
    }
}

fn plain(status: &'static str, body: &'static [u8]) -> Response<'static> {
    Response {
        status,
        content_type: "text/plain",
        extra: "",
        body,
    }
}

fn not_allowed(
    out: &mut Vec<u8>,
    env: &HttpEnv<'_>,
    conn: Connection,
    allow: &'static str,
    with_body: bool,
) {
    let response = Response {
        extra: allow,
        ..plain("HTTP/1.1 405 Method Not Allowed", b"Method Not Allowed\n")
    };
    write_response(out, env.date, conn, &response, with_body);
}

/// `GET /stats`: the counters as JSON.
fn write_stats(out: &mut Vec<u8>, env: &HttpEnv<'_>, conn: Connection, with_body: bool) {
    write_generated(out, env, conn, with_body, "application/json", |env, out| {
        env.stats.write_stats_json(out)
    });
}

/// `GET /metrics`: the Prometheus text exposition format, version 0.0.4.
fn write_metrics(out: &mut Vec<u8>, env: &HttpEnv<'_>, conn: Connection, with_body: bool) {
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    write_generated(out, env, conn, with_body, content_type, |env, out| {
        env.stats.write_metrics(out)
    });
}

/// A `200` whose body `body` generates: produced first (its length goes in the head), then
/// moved behind the head.
fn write_generated(
    out: &mut Vec<u8>,
    env: &HttpEnv<'_>,
    conn: Connection,
    with_body: bool,
    content_type: &'static str,
    body: impl FnOnce(&HttpEnv<'_>, &mut Vec<u8>),
) {
    let start = out.len();
    body(env, out);
    let generated = out.split_off(start);
    let response = Response {
        status: "HTTP/1.1 200 OK",
        content_type,
        extra: "",
        body: &generated,
    };
    write_response(out, env.date, conn, &response, with_body);
}
