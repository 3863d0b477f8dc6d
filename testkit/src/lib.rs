//! The project's one test kit: what the integration tests of every crate (and the fuzz
//! targets' reproducers) share, so that no crate writes its own copy.
//!
//! - [`Listening`]: a real process started with its listeners on port 0, its addresses learnt
//!   from the `listening <proto> <addr>` lines it prints, killed (by its own PID) when dropped.
//! - [`run_bounded`]: a child run to completion under a time limit, its output collected.
//! - [`http`]: a client-side HTTP/1.1 response reader for raw sockets (pipelining, `HEAD`,
//!   `Content-Length` and chunked bodies, end of stream).
//! - [`isolation`]: the property "a connection hears only its own answers", checked against
//!   any HTTP server with `POST /echo`.
//! - [`net`]: sockets with timeouts, payloads that expose shifted or mixed bytes.
//! - [`tls`]: self-signed test certificates made at run time, as PEM files.
//! - [`python`]: Python's `http.server` behind Python's `ssl`, an HTTPS peer that is not ours,
//!   counting what it answered.
//! - [`python_client`]: Python scripts as real clients (the seed's `HTTPSConnection` among
//!   them).
//! - [`sibling_bin`]: another workspace package's binary, built for a test that drives several.
//!
//! Everything here panics on failure: it is test code, and a panic is how a test fails.

pub mod http;
pub mod isolation;
pub mod net;
mod process;
pub mod python;
pub mod python_client;
mod run;
mod sibling;
pub mod tls;

pub use process::{proc_status_kib, Listening, START_TIMEOUT};
pub use run::{eventually, finish_within, output_within, run_bounded, spawn_piped, RunOutput};
pub use sibling::sibling_bin;
