//! The client role: what a load generator needs to speak to a server, sans-IO.
//!
//! The server side of each protocol lives in [`crate::http`] and [`crate::udp`]; this module is
//! its mirror image, so both ends of a conversation are framed by the same crate and fuzzed by
//! the same targets.
//!
//! - [`http`]: building one HTTP/1.1 request and framing the responses to it.

pub mod http;
