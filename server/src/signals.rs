//! Holding SIGINT/SIGTERM back while the reactors start.
//!
//! Each reactor installs its own signal-hook handler when it is built. A shutdown signal that
//! arrived between two of those installations would reach only the reactors built so far (the
//! others would serve forever), or, before the first, take the default action. Blocking the two
//! signals until every reactor is built keeps such a signal pending; unblocking delivers it once,
//! to handlers that notify every reactor.

use std::io;
use std::mem::MaybeUninit;
use std::ptr;

/// While alive, SIGINT and SIGTERM stay pending on this thread (and on threads it spawns).
#[must_use = "the signals are held only while the guard lives"]
pub struct HeldShutdownSignals {
    previous: libc::sigset_t,
}

impl HeldShutdownSignals {
    /// Blocks SIGINT and SIGTERM on the calling thread, remembering the previous mask.
    pub fn hold() -> io::Result<Self> {
        // SAFETY: the sigset functions initialise the set before pthread_sigmask reads it, and
        // pthread_sigmask fills `previous` before it is read (checked by its return code).
        unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
            libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
            let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), previous.as_mut_ptr());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Self {
                previous: previous.assume_init(),
            })
        }
    }
}

impl Drop for HeldShutdownSignals {
    /// Restores the previous mask; a signal that arrived meanwhile is delivered now.
    fn drop(&mut self) {
        // SAFETY: `previous` is a valid mask obtained from pthread_sigmask.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, ptr::null_mut());
        }
    }
}
