//! The TLS layer of a stream connection (https targets), between the socket and the
//! connection's state machine ([`StreamConn`]), which only ever sees plaintext: keep-alive,
//! pipelining and a connection per request work over TLS as they do without it.
//!
//! rustls' `ClientConnection` is sans-IO (TLS records in, plaintext out, and the other way);
//! this module moves bytes between it and the non-blocking socket:
//! - **Handshake** ([`TlsSession::handshake`]): write what rustls has to send, read what the
//!   server sent, until the handshake completes or fails; a failure is classified
//!   ([`HandshakeFailure`]) and worded with the fix when there is one, never a panic. The
//!   caller bounds it in time (`--connect-timeout`).
//! - **Writing** ([`TlsSession::flush`]): the connection's pending plaintext is handed to
//!   rustls, and its requests count as sent when the write that puts the last record carrying
//!   them on the wire begins, as without TLS.
//! - **Reading** ([`TlsSession::read`]): records are read with the kernel's arrival stamp
//!   ([`rxstamp`]), decrypted, and the plaintext goes to the connection stamped with that
//!   arrival. A TCP end of stream without `close_notify` is an end of stream as any other (many
//!   servers skip the alert; the HTTP framing decides whether an answer was cut short).

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind};

use super::conn::{Ending, Received, StreamConn};
use super::rxstamp::{self, Arrival};
use super::stream::{end_of_stream, ReadEnd, ReadError};
use crate::clock::now_ns;
use crate::stats::{Handshake, HandshakeFailure};

/// What a thread needs to open TLS connections: its own configuration (and so its own
/// session cache) and the server's name.
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// The configuration, shared by the thread's connections.
    pub config: Arc<ClientConfig>,
    /// Name to verify and to send as SNI.
    pub server_name: ServerName<'static>,
}

/// Where a handshake stands after the socket signalled.
#[derive(Debug)]
pub enum Handshaking {
    /// Waiting for the server.
    Pending,
    /// Done: what was negotiated (`took` is left to the caller, who timed the phase).
    Done(Handshake),
    /// Failed: why, and the message for the summary.
    Failed(HandshakeFailure, String),
}

/// One connection's TLS state.
#[derive(Debug)]
pub struct TlsSession {
    tls: ClientConnection,
    /// Bytes at the front of the connection's pending plaintext already handed to rustls
    /// (encrypted; on the wire once rustls has nothing more to write).
    handed: usize,
    /// When the write that last emptied rustls' outgoing buffer began.
    last_write: u64,
}

/// What feeding received records produced.
enum Fed {
    Open,
    /// The connection asked to be closed (the server announced it, or one request per
    /// connection was answered).
    Closing,
    /// The server ended the TLS session (`close_notify`).
    Ended,
}

impl TlsSession {
    /// A new client session; its ClientHello is written by the first [`TlsSession::handshake`].
    pub fn start(client: &TlsClient) -> Result<TlsSession, rustls::Error> {
        let tls = ClientConnection::new(client.config.clone(), client.server_name.clone())?;
        Ok(TlsSession {
            tls,
            handed: 0,
            last_write: 0,
        })
    }

