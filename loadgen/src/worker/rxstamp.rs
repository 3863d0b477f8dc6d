//! Kernel receive timestamps: when a response reached this host, not when the loop read it.
//!
//! With `SO_TIMESTAMPNS` the kernel stamps every incoming packet as it is received and hands
//! the stamp of the last one a `recvmsg` consumed back in a control message (TCP included;
//! seen working on Linux 6.18). A response's time is then independent of when the generator
//! got round to reading it: the generator's own wake-up latency stays out of the latency it
//! reports, and an open loop that sleeps through the arrival of responses (to save wake-ups)
//! still measures them exactly.
//!
//! Stamps are `CLOCK_REALTIME`; they are moved onto the monotonic clock with the offset
//! between the two clocks read right after the `recvmsg` (realtime first, so a preemption
//! between the two reads can only make a stamp later, never earlier), and never placed after
//! that read. A stamp that still falls before its request's send (the realtime clock stepped
//! forward between the stamp and the read) cannot be the arrival: that answer is timed at the
//! read instead ([`Arrival::after_send`]), and such answers are counted
//! ([`stamps_before_send`]).
//!
//! The kernel stamps only while some socket of the system asks for stamps, and it switches
//! stamping on and off from a work queue, a moment after the first such socket appears and
//! the last one goes. A run therefore holds a [`Stamping`] from before its first connection
//! to its end: stamping is confirmed on before the load starts and cannot lapse while
//! connections come and go. Reads that still come without a stamp are counted
//! ([`unstamped_reads`]) and reported, since their responses are timed at the read.

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{now_ns, realtime_ns, NS_PER_SEC};

/// Non-empty reads of this process that carried no kernel stamp.
static UNSTAMPED_READS: AtomicU64 = AtomicU64::new(0);

/// Non-empty reads so far (in this process) whose bytes were timed at the read because the
/// kernel gave no stamp.
pub fn unstamped_reads() -> u64 {
    UNSTAMPED_READS.load(Ordering::Relaxed)
}

/// Answers whose kernel stamp fell before their request's send, timed at the read instead.
static STAMPS_BEFORE_SEND: AtomicU64 = AtomicU64::new(0);

/// Answers so far (in this process) whose stamp fell before their request's send and which
/// were therefore timed at the read.
pub fn stamps_before_send() -> u64 {
    STAMPS_BEFORE_SEND.load(Ordering::Relaxed)
}

/// When bytes arrived: the kernel's stamp on the monotonic clock, and when the generator
/// read them (the same time when the kernel gave no stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Arrival on the monotonic clock (never after `read`).
    pub stamp: u64,
    /// When the `recvmsg` returned.
    pub read: u64,
}

impl Arrival {
    /// Bytes known only by the time they were read (or an end of stream noticed at `now`).
    pub fn read_at(now: u64) -> Arrival {
        Arrival {
            stamp: now,
            read: now,
        }
    }

    /// The arrival time of an answer to a request sent at `sent`: the stamp, unless it falls
    /// before the send (then it is not the arrival, and the read time, which is after it, is
    /// used and counted in [`stamps_before_send`]).
    pub fn after_send(self, sent: u64) -> u64 {
        if self.stamp >= sent {
            self.stamp
        } else {
            STAMPS_BEFORE_SEND.fetch_add(1, Ordering::Relaxed);
            self.read.max(sent)
        }
    }
}

/// Keeps the kernel's receive stamping switched on while it lives: a loopback UDP socket
/// that asks for stamps, and proved that the kernel gives them.
#[derive(Debug)]
pub struct Stamping {
    /// Held for its `SO_TIMESTAMPNS`; never read after the check.
    _socket: Option<UdpSocket>,
    confirmed: bool,
}

impl Stamping {
    /// Ask for stamps and send the socket datagrams until one comes back stamped, for at
    /// most `within` (the kernel's work queue usually switches stamping on in well under a
    /// millisecond).
    pub fn switch_on(within: Duration) -> Stamping {
        let socket = UdpSocket::bind("127.0.0.1:0").ok();
        let confirmed = socket.as_ref().is_some_and(|s| confirm(s, within));
        Stamping {
            _socket: socket,
            confirmed,
        }
    }

    /// The kernel stamped a packet after this asked: responses carry their arrival times.
    pub fn works(&self) -> bool {
        self.confirmed
    }
}

