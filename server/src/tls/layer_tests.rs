//! The TLS layer driven by a rustls client in memory: no sockets, no clock.

use std::io::{Read, Write};
use std::sync::Arc;

use reactor_testkit::tls::TestCert;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore};

use super::*;

const HANDSHAKE_MS: Millis = 5_000;

struct Pair {
    server: TlsLayer,
    client: ClientConnection,
    stats: TlsStats,
    /// Plaintext the server layer decrypted so far.
    received: Vec<u8>,
    /// Plaintext the client decrypted so far.
    client_received: Vec<u8>,
}

fn server_config(cert: &TestCert) -> Arc<ServerConfig> {
    crate::tls::config::load(&cert.cert_path, &cert.key_path).expect("server config")
}

fn client_config(
    cert: &TestCert,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for der in reactor_tls::read_certificates("cacert", &cert.cert_path).expect("a certificate") {
        roots.add(der).expect("trusted");
    }
    let mut config = ClientConfig::builder_with_provider(reactor_tls::crypto_provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn pair(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> Pair {
    let name = ServerName::try_from("localhost").expect("name");
    Pair {
        server: TlsLayer::new(server.clone(), 0, HANDSHAKE_MS).expect("server"),
        client: ClientConnection::new(client.clone(), name).expect("client"),
        stats: TlsStats::default(),
        received: Vec::new(),
        client_received: Vec::new(),
    }
}

impl Pair {
    /// Gives the server every byte the client has to send.
    fn client_to_server(&mut self) -> Result<(), TlsFailure> {
        let mut wire = Vec::new();
        while self.client.wants_write() {
            self.client.write_tls(&mut wire).expect("client write");
        }
        self.feed(&wire)
    }

    fn feed(&mut self, mut wire: &[u8]) -> Result<(), TlsFailure> {
        while !wire.is_empty() {
            match self.server.read_ciphertext(&mut wire, &mut self.stats) {
                Ok(Ciphertext::Read(_)) => self.server.process(&mut self.stats)?,
                Ok(Ciphertext::End) => break,
                Err(ReadError::Tls(failure)) => return Err(failure),
                Err(ReadError::Io(e)) => panic!("in-memory read failed: {e}"),
            }
            let mut buf = [0; 4096];
            loop {
                let n = self.server.take_plaintext(&mut buf);
                if n == 0 {
                    break;
                }
                self.received.extend_from_slice(&buf[..n]);
            }
        }
        Ok(())
    }

    /// Gives the client every record the server has to send; returns them too.
    fn server_to_client(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        self.server
            .write_ciphertext(&mut wire)
            .expect("server write");
        let mut rest = &wire[..];
        while !rest.is_empty() {
            self.client.read_tls(&mut rest).expect("client read");
            self.client.process_new_packets().expect("client accepts");
            let _ = self.client.reader().read_to_end(&mut self.client_received);
        }
        wire
    }

    fn handshake(&mut self) {
        for _ in 0..4 {
            self.client_to_server().expect("handshake input");
            self.server_to_client();
        }
        assert!(!self.client.is_handshaking() && !self.server.is_handshaking());
    }

    fn client_plaintext(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.client_received)
    }
}

#[test]
fn http_flows_through_a_tls13_handshake() {
    let cert = TestCert::generate("layer-13");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    assert_eq!(p.server.poll_timeout(), Some(HANDSHAKE_MS));
    p.handshake();
    assert_eq!(
        p.server.poll_timeout(),
        None,
        "no deadline once established"
    );
    assert_eq!(p.server.alpn(), Some(&b"http/1.1"[..]));
    p.client
        .writer()
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .expect("write");
    p.client_to_server().expect("request");
    assert_eq!(p.received, b"GET / HTTP/1.1\r\n\r\n");
    p.server
        .seal(b"HTTP/1.1 200 OK\r\n\r\nHello")
        .expect("seal");
    p.server_to_client();
    assert_eq!(p.client_plaintext(), b"HTTP/1.1 200 OK\r\n\r\nHello");
    assert_eq!(
        (p.stats.handshakes_full, p.stats.handshakes_resumed),
        (1, 0)
    );
    assert_eq!(p.stats.versions, [0, 1]);
}

#[test]
fn tls12_is_served_and_counted() {
    let cert = TestCert::generate("layer-12");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS12]),
    );
    p.handshake();
    assert_eq!(p.client.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    assert_eq!(p.stats.versions, [1, 0]);
}

