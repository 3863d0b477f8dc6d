//! `--idle-poll`: idle CPUs poll instead of halting while a measurement runs.
//!
//! An open-loop generator waits between sends, and every timed wait ends in a wake-up. Where
//! idle CPUs halt, leaving the halt is the expensive part: on the project's VMs (a halt is a
//! trip through the hypervisor) a timed wait cost 20-50 µs of the thread's CPU and returned
//! 25-100 µs late, which is most of what separates the open loop's CPU per request from the
//! closed loop's. The kernel's PM QoS interface takes a bound on CPU wake-up latency from any
//! process that holds `/dev/cpu_dma_latency` open; with a bound of 0 the cpuidle governor picks
//! its polling state, so an idle CPU spins in the kernel's idle loop (and yields at once to any
//! runnable task) instead of halting. cyclictest does the same by default. The load
//! generator holds it for a run, the comparison for all of its runs.
//!
//! Invariants: the request lives exactly as long as the [`IdlePoll`] value (the kernel also
//! withdraws it when the process exits, however it exits). It covers every CPU, the server's
//! too, and it costs power, or on a VM host CPU, while held; so it is opt-in and reported.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};

/// The PM QoS device that takes CPU wake-up latency requests.
const DEVICE: &str = "/dev/cpu_dma_latency";

/// A held request for a CPU wake-up latency of 0 µs; dropping it lifts the request.
#[derive(Debug)]
pub struct IdlePoll {
    /// Open for as long as the request should hold: closing it is what withdraws the request.
    _device: File,
}

impl IdlePoll {
    /// Ask for idle CPUs to poll from now until the value is dropped (needs write access to
    /// `/dev/cpu_dma_latency`, normally root). The error says what was asked and why it may
    /// have failed.
    pub fn request() -> io::Result<Self> {
        let held = OpenOptions::new()
            .write(true)
            .open(DEVICE)
            .and_then(|mut device| device.write_all(&0i32.to_ne_bytes()).map(|()| device));
        match held {
            Ok(device) => Ok(IdlePoll { _device: device }),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot hold a CPU latency request of 0 µs on {DEVICE} (it needs root and \
                     a kernel with PM QoS): {e}"
                ),
            )),
        }
    }
}

/// [`IdlePoll::request`] when `wanted` (a `--idle-poll` flag), else nothing to hold.
pub fn hold_if(wanted: bool) -> io::Result<Option<IdlePoll>> {
    wanted.then(IdlePoll::request).transpose()
}

/// The wake-up latency bound in force, in µs: the smallest of all held requests (0 while some
/// process holds `--idle-poll` or the like; a huge default when nobody asks for anything).
pub fn current_limit_us() -> io::Result<i32> {
    let mut value = [0u8; 4];
    File::open(DEVICE)?.read_exact(&mut value)?;
    Ok(i32::from_ne_bytes(value))
}

/// Idle CPUs poll now: some process, this one with `--idle-poll` or another, holds a bound of
/// 0 µs. False when the bound cannot be read.
pub fn in_force() -> bool {
    matches!(current_limit_us(), Ok(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_sets_the_bound_to_zero_while_held_and_dropping_it_lifts_it() {
        let Ok(before) = current_limit_us() else {
            eprintln!("skipped: {DEVICE} cannot be read here");
            return;
        };
        let held = match IdlePoll::request() {
            Ok(held) => held,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                eprintln!("skipped: {DEVICE} is not writable by this user");
                return;
            }
            Err(e) => panic!("cannot request idle polling: {e}"),
        };
        assert_eq!(current_limit_us().expect("read while held"), 0);
        drop(held);
        // No other test holds a request; `cargo test` runs test binaries one at a time.
        assert_eq!(current_limit_us().expect("read after drop"), before);
    }
}
