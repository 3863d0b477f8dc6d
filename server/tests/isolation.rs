//! A connection hears only its own answers: many concurrent clients pipeline tagged echo
//! requests with random splits and random aborts (RST and FIN, mid-write and mid-read), and
//! every byte each receives must be an answer to its own requests, in order. Against one
//! reactor and against several (`--threads 2`), on IPv4 and IPv6 loopback.

mod common;

use common::Server;
use reactor_testkit::isolation::{self, check_isolation, Plan};

fn run(args: &[&str], plan_seed: u64) {
    let server = Server::start(args);
    let addr = server.http.expect("http listener");
    let plan = Plan {
        clients: 16,
        connections: 12,
        seed: plan_seed,
    };
    check_isolation(addr, plan);
    // The server survived it all and still answers.
    assert_eq!(common::http_get(addr, "/healthz"), b"ok\n");
}

#[test]
fn one_reactor_never_sends_a_client_another_clients_answers() {
    run(&["--http", "127.0.0.1:0"], isolation::seed());
}

#[test]
fn two_reactors_never_send_a_client_another_clients_answers() {
    run(
        &["--http", "127.0.0.1:0", "--threads", "2"],
        isolation::seed(),
    );
}

#[test]
fn ipv6_loopback_never_sends_a_client_another_clients_answers() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    run(&["--http", "[::1]:0"], isolation::seed());
}
