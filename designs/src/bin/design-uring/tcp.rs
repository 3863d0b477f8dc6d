//! TCP connections: accepting, multishot receives, sends, backpressure, and waking HTTP
//! sessions at their deadlines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Instant;

use io_uring::{cqueue, opcode, types};
use reactor_designs::http::HttpConn;
use reactor_proto::http::{HttpLimits, Step};

use crate::{push_entry, Op, Server, MAX_OUTPUT, TCP_GROUP};

/// One TCP connection. `inflight` is what its one send in flight points at (never touched until
/// that send completes); new output accumulates in `pending`.
pub(crate) struct Conn {
    stream: TcpStream,
    http: Option<Box<HttpConn>>,
    inflight: Vec<u8>,
    sent: usize,
    sending: bool,
    pending: Vec<u8>,
    recv_armed: bool,
    cancelling: bool,
    /// The peer sent FIN: nothing more to read.
    eof: bool,
    /// HTTP: the session paused at its output budget; resume once the output is written.
    paused: bool,
    /// Close once every byte owed is written.
    closing: bool,
    /// The connection failed: drop what is owed and close once nothing is in flight.
    aborted: bool,
    /// When this connection's earliest entry in [`Server::deadlines`] is due, if it has one.
    deadline_at: Option<Instant>,
}

impl Conn {
    fn new(stream: TcpStream, http: Option<&'static HttpLimits>) -> Conn {
        Conn {
            stream,
            http: http.map(|limits| Box::new(HttpConn::new(limits))),
            inflight: Vec::new(),
            sent: 0,
            sending: false,
            pending: Vec::new(),
            recv_armed: false,
            cancelling: false,
            eof: false,
            paused: false,
            closing: false,
            aborted: false,
            deadline_at: None,
        }
    }

    fn owed(&self) -> usize {
        self.pending.len() + self.inflight.len() - self.sent
    }

    /// Moves the HTTP session's responses behind the output owed, and acts on its step.
    fn take_http_output(&mut self, step: Step) {
        if let Some(http) = self.http.as_mut() {
            self.pending.extend_from_slice(http.output());
            http.clear_output();
        }
        match step {
            Step::Continue => self.paused = false,
            Step::Paused => self.paused = true,
            Step::CloseAfterFlush => {
                self.paused = false;
                self.closing = true;
            }
        }
    }
}

