//! One protocol call and the sending of its answer: the heart of a connection's turn, written
//! against [`std::io::Write`] so it runs without sockets too (the `connections` fuzz target
//! drives it with many interleaved connections and failing writes).
//!
//! The answer is staged in the loop's shared buffer through a [`Turn`](crate::staging::Turn)
//! that lives exactly as long as this call: whether the write succeeds, is refused in part, or
//! fails, the staged bytes are gone when [`exchange`] returns, so they can only ever have gone
//! to this connection's socket or its own output queue.

use std::io::{self, IoSlice, Write};

use reactor_proto::outbuf::OutBuf;

use crate::bufpool::BufPool;
use crate::protocol::{Output, Protocol, ProtocolCtx, Reaction};
use crate::staging::Staging;
use crate::stats::Stats;
use crate::tls::TlsLayer;

/// What the protocol is asked to do.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// Bytes just read.
    Input(&'a [u8]),
    /// Continue with input held back while output was at the cap.
    Resume,
    /// The loop's clock reached the protocol's [`Protocol::poll_timeout`].
    Timeout,
}

/// Where one connection's answer goes: its socket, then its own output queue for what the
/// socket refuses.
pub struct Wire<'a, W: Write> {
    /// The connection's socket (anything that writes, without blocking).
    pub socket: &'a mut W,
    /// Output the socket refused earlier, owed before anything new.
    pub out: &'a mut OutBuf,
    /// Where the queue borrows storage from.
    pub pool: &'a mut BufPool,
    /// HTTPS: the answer is sealed into TLS records, and the records are sent.
    pub tls: Option<&'a mut TlsLayer>,
}

/// Makes `call` on `protocol` and sends its answer on `wire`; `out_budget` bounds the output
/// the call may produce. An error is the socket's: the connection must close (its staged
/// answer is already dropped).
pub fn exchange<W: Write>(
    protocol: &mut Protocol,
    call: Call<'_>,
    staging: &mut Staging,
    ctx: &ProtocolCtx<'_>,
    stats: &mut Stats,
    wire: &mut Wire<'_, W>,
    out_budget: usize,
) -> io::Result<Reaction> {
    let mut turn = staging.turn();
    let reaction = match call {
        Call::Input(input) => protocol.on_input(input, turn.buf(), ctx, stats, out_budget),
        Call::Resume => protocol.resume(turn.buf(), ctx, stats, out_budget),
        Call::Timeout => protocol.handle_timeout(turn.buf(), ctx, stats),
    };
    let output = match (reaction.output, call) {
        (Output::Input(n), Call::Input(input)) => &input[..n.min(input.len())],
        (Output::Input(_), _) => &[][..],
        (Output::Staged, _) => turn.bytes(),
    };
    match wire.tls.as_deref_mut() {
        None => send(wire.socket, wire.out, wire.pool, output, stats)?,
        Some(tls) => send_sealed(tls, wire.socket, wire.out, wire.pool, output, stats)?,
    }
    Ok(reaction)
}

/// HTTPS: seals `output` into TLS records and sends them. Kept out of line, so that the plain
/// path of [`exchange`] stays as small as it was before TLS.
#[inline(never)]
fn send_sealed<W: Write>(
    tls: &mut TlsLayer,
    socket: &mut W,
    out: &mut OutBuf,
    pool: &mut BufPool,
    output: &[u8],
    stats: &mut Stats,
) -> io::Result<()> {
    tls.seal(output)?;
    let mut sink = RecordSink {
        socket,
        out,
        pool,
        stats,
    };
    tls.write_ciphertext(&mut sink).map(drop)
}

/// Where TLS records go: like a plain answer, to the socket and then the output queue. It takes
/// every byte it is given (the queue holds what the socket refuses), as
/// [`TlsLayer::write_ciphertext`] requires; the records waiting at once (a whole handshake
/// flight) go out in one vectored write.
pub struct RecordSink<'a, W: Write> {
    /// The connection's socket.
    pub socket: &'a mut W,
    /// Output the socket refused earlier.
    pub out: &'a mut OutBuf,
    /// Where the queue borrows storage from.
    pub pool: &'a mut BufPool,
    /// Bytes sent are counted here.
    pub stats: &'a mut Stats,
}

impl<W: Write> Write for RecordSink<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        send(self.socket, self.out, self.pool, data, self.stats)?;
        Ok(data.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut written = 0;
        if self.out.is_empty() {
            written = loop {
                match self.socket.write_vectored(bufs) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            self.stats.tcp_bytes_out += written as u64;
        }
        let mut skip = written;
        for buf in bufs {
            let rest = &buf[skip.min(buf.len())..];
            skip = skip.saturating_sub(buf.len());
            if !rest.is_empty() {
                let pool = &mut *self.pool;
                self.out
                    .push_with_storage(rest, || pool.take(rest.len().max(16 * 1024)));
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `data` behind anything already queued: straight to the socket when nothing is
/// queued (the common case: no copy), and queues whatever the kernel does not take.
// Inlined into the plain path of `exchange`, where it is the whole cost of an answer.
#[inline(always)]
fn send<W: Write>(
    socket: &mut W,
    out: &mut OutBuf,
    pool: &mut BufPool,
    data: &[u8],
    stats: &mut Stats,
) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    if !out.is_empty() {
        // Bytes are already waiting for WRITABLE: the socket is full, and order matters.
        out.push(data);
        return Ok(());
    }
    let mut written = 0;
    while written < data.len() {
        match socket.write(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                written += n;
                stats.tcp_bytes_out += n as u64;
                if written < data.len() {
                    // Short write: the send buffer is full (see `Connection::flush`).
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let rest = &data[written..];
    if !rest.is_empty() {
        out.push_with_storage(rest, || pool.take(rest.len().max(16 * 1024)));
    }
    Ok(())
}