#[test]
fn a_second_connection_resumes() {
    let cert = TestCert::generate("layer-resume");
    let server = server_config(&cert);
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let client = client_config(&cert, versions);
        let mut first = pair(&server, &client);
        first.handshake();
        // TLS 1.3 tickets arrive after the handshake, with the first application data.
        first.server.seal(b"x").expect("seal");
        first.server_to_client();
        let mut second = pair(&server, &client);
        second.handshake();
        assert_eq!(second.stats.handshakes_resumed, 1, "{versions:?}");
        assert_eq!(second.client.handshake_kind(), Some(HandshakeKind::Resumed));
    }
}

#[test]
fn garbage_is_refused_with_an_alert_and_counted() {
    let cert = TestCert::generate("layer-garbage");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    let failure = p
        .feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect_err("not TLS");
    assert_eq!(failure, TlsFailure::BadRecord);
    assert!(p.server.wants_write(), "a fatal alert is owed");
    assert_eq!(p.stats.handshake_failures_for(TlsFailure::BadRecord), 1);
    assert!(
        !p.server.close_notify(),
        "no close_notify after a fatal alert"
    );
    // Nothing more is taken in, nothing more is counted.
    assert!(p.feed(b"\x16\x03\x01\x00\x05hello").is_ok());
    assert_eq!(p.stats.handshake_failures.iter().sum::<u64>(), 1);
}

#[test]
fn garbage_after_the_handshake_is_a_record_error() {
    let cert = TestCert::generate("layer-late-garbage");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    p.handshake();
    let failure = p.feed(&[
        0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    ]);
    assert_eq!(failure, Err(TlsFailure::BadRecord));
    assert_eq!(p.stats.record_errors[TlsFailure::BadRecord as usize], 1);
}

#[test]
fn an_unfinished_handshake_times_out_once() {
    let cert = TestCert::generate("layer-timeout");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    let mut hello = Vec::new();
    p.client.write_tls(&mut hello).expect("hello");
    // Half a ClientHello, then silence.
    p.feed(&hello[..hello.len() / 2]).expect("a prefix is fine");
    assert!(!p.server.handle_timeout(HANDSHAKE_MS - 1, &mut p.stats));
    assert!(p.server.handle_timeout(HANDSHAKE_MS, &mut p.stats));
    assert!(
        !p.server.handle_timeout(HANDSHAKE_MS + 1, &mut p.stats),
        "counted once"
    );
    assert_eq!(p.stats.handshake_failures_for(TlsFailure::Timeout), 1);
}

#[test]
fn a_peer_leaving_mid_handshake_is_counted() {
    let cert = TestCert::generate("layer-eof");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    p.client_to_server().expect("hello");
    p.server.on_transport_end(&mut p.stats);
    assert_eq!(p.stats.handshake_failures_for(TlsFailure::Eof), 1);
}

#[test]
fn an_oversized_client_hello_is_refused_not_buffered() {
    let cert = TestCert::generate("layer-huge");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    // A ClientHello claiming 16 MiB, sent as 16 KiB handshake records: 64 KiB and more.
    let mut wire = Vec::new();
    let mut body = vec![0x01, 0xff, 0xff, 0xff];
    body.resize(80 * 1024, 0x41);
    for chunk in body.chunks(16 * 1024) {
        wire.extend_from_slice(&[0x16, 0x03, 0x01]);
        wire.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        wire.extend_from_slice(chunk);
    }
    assert!(p.feed(&wire).is_err());
    assert_eq!(p.stats.handshake_failures.iter().sum::<u64>(), 1);
}

#[test]
fn close_notify_reaches_the_client_once() {
    let cert = TestCert::generate("layer-close");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    p.handshake();
    assert!(p.server.close_notify());
    assert!(!p.server.close_notify());
    p.server_to_client();
    let mut buf = [0; 16];
    assert_eq!(p.client.reader().read(&mut buf).expect("clean end"), 0);
    assert!(p.client_plaintext().is_empty());
}

#[test]
fn the_peers_close_notify_ends_the_input() {
    let cert = TestCert::generate("layer-peer-close");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    p.handshake();
    p.client.send_close_notify();
    p.client_to_server().expect("close_notify");
    let mut more: &[u8] = b"\x17\x03\x03";
    let end = p
        .server
        .read_ciphertext(&mut more, &mut p.stats)
        .expect("end");
    assert_eq!(end, Ciphertext::End);
    assert_eq!(more.len(), 3, "nothing is read after close_notify");
}

#[test]
fn an_answer_larger_than_rustls_buffers_is_sealed_whole() {
    let cert = TestCert::generate("layer-large");
    let mut p = pair(
        &server_config(&cert),
        &client_config(&cert, &[&rustls::version::TLS13]),
    );
    p.handshake();
    let answer = vec![0x5a; 300 * 1024];
    p.server.seal(&answer).expect("sealed whole");
    p.server_to_client();
    assert_eq!(p.client_plaintext(), answer);
}
