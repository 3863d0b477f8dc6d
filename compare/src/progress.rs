//! What a running comparison shows: on a terminal, a progress bar (scenario i of n, the design,
//! elapsed time and an estimate of the time left, from indicatif); otherwise one plain line per
//! row, for CI logs.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::measurement::{Position, Progress};

/// A bar on a TTY, plain lines elsewhere.
pub enum Shown {
    /// stderr is a terminal.
    Bar(ProgressBar),
    /// stderr is a file or pipe.
    Lines,
}

impl Shown {
    /// Picks the form for stderr.
    pub fn for_stderr() -> Shown {
        if !std::io::stderr().is_terminal() {
            return Shown::Lines;
        }
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:28.cyan/blue}] {pos}/{len} rows, ETA {eta} · {msg}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Shown::Bar(bar)
    }

    /// Removes the bar at the end.
    pub fn finish(&self) {
        if let Shown::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Shown {
    fn starting(&self, design: &str) {
        match self {
            Shown::Bar(bar) => bar.set_message(format!("starting {design}")),
            Shown::Lines => eprintln!("compare: starting {design}"),
        }
    }

    fn row(&self, at: Position, scenario: &str, design: &str) {
        let text = format!(
            "scenario {}/{} {scenario} · {design}",
            at.scenario, at.scenarios
        );
        match self {
            Shown::Bar(bar) => {
                bar.set_length(at.rows as u64);
                bar.set_position(at.row.saturating_sub(1) as u64);
                bar.set_message(text);
            }
            Shown::Lines => eprintln!("compare: [{}/{}] {text}", at.row, at.rows),
        }
    }
}