impl Server {
    pub(crate) fn accept_arm(&mut self, listener: usize) {
        let fd = self.listeners[listener].0.as_raw_fd();
        let entry = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Op::Accept.token(listener));
        push_entry(&mut self.ring, entry);
    }

    pub(crate) fn on_accept(&mut self, listener: usize, result: i32, flags: u32) {
        if result >= 0 {
            // SAFETY: a successful accept returns a new descriptor that nothing else owns.
            let stream = unsafe { TcpStream::from_raw_fd(result) };
            let _ = stream.set_nodelay(true);
            let http = self.listeners[listener].1.then_some(self.limits);
            let slot = self.conns.insert(Conn::new(stream, http));
            self.update(slot);
        } else if result == -libc::EINVAL {
            eprintln!("design-uring: the kernel lacks multishot accept (Linux 5.19+)");
            std::process::exit(1);
        } else {
            eprintln!(
                "design-uring: accept: {}",
                std::io::Error::from_raw_os_error(-result)
            );
        }
        if !cqueue::more(flags) {
            self.accept_arm(listener);
        }
    }

    pub(crate) fn on_recv(&mut self, slot: usize, result: i32, flags: u32) {
        let buffer = cqueue::buffer_select(flags);
        let Some(conn) = self.conns.get_mut(slot) else {
            return; // cannot happen: a connection outlives its receive
        };
        if !cqueue::more(flags) {
            conn.recv_armed = false;
        }
        match result {
            n if n > 0 => {
                if let (Some(bid), Some(bufs)) = (buffer, self.tcp_bufs.as_mut()) {
                    let data = bufs.data(bid, n as usize);
                    match conn.http.as_mut() {
                        None => conn.pending.extend_from_slice(data),
                        Some(http) => {
                            let step = http.on_input(data);
                            conn.take_http_output(step);
                        }
                    }
                    bufs.recycle(bid);
                }
            }
            0 => {
                conn.eof = true;
                match conn.http.as_mut() {
                    None => conn.closing = true,
                    Some(http) => conn.closing |= http.on_peer_closed(),
                }
            }
            e if e == -libc::ENOBUFS || e == -libc::ECANCELED => {} // re-armed if still wanted
            e if e == -libc::EINVAL => {
                eprintln!("design-uring: the kernel lacks multishot recv (Linux 6.0+)");
                std::process::exit(1);
            }
            _ => abort(conn), // reset or another error: drop what is owed, close
        }
        self.update(slot);
    }

    pub(crate) fn on_send(&mut self, slot: usize, result: i32) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        conn.sending = false;
        if result <= 0 {
            abort(conn);
        } else {
            conn.sent += result as usize;
            if conn.sent >= conn.inflight.len() {
                conn.inflight.clear();
                conn.sent = 0;
            }
        }
        self.update(slot);
    }

    /// Brings a connection's operations in line with its state: send what is owed, resume a
    /// paused session, receive while it may (cancel the receive when not), free it when done.
    fn update(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot) else {
            return;
        };
        if conn.aborted && !conn.sending {
            conn.pending.clear();
            conn.inflight.clear();
            conn.sent = 0;
        }
        loop {
            if !conn.sending && conn.inflight.is_empty() && !conn.pending.is_empty() {
                std::mem::swap(&mut conn.inflight, &mut conn.pending);
            }
            if !conn.sending && conn.sent < conn.inflight.len() {
                let rest = &conn.inflight[conn.sent..];
                let entry = opcode::Send::new(
                    types::Fd(conn.stream.as_raw_fd()),
                    rest.as_ptr(),
                    rest.len() as u32,
                )
                .flags(libc::MSG_NOSIGNAL)
                .build()
                .user_data(Op::Send.token(slot));
                conn.sending = true;
                // SAFETY: `inflight` is not touched until this send completes (see Conn).
                push_entry(&mut self.ring, entry);
            }
            if conn.paused && conn.owed() == 0 && !conn.closing {
                let step = conn.http.as_mut().map_or(Step::Continue, |h| h.resume());
                conn.take_http_output(step);
                continue;
            }
            break;
        }
        let want_input = !conn.closing && !conn.eof && !conn.paused && conn.owed() < MAX_OUTPUT;
        if want_input && !conn.recv_armed {
            let entry = opcode::RecvMulti::new(types::Fd(conn.stream.as_raw_fd()), TCP_GROUP)
                .build()
                .user_data(Op::Recv.token(slot));
            conn.recv_armed = true;
            conn.cancelling = false;
            push_entry(&mut self.ring, entry);
        } else if !want_input && conn.recv_armed && !conn.cancelling {
            let entry = opcode::AsyncCancel::new(Op::Recv.token(slot))
                .build()
                .user_data(Op::Cancel.token(slot));
            conn.cancelling = true;
            push_entry(&mut self.ring, entry);
        }
        let finished = conn.closing || (conn.eof && !conn.paused);
        if finished && !conn.sending && conn.owed() == 0 && !conn.recv_armed {
            self.conns.remove(slot); // closes the socket: nothing of it is in flight
            return;
        }
        track_deadline(conn, slot, &mut self.deadlines);
    }

    /// Wakes every session whose deadline has come: one whose header or body deadline passed
    /// answers `408` and closes; the others name their next deadline.
    pub(crate) fn fire_deadlines(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((due, slot))) = self.deadlines.peek() {
            if due > now {
                return;
            }
            self.deadlines.pop();
            let Some(conn) = self.conns.get_mut(slot) else {
                continue; // a connection that has closed since
            };
            if conn.deadline_at.is_some_and(|at| at <= now) {
                conn.deadline_at = None; // its earliest entry is the one that fired
            }
            let expired = conn.http.as_mut().is_some_and(|http| http.handle_timeout());
            if expired {
                conn.take_http_output(Step::CloseAfterFlush);
            }
            self.update(slot);
        }
    }
}

/// A connection failed (reset, or a send error): nothing owed can be delivered any more.
fn abort(conn: &mut Conn) {
    conn.closing = true;
    conn.aborted = true;
    conn.paused = false;
}

/// Makes sure `deadlines` holds an entry due no later than the session's next deadline.
fn track_deadline(
    conn: &mut Conn,
    slot: usize,
    deadlines: &mut BinaryHeap<Reverse<(Instant, usize)>>,
) {
    let Some(due) = conn.http.as_ref().and_then(|http| http.poll_timeout()) else {
        return;
    };
    if conn.deadline_at.is_none_or(|at| due < at) {
        conn.deadline_at = Some(due);
        deadlines.push(Reverse((due, slot)));
    }
}
