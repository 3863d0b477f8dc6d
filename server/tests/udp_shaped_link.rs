//! UDP echo across a slow link, where the server's sends really return `EAGAIN`.
//!
//! Loopback never refuses a UDP send, so the queue-and-`WRITABLE` path of the UDP socket is
//! only reachable over a link slower than the server: two network namespaces joined by a veth
//! pair, with a token-bucket filter (`tc qdisc ... tbf rate 2mbit`) on the server's side. Its
//! queue holds more than the socket's send buffer, so the buffer fills and sends block instead of
//! the qdisc dropping. The test checks that every peer keeps getting echoes after that happened,
//! that every reply is byte-exact and that the server sends everything it did not count as
//! dropped.
//!
//! Needs root, `ip` and `tc`; without them it prints `SKIP: ...` and passes. The namespaces (and
//! with them the veth pair and qdisc) are removed by a guard's `Drop`, which also runs when an
//! assertion fails.

mod common;

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use rand::{RngCore, SeedableRng};

/// The server side of the private /30 that exists only inside the test's namespaces.
const SERVER_IP: &str = "10.201.0.1";
/// The client side.
const CLIENT_IP: &str = "10.201.0.2";
/// Client sockets, each a distinct peer of the server.
const PEERS: usize = 8;
/// Datagrams sent in the burst, spread over the peers.
const BURST: usize = 96;
/// Payload of a burst datagram: three fragments on the veth, so a few dozen fill the server's
/// default send buffer (212,992 B of truesize) long before the qdisc's 250 kB queue is full.
const BURST_SIZE: usize = 4000;
/// How long the replies to the burst may take (about 1.6 s at 2 Mbit/s, with a wide margin).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// Bursts tried at most: on a loaded machine the server may be descheduled during a burst, so
/// its receive buffer drops part of it and too few replies are left to fill the send path;
/// another burst is sent until the test's precondition (sends blocked, queue overflowed) holds.
const MAX_BURSTS: usize = 4;
/// A peer whose echoes stop this long is done (the link delivers one every ~16 ms): its other
/// replies were dropped, and the probes tell whether the server still answers.
const QUIET: Duration = Duration::from_secs(2);

/// Runs `ip`/`tc` with `args`; the error says what failed.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; dropping it deletes both (and so the pair and qdisc).
struct Link {
    server_ns: String,
    client_ns: String,
    created: Vec<String>,
}

