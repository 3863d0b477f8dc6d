//! A TCP read: socket → protocol → socket, until the socket is drained, the read budget is
//! spent, the output cap is reached, or the connection must close.

use std::io::{self, Read};

use mio::Token;

use super::{
    close_reason_for, ConnCtx, Connection, Flow, CLOSE_AFTER_FLUSH, FIN_ANNOUNCED, PEER_CLOSED,
    READ_PENDING,
};
use crate::exchange::{exchange, Call as ProtocolCall, Wire};
use crate::protocol::Reaction;
use crate::stats::CloseReason;

impl Connection {
    /// Reads and handles input until the socket is drained, the budget is spent, the output
    /// cap is reached, or the connection must close.
    pub(super) fn pump(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
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
    #[inline]
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
    pub(super) fn handle_input(
        &mut self,
        n: usize,
        token: Token,
        ctx: &mut ConnCtx<'_>,
    ) -> Option<Flow> {
        self.exchange(Call::Input(n), token, ctx)
    }

    /// Lets the protocol continue with input it buffered earlier.
    pub(super) fn continue_buffered(
        &mut self,
        token: Token,
        ctx: &mut ConnCtx<'_>,
    ) -> Option<Flow> {
        self.exchange(Call::Resume, token, ctx)
    }

    /// One protocol call and the sending of its answer, as one turn of the loop's staging
    /// buffer (see [`exchange`]).
    pub(super) fn exchange(
        &mut self,
        call: Call,
        token: Token,
        ctx: &mut ConnCtx<'_>,
    ) -> Option<Flow> {
        let budget = ctx.limits.max_output.saturating_sub(self.out.len());
        let call = match call {
            Call::Input(n) => ProtocolCall::Input(&ctx.scratch[..n]),
            Call::Resume => ProtocolCall::Resume,
            Call::Timeout => ProtocolCall::Timeout,
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
    pub(super) fn apply(
        &mut self,
        reaction: Reaction,
        token: Token,
        ctx: &mut ConnCtx<'_>,
    ) -> Option<Flow> {
        let Reaction {
            output: _,
            close,
            paused,
        } = reaction;
        self.track_protocol_deadline(token, ctx);
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
    pub(super) fn discard_input(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
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
}

/// What one read of a connection's input gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Input {
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

/// Which protocol call a [`Connection::exchange`] makes (input named by its length in
/// `scratch`, so the call does not borrow the context).
#[derive(Debug, Clone, Copy)]
pub(super) enum Call {
    /// Input read into `scratch[..n]`.
    Input(usize),
    /// Input the protocol held back while output was at the cap.
    Resume,
    /// The loop's clock reached the protocol's deadline.
    Timeout,
}
