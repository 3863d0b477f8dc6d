//! A TCP write, and how a connection ends: flush what is owed, shut the write side, linger
//! for the peer's FIN.

use std::io::{self, Write};
use std::net::Shutdown;

use mio::{Interest, Registry, Token};

use super::{
    close_reason_for, ConnCtx, Connection, Flow, CLOSE_AFTER_FLUSH, LINGERING, NEVER, PEER_CLOSED,
    QUEUED, READ_PENDING, WANT_WRITE,
};
use crate::stats::CloseReason;
use crate::timers::TimerKind;

impl Connection {
    /// Writes queued output until it is gone or the socket is full.
    pub(super) fn flush(&mut self, ctx: &mut ConnCtx<'_>) -> io::Result<()> {
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
    pub(super) fn after_output_change(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
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

    pub(super) fn close_after_flush(&mut self, reason: CloseReason) {
        if !self.has(CLOSE_AFTER_FLUSH) {
            self.flags |= CLOSE_AFTER_FLUSH;
            self.closing_reason = reason;
        }
    }

    /// Everything owed was sent: shut our write side (the peer sees EOF after the last byte)
    /// and wait briefly for the peer's FIN before closing. Closing at once while unread input
    /// sits in our receive queue would make the kernel send RST, which can destroy the
    /// response before the peer reads it.
    pub(super) fn begin_linger(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> Flow {
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

    pub(super) fn set_write_interest(
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

    pub(super) fn queue_revisit(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if !self.has(QUEUED) {
            self.flags |= QUEUED;
            ctx.revisit.push(token);
        }
    }
}