impl Link {
    /// Builds the link, or says why it cannot be built here.
    /// `tag` keeps the names of concurrently running tests apart.
    fn build(tag: &str) -> Result<Link, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("needs root to create network namespaces".into());
        }
        for tool in ["ip", "tc"] {
            if Command::new(tool).arg("-V").output().is_err() {
                return Err(format!("`{tool}` (iproute2) is not installed"));
            }
        }
        let id = std::process::id();
        let mut link = Link {
            server_ns: format!("reactor-udp{tag}-srv-{id}"),
            client_ns: format!("reactor-udp{tag}-cli-{id}"),
            created: Vec::new(),
        };
        for ns in [link.server_ns.clone(), link.client_ns.clone()] {
            run("ip", &["netns", "add", &ns])
                .map_err(|e| format!("cannot create a network namespace: {e}"))?;
            link.created.push(ns);
        }
        link.configure(tag)?;
        Ok(link)
    }

    fn configure(&self, tag: &str) -> Result<(), String> {
        let (srv, cli) = (self.server_ns.as_str(), self.client_ns.as_str());
        let id = std::process::id();
        let (veth_srv, veth_cli) = (format!("rs{tag}{id}"), format!("rc{tag}{id}"));
        // Created inside the server namespace with its peer straight in the client one: nothing
        // is added to this machine's own namespace.
        #[rustfmt::skip]
        let steps: Vec<(&str, Vec<&str>)> = vec![
            ("ip", vec!["-n", srv, "link", "add", &veth_srv, "type", "veth", "peer", "name", &veth_cli, "netns", cli]),
            ("ip", vec!["-n", srv, "addr", "add", "10.201.0.1/30", "dev", &veth_srv]),
            ("ip", vec!["-n", cli, "addr", "add", "10.201.0.2/30", "dev", &veth_cli]),
            ("ip", vec!["-n", srv, "link", "set", &veth_srv, "up"]),
            ("ip", vec!["-n", cli, "link", "set", &veth_cli, "up"]),
            // The server's replies leave through this: 2 Mbit/s, queue for up to 1 s.
            ("tc", vec!["-n", srv, "qdisc", "add", "dev", &veth_srv, "root", "tbf",
                        "rate", "2mbit", "burst", "8kb", "latency", "1s"]),
        ];
        for (program, args) in steps {
            run(program, &args)?;
        }
        Ok(())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in &self.created {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// Runs `f` on a thread that has entered the named network namespace; sockets it creates live
/// there.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns on a valid namespace descriptor changes only this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("client thread")
}

/// A burst datagram: its sequence number, then bytes from a seeded generator.
fn burst_payload(seq: usize) -> Vec<u8> {
    let mut payload = vec![0u8; BURST_SIZE];
    payload[..8].copy_from_slice(&(seq as u64).to_be_bytes());
    rand::rngs::StdRng::seed_from_u64(seq as u64).fill_bytes(&mut payload[8..]);
    payload
}

/// What the client saw.
#[derive(Debug)]
struct Outcome {
    burst_echoed: usize,
    peers_answered_after: usize,
    stats: serde_json::Value,
}

/// Sends bursts until `reached` holds for the server's counters (at most [`MAX_BURSTS`]),
/// collecting their echoes (each must match byte for byte), then asks every peer for one more
/// echo, and reads the server's counters.
fn client(udp: SocketAddr, http: SocketAddr, reached: fn(&serde_json::Value) -> bool) -> Outcome {
    let peers: Vec<UdpSocket> = (0..PEERS)
        .map(|_| {
            let s = UdpSocket::bind((CLIENT_IP, 0)).expect("bind client");
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .expect("timeout");
            s
        })
        .collect();
    let read_stats = || -> serde_json::Value {
        serde_json::from_slice(&common::http_get(http, "/stats")).expect("stats JSON")
    };
    let mut burst_echoed = 0;
    for _ in 0..MAX_BURSTS {
        burst_echoed += burst(&peers, udp);
        if reached(&read_stats()) {
            break;
        }
    }
    // Whatever the bursts did, every peer must still be answered.
    let peers_answered_after = probe_every_peer(&peers, udp);
    // Replies to retried probes may still be on the slow link: wait (bounded) until the server
    // has sent everything it did not drop, then report the counters as they are.
    let mut stats = read_stats();
    common::eventually(Duration::from_secs(10), || {
        stats = read_stats();
        all_sent(&stats)
    });
    Outcome {
        burst_echoed,
        peers_answered_after,
        stats,
    }
}

/// Sends one burst over the peers and collects its echoes; returns how many came back.
fn burst(peers: &[UdpSocket], udp: SocketAddr) -> usize {
    for seq in 0..BURST {
        peers[seq % PEERS]
            .send_to(&burst_payload(seq), udp)
            .expect("send burst datagram");
    }
    let mut burst_echoed = 0;
    let mut buf = vec![0u8; 70_000];
    let deadline = Instant::now() + DRAIN_LIMIT;
    for (i, peer) in peers.iter().enumerate() {
        let mut expected: Vec<usize> = (i..BURST).step_by(PEERS).collect();
        let mut last_echo = Instant::now();
        while !expected.is_empty() && Instant::now() < deadline && last_echo.elapsed() < QUIET {
            let Ok((n, from)) = peer.recv_from(&mut buf) else {
                continue; // a read timeout: the link is slow (or the reply was dropped)
            };
            last_echo = Instant::now();
            assert_eq!(from, udp);
            assert_eq!(n, BURST_SIZE, "burst echoes are never truncated");
            let seq = u64::from_be_bytes(buf[..8].try_into().expect("8 bytes")) as usize;
            assert!(buf[..n] == burst_payload(seq)[..], "echo of {seq} differs");
            expected.retain(|&s| s != seq);
            burst_echoed += 1;
        }
    }
    burst_echoed
}

/// Asks every peer for one more echo (retried); returns how many peers were answered.
fn probe_every_peer(peers: &[UdpSocket], udp: SocketAddr) -> usize {
    let mut buf = vec![0u8; 70_000];
    let mut peers_answered_after = 0;
    for (i, peer) in peers.iter().enumerate() {
        let probe = format!("probe from peer {i}");
        let answered = (0..5).any(|_| {
            peer.send_to(probe.as_bytes(), udp).expect("send probe");
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                if let Ok((n, _)) = peer.recv_from(&mut buf) {
                    if buf[..n] == *probe.as_bytes() {
                        return true;
                    }
                }
            }
            false
        });
        peers_answered_after += usize::from(answered);
    }
    peers_answered_after
}

