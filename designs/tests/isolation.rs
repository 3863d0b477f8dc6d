//! A connection hears only its own answers, in every design that serves HTTP: many concurrent
//! clients pipeline tagged echo requests with random splits and random aborts (RST and FIN,
//! mid-write and mid-read), and every byte each receives must be an answer to its own
//! requests, in order. The same check runs against the reactor (`server/tests/isolation.rs`).

mod common;

use common::{designs, Server};
use reactor_testkit::isolation::{self, check_isolation, Plan};

#[test]
fn no_design_sends_a_client_another_clients_answers() {
    for (bin, args) in designs() {
        let server = Server::start(bin, &args, &["http"]);
        let plan = Plan {
            clients: 12,
            connections: 8,
            seed: isolation::seed(),
        };
        check_isolation(server.addr("http"), plan);
        assert!(server.terminate(), "{bin} {args:?} exits 0 on SIGTERM");
    }
}
