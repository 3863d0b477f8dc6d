//! Thread per connection with blocking `std::net`: the classic design the reactor replaces.
//!
//! One accept thread per listener spawns one OS thread per accepted connection; each thread
//! blocks in `read` and `write_all` and the kernel's scheduler does the multiplexing. UDP echo is
//! a single thread blocking in `recv_from`. Simple and fast at low connection counts; the cost
//! is a stack and a context switch per connection, which is what the comparison shows.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use reactor_designs::http::HttpConn;
use reactor_designs::{
    announce, bind_tcp, datagram_fate, startup, Listen, Service, MAX_DATAGRAM, READ_BUF,
};
use reactor_proto::http::{HttpLimits, Step};
use reactor_proto::udp::DatagramFate;

/// Thread-per-connection server: TCP echo, UDP echo and HTTP hello over blocking sockets.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    listen: Listen,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    startup(&cli.listen)?;
    let mut workers = Vec::new();
    if let Some(addr) = cli.listen.tcp {
        let listener = bind_tcp(addr)?;
        announce(Service::Tcp, listener.local_addr()?)?;
        workers.push(spawn("accept-tcp", move || {
            accept_loop(listener, echo_connection)
        })?);
    }
    if let Some(addr) = cli.listen.udp {
        let socket = UdpSocket::bind(addr).with_context(|| format!("binding udp {addr}"))?;
        announce(Service::Udp, socket.local_addr()?)?;
        workers.push(spawn("udp-echo", move || udp_echo(&socket))?);
    }
    if let Some(addr) = cli.listen.http {
        let listener = bind_tcp(addr)?;
        announce(Service::Http, listener.local_addr()?)?;
        let limits = cli.listen.http_limits();
        workers.push(spawn("accept-http", move || {
            accept_loop(listener, move |stream| http_connection(stream, limits))
        })?);
    }
    for worker in workers {
        let _ = worker.join();
    }
    anyhow::bail!("all listeners stopped")
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> anyhow::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .with_context(|| format!("spawning {name}"))
}

/// Accepts forever, handing each connection to a new thread running `serve`.
fn accept_loop(listener: TcpListener, serve: impl Fn(TcpStream) + Copy + Send + 'static) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                if let Err(e) = thread::Builder::new().spawn(move || serve(stream)) {
                    eprintln!("design-threads: cannot spawn connection thread: {e}");
                }
            }
            // Out of descriptors or a peer that reset before accept: keep serving the others.
            Err(e) => {
                eprintln!("design-threads: accept: {e}");
                thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Writes back every byte read until the peer closes or the connection fails.
fn echo_connection(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// Answers HTTP/1.1 requests through the shared sans-IO session until it says to close.
fn http_connection(mut stream: TcpStream, limits: &'static HttpLimits) {
    let _ = stream.set_nodelay(true);
    let mut conn = HttpConn::new(limits);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        // A read waits at most until the session's next deadline (a request's header or body
        // timeout); idle keep-alive connections wait for their next request without one.
        let timer = conn.poll_timeout().map(time_until);
        if stream.set_read_timeout(timer).is_err() {
            return;
        }
        let step = match stream.read(&mut buf) {
            Ok(0) => {
                if conn.on_peer_closed() {
                    let _ = stream.write_all(conn.output());
                    return;
                }
                conn.resume()
            }
            Ok(n) => conn.on_input(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                match conn.handle_timeout() {
                    true => Step::CloseAfterFlush,
                    false => continue, // woken before the deadline
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if !write_responses(&mut stream, &mut conn, step) {
            return;
        }
    }
}

/// How long until `deadline`, at least a millisecond (a zero read timeout means "none").
fn time_until(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Writes the session's output, resuming it while it paused; false when the connection ends.
fn write_responses(stream: &mut TcpStream, conn: &mut HttpConn, mut step: Step) -> bool {
    loop {
        if stream.write_all(conn.output()).is_err() {
            return false;
        }
        conn.clear_output();
        match step {
            Step::Continue => return true,
            Step::CloseAfterFlush => return false,
            Step::Paused => step = conn.resume(),
        }
    }
}

/// Sends every datagram back to its sender.
fn udp_echo(socket: &UdpSocket) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                if datagram_fate(n) == DatagramFate::Echo {
                    let _ = socket.send_to(&buf[..n], peer);
                }
            }
            Err(e) => eprintln!("design-threads: udp recv: {e}"),
        }
    }
}
