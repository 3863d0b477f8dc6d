//! `compare`: runs server designs side by side under the same load from `reactor-loadgen`, and
//! writes a report with tables and charts; optionally judges a build against a baseline build
//! measured in the same run, or the run against an earlier one.
//!
//! The comparison is a tool of its own, apart from the designs it measures (those live in
//! `designs/`, `server/`, or anywhere a user's TOML file points to). Its parts, in the order a
//! run uses them:
//!
//! - [`plan`]: what runs, read from data: `designs.toml` (every server, built-in ones and real
//!   peers alike: name, argv with `{tcp}`-style placeholders, services, limits) and
//!   `scenarios.toml` (load shapes and curves), each extendable with the user's own file;
//! - [`processes`]: starting servers pinned to cores, knowing when they are ready (`listening`
//!   lines or answers on their ports), reading their CPU time (to the nanosecond, split into
//!   user and system) and memory,
//!   killing everything by PID;
//! - [`measurement`]: the loop: warm-up, repeats, one `reactor-loadgen` run each, summaries;
//! - [`report`] and [`charts`]: `report.md`, `report.json`, SVG charts, `report.html`;
//! - [`progress`]: the progress bar on a terminal;
//! - [`stats`]: medians and ratios with bootstrap intervals, the rank tests behind verdicts;
//! - [`baseline`]: verdicts (regression, improvement, same, or too noisy to tell) against a
//!   baseline build's twins in the same repeats (`--baseline-build`, paired) or an earlier
//!   `report.json`.
//!
//! The comparison fails (non-zero exit) when a design that should work does not start, an echo
//! is not verified or a request errors, and with `--fail-on-regression` on a regression; it
//! never fails because a design is slow.

#![warn(missing_docs)]

pub mod baseline;
pub mod charts;
pub mod measurement;
pub mod plan;
pub mod processes;
pub mod progress;
pub mod report;
pub mod stats;
