//! HTTPS without sockets: the server's TLS layer under the HTTP session, driven as a connection
//! drives them (ciphertext in, plaintext to the session through `exchange`, the answer sealed
//! into records). The first byte picks a mode:
//! - even: the fuzzer's bytes are the client's ciphertext, in splits it picks (ClientHellos,
//!   garbage, truncated or oversized records, whatever it finds);
//! - odd: a real rustls client completes a handshake in memory, then sends the fuzzer's bytes
//!   as application data (HTTP requests, split where the fuzzer says), and may flip one byte of
//!   its records in flight.
//!
//! Properties: nothing panics; a failure is counted exactly once and nothing is decrypted
//! after it; with records left intact, the server decrypts exactly what the client sent, and
//! every record the server writes decrypts on the client.
//!
//! The client's randomness comes from the OS, so a reproduced input takes the same path
//! through the server's logic but not the same bytes on the wire.
#![no_main]

use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use reactor_proto::http::{BufferBudget, DateCache, HttpLimits, HttpSession};
use reactor_proto::outbuf::OutBuf;
use reactor_server::bufpool::BufPool;
use reactor_server::exchange::{exchange, Call, Wire};
use reactor_server::metrics::Metrics;
use reactor_server::protocol::{Protocol, ProtocolCtx};
use reactor_server::staging::Staging;
use reactor_server::stats::Stats;
use reactor_server::tls::{Ciphertext, ReadError, TlsLayer};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig};

/// Output the session may produce per call (large: pauses are the `connections` target's
/// business).
const OUT_BUDGET: usize = 1 << 20;

fn configs() -> &'static (Arc<ServerConfig>, Arc<ClientConfig>) {
    static CONFIGS: OnceLock<(Arc<ServerConfig>, Arc<ClientConfig>)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let cert = reactor_testkit::tls::TestCert::generate("fuzz-tls-http");
        let server = reactor_server::tls::config::load(&cert.cert_path, &cert.key_path)
            .expect("server config");
        let mut roots = RootCertStore::empty();
        for der in reactor_tls::read_certificates("cacert", &cert.cert_path).expect("PEM") {
            roots.add(der).expect("root");
        }
        let mut client = ClientConfig::builder_with_provider(reactor_tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        (server, Arc::new(client))
    })
}

/// The server side: one TLS layer, one HTTP session, and the loop state they use.
struct Server {
    tls: TlsLayer,
    protocol: Protocol,
    out: OutBuf,
    /// Records written to the "socket" (a socket that takes everything).
    sent: Vec<u8>,
    staging: Staging,
    pool: BufPool,
    stats: Stats,
    metrics: Metrics,
    date: DateCache,
    limits: HttpLimits,
    budget: BufferBudget,
    /// Plaintext the layer handed to the session.
    decrypted: Vec<u8>,
    failed: bool,
}

impl Server {
    fn new() -> Self {
        Self {
            tls: TlsLayer::new(configs().0.clone(), 0, 5_000).expect("layer"),
            protocol: Protocol::Http(HttpSession::new()),
            out: OutBuf::new(),
            sent: Vec::new(),
            staging: Staging::with_capacity(64 * 1024),
            pool: BufPool::new(),
            stats: Stats::default(),
            metrics: Metrics::new(1),
            date: DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            limits: HttpLimits::default(),
            budget: BufferBudget::new(1 << 24),
            decrypted: Vec::new(),
            failed: false,
        }
    }

    fn failures(&self) -> u64 {
        let tls = &self.stats.tls;
        tls.handshake_failures.iter().chain(&tls.record_errors).sum()
    }

    /// Gives the server `wire` as the socket would, a read at a time.
    fn receive(&mut self, mut wire: &[u8]) {
        while !wire.is_empty() && !self.failed {
            let before = wire.len();
            match self.tls.read_ciphertext(&mut wire, &mut self.stats.tls) {
                Ok(Ciphertext::Read(_)) => {}
                Ok(Ciphertext::End) => return,
                Err(ReadError::Tls(_)) => {
                    self.failed = true;
                    break;
                }
                Err(ReadError::Io(e)) => panic!("a slice cannot fail: {e}"),
            }
            assert!(wire.len() < before, "a read took nothing");
            if self.tls.process(&mut self.stats.tls).is_err() {
                self.failed = true;
                break;
            }
            self.serve_plaintext();
        }
        self.send_records();
        assert!(!self.failed || self.failures() == 1, "a failure is counted once");
        assert!(self.failures() <= 1);
    }

