//! The progress line a person watches during a run: the phase (connecting, warm-up, measuring,
//! draining), elapsed and remaining time, the current rate, p99 so far and errors, e.g.
//!
//! ```text
//! ⠙ measuring  7s elapsed, 3s left · 41,230 req/s · p99 312.4 µs · 0 errors
//! ```
//!
//! The collector feeds it from the messages it receives (connections set up, the start gate,
//! closed intervals, workers finishing); it never looks at a worker's own data. [`LineState`]
//! turns those updates and the clock into the line's text, a pure function unit-tested without
//! a terminal; [`Progress`] draws it with `indicatif` on stderr, redrawn four times a second so
//! the time moves during connection set-up and warm-up too.
//!
//! Invariant: the line is drawn only when stderr is a terminal and the JSON document is not
//! going to stdout ([`should_draw`]); in a pipe, a file or CI nothing of it is written, and
//! stdout only ever carries the summary or the JSON.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::clock::{now_ns, NS_PER_SEC};
use crate::units::{count, format_ns};

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Connections are being set up.
    #[default]
    Connecting,
    /// Load runs but nothing is recorded.
    WarmUp,
    /// Load runs and is recorded.
    Measuring,
    /// The measured time is over (or the request count reached); the last responses are awaited.
    Draining,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::WarmUp => "warm-up",
            Phase::Measuring => "measuring",
            Phase::Draining => "draining",
        }
    }
}

/// When measuring ends: after a time, or after a number of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Goal {
    /// Neither: measuring ends when the run is stopped.
    #[default]
    Open,
    /// `--duration`, in nanoseconds.
    Time(u64),
    /// `--requests`.
    Requests(u64),
}

/// Everything the line shows, as the collector's messages left it.
#[derive(Debug, Clone, Default)]
pub struct LineState {
    phase: Phase,
    /// When the current phase began (monotonic ns); measuring: when measuring began.
    phase_start_ns: u64,
    connections: usize,
    connected: usize,
    /// End of warm-up (monotonic ns).
    warmup_end_ns: u64,
    goal: Goal,
    /// When measuring began (monotonic ns).
    measure_start_ns: u64,
    requests: u64,
    errors: u64,
    /// Requests per second of the last closed interval.
    rate: Option<f64>,
    /// p99 of every response measured so far.
    p99_ns: Option<u64>,
}

impl LineState {
    /// A run of `connections` connections that ends at `goal`, begun at `now`.
    pub fn new(connections: usize, goal: Goal, now: u64) -> Self {
        LineState {
            connections,
            goal,
            phase_start_ns: now,
            ..LineState::default()
        }
    }

    /// `up` more connections are established.
    pub fn connected(&mut self, up: usize) {
        self.connected += up;
    }

    /// Load started at `now`; nothing is recorded until `measure_start`.
    pub fn warming_up(&mut self, now: u64, measure_start: u64) {
        self.phase = Phase::WarmUp;
        self.phase_start_ns = now;
        self.warmup_end_ns = measure_start;
    }

    /// Measuring began at `start`.
    pub fn measuring(&mut self, start: u64) {
        self.phase = Phase::Measuring;
        self.phase_start_ns = start;
        self.measure_start_ns = start;
    }

    /// One interval closed: its length and requests, and the run's errors and p99 so far.
    pub fn interval(&mut self, length_ns: u64, requests: u64, errors_so_far: u64, p99_ns: u64) {
        self.requests += requests;
        self.errors = errors_so_far;
        self.rate = Some(requests as f64 * NS_PER_SEC as f64 / length_ns.max(1) as f64);
        self.p99_ns = (self.requests > 0).then_some(p99_ns);
    }

    /// A worker finished its share: the rest is draining.
    pub fn draining(&mut self, now: u64) {
        if self.phase != Phase::Draining {
            self.phase = Phase::Draining;
            self.phase_start_ns = now;
        }
    }

    /// The phase at `now`: measuring turns to draining once the goal is reached.
    fn phase_at(&self, now: u64) -> Phase {
        let goal_reached = match self.goal {
            Goal::Time(ns) => now >= self.measure_start_ns.saturating_add(ns),
            Goal::Requests(n) => self.requests >= n,
            Goal::Open => false,
        };
        match self.phase {
            Phase::Measuring if goal_reached => Phase::Draining,
            phase => phase,
        }
    }

    /// The line at monotonic time `now`.
    pub fn render(&self, now: u64) -> String {
        let phase = self.phase_at(now);
        let since_phase = now.saturating_sub(self.phase_start_ns);
        let head = format!("{:<10}", phase.name());
        match phase {
            Phase::Connecting => format!(
                "{head} {}/{} · {} elapsed",
                self.connected,
                count(self.connections, "connection"),
                secs(since_phase)
            ),
            Phase::WarmUp => format!(
                "{head} {} elapsed, {} left · nothing recorded yet",
                secs(since_phase),
                secs(round_up(self.warmup_end_ns.saturating_sub(now)))
            ),
            Phase::Measuring => format!("{head} {} · {}", self.time_left(now), self.figures()),
            Phase::Draining => format!(
                "{head} {} measured · awaiting the last responses · {}",
                secs(self.measured_at(now)),
                self.figures()
            ),
        }
    }

