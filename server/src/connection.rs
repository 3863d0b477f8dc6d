//! One TCP connection: where a TCP read and a TCP write are handled.
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

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use reactor_proto::outbuf::OutBuf;

use crate::bufpool::BufPool;
use crate::exchange::{exchange, Call as ProtocolCall, Wire};
use crate::protocol::{Protocol, ProtocolCtx, Reaction};
use crate::staging::Staging;
use crate::stats::{CloseReason, Stats};
use crate::timers::{Millis, TimerKind, Timers};
use crate::tls::TlsLayer;

mod tls_io;

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
/// A header timer entry exists.
const HEADER_ARMED: u16 = 1 << 7;
/// The connection is in the reactor's revisit list.
const QUEUED: u16 = 1 << 8;
/// An event announced the peer's FIN (`EPOLLRDHUP`) and we have not read up to it yet. Sticky,
/// because that edge will not come again: if reading is paused when it arrives, a later short
/// read would otherwise look like "drained" and the FIN would never be read.
const FIN_ANNOUNCED: u16 = 1 << 9;
/// A body timer entry exists.
const BODY_ARMED: u16 = 1 << 10;

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
    /// `--header-timeout` in ms, 0 = off.
    pub header_ms: Millis,
    /// `--body-timeout` in ms, 0 = off.
    pub body_ms: Millis,
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
    /// When the current HTTP request head started, or [`NEVER`].
    header_since: Millis,
    /// When the current HTTP request body started (its head completed), or [`NEVER`].
    body_since: Millis,
    /// HTTPS: the TLS layer between the socket and the protocol (boxed: a plaintext
    /// connection pays one pointer for it).
    tls: Option<Box<TlsLayer>>,
}

