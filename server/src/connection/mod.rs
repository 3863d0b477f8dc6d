//! One TCP connection: its state and the events the reactor hands it.
//!
//! Where things are handled: a TCP read in [`read`] (socket → protocol → socket), a TCP write
//! and the close sequence in [`write`], the connection's timers (idle, write stall, the
//! protocol's deadlines) in [`deadlines`], and for HTTPS the way bytes pass through the TLS
//! layer in [`tls_io`].
//!
//! The reactor calls [`Connection::on_readable`], [`Connection::on_writable`] and
//! [`Connection::resume`]; each moves bytes between the socket and the protocol, and answers
//! with a [`Flow`]: keep the connection, or close it for a reason.
//!
//! Readiness is edge-triggered, so the rules are:
//! - read until the socket is drained (`WouldBlock`, or a short read: see `Connection::pump`),
//!   unless the per-event budget or the output cap stops us first; then the connection is
//!   flagged `READ_PENDING` and the reactor revisits it itself, since no new edge will come;
//! - output is written straight from the read buffer; only what the kernel refuses is queued,
//!   and `WRITABLE` interest is registered only while something is queued;
//! - while the queued output is at the cap (`--max-output`) nothing more is read, so a peer that
//!   never reads cannot grow our memory; if that lasts `--write-timeout`, the connection is
//!   closed.
//!
//! Layout matters here: an idle connection is just this struct in the slab (no buffer), so its
//! size is the server's memory per idle connection.

mod deadlines;
mod read;
mod tls_io;
mod write;

use std::io;

use mio::net::TcpStream;
use mio::{Registry, Token};
use reactor_proto::outbuf::OutBuf;

use crate::bufpool::BufPool;
use crate::protocol::{Protocol, ProtocolCtx};
use crate::staging::Staging;
use crate::stats::{CloseReason, Stats};
use crate::timers::{Millis, TimerKind, Timers};
use crate::tls::TlsLayer;

/// A timestamp field that holds no time.
pub const NEVER: Millis = Millis::MAX;

/// `WRITABLE` interest is registered.
const WANT_WRITE: u16 = 1 << 0;
/// We stopped reading before the socket was drained; no edge will tell us to go on.
const READ_PENDING: u16 = 1 << 1;
/// The peer sent FIN: nothing more will be read.
const PEER_CLOSED: u16 = 1 << 2;
/// Close once the queued output is flushed (protocol decision or shutdown).
const CLOSE_AFTER_FLUSH: u16 = 1 << 3;
/// Our write side is shut; input is discarded until the peer's FIN or the linger timer.
const LINGERING: u16 = 1 << 4;
/// An idle timer entry exists for this connection.
const IDLE_ARMED: u16 = 1 << 5;
/// A write-stall timer entry exists.
const STALL_ARMED: u16 = 1 << 6;
/// The connection is in the reactor's revisit list.
const QUEUED: u16 = 1 << 8;
/// An event announced the peer's FIN (`EPOLLRDHUP`) and we have not read up to it yet. Sticky,
/// because that edge will not come again: if reading is paused when it arrives, a later short
/// read would otherwise look like "drained" and the FIN would never be read.
const FIN_ANNOUNCED: u16 = 1 << 9;

/// What the reactor should do with a connection after handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep it.
    Open,
    /// Remove it from the slab and close the socket.
    Close(CloseReason),
}

/// Per-loop settings and shared scratch state a connection needs while handling an event.
pub struct ConnCtx<'a> {
    /// To change a connection's interest.
    pub registry: &'a Registry,
    /// The loop's cached clock.
    pub now: Millis,
    /// Counters.
    pub stats: &'a mut Stats,
    /// Timer heap.
    pub timers: &'a mut Timers,
    /// Connections to revisit on the next turn without waiting for an event.
    pub revisit: &'a mut Vec<Token>,
    /// Read buffer shared by every connection of the loop.
    pub scratch: &'a mut [u8],
    /// Free output buffers.
    pub pool: &'a mut BufPool,
    /// Limits and timeouts.
    pub limits: &'a ConnLimits,
    /// The loop's response staging buffer, lent to one protocol call at a time.
    pub staging: &'a mut Staging,
    /// Protocol-level context (HTTP date, stats, limits, buffer budget).
    pub proto: ProtocolCtx<'a>,
}

/// Connection limits and timeouts in loop units.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Output bytes owed before reading stops (`--max-output`).
    pub max_output: usize,
    /// Bytes read per connection per turn (`--read-budget`).
    pub read_budget: usize,
    /// `--idle-timeout` in ms, 0 = off.
    pub idle_ms: Millis,
    /// `--write-timeout` in ms, 0 = off.
    pub write_stall_ms: Millis,
    /// How long a lingering close waits for the peer's FIN.
    pub linger_ms: Millis,
}