/// Whether the server sent back every datagram it received and did not count as dropped.
fn all_sent(stats: &serde_json::Value) -> bool {
    let udp = &stats["udp"];
    let count = |key: &str| udp[key].as_u64().unwrap_or(u64::MAX);
    count("datagrams_out") == count("datagrams_in") - count("oversized") - count("queue_dropped")
}

/// Runs the burst and the probes against a server started with `extra` flags across a new
/// shaped link; `None` (after printing why) where the link cannot be built.
fn across_shaped_link(
    test: &str,
    tag: &str,
    extra: &[&str],
    reached: fn(&serde_json::Value) -> bool,
) -> Option<Outcome> {
    let link = match Link::build(tag) {
        Ok(link) => link,
        Err(why) => {
            eprintln!("SKIP {test}: {why}");
            return None;
        }
    };
    let (udp_flag, http_flag) = (format!("{SERVER_IP}:0"), format!("{SERVER_IP}:0"));
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &link.server_ns, common::server_bin()])
        .args(["--udp", &udp_flag, "--http", &http_flag])
        .args(extra);
    let server = Server::start_with(&mut cmd);
    let (udp, http) = (server.udp.expect("udp"), server.http.expect("http"));
    let outcome = in_netns(&link.client_ns, move || client(udp, http, reached));
    eprintln!("{test}: {outcome:?}");
    drop(server);
    drop(link);
    Some(outcome)
}

fn udp_count(outcome: &Outcome, key: &str) -> u64 {
    outcome.stats["udp"][key].as_u64().expect(key)
}

#[test]
fn udp_echo_keeps_serving_every_peer_after_sends_block() {
    let test = "udp_echo_keeps_serving_every_peer_after_sends_block";
    let blocked = |stats: &serde_json::Value| stats["udp"]["send_blocked"].as_u64() > Some(0);
    let Some(outcome) = across_shaped_link(test, "b", &[], blocked) else {
        return;
    };
    assert!(
        udp_count(&outcome, "send_blocked") > 0,
        "the shaped link made the server's sends block (else this test proves nothing)"
    );
    assert_eq!(
        outcome.peers_answered_after, PEERS,
        "every peer is still answered after sends blocked"
    );
    assert!(
        all_sent(&outcome.stats),
        "every datagram received and not counted as dropped was sent back"
    );
    assert!(outcome.burst_echoed > 0, "the burst was echoed");
}

#[test]
fn a_full_reply_queue_drops_and_counts_then_every_peer_is_served() {
    let test = "a_full_reply_queue_drops_and_counts_then_every_peer_is_served";
    let dropped = |stats: &serde_json::Value| stats["udp"]["queue_dropped"].as_u64() > Some(0);
    let Some(outcome) = across_shaped_link(test, "q", &["--udp-queue", "4"], dropped) else {
        return;
    };
    assert!(
        udp_count(&outcome, "queue_dropped") > 0,
        "a 4-datagram queue overflowed behind the slow link"
    );
    assert_eq!(
        outcome.peers_answered_after, PEERS,
        "every peer is still answered once the queue drained"
    );
    assert!(
        all_sent(&outcome.stats),
        "every datagram received and not dropped was sent back"
    );
}
