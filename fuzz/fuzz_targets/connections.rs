//! The reactor's connection logic with interleaved connections, without sockets: several
//! connections (HTTP and TCP echo) share one staging buffer, one buffer pool and one set of
//! counters, as the connections of one loop do, and take turns in an order the fuzzer picks:
//! pipelined tagged echo requests in any split, garbage, resumes after a pause, header and body
//! timeouts, flushes, and sockets that take everything, part, nothing (`WouldBlock`) or fail
//! (a reset). A failed write closes its connection and a fresh one takes its place.
//!
//! The property: every byte a connection's socket receives is an answer to that connection's
//! own requests, in order. Request bodies carry the connection's tag (`C<id>S<seq>`) and the
//! fuzzer's own bytes never contain a `C`, so another connection's tag in a socket is a leak;
//! and for a connection that sent only well-formed requests, its answers are its echoes in
//! order (a final `408` aside).
#![no_main]

use std::io::{self, Write};
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

/// Connections alive at once.
const SLOTS: usize = 3;
/// Output a connection may owe before its protocol pauses (small, so pauses happen).
const MAX_OUTPUT: usize = 2048;

/// What the fake socket does with a write.
#[derive(Clone, Copy)]
enum Mode {
    /// Takes up to this many bytes per write.
    Accept(usize),
    /// `WouldBlock`.
    Full,
    /// `ConnectionReset`.
    Reset,
}

