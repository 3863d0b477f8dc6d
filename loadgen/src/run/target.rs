//! Where a run sends its load: the target resolved to an address, an `http[s]://` URL taken
//! apart, the request bytes built, and the TLS plan of an https target.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{anyhow, bail, Context, Result};

use super::{RunConfig, Workload};
use crate::tls::TlsPlan;
use crate::worker::Kind;
use crate::workload::http::build_request;

/// The TLS plan of an https target (none for anything else).
pub fn tls_plan(config: &RunConfig) -> Result<Option<TlsPlan>> {
    if config.workload != Workload::Http {
        return Ok(None);
    }
    let url = parse_http_url(&config.target)?;
    if !url.tls {
        return Ok(None);
    }
    TlsPlan::new(&url.host, &config.http.tls).map(Some)
}

/// Resolve `target` for the workload; returns the address and, for HTTP, the request bytes.
pub fn resolve(config: &RunConfig) -> Result<(SocketAddr, Kind)> {
    match config.workload {
        Workload::Tcp | Workload::Udp => {
            let addr = first_addr(&config.target)?;
            let kind = if config.workload == Workload::Tcp {
                Kind::Tcp
            } else {
                Kind::Udp
            };
            Ok((addr, kind))
        }
        Workload::Http => {
            let url = parse_http_url(&config.target)?;
            let addr = first_addr(&url.socket)?;
            let request = build_request(
                &config.http.method,
                &url.host_header,
                &url.path,
                &config.http.headers,
                config.http.body.as_deref(),
            );
            Ok((
                addr,
                Kind::Http {
                    request: request.into(),
                    head: config.http.method.eq_ignore_ascii_case("HEAD"),
                },
            ))
        }
    }
}

fn first_addr(s: &str) -> Result<SocketAddr> {
    s.to_socket_addrs()
        .with_context(|| format!("cannot resolve {s:?} (expected HOST:PORT)"))?
        .next()
        .ok_or_else(|| anyhow!("{s:?} resolves to no address"))
}

/// The parts of a `http://` or `https://` URL the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` to connect to.
    pub socket: String,
    /// Value of the Host header.
    pub host_header: String,
    /// Path and query.
    pub path: String,
    /// `https://`: speak TLS.
    pub tls: bool,
    /// The host alone (no port, no brackets): the TLS server name.
    pub host: String,
}

/// Parse `http[s]://host[:port][/path]`.
pub fn parse_http_url(url: &str) -> Result<HttpUrl> {
    let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => bail!("http target must be an http:// or https:// URL, got {url:?}"),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        bail!("no host in {url:?}");
    }
    let (host, has_port) = match authority.rfind(']') {
        Some(close) => (
            authority[..close].trim_start_matches('['),
            authority[close..].contains(':'),
        ),
        None => match authority.rsplit_once(':') {
            Some((host, _)) => (host, true),
            None => (authority, false),
        },
    };
    let socket = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    Ok(HttpUrl {
        socket,
        host_header: authority.to_string(),
        path,
        tls,
        host: host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = parse_http_url("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(u.socket, "127.0.0.1:8080");
        assert_eq!(u.host_header, "127.0.0.1:8080");
        assert_eq!(u.path, "/a/b?c=d");
        let u = parse_http_url("http://localhost").unwrap();
        assert_eq!((u.socket.as_str(), u.path.as_str()), ("localhost:80", "/"));
        let u = parse_http_url("http://[::1]:81?x").unwrap();
        assert_eq!((u.socket.as_str(), u.path.as_str()), ("[::1]:81", "/?x"));
        assert_eq!(parse_http_url("http://[::1]").unwrap().socket, "[::1]:80");
        assert!(parse_http_url("ftp://x/").is_err());
        assert!(!parse_http_url("http://x/").unwrap().tls);
    }

    #[test]
    fn https_urls_default_to_port_443_and_name_their_host() {
        let u = parse_http_url("https://localhost/x").unwrap();
        assert!(u.tls);
        assert_eq!(
            (u.socket.as_str(), u.host.as_str()),
            ("localhost:443", "localhost")
        );
        let u = parse_http_url("https://[::1]:8443/").unwrap();
        assert_eq!((u.socket.as_str(), u.host.as_str()), ("[::1]:8443", "::1"));
        let u = parse_http_url("https://127.0.0.1:8443").unwrap();
        assert_eq!(
            (u.host.as_str(), u.host_header.as_str()),
            ("127.0.0.1", "127.0.0.1:8443")
        );
    }
}
