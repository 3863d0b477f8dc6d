//! tokio: one task per connection on either runtime flavor.
//!
//! `--flavor current` runs every task on one thread (a reactor like `server/`, but with the
//! async/await state machines and tokio's scheduler in between); `--flavor multi` runs them on
//! a work-stealing pool of worker threads (default: one per available core). The code is the
//! same for both, which is the point: the comparison isolates the runtime's scheduling cost.

use anyhow::Context;
use clap::{Parser, ValueEnum};
use reactor_designs::http::HttpConn;
use reactor_designs::{
    announce, bind_tcp, datagram_fate, startup, Listen, Service, MAX_DATAGRAM, READ_BUF,
};
use reactor_proto::http::{HttpLimits, Step};
use reactor_proto::udp::DatagramFate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// tokio server: TCP echo, UDP echo and HTTP hello, one task per connection.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    listen: Listen,
    /// Runtime flavor: `current` (one thread) or `multi` (work-stealing pool).
    #[arg(long, value_enum, default_value_t = Flavor::Multi)]
    flavor: Flavor,
    /// Worker threads for `--flavor multi` (default: available cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Flavor {
    Current,
    Multi,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    startup(&cli.listen)?;
    let mut builder = match cli.flavor {
        Flavor::Current => tokio::runtime::Builder::new_current_thread(),
        Flavor::Multi => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = cli.workers {
                b.worker_threads(n.max(1));
            }
            b
        }
    };
    let runtime = builder.enable_all().build().context("building runtime")?;
    runtime.block_on(serve(cli.listen))
}

/// Binds everything first (so the `listening` lines mean "ready"), then serves until killed.
async fn serve(listen: Listen) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = listen.tcp {
        let listener = listener(addr)?;
        announce(Service::Tcp, listener.local_addr()?)?;
        tasks.spawn(accept_loop(listener, |s| tokio::spawn(echo_connection(s))));
    }
    if let Some(addr) = listen.udp {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding udp {addr}"))?;
        announce(Service::Udp, socket.local_addr()?)?;
        tasks.spawn(udp_echo(socket));
    }
    if let Some(addr) = listen.http {
        let listener = listener(addr)?;
        announce(Service::Http, listener.local_addr()?)?;
        let limits = listen.http_limits();
        tasks.spawn(accept_loop(listener, move |s| {
            tokio::spawn(http_connection(s, limits))
        }));
    }
    while tasks.join_next().await.is_some() {}
    anyhow::bail!("all listeners stopped")
}

/// A tokio listener with the backlog every design uses.
fn listener(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = bind_tcp(addr)?;
    listener.set_nonblocking(true)?;
    Ok(TcpListener::from_std(listener)?)
}

/// Accepts forever, spawning a task per connection.
async fn accept_loop<F>(listener: TcpListener, spawn: F)
where
    F: Fn(TcpStream) -> tokio::task::JoinHandle<()>,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                spawn(stream);
            }
            // Out of descriptors or a peer that reset before accept: keep serving the others.
            Err(e) => {
                eprintln!("design-tokio: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Writes back every byte read until the peer closes or the connection fails.
async fn echo_connection(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Answers HTTP/1.1 requests through the shared sans-IO session until it says to close.
async fn http_connection(mut stream: TcpStream, limits: &'static HttpLimits) {
    let _ = stream.set_nodelay(true);
    let mut conn = HttpConn::new(limits);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        // A read waits at most until the session's next deadline (a request's header or body
        // timeout); idle keep-alive connections wait for their next request without one.
        let read = match conn.poll_timeout() {
            Some(deadline) => {
                let read = stream.read(&mut buf);
                tokio::time::timeout_at(deadline.into(), read).await
            }
            None => Ok(stream.read(&mut buf).await),
        };
        let step = match read {
            Ok(Ok(0)) => {
                if conn.on_peer_closed() {
                    let _ = stream.write_all(conn.output()).await;
                    return;
                }
                conn.resume()
            }
            Ok(Ok(n)) => conn.on_input(&buf[..n]),
            Ok(Err(_)) => return,
            Err(_elapsed) => match conn.handle_timeout() {
                true => Step::CloseAfterFlush,
                false => continue, // woken before the deadline
            },
        };
        if !write_responses(&mut stream, &mut conn, step).await {
            return;
        }
    }
}

/// Writes the session's output, resuming it while it paused; false when the connection ends.
async fn write_responses(stream: &mut TcpStream, conn: &mut HttpConn, mut step: Step) -> bool {
    loop {
        if stream.write_all(conn.output()).await.is_err() {
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
async fn udp_echo(socket: UdpSocket) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                if datagram_fate(n) == DatagramFate::Echo {
                    let _ = socket.send_to(&buf[..n], peer).await;
                }
            }
            Err(e) => eprintln!("design-tokio: udp recv: {e}"),
        }
    }
}
