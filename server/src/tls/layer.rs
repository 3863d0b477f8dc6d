//! One connection's TLS state, between the socket and the HTTP session, without I/O of its own.
//!
//! Ciphertext goes in ([`TlsLayer::read_ciphertext`] from anything that reads, then
//! [`TlsLayer::process`]), plaintext comes out ([`TlsLayer::take_plaintext`]) for the HTTP
//! session; the session's answer goes in ([`TlsLayer::seal`]) and records come out
//! ([`TlsLayer::write_ciphertext`] into anything that writes). The connection decides when
//! to read and where the records go (its socket, then its output queue), so every HTTP limit
//! and timeout applies unchanged above this layer, and output backpressure applies to the
//! records.
//!
//! The handshake has a deadline: [`TlsLayer::poll_timeout`] says when, and
//! [`TlsLayer::handle_timeout`] says whether it passed unfinished. Every failure is counted
//! once, by reason, in [`TlsStats`], and leaves the fatal alert rustls queued (if any) to be
//! written before the close.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::server::ServerConnection;
use rustls::{HandshakeKind, ServerConfig};

use crate::timers::Millis;
use crate::tls::stats::{TlsFailure, TlsStats};

/// What a read of ciphertext found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ciphertext {
    /// This many bytes were taken in (call [`TlsLayer::process`]).
    Read(usize),
    /// The source is at end of stream, or the peer's `close_notify` was received.
    End,
}

/// The TLS state of one connection.
#[derive(Debug)]
pub struct TlsLayer {
    conn: ServerConnection,
    /// When the handshake must be complete, or `None` once it is (or failed).
    handshake_deadline: Option<Millis>,
    /// Decrypted bytes not yet taken.
    plaintext_pending: usize,
    /// A failure was counted: no more input is taken and no `close_notify` is sent.
    failed: bool,
    close_notify_queued: bool,
}

impl TlsLayer {
    /// A connection that has received nothing yet; its handshake must finish by
    /// `now + handshake_ms` (0: no deadline).
    pub fn new(
        config: Arc<ServerConfig>,
        now: Millis,
        handshake_ms: Millis,
    ) -> Result<Self, rustls::Error> {
        let mut conn = ServerConnection::new(config)?;
        // Records are drained into the connection's output queue right after each seal, and
        // that queue is what `--max-output` bounds; a second cap here would only make a large
        // answer fail half-sealed.
        conn.set_buffer_limit(None);
        Ok(Self {
            conn,
            handshake_deadline: (handshake_ms > 0).then(|| now.saturating_add(handshake_ms)),
            plaintext_pending: 0,
            failed: false,
            close_notify_queued: false,
        })
    }

    /// Takes in the ciphertext one read of `src` gives (at most a few KiB: rustls sizes the
    /// read). A failure here is counted: an I/O error from `src` is returned as it is, and a
    /// message larger than rustls accepts is a [`TlsFailure::TooLarge`].
    pub fn read_ciphertext(
        &mut self,
        src: &mut dyn Read,
        stats: &mut TlsStats,
    ) -> Result<Ciphertext, ReadError> {
        if self.failed {
            return Ok(Ciphertext::End);
        }
        let mut source = SourceErrors { src, failed: false };
        match self.conn.read_tls(&mut source) {
            Ok(0) => Ok(Ciphertext::End),
            Ok(n) => Ok(Ciphertext::Read(n)),
            Err(e) => match source.failed {
                true => Err(ReadError::Io(e)),
                false => Err(ReadError::Tls(self.fail(TlsFailure::TooLarge, stats))),
            },
        }
    }

