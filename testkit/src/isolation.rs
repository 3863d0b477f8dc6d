//! The property "a connection hears only its own answers", checked against any HTTP server
//! that has the `POST /echo` route (the reactor's and every design's tests run it).
//!
//! Many clients at once open connections one after another; each pipelines a random number of
//! echo requests whose bodies carry the client's id, the connection's number and the request's
//! sequence number, writes them in random splits, and then either reads every answer or aborts:
//! RST (`SO_LINGER` 0) or FIN, mid-write or mid-read, or at once after writing without reading
//! (the abort that can leave a careless server's staged answers in front of the next
//! connection's). Every byte a client receives must be an answer to its own requests, in order:
//! whole responses are parsed and their bodies compared with the requests', and no byte
//! sequence tagged with another client's id may appear at all.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Every read and write is bounded, so a broken server fails the test instead of hanging it.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Read every answer, then close.
    ReadAll,
    /// Write everything, then close at once without reading: RST or FIN.
    AbortAfterWrite { rst: bool },
    /// Write only part of the pipeline (maybe mid-request), then close.
    AbortMidWrite { rst: bool },
    /// Write everything, read part of the answers, then close.
    AbortMidRead { rst: bool },
}

/// The load one property run applies.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Concurrent clients.
    pub clients: u32,
    /// Connections each client opens, one after another.
    pub connections: u32,
    /// Seed of the run (each client derives its own); printed on failure.
    pub seed: u64,
}

