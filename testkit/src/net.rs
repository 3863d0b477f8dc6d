//! Sockets with timeouts, so a server that hangs fails a test instead of hanging it, and
//! payloads that expose shifted, truncated or mixed-up bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bound on every connect, read and write the kit makes.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Connects with connect, read and write timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream
}

/// Sends `msg` and reads back exactly as many bytes.
pub fn echo_roundtrip(stream: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    stream.write_all(msg).expect("write");
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).expect("read echo");
    back
}

/// A deterministic payload whose bytes differ from their neighbours and from other seeds', so
/// shifted or mixed-up bytes are caught.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}
