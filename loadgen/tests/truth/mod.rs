//! Reference servers for the ground-truth suite: small, deliberately simple servers whose
//! behaviour is known by construction and which log what they really did, so a test can
//! compare every figure the generator prints with the server's own account.
//!
//! Times are on the same monotonic clock the generator uses (`CLOCK_MONOTONIC`, shared by all
//! processes of the machine), and a message's arrival is the kernel's receive stamp
//! (`SO_TIMESTAMPNS`), so the server's account does not include its own wake-up latency. Each
//! server holds stamping on for its whole life ([`rxstamp::Stamping`]) and logs whether each
//! arrival was stamped: a message timed at its read would make the truth itself late.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reactor_loadgen::clock::now_ns;
use reactor_loadgen::worker::rxstamp;

/// Size of every echo message; the generator is run with `--size 64`.
pub const MSG: usize = 64;

/// What the echo server does with message `n` (server-wide, from 0).
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Hold every message this long after its arrival before echoing it.
    pub delay: Duration,
    /// Every second message (odd numbers) is held this long instead (a bimodal server).
    pub odd_delay: Option<Duration>,
    /// Echo at most this many messages per second in all (a server of known capacity).
    pub capacity_per_s: Option<f64>,
    /// Freeze once, before answering message `.0`, for `.1`.
    pub stall: Option<(u64, Duration)>,
    /// Corrupt one byte of every N-th echo (messages N-1, 2N-1, ...).
    pub corrupt_every: Option<u64>,
    /// From message `.0` on, hold every message `.1` instead (a server that slows down).
    pub slow_from: Option<(u64, Duration)>,
}

/// One message as the server handled it.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// Server-wide message number.
    pub n: u64,
    /// Kernel arrival stamp of its last byte (monotonic ns).
    pub arrival: u64,
    /// When the echo's write began (monotonic ns).
    pub replied: u64,
    /// The echo was deliberately corrupted.
    pub corrupted: bool,
    /// `arrival` is the kernel's stamp (else it is the read time, later than the arrival).
    pub stamped: bool,
}

impl Served {
    /// What the server held the message for: arrival to reply.
    pub fn hold_ns(&self) -> u64 {
        self.replied.saturating_sub(self.arrival)
    }
}

/// A running reference server and its log.
pub struct RefServer {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Served>>>,
    _stamping: rxstamp::Stamping,
}

impl RefServer {
    /// Everything served so far.
    pub fn log(&self) -> Vec<Served> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The hold of every message whose arrival the kernel stamped. Panics when more than 1%
    /// were not: the server's account would not be the truth.
    pub fn stamped_holds_ns(&self) -> Vec<u64> {
        let log = self.log();
        let holds: Vec<u64> = log
            .iter()
            .filter(|s| s.stamped)
            .map(Served::hold_ns)
            .collect();
        let unstamped = log.len() - holds.len();
        assert!(
            unstamped * 100 <= log.len(),
            "{unstamped} of {} arrivals at the reference server were not stamped",
            log.len()
        );
        holds
    }
}

/// A thread-per-connection TCP echo server of `MSG`-byte messages behaving as `b` says.
pub fn echo(b: Behaviour) -> RefServer {
    let stamping = rxstamp::Stamping::switch_on(Duration::from_secs(5));
    assert!(
        stamping.works(),
        "the kernel does not stamp arriving packets"
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared {
        b,
        counter: AtomicU64::new(0),
        next_free: Mutex::new(0),
        log: log.clone(),
    });
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve_echo(conn, &shared));
        }
    });
    RefServer {
        addr,
        log,
        _stamping: stamping,
    }
}

struct Shared {
    b: Behaviour,
    counter: AtomicU64,
    /// Capacity-limited: the earliest time the next echo may go.
    next_free: Mutex<u64>,
    log: Arc<Mutex<Vec<Served>>>,
}

fn serve_echo(mut conn: TcpStream, s: &Shared) {
    let _ = conn.set_nodelay(true);
    rxstamp::enable(conn.as_raw_fd());
    let mut buf = [0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let Ok(got) = rxstamp::recv(conn.as_raw_fd(), &mut buf) else {
            return;
        };
        if got.len == 0 {
            return;
        }
        pending.extend_from_slice(&buf[..got.len]);
        while pending.len() >= MSG {
            let mut msg: Vec<u8> = pending.drain(..MSG).collect();
            let n = s.counter.fetch_add(1, Ordering::SeqCst);
            let corrupted = s.b.corrupt_every.is_some_and(|k| (n + 1).is_multiple_of(k));
            if corrupted {
                msg[MSG / 2] ^= 0xFF;
            }
            let due = s.reply_time(n, got.at.stamp);
            let now = now_ns();
            if due > now {
                std::thread::sleep(Duration::from_nanos(due - now));
            }
            let replied = now_ns();
            if conn.write_all(&msg).is_err() {
                return;
            }
            if let Ok(mut log) = s.log.lock() {
                log.push(Served {
                    n,
                    arrival: got.at.stamp,
                    replied,
                    corrupted,
                    stamped: got.stamped,
                });
            }
        }
    }
}

impl Shared {
    /// When message `n`, arrived at `arrival`, is to be echoed.
    fn reply_time(&self, n: u64, arrival: u64) -> u64 {
        let hold = match (self.b.odd_delay, self.b.slow_from) {
            (_, Some((from, slow))) if n >= from => slow,
            (Some(odd), _) if n % 2 == 1 => odd,
            _ => self.b.delay,
        };
        let mut due = arrival + hold.as_nanos() as u64;
        if let Some((at, pause)) = self.b.stall {
            if n == at {
                due = due.max(now_ns() + pause.as_nanos() as u64);
            }
        }
        if let Some(cap) = self.b.capacity_per_s {
            let gap = (1e9 / cap) as u64;
            if let Ok(mut next) = self.next_free.lock() {
                due = due.max(*next);
                *next = due + gap;
            }
        }
        due
    }
}

/// An HTTP/1.1 keep-alive server answering each request (no body) with `copies` identical
/// responses of status `status`; it counts the requests it saw.
pub fn http(status: u16, copies: usize) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(AtomicU64::new(0));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || serve_http(conn, status, copies, &seen));
        }
    });
    (addr, requests)
}

fn serve_http(mut conn: TcpStream, status: u16, copies: usize, seen: &AtomicU64) {
    use std::io::Read;
    let _ = conn.set_nodelay(true);
    let response = format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok").repeat(copies);
    let mut buf = [0u8; 16 * 1024];
    let mut pending = Vec::new();
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            seen.fetch_add(1, Ordering::SeqCst);
            if conn.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// The `q` quantile (0..=1) of `values` (nearest rank).
pub fn quantile(values: &mut [u64], q: f64) -> u64 {
    assert!(!values.is_empty(), "no values");
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
