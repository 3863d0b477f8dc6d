//! Sans-IO protocol logic shared by every server design in this workspace.
//!
//! Nothing here touches a socket. Each protocol is "bytes in → bytes out and decisions":
//! the caller (the mio reactor, a thread-per-connection server, a tokio task, ...) reads bytes,
//! hands them to these types, writes whatever they produce and acts on the decisions they
//! return (keep going, stop reading, close). That keeps the protocol rules unit-testable without
//! sockets and identical across the server designs being compared.
//!
//! - [`outbuf`]: the bounded queue of bytes a connection still owes its peer (backpressure).
//! - [`udp`]: the checks a datagram echo applies before sending a datagram back.
//! - [`http`]: an incremental HTTP/1.1 server session answering the "Hello, client!" routes.
//! - [`client`]: the client role (HTTP/1.1 request building and response framing), used by the
//!   load generator.

#![warn(missing_docs)]

pub mod client;
pub mod http;
pub mod outbuf;
pub mod udp;
