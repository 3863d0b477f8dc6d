//! Starting a design binary on ephemeral ports and talking to it over real loopback sockets.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use reactor_testkit::http::ResponseReader;
pub use reactor_testkit::net::payload;
use reactor_testkit::Listening;

/// Socket timeout for every read in the tests, so a broken design fails instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a design may take to exit after a signal.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// The designs under test: binary path and extra arguments.
pub fn designs() -> Vec<(&'static str, Vec<&'static str>)> {
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

/// A running design process, killed (by PID) when dropped.
pub struct Server {
    process: Listening,
}

impl Server {
    /// Starts `bin` with `args` plus `--tcp/--udp/--http 127.0.0.1:0` for each of `services`
    /// and waits for one `listening` line per service.
    pub fn start(bin: &str, args: &[&str], services: &[&str]) -> Server {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        for service in services {
            cmd.arg(format!("--{service}")).arg("127.0.0.1:0");
        }
        Server {
            process: Listening::start(&mut cmd, services.len()),
        }
    }

    /// Resident memory of the design, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        self.process.rss_kib()
    }

    /// The announced address of `service`.
    pub fn addr(&self, service: &str) -> SocketAddr {
        self.process
            .addr(service)
            .unwrap_or_else(|| panic!("no {service} listener"))
    }

    /// Sends SIGTERM and returns whether the process exited with status 0.
    pub fn terminate(self) -> bool {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// Sends `signal` and returns whether the process exited with status 0 (in time).
    pub fn signal_and_wait(mut self, signal: libc::c_int) -> bool {
        self.process.signal_and_wait(signal, EXIT_TIMEOUT)
    }
}

/// Sends each payload over one TCP connection and checks every byte comes back in order.
pub fn check_tcp_echo(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    for (i, len) in [1usize, 64, 1500, 16 * 1024, 200 * 1024]
        .into_iter()
        .enumerate()
    {
        let sent = payload(len, i as u8);
        // Write from another thread: a large payload would fill both socket buffers if we
        // wrote it all before reading.
        let mut writer = stream.try_clone().unwrap();
        let to_send = sent.clone();
        let w = std::thread::spawn(move || writer.write_all(&to_send));
        let mut got = vec![0u8; len];
        stream.read_exact(&mut got).expect("echo read");
        w.join().unwrap().expect("echo write");
        assert!(got == sent, "echo of {len} bytes differs");
    }
}

/// Many concurrent connections, each echoing its own payload.
pub fn check_tcp_concurrent(addr: SocketAddr, conns: usize) {
    let mut streams: Vec<TcpStream> = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s
        })
        .collect();
    for (i, s) in streams.iter_mut().enumerate() {
        s.write_all(&payload(64, i as u8)).unwrap();
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let mut got = [0u8; 64];
        s.read_exact(&mut got).expect("concurrent echo");
        assert_eq!(got.to_vec(), payload(64, i as u8));
    }
}

/// Sends datagrams of a few sizes and checks each comes back unchanged.
pub fn check_udp_echo(addr: SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    for (i, len) in [1usize, 64, 1400, 8000, 65_507].into_iter().enumerate() {
        let sent = payload(len, i as u8);
        let mut buf = vec![0u8; 65_536];
        // Loopback rarely drops, but UDP may: retry a few times before calling it a failure.
        let mut echoed = None;
        for _ in 0..5 {
            socket.send_to(&sent, addr).unwrap();
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                assert_eq!(from, addr);
                echoed = Some(buf[..n].to_vec());
                break;
            }
        }
        assert_eq!(
            echoed.expect("no udp echo"),
            sent,
            "udp echo of {len} bytes"
        );
    }
}

/// Sends three keep-alive `GET /` requests (two pipelined) and checks the hello answers.
pub fn check_http_hello(addr: SocketAddr) {
    let mut reader = ResponseReader::connect(addr);
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    reader.send(get);
    let first = reader.response(false);
    assert_eq!(first.status, 200, "{first:?}");
    assert!(!first.body.is_empty(), "hello body");
    reader.send(&[&get[..], &get[..]].concat());
    for _ in 0..2 {
        let next = reader.response(false);
        assert_eq!((next.status, &next.body), (200, &first.body));
    }
}

/// A request with `Connection: close` gets its answer and then the end of the stream.
pub fn check_http_close(addr: SocketAddr) {
    let mut reader = ResponseReader::connect(addr);
    reader.send(b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let response = reader.response(false);
    assert_eq!(response.status, 404, "{response:?}");
    reader.expect_eof();
}