    /// Measured time at `now` (the goal's time at most).
    fn measured_at(&self, now: u64) -> u64 {
        let elapsed = now.saturating_sub(self.measure_start_ns);
        match self.goal {
            Goal::Time(ns) => elapsed.min(ns),
            _ => elapsed,
        }
    }

    /// `7s elapsed, 3s left`, or with a request goal `700/1,000 requests, about 3s left`.
    fn time_left(&self, now: u64) -> String {
        let elapsed = secs(self.measured_at(now));
        match self.goal {
            Goal::Time(ns) => format!(
                "{elapsed} elapsed, {} left",
                secs(round_up(ns.saturating_sub(self.measured_at(now))))
            ),
            Goal::Requests(n) => {
                let left = n.saturating_sub(self.requests);
                let eta = match self.rate {
                    Some(rate) if rate > 0.0 => {
                        // An estimate: rounded to the nearest second.
                        let ns = (left as f64 / rate * 1e9) as u64;
                        format!(", about {} left", secs(ns.saturating_add(NS_PER_SEC / 2)))
                    }
                    _ => String::new(),
                };
                format!(
                    "{elapsed} elapsed · {}/{} requests{eta}",
                    thousands(self.requests),
                    thousands(n)
                )
            }
            Goal::Open => format!("{elapsed} elapsed"),
        }
    }

    /// `41,230 req/s · p99 312.4 µs · 0 errors`.
    fn figures(&self) -> String {
        let rate = self.rate.map_or_else(
            || "- req/s".to_owned(),
            |r| format!("{} req/s", thousands(r.round() as u64)),
        );
        let p99 = self.p99_ns.map_or_else(|| "-".to_owned(), format_ns);
        let errors = usize::try_from(self.errors).unwrap_or(usize::MAX);
        format!("{rate} · p99 {p99} · {}", count(errors, "error"))
    }
}

/// Time left rounded up to a whole second, so elapsed (rounded down) and left add up to the
/// whole and "0s left" means done.
fn round_up(ns: u64) -> u64 {
    ns.div_ceil(NS_PER_SEC).saturating_mul(NS_PER_SEC)
}

/// Whole seconds for people (rounded down): `7s`, `1m05s`, `1h02m`.
fn secs(ns: u64) -> String {
    let s = ns / NS_PER_SEC;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `41230` → `41,230`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// True when the line should be drawn: stderr is a terminal and the JSON document is not
/// going to stdout.
pub fn should_draw(stderr_is_terminal: bool, json_to_stdout: bool) -> bool {
    stderr_is_terminal && !json_to_stdout
}

/// [`should_draw`] for this process's stderr.
pub fn stderr_wants_progress(json_to_stdout: bool) -> bool {
    should_draw(std::io::stderr().is_terminal(), json_to_stdout)
}

/// The line's state and, when drawn, the bar that shows it.
pub struct Progress {
    state: Arc<Mutex<LineState>>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress line for a run of `connections` towards `goal`; drawn on stderr when `draw`.
    pub fn new(draw: bool, connections: usize, goal: Goal) -> Progress {
        let state = Arc::new(Mutex::new(LineState::new(connections, goal, now_ns())));
        let bar = draw.then(|| bar_showing(state.clone()));
        Progress { state, bar }
    }

    fn state(&self) -> MutexGuard<'_, LineState> {
        // The state is plain numbers: a panic elsewhere while holding it leaves them usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// See [`LineState::connected`].
    pub fn connected(&self, up: usize) {
        self.state().connected(up);
    }

    /// See [`LineState::warming_up`].
    pub fn warming_up(&self, measure_start: u64) {
        self.state().warming_up(now_ns(), measure_start);
    }

    /// See [`LineState::measuring`].
    pub fn measuring(&self, start: u64) {
        self.state().measuring(start);
    }

    /// See [`LineState::interval`].
    pub fn interval(&self, length_ns: u64, requests: u64, errors_so_far: u64, p99_ns: u64) {
        self.state()
            .interval(length_ns, requests, errors_so_far, p99_ns);
    }

    /// See [`LineState::draining`].
    pub fn draining(&self) {
        self.state().draining(now_ns());
    }

    /// The line as it would be drawn now.
    pub fn line(&self) -> String {
        self.state().render(now_ns())
    }

    /// True when a bar is on the terminal.
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// Clears the line, leaving the terminal as it was for the summary.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// An indicatif spinner on stderr whose text is `state` rendered at each redraw.
fn bar_showing(state: Arc<Mutex<LineState>>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let line = move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
        let text = state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .render(now_ns());
        let _ = out.write_str(&text);
    };
    let style = ProgressStyle::with_template("{spinner:.cyan} {line}")
        .map(|s| s.with_key("line", line))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

#[cfg(test)]
mod tests;
