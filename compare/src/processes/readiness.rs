//! When a started server is ready: its `listening <proto> <addr>` lines (the project's
//! contract), or, for servers that print nothing of the kind, answers on its ports: a TCP echo
//! of a probe, an HTTP status line for `GET /`, a UDP echo of a datagram, an accepted TCP
//! connection for https (the port was free when compare picked it, so whoever accepts on it
//! now is the design; the first measured run's handshakes then check its TLS).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use crate::plan::Proto;

/// How long one probe waits for its answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// `listening tcp 127.0.0.1:4000` → `(Tcp, 127.0.0.1:4000)`.
pub fn parse_listening(line: &str) -> Option<(Proto, SocketAddr)> {
    let mut words = line.split_whitespace();
    if words.next()? != "listening" {
        return None;
    }
    let proto = Proto::from_name(words.next()?)?;
    let addr = words.next()?.parse().ok()?;
    Some((proto, addr))
}

/// Whether `addr` answers like a `proto` service does. Each probe opens and closes its own
/// connection, so a server that takes one client at a time is free again afterwards.
pub fn probe(proto: Proto, addr: SocketAddr) -> bool {
    match proto {
        Proto::Tcp => probe_tcp(addr).unwrap_or(false),
        Proto::Http => probe_http(addr).unwrap_or(false),
        Proto::Https => TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).is_ok(),
        Proto::Udp => probe_udp(addr).unwrap_or(false),
    }
}

const PROBE: &[u8] = b"compare readiness probe\n";

fn probe_tcp(addr: SocketAddr) -> std::io::Result<bool> {
    let mut s = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))?;
    s.write_all(PROBE)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < PROBE.len() {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got == PROBE)
}

fn probe_http(addr: SocketAddr) -> std::io::Result<bool> {
    let mut s = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    let mut n = 0;
    while n < head.len() {
        let got = s.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(is_status_line(&head[..n]))
}

/// Whether `bytes` start like an HTTP/1.x status line (`HTTP/1.1 200`).
pub fn is_status_line(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes.starts_with(b"HTTP/1.") && bytes[8] == b' '
}

fn probe_udp(addr: SocketAddr) -> std::io::Result<bool> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    s.connect(addr)?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))?;
    s.send(PROBE)?;
    let mut buf = [0u8; 64];
    let n = s.recv(&mut buf)?;
    Ok(&buf[..n] == PROBE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_parse_and_others_do_not() {
        let (p, a) = parse_listening("listening udp 127.0.0.1:9000").unwrap();
        assert_eq!((p, a.port()), (Proto::Udp, 9000));
        assert!(parse_listening("hello").is_none());
        assert!(parse_listening("listening tcp nonsense").is_none());
        assert!(parse_listening("listening quic 127.0.0.1:1").is_none());
    }

    #[test]
    fn status_lines_are_recognised() {
        assert!(is_status_line(b"HTTP/1.0 200 OK"));
        assert!(!is_status_line(b"SSH-2.0-OpenSSH"));
        assert!(!is_status_line(b"HTTP/1.1"));
    }

    #[test]
    fn a_port_nobody_listens_on_is_not_ready() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        assert!(!probe(Proto::Tcp, addr));
        assert!(!probe(Proto::Http, addr));
        assert!(!probe(Proto::Https, addr));
    }

    #[test]
    fn https_is_ready_once_its_port_accepts_and_announces_like_the_others() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(probe(Proto::Https, l.local_addr().unwrap()));
        let (p, a) = parse_listening("listening https 127.0.0.1:8443").unwrap();
        assert_eq!((p, a.port()), (Proto::Https, 8443));
    }

    #[test]
    fn an_echoing_listener_is_ready_for_tcp_but_not_http() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let echo = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut c, _) = l.accept().unwrap();
                let mut buf = [0u8; 256];
                let n = c.read(&mut buf).unwrap();
                c.write_all(&buf[..n]).unwrap();
            }
        });
        assert!(probe(Proto::Tcp, addr));
        assert!(!probe(Proto::Http, addr), "an echo is not an HTTP answer");
        echo.join().unwrap();
    }
}
