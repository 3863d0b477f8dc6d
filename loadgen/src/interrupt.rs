//! Ctrl-C keeps the measurement: the first SIGINT (or SIGTERM) asks the run to stop; the load
//! stops, what is in flight drains briefly, and the summary, `--json` and `--hdr-log` of what
//! was measured are written, marked as interrupted (exit status 130). A second one exits at
//! once, as wrk, oha, k6 and vegeta behave.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Exit status of an interrupted run (128 + SIGINT, what a shell reports for Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Install the handlers (once). A failure leaves the default behaviour: exit at once.
pub fn install() {
    let flag = STOP.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for signal in [SIGINT, SIGTERM] {
        // The order matters: the conditional exit sees the flag as the first signal left it,
        // so only a second signal exits.
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(EXIT_INTERRUPTED),
            flag.clone(),
        );
        let _ = signal_hook::flag::register(signal, flag.clone());
    }
}

/// A stop was asked for.
pub fn requested() -> bool {
    STOP.get().is_some_and(|f| f.load(Ordering::Relaxed))
}