/// Runs `plan` against `addr`; panics (naming the client, connection and seed) at the first
/// byte a client receives that is not an answer to its own requests.
pub fn check_isolation(addr: SocketAddr, plan: Plan) {
    let threads: Vec<_> = (0..plan.clients)
        .map(|id| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(plan.seed ^ (u64::from(id) + 1).wrapping_mul(0x9e37_79b9));
                for conn in 0..plan.connections {
                    if let Err(why) = one_connection(addr, id, conn, &mut rng) {
                        return Err(format!(
                            "client {id}, connection {conn} (seed {:#x}): {why}",
                            plan.seed
                        ));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .filter_map(|t| match t.join() {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(_) => Some("a client thread panicked".into()),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One connection of client `id`: pipeline, split writes, one ending, and the check.
fn one_connection(addr: SocketAddr, id: u32, conn: u32, rng: &mut Rng) -> Result<(), String> {
    let ending = match rng.below(10) {
        0..=2 => Ending::ReadAll,
        3..=5 => Ending::AbortAfterWrite {
            rst: rng.below(2) == 0,
        },
        6..=7 => Ending::AbortMidWrite {
            rst: rng.below(2) == 0,
        },
        _ => Ending::AbortMidRead {
            rst: rng.below(2) == 0,
        },
    };
    // Aborts after a write favour deep pipelines: many small answers in flight, or ~100 KiB
    // of them (small enough that a client that never reads cannot fill every buffer between
    // it and the server).
    let (depth, min_body, max_body) = match ending {
        Ending::AbortAfterWrite { .. } if rng.below(3) == 0 => (30 + rng.below(50), 1000, 1500),
        Ending::AbortAfterWrite { .. } => (20 + rng.below(60), 0, 48),
        _ => (1 + rng.below(40), 0, 1024),
    };
    let bodies: Vec<Vec<u8>> = (0..depth)
        .map(|seq| {
            let len = min_body + rng.below(max_body - min_body);
            tagged_body(id, conn, seq, len as usize)
        })
        .collect();
    let mut wire = Vec::new();
    for body in &bodies {
        wire.extend_from_slice(
            format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        wire.extend_from_slice(body);
    }
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(IO_LIMIT))
        .and_then(|()| stream.set_write_timeout(Some(IO_LIMIT)))
        .map_err(|e| format!("timeouts: {e}"))?;
    let write_len = match ending {
        Ending::AbortMidWrite { .. } => rng.below(wire.len() as u32) as usize,
        _ => wire.len(),
    };
    write_in_splits(&mut stream, &wire[..write_len], rng)?;
    let received = match ending {
        Ending::ReadAll => read_answers(&mut stream, bodies.len(), usize::MAX)?,
        Ending::AbortAfterWrite { .. } | Ending::AbortMidWrite { .. } => Vec::new(),
        Ending::AbortMidRead { .. } => {
            let want = 1 + rng.below(64 * 1024) as usize;
            read_answers(&mut stream, bodies.len(), want)?
        }
    };
    let rst = matches!(
        ending,
        Ending::AbortAfterWrite { rst: true }
            | Ending::AbortMidWrite { rst: true }
            | Ending::AbortMidRead { rst: true }
    );
    if rst {
        set_linger_zero(&stream);
    }
    drop(stream);
    let answered = check_answers(&received, &bodies, id)?;
    if ending == Ending::ReadAll && answered != bodies.len() {
        return Err(format!("{answered} of {} answers", bodies.len()));
    }
    Ok(())
}

/// `C<id>-K<conn>-S<seq>-` padded with `.` to at least `len` bytes.
fn tagged_body(id: u32, conn: u32, seq: u32, len: usize) -> Vec<u8> {
    let mut body = format!("C{id:04}-K{conn:04}-S{seq:04}-").into_bytes();
    let pad = len.saturating_sub(body.len());
    body.resize(body.len() + pad, b'.');
    body
}

/// Writes `data` in a few random pieces (sometimes a byte or two, sometimes the rest).
fn write_in_splits(stream: &mut TcpStream, data: &[u8], rng: &mut Rng) -> Result<(), String> {
    let mut at = 0;
    while at < data.len() {
        let left = (data.len() - at) as u32;
        let piece = match rng.below(4) {
            0 => 1 + rng.below(3.min(left)),
            1 => 1 + rng.below(left),
            _ => left,
        } as usize;
        match stream.write_all(&data[at..at + piece]) {
            Ok(()) => at += piece,
            // A server may close first (it never does here, but a reset is not our finding).
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return Ok(())
            }
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}

/// Reads until `answers` whole responses arrived, `limit` bytes were read, or the stream ends.
fn read_answers(stream: &mut TcpStream, answers: usize, limit: usize) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + IO_LIMIT;
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while got.len() < limit && count_whole_responses(&got) < answers {
        if Instant::now() > deadline {
            return Err("answers did not arrive in time".into());
        }
        let want = chunk.len().min(limit - got.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok(got)
}

fn count_whole_responses(mut data: &[u8]) -> usize {
    let mut n = 0;
    while let Some(Parsed::Whole { len, .. }) = parse_response(data) {
        data = &data[len..];
        n += 1;
    }
    n
}

/// Checks that `received` is a prefix of the answers to `bodies`, in order; returns how many
/// whole answers it holds.
fn check_answers(received: &[u8], bodies: &[Vec<u8>], id: u32) -> Result<usize, String> {
    if let Some(foreign) = foreign_tag(received, id) {
        return Err(format!("received another client's bytes: {foreign:?}"));
    }
    let mut rest = received;
    let mut answered = 0;
    while !rest.is_empty() {
        match parse_response(rest) {
            Some(Parsed::Whole { len, status, body }) => {
                let Some(expected) = bodies.get(answered) else {
                    return Err(format!("an answer beyond the {} requests", bodies.len()));
                };
                if status != 200 || body != expected.as_slice() {
                    return Err(format!(
                        "answer {answered}: status {status}, body {:?}, expected {:?}",
                        String::from_utf8_lossy(&body[..body.len().min(40)]),
                        String::from_utf8_lossy(&expected[..expected.len().min(40)]),
                    ));
                }
                answered += 1;
                rest = &rest[len..];
            }
            Some(Parsed::Partial) => {
                let expected = b"HTTP/1.1 200 OK\r\n";
                let n = rest.len().min(expected.len());
                if rest[..n] != expected[..n] || answered >= bodies.len() {
                    let shown = String::from_utf8_lossy(&rest[..rest.len().min(40)]);
                    return Err(format!("answer {answered} starts {shown:?}"));
                }
                return Ok(answered);
            }
            None => {
                let shown = String::from_utf8_lossy(&rest[..rest.len().min(60)]);
                return Err(format!("answer {answered} is not a response: {shown:?}"));
            }
        }
    }
    Ok(answered)
}

/// The first `C<nnnn>-K` tag in `data` that is not client `id`'s.
fn foreign_tag(data: &[u8], id: u32) -> Option<String> {
    let own = format!("C{id:04}-K");
    data.windows(7)
        .find(|w| {
            w[0] == b'C'
                && w[1..5].iter().all(u8::is_ascii_digit)
                && &w[5..7] == b"-K"
                && *w != own.as_bytes()
        })
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

enum Parsed<'a> {
    /// A whole response of `len` bytes.
    Whole {
        len: usize,
        status: u16,
        body: &'a [u8],
    },
    /// A response (or nothing) that has not fully arrived; an empty tail is partial too.
    Partial,
}

/// Parses the response at the start of `data` (echo answers: `Content-Length` framing).
fn parse_response(data: &[u8]) -> Option<Parsed<'_>> {
    let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Some(Parsed::Partial);
    };
    let head = std::str::from_utf8(&data[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let length: usize = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())?;
    let start = head_end + 4;
    if data.len() < start + length {
        return Some(Parsed::Partial);
    }
    Some(Parsed::Whole {
        len: start + length,
        status,
        body: &data[start..start + length],
    })
}

/// Sets `SO_LINGER {1, 0}`, so that closing the socket sends RST.
fn set_linger_zero(stream: &TcpStream) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
}

/// xorshift64*: enough randomness for choosing splits, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            (self.next() % u64::from(n)) as u32
        }
    }
}

/// A seed that differs between runs (time-based), unless `ISOLATION_SEED` fixes it.
pub fn seed() -> u64 {
    std::env::var("ISOLATION_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}
