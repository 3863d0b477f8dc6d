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
//! between the two clocks read right after the `recvmsg`, and never placed after that read.
//! On loopback TCP the stamp can be a clock value the kernel read a few microseconds before
//! the sender's `write` began (seen on Linux 6.18), so the callers never place an answer
//! before its request's send.

use std::io;
use std::os::fd::RawFd;

use crate::clock::{now_ns, realtime_ns, NS_PER_SEC};

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
    /// Arrival time on the monotonic clock.
    pub at: u64,
    /// The kernel stamped the bytes (else `at` is the read time). Stamping starts a moment
    /// after the first socket of the system asks for it (the kernel turns it on from a work
    /// queue), so the very first packets may come unstamped.
    pub stamped: bool,
}

/// `recvmsg` into `buf` with room for the timestamp control message.
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
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
    let read_at = now_ns();
    let stamp = stamp(&msg);
    let at = stamp
        .map(|real| to_monotonic(real, realtime_ns(), read_at))
        .unwrap_or(read_at);
    Ok(Received {
        len: n as usize,
        at,
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
            got.at + 1_000_000 >= before,
            "stamp {} long before the write {before}",
            got.at
        );
        assert!(
            read_at - got.at >= 40_000_000,
            "stamp only {} ns before the read: the read time, not the arrival",
            read_at - got.at
        );
    }
}
