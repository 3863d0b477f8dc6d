//! Holding SIGINT/SIGTERM (and, with HTTPS, SIGHUP) back while the server starts.
//!
//! Each reactor installs its own signal-hook handler when it is built. A shutdown signal that
//! arrived between two of those installations would reach only the reactors built so far (the
//! others would serve forever), or, before the first, take the default action: for SIGHUP that
//! is to terminate, so a certificate reload asked for while the server was still reading its
//! certificate would kill it. Blocking the signals from the start until every reactor is built
//! keeps such a signal pending; unblocking delivers it once, to handlers that notify every
//! reactor (a held SIGHUP then reads the certificate again, which is what it asked for).

use std::io;
use std::mem::MaybeUninit;
use std::ptr;

/// While alive, SIGINT and SIGTERM (and SIGHUP when asked) stay pending on this thread (and on
/// threads it spawns).
#[must_use = "the signals are held only while the guard lives"]
pub struct HeldShutdownSignals {
    previous: libc::sigset_t,
}

impl HeldShutdownSignals {
    /// Blocks SIGINT and SIGTERM on the calling thread, and SIGHUP with `reload` (the server
    /// handles it: HTTPS), remembering the previous mask.
    pub fn hold(reload: bool) -> io::Result<Self> {
        // SAFETY: the sigset functions initialise the set before pthread_sigmask reads it, and
        // pthread_sigmask fills `previous` before it is read (checked by its return code).
        unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
            libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
            if reload {
                libc::sigaddset(set.as_mut_ptr(), libc::SIGHUP);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_reload_signal_during_start_up_waits_for_the_handlers() {
        let reloaded = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(libc::SIGHUP, Arc::clone(&reloaded)).unwrap();
        let held = HeldShutdownSignals::hold(true).unwrap();
        // SAFETY: raise sends SIGHUP to this thread, where it is blocked.
        unsafe { libc::raise(libc::SIGHUP) };
        assert!(!reloaded.load(Ordering::SeqCst), "held back while starting");
        drop(held);
        assert!(reloaded.load(Ordering::SeqCst), "delivered once unblocked");
    }
}