/// One TCP connection in the slab.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    generation: u32,
    flags: u16,
    /// Why we are closing, once a graceful close (flush, then linger) has begun.
    closing_reason: CloseReason,
    protocol: Protocol,
    out: OutBuf,
    last_active: Millis,
    /// When the output reached the cap, or [`NEVER`].
    stalled_since: Millis,
    /// When the earliest [`TimerKind::Protocol`] entry of this connection is due, or [`NEVER`]
    /// when none is pending.
    protocol_timer_at: Millis,
    /// HTTPS: the TLS layer between the socket and the protocol (boxed: a plaintext
    /// connection pays one pointer for it).
    tls: Option<Box<TlsLayer>>,
}

impl Connection {
    /// A freshly accepted connection.
    pub fn new(stream: TcpStream, generation: u32, protocol: Protocol, now: Millis) -> Self {
        Self {
            stream,
            generation,
            flags: 0,
            closing_reason: CloseReason::PeerClosed,
            protocol,
            out: OutBuf::new(),
            last_active: now,
            stalled_since: NEVER,
            protocol_timer_at: NEVER,
            tls: None,
        }
    }

    /// The same connection speaking TLS through `layer` (HTTPS).
    pub fn with_tls(mut self, layer: TlsLayer) -> Self {
        self.tls = Some(Box::new(layer));
        self
    }

    /// Output bytes queued for the peer (for the metrics).
    pub fn queued_bytes(&self) -> usize {
        self.out.len()
    }

    /// The generation stamped into this connection's token.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Hands the output storage back to the pool before the connection is dropped.
    pub fn recycle(&mut self, pool: &mut BufPool) {
        if let Some(buf) = self.out.take_storage() {
            pool.give(buf);
        }
    }

    /// Gives back the request bytes this connection had booked in the HTTP buffer budget;
    /// the reactor calls it when it removes the connection.
    pub fn release_budget(&self, budget: &reactor_proto::http::BufferBudget) {
        self.protocol.release(budget);
    }

    /// Arms the idle timer for a new connection.
    pub fn start(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        self.arm_idle(token, ctx);
        self.arm_tls_handshake(token, ctx);
    }

    fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// The socket became readable (or the peer closed: `peer_fin` is mio's `is_read_closed`).
    pub fn on_readable(&mut self, token: Token, peer_fin: bool, ctx: &mut ConnCtx<'_>) -> Flow {
        if peer_fin {
            self.flags |= FIN_ANNOUNCED;
        }
        if self.has(LINGERING) {
            return self.discard_input(token, ctx);
        }
        self.pump(token, ctx)
    }

    /// The socket became writable: flush what is queued, then resume reading if it was
    /// paused by backpressure.
    pub fn on_writable(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        if let Err(e) = self.flush(ctx) {
            return Flow::Close(close_reason_for(&e));
        }
        self.after_output_change(token, ctx)
    }

    /// Revisit without an event: reading was paused by the budget or the output cap.
    pub fn resume(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !QUEUED;
        if self.has(LINGERING) {
            return self.discard_input(token, ctx);
        }
        if !self.has(READ_PENDING) && !self.protocol.wants_resume() {
            return Flow::Open;
        }
        self.pump(token, ctx)
    }

    /// A timer entry for this connection fired.
    pub fn on_timer(&mut self, kind: TimerKind, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        match kind {
            TimerKind::Idle => self.check_idle(token, ctx),
            TimerKind::WriteStall => self.check_stall(token, ctx),
            TimerKind::Protocol => self.check_protocol_deadline(token, ctx),
            TimerKind::TlsHandshake => self.check_tls_handshake(ctx),
            TimerKind::Linger => match self.has(LINGERING) {
                true => Flow::Close(self.closing_reason),
                false => Flow::Open,
            },
        }
    }

    /// Graceful shutdown: stop reading, flush what is owed, then close. Complete HTTP requests
    /// already read (a paused pipeline) are answered first; the protocol then closes.
    pub fn begin_shutdown(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        if self.has(LINGERING) {
            return Flow::Open;
        }
        if self.protocol.begin_drain(ctx.proto.budget) {
            self.close_after_flush(CloseReason::Shutdown);
        }
        self.after_output_change(token, ctx)
    }
}

/// Maps a socket error to the reason reported in the stats.
pub fn close_reason_for(e: &io::Error) -> CloseReason {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted => CloseReason::Reset,
        _ => CloseReason::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::Connection;

    /// An idle connection is exactly its slab entry, so this size is the server's memory per
    /// idle connection (plus the slab's spare capacity); keep it from creeping up.
    #[test]
    fn a_connection_fits_in_two_cache_lines() {
        // mio's `TcpStream` carries a selector id in debug builds only (16 bytes instead of
        // 4), one more 8-byte slot in this layout; the release layout is the one that runs.
        let mio_debug_extra = if cfg!(debug_assertions) { 8 } else { 0 };
        let size = std::mem::size_of::<Connection>();
        assert!(
            size <= 128 + mio_debug_extra,
            "Connection grew to {size} bytes"
        );
        assert!(std::mem::size_of::<slab::Slab<Connection>>() < 64);
    }
}