    /// Processes the ciphertext taken in: advances the handshake (its answer is then ready in
    /// [`write_ciphertext`](Self::write_ciphertext)) and decrypts application data. On a
    /// failure the fatal alert is queued and the failure counted.
    pub fn process(&mut self, stats: &mut TlsStats) -> Result<(), TlsFailure> {
        if self.failed {
            return Ok(());
        }
        let was_handshaking = self.conn.is_handshaking();
        match self.conn.process_new_packets() {
            Ok(state) => {
                self.plaintext_pending = state.plaintext_bytes_to_read();
                if was_handshaking && !self.conn.is_handshaking() {
                    self.handshake_deadline = None;
                    let resumed = self.conn.handshake_kind() == Some(HandshakeKind::Resumed);
                    stats.record_handshake(resumed, self.conn.protocol_version());
                }
                Ok(())
            }
            Err(e) => {
                log::debug!("TLS failure: {e}");
                Err(self.fail(TlsFailure::of(&e), stats))
            }
        }
    }

    /// Moves decrypted bytes into `buf`; returns how many.
    pub fn take_plaintext(&mut self, buf: &mut [u8]) -> usize {
        if self.plaintext_pending == 0 {
            return 0;
        }
        // WouldBlock (nothing decrypted) and a clean or unclean end all mean "no bytes now".
        let n = self.conn.reader().read(buf).unwrap_or(0);
        self.plaintext_pending = self.plaintext_pending.saturating_sub(n);
        n
    }

    /// Decrypted bytes are waiting for [`take_plaintext`](Self::take_plaintext).
    pub fn has_plaintext(&self) -> bool {
        self.plaintext_pending > 0
    }

    /// Encrypts `plaintext` into records (buffered until the handshake completes).
    pub fn seal(&mut self, plaintext: &[u8]) -> io::Result<()> {
        if self.failed || plaintext.is_empty() {
            return Ok(());
        }
        self.conn.writer().write_all(plaintext)
    }

    /// Records are waiting for [`write_ciphertext`](Self::write_ciphertext).
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes every waiting record to `dst` (which must take all it is given: the connection's
    /// output queue holds what its socket refuses); returns the bytes written.
    pub fn write_ciphertext(&mut self, dst: &mut dyn Write) -> io::Result<usize> {
        let mut total = 0;
        while self.conn.wants_write() {
            match self.conn.write_tls(dst)? {
                0 => break,
                n => total += n,
            }
        }
        Ok(total)
    }

    /// Queues `close_notify` (once; never after a failure); returns whether it was queued now.
    pub fn close_notify(&mut self) -> bool {
        if self.failed || self.close_notify_queued {
            return false;
        }
        self.close_notify_queued = true;
        self.conn.send_close_notify();
        true
    }

    /// The handshake is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking() && !self.failed
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.handshake_deadline
    }

    /// The clock reached `now`: true when the handshake deadline passed unfinished (the
    /// failure is counted; the connection should close).
    pub fn handle_timeout(&mut self, now: Millis, stats: &mut TlsStats) -> bool {
        match self.handshake_deadline {
            Some(deadline) if now >= deadline && self.is_handshaking() => {
                self.fail(TlsFailure::Timeout, stats);
                true
            }
            _ => false,
        }
    }

    /// The transport ended (end of stream or a socket error): a handshake cut short is counted.
    pub fn on_transport_end(&mut self, stats: &mut TlsStats) {
        if self.is_handshaking() {
            self.fail(TlsFailure::Eof, stats);
        }
    }

    /// The negotiated application protocol (`http/1.1`), once the handshake is done.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    fn fail(&mut self, reason: TlsFailure, stats: &mut TlsStats) -> TlsFailure {
        if !self.failed {
            self.failed = true;
            self.handshake_deadline = None;
            stats.record_failure(reason, self.conn.is_handshaking());
        }
        reason
    }
}

/// A failed [`TlsLayer::read_ciphertext`].
#[derive(Debug)]
pub enum ReadError {
    /// The source's own error (e.g. `WouldBlock`, a reset).
    Io(io::Error),
    /// The peer's input was refused and counted.
    Tls(TlsFailure),
}

/// A reader that remembers whether an error came from the source itself, to tell it from
/// rustls's own refusals (which share `io::Error`).
struct SourceErrors<'a> {
    src: &'a mut dyn Read,
    failed: bool,
}

impl Read for SourceErrors<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.src.read(buf).inspect_err(|_| self.failed = true)
    }
}

#[cfg(test)]
#[path = "layer_tests.rs"]
mod tests;