struct Socket {
    received: Vec<u8>,
    mode: Mode,
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.mode {
            Mode::Accept(cap) => {
                let n = cap.min(buf.len());
                self.received.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Mode::Full => Err(io::ErrorKind::WouldBlock.into()),
            Mode::Reset => Err(io::ErrorKind::ConnectionReset.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Conn {
    id: u32,
    protocol: Protocol,
    out: OutBuf,
    socket: Socket,
    /// Request bytes generated and not yet fed.
    wire: Vec<u8>,
    /// Bodies of the echo requests generated, in order.
    bodies: Vec<Vec<u8>>,
    /// Input that is not a well-formed tagged request was sent.
    garbage: bool,
    /// The protocol decided to close: nothing more is read.
    closing: bool,
}

impl Conn {
    fn new(id: u32) -> Self {
        let protocol = if id % 4 == 3 {
            Protocol::Echo
        } else {
            Protocol::Http(HttpSession::new())
        };
        Self {
            id,
            protocol,
            out: OutBuf::new(),
            socket: Socket {
                received: Vec::new(),
                mode: Mode::Accept(usize::MAX),
            },
            wire: Vec::new(),
            bodies: Vec::new(),
            garbage: false,
            closing: false,
        }
    }

    fn add_request(&mut self, pad: u8) {
        let seq = self.bodies.len();
        let mut body = format!("C{:04}S{seq:04}", self.id).into_bytes();
        body.resize(body.len() + usize::from(pad), b'.');
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: f\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.wire.extend_from_slice(head.as_bytes());
        self.wire.extend_from_slice(&body);
        self.bodies.push(body);
    }
}

struct Loop {
    staging: Staging,
    pool: BufPool,
    stats: Stats,
    metrics: Metrics,
    date: DateCache,
    limits: HttpLimits,
    budget: BufferBudget,
    /// The loop's clock, in ms; moved on by the timer operation.
    now: u64,
}

impl Loop {
    /// One exchange on `conn`; false when its socket failed (the connection must close).
    fn turn(&mut self, conn: &mut Conn, call: Call<'_>) -> bool {
        let ctx = ProtocolCtx {
            now: self.now,
            date: &self.date,
            http_limits: &self.limits,
            metrics: &self.metrics,
            budget: &self.budget,
        };
        let out_budget = MAX_OUTPUT.saturating_sub(conn.out.len());
        let mut wire = Wire {
            socket: &mut conn.socket,
            out: &mut conn.out,
            pool: &mut self.pool,
            tls: None,
        };
        let result = exchange(
            &mut conn.protocol,
            call,
            &mut self.staging,
            &ctx,
            &mut self.stats,
            &mut wire,
            out_budget,
        );
        assert!(self.staging.is_empty(), "staged bytes outlived their turn");
        match result {
            Ok(reaction) => {
                conn.closing |= reaction.close.is_some();
                true
            }
            Err(_) => false,
        }
    }

    /// Feeds `input` to `conn`, then resumes while the protocol holds input it paused on.
    fn feed(&mut self, conn: &mut Conn, input: &[u8]) -> bool {
        if conn.closing {
            return true;
        }
        self.turn(conn, Call::Input(input))
    }
}

/// Writes what `conn` has queued, as on a writable event.
fn flush(conn: &mut Conn) -> bool {
    while !conn.out.is_empty() {
        match conn.socket.write(conn.out.pending()) {
            Ok(0) => return false,
            Ok(n) => conn.out.consume(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}

/// The property, for one connection's socket.
fn check(conn: &Conn) {
    let got = &conn.socket.received;
    let own = format!("C{:04}S", conn.id);
    if let Some(w) = got.windows(6).find(|w| {
        w[0] == b'C' && w[1..5].iter().all(u8::is_ascii_digit) && w[5] == b'S' && *w != own.as_bytes()
    }) {
        panic!(
            "connection {} received {:?}, another connection's bytes",
            conn.id,
            String::from_utf8_lossy(w)
        );
    }
    if conn.garbage || matches!(conn.protocol, Protocol::Echo) {
        return;
    }
    let mut rest = &got[..];
    let mut answered = 0;
    while let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let start = head_end + 4;
        if rest.len() < start + length {
            return; // the rest is still queued
        }
        let body = &rest[start..start + length];
        if head.starts_with("HTTP/1.1 408") {
            assert_eq!(start + length, rest.len(), "a 408 is the last answer");
            return;
        }
        assert!(head.starts_with("HTTP/1.1 200"), "answer {answered}: {head}");
        assert_eq!(
            Some(body),
            conn.bodies.get(answered).map(Vec::as_slice),
            "connection {} answer {answered}",
            conn.id
        );
        answered += 1;
        rest = &rest[start + length..];
    }
}

fuzz_target!(|data: &[u8]| {
    let mut lp = Loop {
        staging: Staging::with_capacity(4096),
        pool: BufPool::new(),
        stats: Stats::default(),
        metrics: Metrics::new(1),
        date: DateCache::new(UNIX_EPOCH + Duration::from_secs(784_111_777)),
        limits: HttpLimits {
            max_body_bytes: 4096,
            ..HttpLimits::default()
        },
        budget: BufferBudget::unlimited(),
        now: 0,
    };
    let mut next_id = 0;
    let mut conns: Vec<Conn> = (0..SLOTS)
        .map(|_| {
            next_id += 1;
            Conn::new(next_id)
        })
        .collect();
    let mut bytes = data.iter().copied();
    while let (Some(op), Some(arg)) = (bytes.next(), bytes.next()) {
        let slot = usize::from(op >> 4) % SLOTS;
        let conn = &mut conns[slot];
        let alive = match op % 8 {
            // Pipeline one or more tagged requests, fed in a prefix of `arg` bytes.
            0 | 1 => {
                for k in 0..=(arg % 4) {
                    conn.add_request(arg.wrapping_mul(k + 1) % 97);
                }
                let n = (usize::from(arg) * 3 + 1).min(conn.wire.len());
                let input: Vec<u8> = conn.wire.drain(..n).collect();
                lp.feed(conn, &input)
            }
            // Feed the rest of what was generated.
            2 => {
                let input = std::mem::take(&mut conn.wire);
                lp.feed(conn, &input)
            }
            3 => {
                conn.socket.mode = match arg % 4 {
                    0 => Mode::Full,
                    1 => Mode::Reset,
                    _ => Mode::Accept(1 + usize::from(arg) * 16),
                };
                true
            }
            4 => {
                if conn.protocol.wants_resume() && conn.out.len() < MAX_OUTPUT {
                    lp.turn(conn, Call::Resume)
                } else {
                    flush(conn)
                }
            }
            // The clock moves on (by up to the default body timeout and more) and a timer fires.
            5 => {
                lp.now += u64::from(arg) * 200;
                lp.turn(conn, Call::Timeout)
            }
            // Garbage of the fuzzer's own (never a tag: no `C`).
            6 => {
                let len = usize::from(arg % 32);
                let garbage: Vec<u8> = bytes
                    .by_ref()
                    .take(len)
                    .map(|b| if b == b'C' { b'c' } else { b })
                    .collect();
                conn.garbage = true;
                lp.feed(conn, &garbage)
            }
            // The peer goes away (RST or FIN: to the server, both end the connection).
            _ => false,
        };
        if !alive {
            check(&conns[slot]);
            next_id += 1;
            conns[slot] = Conn::new(next_id);
        }
    }
    for conn in &mut conns {
        conn.socket.mode = Mode::Accept(usize::MAX);
        let _ = flush(conn);
        check(conn);
    }
});