    /// Move the handshake on: write, read, until it completes, fails, or waits for the server.
    pub fn handshake(&mut self, socket: &mut TcpStream, scratch: &mut [u8]) -> Handshaking {
        loop {
            if let Err(e) = self.write_out(socket) {
                return failed_io(&e);
            }
            if !self.tls.is_handshaking() {
                return Handshaking::Done(self.negotiated());
            }
            match io::Read::read(socket, scratch) {
                Ok(0) => {
                    return Handshaking::Failed(
                        HandshakeFailure::PeerClosed,
                        "TLS handshake failed: the server closed the connection mid-handshake"
                            .into(),
                    )
                }
                Ok(n) => {
                    if let Err(e) = self.absorb(&scratch[..n]) {
                        // rustls queued an alert for the server: tell it why, if it listens.
                        let _ = self.write_out(socket);
                        return failed_tls(&e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Handshaking::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return failed_io(&e),
            }
        }
    }

    /// Feed received bytes to rustls during the handshake.
    fn absorb(&mut self, mut input: &[u8]) -> Result<(), AbsorbError> {
        while !input.is_empty() {
            self.tls.read_tls(&mut input).map_err(AbsorbError::Io)?;
            self.tls.process_new_packets().map_err(AbsorbError::Tls)?;
        }
        Ok(())
    }

    fn negotiated(&self) -> Handshake {
        Handshake {
            took: 0,
            resumed: self.tls.handshake_kind() == Some(HandshakeKind::Resumed),
            version: self.tls.protocol_version().map_or(0, u16::from),
            suite: self
                .tls
                .negotiated_cipher_suite()
                .map_or(0, |s| u16::from(s.suite())),
            group: self
                .tls
                .negotiated_key_exchange_group()
                .map_or(0, |g| u16::from(g.name())),
        }
    }

    /// Write what rustls has to send until done or the kernel pushes back; bytes written.
    fn write_out(&mut self, socket: &mut TcpStream) -> io::Result<u64> {
        let mut total = 0;
        while self.tls.wants_write() {
            let began = now_ns();
            match self.tls.write_tls(socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    total += n as u64;
                    self.last_write = began;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Encrypt the connection's pending plaintext and write it until done or the kernel
    /// pushes back; returns plaintext bytes now on the wire. Requests count as sent (in
    /// `conn`) once every record carrying them is written.
    pub fn flush(&mut self, socket: &mut TcpStream, conn: &mut StreamConn) -> io::Result<u64> {
        let mut total = 0;
        loop {
            let pending = conn.pending();
            if pending.len() > self.handed {
                self.handed += self.tls.writer().write(&pending[self.handed..])?;
            }
            self.write_out(socket)?;
            if self.tls.wants_write() {
                return Ok(total);
            }
            if self.handed > 0 {
                total += self.handed as u64;
                conn.wrote(self.handed, self.last_write);
                self.handed = 0;
            }
            if conn.pending().is_empty() {
                return Ok(total);
            }
        }
    }

    /// Read until the socket is drained, feeding the plaintext to `conn`; `received` counts
    /// plaintext bytes. `peer_closed`: as [`super::stream::StreamSlot::read`].
    pub fn read(
        &mut self,
        socket: &mut TcpStream,
        scratch: &mut [u8],
        conn: &mut StreamConn,
        received: &mut u64,
        peer_closed: bool,
    ) -> ReadEnd {
        loop {
            match rxstamp::recv(socket.as_raw_fd(), scratch) {
                Ok(rxstamp::Received { len: 0, .. }) => return end_of_stream(conn),
                Ok(rxstamp::Received { len: n, at, .. }) => {
                    match self.feed(&scratch[..n], at, conn, received) {
                        Ok(Fed::Open) => {}
                        Ok(Fed::Closing) => return ReadEnd::Close(Ending::Quiet, None),
                        Ok(Fed::Ended) => return end_of_stream(conn),
                        Err(e) => return ReadEnd::Close(Ending::Broken, Some(e)),
                    }
                    if n < scratch.len() && !peer_closed {
                        return self.drained(socket);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.drained(socket),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadEnd::Close(Ending::Broken, Some(ReadError::Io(e))),
            }
        }
    }

    /// The socket is drained; anything rustls has to answer (a key update) goes out now.
    fn drained(&mut self, socket: &mut TcpStream) -> ReadEnd {
        match self.write_out(socket) {
            Ok(_) => ReadEnd::Drained,
            Err(e) => ReadEnd::Close(Ending::Broken, Some(ReadError::Io(e))),
        }
    }

    /// Decrypt received records and hand their plaintext to `conn`, stamped `at`.
    fn feed(
        &mut self,
        mut input: &[u8],
        at: Arrival,
        conn: &mut StreamConn,
        received: &mut u64,
    ) -> Result<Fed, ReadError> {
        while !input.is_empty() {
            self.tls.read_tls(&mut input).map_err(ReadError::Io)?;
            self.tls.process_new_packets().map_err(ReadError::Tls)?;
            loop {
                let chunk = match self.tls.reader().into_first_chunk() {
                    Ok([]) => return Ok(Fed::Ended),
                    Ok(chunk) => chunk,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(ReadError::Io(e)),
                };
                let n = chunk.len();
                *received += n as u64;
                let said = conn.received(chunk, at);
                io::BufRead::consume(&mut self.tls.reader(), n);
                match said.map_err(ReadError::Stream)? {
                    Received::Open => {}
                    Received::Closing => return Ok(Fed::Closing),
                }
            }
        }
        Ok(Fed::Open)
    }
}

/// Why received handshake bytes were refused.
#[derive(Debug)]
enum AbsorbError {
    Io(io::Error),
    Tls(rustls::Error),
}

fn failed_io(e: &io::Error) -> Handshaking {
    let why = match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => HandshakeFailure::PeerClosed,
        _ => HandshakeFailure::Other,
    };
    Handshaking::Failed(why, format!("TLS handshake failed: {e}"))
}

fn failed_tls(e: &AbsorbError) -> Handshaking {
    let e = match e {
        AbsorbError::Io(e) => return failed_io(e),
        AbsorbError::Tls(e) => e,
    };
    let why = classify(e);
    let message = match why {
        HandshakeFailure::Certificate if format!("{e:?}").contains("CaUsedAsEndEntity") => {
            format!(
                "TLS certificate verification failed: {e} (the server's certificate is a CA \
                 certificate, which is refused as a server's own: make it with \
                 basicConstraints CA:FALSE, or give --insecure to skip verification)"
            )
        }
        HandshakeFailure::Certificate => format!(
            "TLS certificate verification failed: {e} (give --cacert PEM to trust the \
             server's CA or certificate, or --insecure to skip verification)"
        ),
        HandshakeFailure::Protocol => format!(
            "TLS handshake failed: {e} (is the target an HTTPS server offering TLS 1.2 or 1.3?)"
        ),
        _ => format!("TLS handshake failed: {e}"),
    };
    Handshaking::Failed(why, message)
}

/// The reason a rustls error gives for a failed handshake.
pub fn classify(e: &rustls::Error) -> HandshakeFailure {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(_) | E::InvalidCertRevocationList(_) => HandshakeFailure::Certificate,
        E::AlertReceived(_) => HandshakeFailure::Alert,
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. }
        | E::PeerIncompatible(_)
        | E::PeerMisbehaved(_)
        | E::DecryptError
        | E::NoApplicationProtocol => HandshakeFailure::Protocol,
        _ => HandshakeFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{AlertDescription, CertificateError, InvalidMessage};

    #[test]
    fn handshake_errors_are_classified_by_what_the_user_can_do() {
        let cert = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(classify(&cert), HandshakeFailure::Certificate);
        let alert = rustls::Error::AlertReceived(AlertDescription::ProtocolVersion);
        assert_eq!(classify(&alert), HandshakeFailure::Alert);
        let garbage = rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType);
        assert_eq!(classify(&garbage), HandshakeFailure::Protocol);
        assert_eq!(
            classify(&rustls::Error::General("x".into())),
            HandshakeFailure::Other
        );
    }

    #[test]
    fn a_certificate_failure_names_the_fix() {
        let e = AbsorbError::Tls(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        let Handshaking::Failed(why, message) = failed_tls(&e) else {
            panic!("a failure");
        };
        assert_eq!(why, HandshakeFailure::Certificate);
        assert!(message.contains("--cacert") && message.contains("--insecure"));
    }
}