/// Send `socket` datagrams until one is received with a stamp, or `within` has passed.
fn confirm(socket: &UdpSocket, within: Duration) -> bool {
    let ready = socket
        .local_addr()
        .and_then(|a| socket.connect(a))
        .and_then(|()| socket.set_read_timeout(Some(Duration::from_millis(20))));
    if ready.is_err() || !enable(socket.as_raw_fd()) {
        return false;
    }
    let give_up = now_ns() + within.as_nanos() as u64;
    let mut buf = [0u8; 8];
    while now_ns() < give_up {
        if socket.send(b"stamp?").is_err() {
            return false;
        }
        // The probe's own reads are not responses: they stay out of the count.
        match recv_uncounted(socket.as_raw_fd(), &mut buf) {
            Ok(got) if got.stamped => return true,
            Ok(_) => std::thread::sleep(Duration::from_micros(200)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    false
}

/// Ask the kernel to stamp what `fd` receives. False when it refuses (the read time is used).
pub fn enable(fd: RawFd) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: a socket fd and a c_int option value of the advertised length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// What one `recvmsg` returned: bytes read, and the monotonic time the last of them arrived
/// (the read time when the kernel gave no stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes read into the buffer (0: end of stream).
    pub len: usize,
    /// Arrival time on the monotonic clock, and the read time.
    pub at: Arrival,
    /// The kernel stamped the bytes (else `at` is the read time). Stamping starts a moment
    /// after the first socket of the system asks for it (the kernel turns it on from a work
    /// queue), so the very first packets may come unstamped.
    pub stamped: bool,
}

/// `recvmsg` into `buf` with room for the timestamp control message; a non-empty read
/// without a stamp is counted in [`unstamped_reads`].
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let got = recv_uncounted(fd, buf)?;
    if got.len > 0 && !got.stamped {
        UNSTAMPED_READS.fetch_add(1, Ordering::Relaxed);
    }
    Ok(got)
}

/// [`recv`] without counting.
fn recv_uncounted(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    // Room for one cmsghdr plus a timespec, 8-byte aligned.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed msghdr is a valid "no name, no control" header; fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at live buffers of the lengths it states.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // Realtime first: a delay before the monotonic read moves the stamp later, not earlier.
    let real_now = realtime_ns();
    let read_at = now_ns();
    let stamp = stamp(&msg);
    let at = stamp
        .map(|real| to_monotonic(real, real_now, read_at))
        .unwrap_or(read_at);
    Ok(Received {
        len: n as usize,
        at: Arrival {
            stamp: at,
            read: read_at,
        },
        stamped: stamp.is_some(),
    })
}

/// The `SCM_TIMESTAMPNS` stamp of a received message, in realtime nanoseconds.
fn stamp(msg: &libc::msghdr) -> Option<u64> {
    // SAFETY: the CMSG macros walk the control buffer the kernel filled, within its length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let h = &*cmsg;
            if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                return Some(ts.tv_sec as u64 * NS_PER_SEC + ts.tv_nsec as u64);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

/// A realtime `stamp` on the monotonic clock, given both clocks read at (about) the same
/// moment (`real_now`, `mono_now`); never later than `mono_now`.
pub fn to_monotonic(stamp: u64, real_now: u64, mono_now: u64) -> u64 {
    let age = real_now.saturating_sub(stamp);
    mono_now.saturating_sub(age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_stamp_keeps_its_age_on_the_monotonic_clock() {
        assert_eq!(to_monotonic(1_000_000, 1_250_000, 9_000_000), 8_750_000);
        // A stamp "from the future" (the realtime clock was stepped back) is the read time.
        assert_eq!(to_monotonic(2_000_000, 1_000_000, 9_000_000), 9_000_000);
    }

    #[test]
    fn a_stamp_before_the_send_gives_way_to_the_read_time() {
        let at = Arrival {
            stamp: 1_000,
            read: 5_000,
        };
        assert_eq!(at.after_send(900), 1_000);
        assert_eq!(at.after_send(1_000), 1_000);
        let before = stamps_before_send();
        assert_eq!(at.after_send(1_200), 5_000);
        assert!(stamps_before_send() > before);
        assert_eq!(Arrival::read_at(7).after_send(3), 7);
    }

    #[test]
    fn stamping_is_confirmed_on_loopback() {
        let stamping = Stamping::switch_on(Duration::from_secs(5));
        assert!(stamping.works(), "the kernel never stamped the probe");
    }

    #[test]
    fn tcp_bytes_carry_their_arrival_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert!(enable(server.as_raw_fd()));
        let mut buf = [0u8; 16];
        // Until the kernel has switched stamping on (its work queue runs soon after).
        let switched_on = now_ns() + 5_000_000_000;
        loop {
            client.write_all(b"x").unwrap();
            let got = recv(server.as_raw_fd(), &mut buf).unwrap();
            if got.stamped {
                break;
            }
            assert!(now_ns() < switched_on, "the kernel never stamped a packet");
            std::thread::yield_now();
        }
        let before = now_ns();
        client.write_all(b"ping").unwrap();
        // The gap between arrival and read that the stamp must see through.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let got = recv(server.as_raw_fd(), &mut buf).unwrap();
        assert!(got.stamped);
        let read_at = now_ns();
        assert_eq!(&buf[..got.len], b"ping");
        // Stamped on arrival, about 50 ms before the read (and not long before the write:
        // the kernel may stamp with a clock value it read a few µs before).
        assert!(
            got.at.stamp + 1_000_000 >= before,
            "stamp {} long before the write {before}",
            got.at.stamp
        );
        assert!(
            read_at - got.at.stamp >= 40_000_000,
            "stamp only {} ns before the read: the read time, not the arrival",
            read_at - got.at.stamp
        );
    }
}
