//! HTTPS glue: how a connection reads through its TLS layer and sends the layer's records.
//!
//! Every TLS decision is the layer's ([`crate::tls::layer`]); this only connects it to the
//! connection's socket, output queue, timers and counters:
//! - reading: plaintext the layer still holds comes first; otherwise one socket read goes into
//!   the layer, the handshake's answer (if any) is sent, and the decrypted bytes land in
//!   `scratch` for the protocol, exactly like a plain read;
//! - writing: the protocol's answer is sealed by [`crate::exchange`]; records go to the socket
//!   and whatever it refuses to the output queue, so backpressure and the write timeout
//!   apply to them unchanged;
//! - closing: a graceful close sends `close_notify` before our FIN.

use std::io::{self, Read};

use mio::Token;

use super::read::Input;
use super::{ConnCtx, Connection, Flow};
use crate::exchange::RecordSink;
use crate::stats::CloseReason;
use crate::timers::TimerKind;
use crate::tls::{Ciphertext, ReadError};

impl Connection {
    /// One read through the TLS layer; decrypted input ends up in `scratch[..plain]`. Out of
    /// line, so that the plain read loop stays small.
    #[inline(never)]
    pub(super) fn read_tls(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> io::Result<Input> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return Ok(Input::End);
        };
        if tls.has_plaintext() {
            let plain = tls.take_plaintext(ctx.scratch);
            return Ok(Input::Bytes {
                wire: 0,
                plain,
                drained: false,
            });
        }
        let mut socket = ShortReads {
            inner: &mut self.stream,
            short: false,
        };
        let wire = match tls.read_ciphertext(&mut socket, &mut ctx.stats.tls) {
            Ok(Ciphertext::Read(n)) => n,
            Ok(Ciphertext::End) => {
                tls.on_transport_end(&mut ctx.stats.tls);
                return Ok(Input::End);
            }
            Err(ReadError::Io(e)) => return Err(e),
            Err(ReadError::Tls(_)) => return self.refuse(token, ctx),
        };
        let drained = socket.short;
        if tls.process(&mut ctx.stats.tls).is_err() {
            ctx.stats.tcp_bytes_in += wire as u64;
            return self.refuse(token, ctx);
        }
        let plain = tls.take_plaintext(ctx.scratch);
        if tls.wants_write() {
            self.send_tls_records(token, ctx)?;
        }
        Ok(Input::Bytes {
            wire,
            plain,
            drained,
        })
    }

    /// The layer refused the peer's input: send its alert (best effort) and say so.
    fn refuse(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> io::Result<Input> {
        // The connection closes either way; a socket error here only loses the alert.
        let _ = self.send_tls_records(token, ctx);
        Ok(Input::Refused)
    }

    /// Sends the records the layer has ready: to the socket, the rest to the output queue
    /// (with `WRITABLE` interest to flush it).
    pub(super) fn send_tls_records(
        &mut self,
        token: Token,
        ctx: &mut ConnCtx<'_>,
    ) -> io::Result<()> {
        let Some(tls) = self.tls.as_deref_mut() else {
            return Ok(());
        };
        let mut sink = RecordSink {
            socket: &mut self.stream,
            out: &mut self.out,
            pool: ctx.pool,
            stats: ctx.stats,
        };
        tls.write_ciphertext(&mut sink)?;
        if !self.out.is_empty() {
            self.set_write_interest(true, token, ctx.registry)?;
        }
        Ok(())
    }

    /// Before a graceful close of an HTTPS connection: queues `close_notify` and starts sending
    /// it. True when it is still queued (the close waits for the socket to take it).
    pub(super) fn queue_tls_close_notify(&mut self, token: Token, ctx: &mut ConnCtx<'_>) -> bool {
        let queued = self
            .tls
            .as_deref_mut()
            .is_some_and(|tls| tls.close_notify());
        if !queued {
            return false;
        }
        match self.send_tls_records(token, ctx) {
            Ok(()) => !self.out.is_empty(),
            Err(_) => false,
        }
    }

    /// Arms the handshake deadline of a new HTTPS connection.
    pub(super) fn arm_tls_handshake(&mut self, token: Token, ctx: &mut ConnCtx<'_>) {
        if let Some(deadline) = self.tls.as_deref().and_then(|tls| tls.poll_timeout()) {
            ctx.timers
                .schedule(deadline, TimerKind::TlsHandshake, token);
        }
    }

    /// The handshake deadline came: close a connection still handshaking, like a slowloris.
    pub(super) fn check_tls_handshake(&mut self, ctx: &mut ConnCtx<'_>) -> Flow {
        let expired = self
            .tls
            .as_deref_mut()
            .is_some_and(|tls| tls.handle_timeout(ctx.now, &mut ctx.stats.tls));
        match expired {
            true => Flow::Close(CloseReason::TlsHandshakeTimeout),
            false => Flow::Open,
        }
    }

    /// The socket failed or ended: a handshake cut short is counted.
    pub(super) fn note_transport_end(&mut self, ctx: &mut ConnCtx<'_>) {
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.on_transport_end(&mut ctx.stats.tls);
        }
    }
}

/// A socket reader that notes a short read (the receive queue was emptied, see
/// `Connection::pump`), so TLS reads skip the extra `WouldBlock` read as plain ones do.
struct ShortReads<'a, R: Read> {
    inner: &'a mut R,
    short: bool,
}

impl<R: Read> Read for ShortReads<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.short = n < buf.len();
        Ok(n)
    }
}