    /// Hands decrypted bytes to the HTTP session, as `Connection::pump` does.
    fn serve_plaintext(&mut self) {
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let n = self.tls.take_plaintext(&mut scratch);
            if n == 0 {
                break;
            }
            self.decrypted.extend_from_slice(&scratch[..n]);
            self.call(Call::Input(&scratch[..n]));
            while self.protocol.wants_resume() {
                self.call(Call::Resume);
            }
        }
    }

    fn call(&mut self, call: Call<'_>) {
        let ctx = ProtocolCtx {
            now: 0,
            date: &self.date,
            http_limits: &self.limits,
            metrics: &self.metrics,
            budget: &self.budget,
        };
        let mut wire = Wire {
            socket: &mut self.sent,
            out: &mut self.out,
            pool: &mut self.pool,
            tls: Some(&mut self.tls),
        };
        let result = exchange(
            &mut self.protocol,
            call,
            &mut self.staging,
            &ctx,
            &mut self.stats,
            &mut wire,
            OUT_BUDGET,
        );
        assert!(result.is_ok(), "a socket that takes everything cannot fail");
        assert!(self.out.is_empty(), "nothing is queued when the socket takes all");
    }

    fn send_records(&mut self) {
        if self.tls.wants_write() {
            self.tls.write_ciphertext(&mut self.sent).expect("a Vec takes all");
        }
    }

    fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }
}

/// Splits `data` at lengths taken from `sizes` (cycled), each 1..=256 bytes.
fn splits<'a>(data: &'a [u8], sizes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = data;
    let mut i = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = sizes.get(i % sizes.len().max(1)).map_or(rest.len(), |&s| usize::from(s) + 1);
        i += 1;
        let (head, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(head)
    })
}

fn raw_ciphertext(data: &[u8]) {
    let (sizes, body) = data.split_at(data.len().min(8));
    let mut server = Server::new();
    for piece in splits(body, sizes) {
        server.receive(piece);
    }
    server.tls.handle_timeout(5_000, &mut server.stats.tls);
    assert!(server.failures() <= 1);
}

/// Moves every record from the client to the server, flipping byte `flip` of the stream if
/// it is in range; returns whether a byte was flipped.
fn client_to_server(client: &mut ClientConnection, server: &mut Server, flip: Option<usize>) -> bool {
    let mut wire = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut wire).expect("client write");
    }
    let flipped = match flip {
        Some(at) if at < wire.len() => {
            wire[at] ^= 0x5a;
            true
        }
        _ => false,
    };
    server.receive(&wire);
    flipped
}

/// Moves every record from the server to the client; the server's records always decrypt.
fn server_to_client(server: &mut Server, client: &mut ClientConnection, plaintext: &mut Vec<u8>) {
    let records = server.take_sent();
    let mut rest = &records[..];
    while !rest.is_empty() {
        if client.read_tls(&mut rest).is_err() {
            break; // the client's own plaintext buffer is full: drain it below
        }
        if let Err(e) = client.process_new_packets() {
            // Only an alert the server sent after refusing our input may fail here.
            assert!(server.failed, "server records refused: {e}");
            return;
        }
        let _ = client.reader().read_to_end(plaintext);
    }
}

fn session(data: &[u8]) {
    let (head, body) = data.split_at(data.len().min(10));
    let mut client = ClientConnection::new(
        configs().1.clone(),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("client");
    let mut server = Server::new();
    let mut answers = Vec::new();
    for _ in 0..4 {
        client_to_server(&mut client, &mut server, None);
        server_to_client(&mut server, &mut client, &mut answers);
    }
    assert!(!client.is_handshaking() && !server.tls.is_handshaking(), "in-memory handshake");
    let flip = head.first().map(|&b| usize::from(b) * 7);
    let sizes = head.get(1..).unwrap_or_default();
    let mut tampered = false;
    let mut sent = Vec::new();
    for piece in splits(body, sizes) {
        if server.failed {
            break;
        }
        client.writer().write_all(piece).expect("client plaintext");
        sent.extend_from_slice(piece);
        tampered |= client_to_server(&mut client, &mut server, if tampered { None } else { flip });
        server_to_client(&mut server, &mut client, &mut answers);
    }
    if !tampered {
        assert!(!server.failed, "intact records refused");
        assert_eq!(server.decrypted, sent, "the server decrypts what the client sent");
    }
    if server.tls.close_notify() {
        server.send_records();
        server_to_client(&mut server, &mut client, &mut answers);
        let mut end = [0u8; 1];
        assert!(matches!(client.reader().read(&mut end), Ok(0) | Err(_)));
    }
    let _ = io::sink().write_all(&answers);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => session(rest),
        Some((_, rest)) => raw_ciphertext(rest),
        None => {}
    }
});