/// What one read of a connection's input gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// The peer finished sending (FIN, or TLS `close_notify`).
    End,
    /// `wire` bytes came off the socket and `plain` bytes of input are in `scratch[..plain]`;
    /// `drained`: the read proved the socket's receive queue empty.
    Bytes {
        wire: usize,
        plain: usize,
        drained: bool,
    },
    /// HTTPS: the peer's TLS input was refused; the alert is queued.
    Refused,
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
            header_since: NEVER,
            body_since: NEVER,
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

    // ----- events -------------------------------------------------------------------------

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
            TimerKind::Header => self.check_header(token, ctx),
            TimerKind::Body => self.check_body(token, ctx),
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

    // ----- reading ------------------------------------------------------------------------

    /// Reads and handles input until the socket is drained, the budget is spent, the output
    /// cap is reached, or the connection must close.
    fn pump(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        // Input the protocol held back while output was at the cap comes before new bytes.
        if self.protocol.wants_resume() {
            if let Some(flow) = self.continue_buffered(token, ctx) {
                return flow;
            }
        }
        if self.has(PEER_CLOSED | CLOSE_AFTER_FLUSH) {
            return self.after_output_change(token, ctx);
        }
        let mut budget = ctx.limits.read_budget;
        loop {
            if self.out.is_full(ctx.limits.max_output) {
                self.flags |= READ_PENDING;
                self.note_stall(token, ctx);
                return Flow::Open;
            }
            if budget == 0 {
                self.flags |= READ_PENDING;
                self.queue_revisit(token, ctx);
                return Flow::Open;
            }
            let want = budget.min(ctx.scratch.len());
            let input = match self.tls.is_some() {
                false => self.read_plain(want, ctx),
                true => self.read_tls(token, ctx),
            };
            match input {
                Ok(Input::End) => {
                    self.flags = (self.flags | PEER_CLOSED) & !READ_PENDING;
                    self.protocol.on_peer_closed(ctx.proto.budget);
                    return self.after_output_change(token, ctx);
                }
                Ok(Input::Refused) => {
                    self.close_after_flush(CloseReason::TlsError);
                    return self.after_output_change(token, ctx);
                }
                Ok(Input::Bytes {
                    wire,
                    plain,
                    drained,
                }) => {
                    // Plaintext TLS held back costs budget too, so this loop always ends.
                    budget = budget.saturating_sub(wire.max(plain).max(1));
                    if wire > 0 {
                        ctx.stats.tcp_bytes_in += wire as u64;
                        self.last_active = ctx.now;
                    }
                    if plain > 0 {
                        if let Some(flow) = self.handle_input(plain, token, ctx) {
                            return flow;
                        }
                    }
                    // On Linux, a read that returns less than asked means the receive queue
                    // was emptied; any byte (or FIN) arriving later raises a new edge. So the
                    // next read could only return WouldBlock: skip it, unless an event already
                    // announced a FIN we have yet to read.
                    if drained && !self.has(FIN_ANNOUNCED) {
                        self.flags &= !READ_PENDING;
                        return Flow::Open;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flags &= !READ_PENDING;
                    return Flow::Open;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.note_transport_end(ctx);
                    return Flow::Close(close_reason_for(&e));
                }
            }
        }
    }

    /// One plain read of at most `want` bytes into `scratch`.
    fn read_plain(&mut self, want: usize, ctx: &mut ConnCtx<'_>) -> io::Result<Input> {
        Ok(match self.stream.read(&mut ctx.scratch[..want])? {
            0 => Input::End,
            n => Input::Bytes {
                wire: n,
                plain: n,
                drained: n < want,
            },
        })
    }

    /// Gives `scratch[..n]` to the protocol and sends what it answers. `Some(flow)` ends the
    /// pump (close, or stop reading).
    fn handle_input(&mut self, n: usize, token: Token, ctx: &mut ConnCtx<'_>) -> Option<Flow> {
        self.exchange(Call::Input(n), token, ctx)
    }

    /// Lets the protocol continue with input it buffered earlier.
    fn continue_buffered(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Option<Flow> {
        self.exchange(Call::Resume, token, ctx)
    }

    /// One protocol call and the sending of its answer, as one turn of the loop's staging
    /// buffer (see [`exchange`]).
    fn exchange(&mut self, call: Call, token: Token, ctx: &mut ConnCtx<'_>) -> Option<Flow> {
        let budget = ctx.limits.max_output.saturating_sub(self.out.len());
        let call = match call {
            Call::Input(n) => ProtocolCall::Input(&ctx.scratch[..n]),
            Call::Resume => ProtocolCall::Resume,
            Call::HeaderTimeout => ProtocolCall::HeaderTimeout,
            Call::BodyTimeout => ProtocolCall::BodyTimeout,
        };
        let mut wire = Wire {
            socket: &mut self.stream,
            out: &mut self.out,
            pool: ctx.pool,
            tls: self.tls.as_deref_mut(),
        };
        let exchanged = exchange(
            &mut self.protocol,
            call,
            ctx.staging,
            &ctx.proto,
            ctx.stats,
            &mut wire,
            budget,
        );
        match exchanged {
            Ok(reaction) => self.apply(reaction, token, ctx),
            Err(e) => Some(Flow::Close(close_reason_for(&e))),
        }
    }

    /// Acts on a protocol's decision once its output was sent or queued.
    fn apply(&mut self, reaction: Reaction, token: Token, ctx: &mut ConnCtx<'_>) -> Option<Flow> {
        let Reaction {
            output: _,
            close,
            paused,
            awaiting_headers,
            awaiting_body,
            answered,
        } = reaction;
        self.track_header_timer(awaiting_headers, token, ctx);
        if answered {
            self.body_since = NEVER; // a body still awaited is the next request's
        }
        self.track_body_timer(awaiting_body, token, ctx);
        if let Some(reason) = close {
            self.close_after_flush(reason);
            return Some(self.after_output_change(token, ctx));
        }
        if !self.out.is_empty() {
            if let Err(e) = self.set_write_interest(true, token, ctx.registry) {
                return Some(Flow::Close(close_reason_for(&e)));
            }
        }
        if paused {
            // The protocol holds unprocessed input until output drains.
            self.flags |= READ_PENDING;
            if self.out.is_full(ctx.limits.max_output) {
                self.note_stall(token, ctx);
            } else {
                self.queue_revisit(token, ctx);
            }
            return Some(Flow::Open);
        }
        None
    }

    /// Reads and drops input while lingering; the peer's FIN (or an error) ends the linger.
    /// Bounded by the read budget like any read, so a peer flooding a closing connection
    /// cannot hold the loop; the rest is discarded on the next turn.
    fn discard_input(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        let mut budget = ctx.limits.read_budget;
        loop {
            if budget == 0 {
                self.queue_revisit(token, ctx);
                return Flow::Open;
            }
            let want = budget.min(ctx.scratch.len());
            match self.stream.read(&mut ctx.scratch[..want]) {
                Ok(0) => return Flow::Close(self.closing_reason),
                Ok(n) => budget -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Flow::Close(self.closing_reason),
            }
        }
    }

    // ----- writing ------------------------------------------------------------------------

    /// Writes queued output until it is gone or the socket is full.
    fn flush(&mut self, ctx: &mut ConnCtx<'_>) -> io::Result<()> {
        while !self.out.is_empty() {
            let pending = self.out.pending();
            match self.stream.write(pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let partial = n < pending.len();
                    self.out.consume(n);
                    ctx.stats.tcp_bytes_out += n as u64;
                    self.last_active = ctx.now;
                    // A short write means the send buffer is full: another write could only
                    // return WouldBlock, so wait for the WRITABLE edge instead.
                    if partial {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// After output was written or queued: settle interest, stall tracking, resumed reading,
    /// and a pending close.
    fn after_output_change(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        if self.out.is_empty() {
            self.recycle(ctx.pool);
            if let Err(e) = self.set_write_interest(false, token, ctx.registry) {
                return Flow::Close(close_reason_for(&e));
            }
        }
        if !self.out.is_full(ctx.limits.max_output) {
            self.stalled_since = NEVER;
            let more_input = self.has(READ_PENDING) || self.protocol.wants_resume();
            if more_input && !self.has(CLOSE_AFTER_FLUSH | LINGERING) {
                self.queue_revisit(token, ctx);
            }
        }
        if !self.out.is_empty() {
            return Flow::Open;
        }
        if self.has(CLOSE_AFTER_FLUSH) {
            if self.queue_tls_close_notify(token, ctx) {
                return Flow::Open; // sent once the socket takes it
            }
            return self.begin_linger(token, ctx);
        }
        if self.has(PEER_CLOSED) && !self.protocol.wants_resume() {
            return Flow::Close(CloseReason::PeerClosed);
        }
        Flow::Open
    }

    fn close_after_flush(&mut self, reason: CloseReason) {
        if !self.has(CLOSE_AFTER_FLUSH) {
            self.flags |= CLOSE_AFTER_FLUSH;
            self.closing_reason = reason;
        }
    }

    /// Everything owed was sent: shut our write side (the peer sees EOF after the last byte)
    /// and wait briefly for the peer's FIN before closing. Closing at once while unread input
    /// sits in our receive queue would make the kernel send RST, which can destroy the
    /// response before the peer reads it.
    fn begin_linger(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        if self.has(PEER_CLOSED) {
            return Flow::Close(self.closing_reason);
        }
        if self.has(LINGERING) {
            return Flow::Open;
        }
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return Flow::Close(self.closing_reason);
        }
        self.flags |= LINGERING;
        ctx.timers.schedule(
            ctx.now.saturating_add(ctx.limits.linger_ms),
            TimerKind::Linger,
            token,
        );
        self.discard_input(token, ctx)
    }

    fn set_write_interest(
        &mut self,
        want: bool,
        token: Token,
        registry: &Registry,
    ) -> io::Result<()> {
        if want == self.has(WANT_WRITE) {
            return Ok(());
        }
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.reregister(&mut self.stream, token, interest)?;
        self.flags ^= WANT_WRITE;
        Ok(())
    }

    fn queue_revisit(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if !self.has(QUEUED) {
            self.flags |= QUEUED;
            ctx.revisit.push(token);
        }
    }

    // ----- timers -------------------------------------------------------------------------

    /// Schedules `kind` at `since + after_ms` unless that timer is off (`after_ms == 0`) or an
    /// entry already exists (`armed` flag): each connection has at most one entry per kind.
    fn arm(
        &mut self,
        armed: u16,
        kind: TimerKind,
        since: Millis,
        after_ms: Millis,
        token: Token,
        timers: &mut Timers,
    ) {
        if after_ms > 0 && !self.has(armed) {
            self.flags |= armed;
            timers.schedule(since.saturating_add(after_ms), kind, token);
        }
    }

    fn arm_idle(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        let since = self.last_active;
        self.arm(
            IDLE_ARMED,
            TimerKind::Idle,
            since,
            ctx.limits.idle_ms,
            token,
            ctx.timers,
        );
    }

    fn check_idle(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !IDLE_ARMED;
        let stalled = self.stalled_since != NEVER;
        match idle_verdict(ctx.now, self.last_active, stalled, ctx.limits) {
            IdleVerdict::Close => Flow::Close(CloseReason::IdleTimeout),
            IdleVerdict::CheckAgainAt(deadline) => {
                self.flags |= IDLE_ARMED;
                ctx.timers.schedule(deadline, TimerKind::Idle, token);
                Flow::Open
            }
        }
    }

    fn note_stall(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if self.stalled_since == NEVER {
            self.stalled_since = ctx.now;
        }
        let (since, after) = (self.stalled_since, ctx.limits.write_stall_ms);
        self.arm(
            STALL_ARMED,
            TimerKind::WriteStall,
            since,
            after,
            token,
            ctx.timers,
        );
    }

    fn check_stall(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !STALL_ARMED;
        if self.stalled_since == NEVER {
            return Flow::Open;
        }
        if ctx.now.saturating_sub(self.stalled_since) >= ctx.limits.write_stall_ms {
            return Flow::Close(CloseReason::WriteTimeout);
        }
        self.note_stall(token, ctx);
        Flow::Open
    }

    fn track_header_timer(&mut self, awaiting: bool, token: Token, ctx: &mut ConnCtx<'_>) {
        if !awaiting {
            self.header_since = NEVER;
            return;
        }
        if self.header_since == NEVER {
            self.header_since = ctx.now;
        }
        let (since, after) = (self.header_since, ctx.limits.header_ms);
        self.arm(
            HEADER_ARMED,
            TimerKind::Header,
            since,
            after,
            token,
            ctx.timers,
        );
    }

    fn check_header(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !HEADER_ARMED;
        if self.header_since == NEVER || self.has(CLOSE_AFTER_FLUSH | LINGERING) {
            return Flow::Open;
        }
        if ctx.now.saturating_sub(self.header_since) < ctx.limits.header_ms {
            self.track_header_timer(true, token, ctx);
            return Flow::Open;
        }
        self.exchange(Call::HeaderTimeout, token, ctx)
            .unwrap_or(Flow::Open)
    }
}

impl Connection {
    // ----- body timer ---------------------------------------------------------------------

    /// Runs the body timer exactly while the protocol awaits a request body; the deadline
    /// covers the whole body, however the peer paces it.
    fn track_body_timer(&mut self, awaiting: bool, token: Token, ctx: &mut ConnCtx<'_>) {
        if !awaiting {
            self.body_since = NEVER;
            return;
        }
        if self.body_since == NEVER {
            self.body_since = ctx.now;
        }
        let (since, after) = (self.body_since, ctx.limits.body_ms);
        self.arm(BODY_ARMED, TimerKind::Body, since, after, token, ctx.timers);
    }

    fn check_body(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
        self.flags &= !BODY_ARMED;
        if self.body_since == NEVER || self.has(CLOSE_AFTER_FLUSH | LINGERING) {
            return Flow::Open;
        }
        if ctx.now.saturating_sub(self.body_since) < ctx.limits.body_ms {
            self.track_body_timer(true, token, ctx);
            return Flow::Open;
        }
        self.exchange(Call::BodyTimeout, token, ctx)
            .unwrap_or(Flow::Open)
    }
}

/// Which protocol call a [`Connection::exchange`] makes (input named by its length in
/// `scratch`, so the call does not borrow the context).
#[derive(Debug, Clone, Copy)]
enum Call {
    /// Input read into `scratch[..n]`.
    Input(usize),
    /// Input the protocol held back while output was at the cap.
    Resume,
    /// The header timeout fired.
    HeaderTimeout,
    /// The body timeout fired.
    BodyTimeout,
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

/// What an idle timer that came due decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdleVerdict {
    /// Idle for the whole timeout: close.
    Close,
    /// Not idle (or the stall is the write timeout's business): look again then, always after
    /// `now`, so a re-armed idle timer can never be due in the turn that fired it.
    CheckAgainAt(Millis),
}

/// The idle timer's decision at `now` for a connection last active at `last_active`.
///
/// Output stuck at the cap is the write timeout's business when there is one (the close reason
/// then says what really happened); with `--write-timeout 0` a stall that moves no byte is
/// idleness like any other.
fn idle_verdict(
    now: Millis,
    last_active: Millis,
    stalled: bool,
    limits: &ConnLimits,
) -> IdleVerdict {
    let idle_for = now.saturating_sub(last_active);
    if idle_for < limits.idle_ms {
        return IdleVerdict::CheckAgainAt(last_active.saturating_add(limits.idle_ms));
    }
    if stalled && limits.write_stall_ms > 0 {
        // Re-arming from `last_active` would name a deadline already past.
        return IdleVerdict::CheckAgainAt(now.saturating_add(limits.idle_ms));
    }
    IdleVerdict::Close
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn limits(idle_ms: Millis, write_stall_ms: Millis) -> ConnLimits {
        ConnLimits {
            max_output: 1,
            read_budget: 1,
            idle_ms,
            write_stall_ms,
            header_ms: 0,
            body_ms: 0,
            linger_ms: 0,
        }
    }

    #[test]
    fn a_re_armed_idle_timer_is_always_due_after_now() {
        // Every combination of idle and write timeouts (equal, shorter, longer, off), stalled
        // or not, at and past the deadline: re-arming never names a time already reached.
        for idle_ms in [1, 5, 10] {
            for write_stall_ms in [0, 1, 5, 10, 20] {
                let limits = limits(idle_ms, write_stall_ms);
                for last_active in 0..30 {
                    for now in last_active..last_active + 40 {
                        for stalled in [false, true] {
                            if let IdleVerdict::CheckAgainAt(at) =
                                idle_verdict(now, last_active, stalled, &limits)
                            {
                                assert!(at > now, "re-armed at {at} <= now {now}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn idleness_closes_unless_the_write_timeout_owns_the_stall() {
        let l = limits(10, 20);
        assert_eq!(idle_verdict(5, 0, false, &l), IdleVerdict::CheckAgainAt(10));
        assert_eq!(idle_verdict(10, 0, false, &l), IdleVerdict::Close);
        assert_eq!(idle_verdict(10, 0, true, &l), IdleVerdict::CheckAgainAt(20));
        // No write timeout: a stall that moves nothing is idle.
        assert_eq!(
            idle_verdict(10, 0, true, &limits(10, 0)),
            IdleVerdict::Close
        );
    }
}
