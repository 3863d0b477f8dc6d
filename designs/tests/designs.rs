//! Every design binary, started on port 0, answers TCP echo, UDP echo and HTTP over real
//! loopback sockets and exits 0 on SIGTERM.

mod common;

use common::{designs, Server};

#[test]
fn tcp_echo_returns_every_byte() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["tcp"]);
        common::check_tcp_echo(server.addr("tcp"));
        common::check_tcp_concurrent(server.addr("tcp"), 50);
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}

#[test]
fn udp_echo_returns_each_datagram() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["udp"]);
        common::check_udp_echo(server.addr("udp"));
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}

#[test]
fn all_services_at_once_announce_distinct_ports() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["tcp", "udp", "http"]);
        common::check_tcp_echo(server.addr("tcp"));
        common::check_udp_echo(server.addr("udp"));
        assert_ne!(server.addr("tcp"), server.addr("http"));
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}

#[test]
fn sigint_exits_zero() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["tcp"]);
        assert!(server.signal_and_wait(libc::SIGINT), "{bin} {args:?}");
    }
}

#[test]
fn http_get_answers_hello_with_keep_alive_and_pipelining() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["http"]);
        common::check_http_hello(server.addr("http"));
        common::check_http_close(server.addr("http"));
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}

/// A peer that sends without ever reading must be stopped by backpressure: the design stops
/// reading once it owes a bounded amount, so the peer's writes block long before all of
/// `TOTAL` is accepted, and the server's memory stays bounded.
#[test]
fn a_peer_that_never_reads_is_held_back() {
    use std::io::Write;
    const TOTAL: usize = 256 << 20;
    const RSS_BOUND_KIB: u64 = 64 << 10;
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["tcp"]);
        let mut stream = std::net::TcpStream::connect(server.addr("tcp")).expect("connect");
        stream
            .set_write_timeout(Some(std::time::Duration::from_secs(1)))
            .expect("timeout");
        let chunk = vec![7u8; 64 * 1024];
        let mut pushed = 0;
        while pushed < TOTAL {
            match stream.write(&chunk) {
                Ok(n) => pushed += n,
                Err(_) => break, // the write blocked for a second: held back
            }
        }
        assert!(
            pushed < TOTAL,
            "{bin} {args:?} accepted all {TOTAL} bytes from a peer that never reads"
        );
        let rss = server.rss_kib();
        assert!(
            rss < RSS_BOUND_KIB,
            "{bin} {args:?}: {rss} KiB resident after {pushed} bytes from a non-reading peer"
        );
        drop(stream);
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}
