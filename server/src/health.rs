//! `--health-check ADDR`: a tiny HTTP client for container HEALTHCHECKs in images that have
//! no curl. It asks `GET /healthz` and succeeds only on `200`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// How long each step (connect, write, read) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
/// The most response-head bytes read.
const MAX_HEAD: usize = 8 * 1024;

/// Probes `GET /healthz` on `addr`.
pub fn check(addr: SocketAddr) -> Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)
        .with_context(|| format!("connect to {addr}"))?;
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    stream.set_write_timeout(Some(STEP_TIMEOUT))?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .context("send request")?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).context("read response")?;
        if n == 0 {
            bail!("{addr} closed the connection before a complete response head");
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&head).context("malformed response")? {
            httparse::Status::Complete(_) => {
                let code = response.code.unwrap_or(0);
                if code == 200 {
                    return Ok(());
                }
                bail!("{addr} answered /healthz with status {code}");
            }
            httparse::Status::Partial if head.len() > MAX_HEAD => {
                bail!("response head over {MAX_HEAD} bytes")
            }
            httparse::Status::Partial => {}
        }
    }
}
