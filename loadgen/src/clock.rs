//! Time: one monotonic nanosecond clock shared by all threads, and a precise wake-up timer.
//!
//! Every timestamp in the generator is `CLOCK_MONOTONIC` in nanoseconds (read through the vDSO,
//! no system call), so times taken on different threads compare directly and a schedule can be
//! absolute. Waiting for a send time is done with one `timerfd` (nanosecond resolution,
//! registered in the mio poll so I/O still wakes the loop) or, when no I/O needs the loop
//! meanwhile, one absolute `clock_nanosleep`: no millisecond timers anywhere on that path.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// Current `CLOCK_MONOTONIC` time in nanoseconds.
#[inline]
pub fn now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// `CLOCK_REALTIME` in nanoseconds (what kernel receive timestamps are in).
#[inline]
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// CPU time of the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

#[inline]
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks used here always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * NS_PER_SEC + ts.tv_nsec as u64
}

/// Current Unix time in seconds.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The monotonic time corresponding to Unix time `unix_secs` (in the past gives `now_ns()`).
pub fn monotonic_at_unix(unix_secs: f64) -> u64 {
    let ahead = unix_secs - unix_now();
    let now = now_ns();
    if ahead <= 0.0 {
        now
    } else {
        now + (ahead * NS_PER_SEC as f64) as u64
    }
}

/// Unix time of monotonic instant `mono_ns`.
pub fn unix_at_monotonic(mono_ns: u64) -> SystemTime {
    let now_mono = now_ns();
    let now_sys = SystemTime::now();
    if mono_ns >= now_mono {
        now_sys + Duration::from_nanos(mono_ns - now_mono)
    } else {
        now_sys - Duration::from_nanos(now_mono - mono_ns)
    }
}

/// Ask the kernel to wake this thread's timers without the default 50 µs slack.
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and only affects the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
}

/// Slice the generator's threads ask the scheduler for (the kernel's minimum): a thread that
/// wakes for a send time then preempts a CPU-bound neighbour on its core instead of waiting
/// for the neighbour's slice (~3 ms) to run out.
const SHORT_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` of `sched_setattr(2)` (first version, 48 bytes).
#[repr(C)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

/// Ask for a short scheduler slice for the calling thread (Linux 6.12+ EEVDF honours
/// `sched_runtime` for normal threads; older kernels ignore it). Keeps the thread's nice value.
/// Returns whether the kernel accepted the request.
pub fn request_short_slice() -> bool {
    // SAFETY: getpriority on the calling thread has no memory effects.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: SHORT_SLICE_NS,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: a valid, fully initialised sched_attr for the calling thread (pid 0).
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    rc == 0
}

/// Block the thread until `deadline_ns`: sleep for most of it, spin the last stretch.
pub fn sleep_until(deadline_ns: u64) {
    const SPIN_NS: u64 = 100_000;
    loop {
        let now = now_ns();
        if now >= deadline_ns {
            return;
        }
        let left = deadline_ns - now;
        if left > SPIN_NS {
            std::thread::sleep(Duration::from_nanos(left - SPIN_NS));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Sleep until monotonic `deadline_ns` with one absolute `clock_nanosleep` (no spinning): the
/// way a timer-woken thread waits, so its overshoot is the machine's wake-up latency. A signal
/// may end it early; callers check the clock.
pub fn sleep_until_exactly(deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / NS_PER_SEC) as libc::time_t,
        tv_nsec: (deadline_ns % NS_PER_SEC) as libc::c_long,
    };
    // SAFETY: a valid timespec; no remainder is asked for with TIMER_ABSTIME.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

/// A one-shot `timerfd` on `CLOCK_MONOTONIC`, readable when its absolute deadline passes.
pub struct Timer {
    fd: OwnedFd,
    armed_for: u64,
}

impl Timer {
    /// Create a disarmed non-blocking timer.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Timer { fd, armed_for: 0 })
    }

    /// Fire at monotonic time `deadline_ns` (no-op when already armed for exactly that time).
    pub fn arm_at(&mut self, deadline_ns: u64) -> io::Result<()> {
        if self.armed_for == deadline_ns {
            return Ok(());
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (deadline_ns / NS_PER_SEC) as libc::time_t,
                tv_nsec: (deadline_ns % NS_PER_SEC).max(1) as libc::c_long,
            },
        };
        // SAFETY: valid fd and itimerspec; a null old-value pointer is allowed.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed_for = deadline_ns;
        Ok(())
    }

    /// Consume an expiry so the descriptor can signal again.
    pub fn acknowledge(&mut self) {
        let mut buf = [0u8; 8];
        // SAFETY: reading 8 bytes into a valid buffer; errors (EAGAIN) are fine to ignore.
        unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        self.armed_for = 0;
    }

    /// The descriptor, to register with mio.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// CPU time (user, system) this process has used so far, from `getrusage`.
pub fn process_cpu() -> (Duration, Duration) {
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_monotonic() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
    }

    #[test]
    fn attr_has_the_size_of_the_first_version() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 48);
    }

    #[test]
    fn sleep_until_reaches_deadline() {
        let deadline = now_ns() + 2_000_000;
        sleep_until(deadline);
        assert!(now_ns() >= deadline);
    }

    #[test]
    fn timer_fires() {
        let mut t = Timer::new().unwrap();
        t.arm_at(now_ns() + 1_000_000).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let mut buf = [0u8; 8];
        // SAFETY: test-only read into a valid buffer.
        let n = unsafe { libc::read(t.raw_fd(), buf.as_mut_ptr().cast(), 8) };
        assert_eq!(n, 8);
    }
}
