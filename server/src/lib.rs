//! `reactor-server`: a single-threaded, event-driven TCP echo, UDP echo and HTTP/1.1 server.
//!
//! # Design
//! One thread runs one [`mio::Poll`] loop ([`reactor`]) that owns every socket: the listeners,
//! the UDP socket, the signal pipe, and a [`slab::Slab`] of TCP connections whose slab key (plus
//! a generation, see [`token`]) is the poll token. Readiness is edge-triggered: each socket is
//! drained until the kernel says `WouldBlock` (or a short read proves it), with per-event
//! budgets so one busy peer cannot starve the rest ([`connection`], [`udp`]).
//!
//! Protocol rules live in the sans-IO crate `reactor-proto`; [`protocol`] adapts them, so the
//! reactor only moves bytes and readiness. Output is written straight from the read buffer;
//! only what the kernel refuses is queued, capped per connection (backpressure), and an idle
//! connection holds no buffer at all. Timers (idle, write stall, linger, and the wake-up an HTTP
//! session asks for when its header or body deadline falls) are lazy entries in one heap
//! ([`timers`]); `poll` sleeps until the earliest.
//!
//! `--threads N` runs N independent reactors, each with its own sockets bound with
//! SO_REUSEPORT; they share nothing but the [`metrics`] slots each publishes into.

#![warn(missing_docs)]

pub mod bufpool;
pub mod config;
pub mod connection;
pub mod exchange;
pub mod health;
pub mod listeners;
pub mod logging;
pub mod metrics;
pub mod mmsg;
pub mod process_metrics;
pub mod protocol;
pub mod reactor;
pub mod signals;
pub mod staging;
pub mod stats;
pub mod timers;
pub mod tls;
pub mod token;
pub mod udp;
