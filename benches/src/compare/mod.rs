//! The comparison driver behind `scripts/compare.sh` (binary `compare`): start every design,
//! drive each with `reactor-loadgen` through a fixed set of scenarios, measure both sides' CPU,
//! and write a report with tables and charts.
//!
//! - [`plan`]: the designs, scenarios and profiles;
//! - [`process`]: pinned child processes, `/proc` readings, bounded runs;
//! - [`runner`]: the measurement loop;
//! - [`results`]: one run's numbers, summaries over repeats, which side was the limit;
//! - [`report`] and [`svg`]: the outputs.

pub mod plan;
pub mod process;
pub mod report;
pub mod results;
pub mod runner;
pub mod svg;
