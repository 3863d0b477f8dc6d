//! Every design binary, started on port 0, answers TCP echo, UDP echo and HTTP over real
//! loopback sockets and exits 0 on SIGTERM.

mod common;

use common::Server;

/// The designs under test: binary path and extra arguments.
fn designs() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (env!("CARGO_BIN_EXE_design-threads"), vec![]),
        (
            env!("CARGO_BIN_EXE_design-tokio"),
            vec!["--flavor", "current"],
        ),
        (
            env!("CARGO_BIN_EXE_design-tokio"),
            vec!["--flavor", "multi", "--workers", "2"],
        ),
        (env!("CARGO_BIN_EXE_design-uring"), vec![]),
    ]
}

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
