//! UDP echo: one multishot recvmsg into its own buffer ring, each datagram sent back from the
//! buffer it arrived in.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use io_uring::{cqueue, opcode, types, IoUring};
use reactor_designs::datagram_fate;
use reactor_proto::udp::DatagramFate;

use crate::bufring::BufRing;
use crate::{push_entry, Op, Server, UDP_BUFS, UDP_BUF_LEN, UDP_GROUP, UDP_NAME_LEN};

/// The UDP socket, its buffer ring, the header its multishot recvmsg uses, and one send header
/// per buffer (a buffer is echoed straight from where it was received).
pub(crate) struct Udp {
    socket: UdpSocket,
    bufs: BufRing,
    recv_msg: Box<libc::msghdr>,
    sends: Box<[(libc::msghdr, libc::iovec)]>,
    /// Buffers held by sends in flight (not in the ring).
    held: usize,
    armed: bool,
}

impl Udp {
    pub(crate) fn new(ring: &IoUring, socket: UdpSocket) -> anyhow::Result<Udp> {
        // SAFETY: all-zero is a valid msghdr and iovec (null pointers, zero lengths).
        let zeroed = || unsafe { std::mem::zeroed::<(libc::msghdr, libc::iovec)>() };
        let mut recv_msg: Box<libc::msghdr> = Box::new(zeroed().0);
        recv_msg.msg_namelen = UDP_NAME_LEN;
        Ok(Udp {
            socket,
            bufs: BufRing::new(ring, UDP_GROUP, UDP_BUFS, UDP_BUF_LEN)?,
            recv_msg,
            sends: (0..UDP_BUFS).map(|_| zeroed()).collect(),
            held: 0,
            armed: false,
        })
    }
}

impl Server {
    pub(crate) fn udp_arm(&mut self) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        if udp.armed {
            return;
        }
        let entry = opcode::RecvMsgMulti::new(
            types::Fd(udp.socket.as_raw_fd()),
            std::ptr::addr_of!(*udp.recv_msg),
            UDP_GROUP,
        )
        .build()
        .user_data(Op::UdpRecv.token(0));
        udp.armed = true;
        push_entry(&mut self.ring, entry);
    }

    pub(crate) fn on_udp_recv(&mut self, result: i32, flags: u32) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        if !cqueue::more(flags) {
            udp.armed = false;
        }
        if result == -libc::EINVAL {
            eprintln!("design-uring: the kernel lacks multishot recvmsg (Linux 6.0+)");
            std::process::exit(1);
        }
        if let Some(bid) = cqueue::buffer_select(flags) {
            if result < 0 || !udp_echo(udp, bid, result as usize, &mut self.ring) {
                udp.bufs.recycle(bid);
            }
        }
        // Out of buffers while every one waits for its echo to be sent: re-armed when a send
        // returns one, not now, which would only fail again.
        let starved = result == -libc::ENOBUFS && udp.held == usize::from(UDP_BUFS);
        if !udp.armed && !starved {
            self.udp_arm();
        }
    }

    pub(crate) fn on_udp_send(&mut self, bid: u16) {
        let Some(udp) = self.udp.as_mut() else {
            return;
        };
        udp.bufs.recycle(bid);
        udp.held -= 1;
        if !udp.armed {
            self.udp_arm();
        }
    }
}

/// Sends a received datagram back from its buffer; false when it is not echoed (the caller
/// recycles the buffer).
fn udp_echo(udp: &mut Udp, bid: u16, filled: usize, ring: &mut IoUring) -> bool {
    let data = udp.bufs.data(bid, filled);
    let Ok(out) = types::RecvMsgOut::parse(data, &udp.recv_msg) else {
        return false;
    };
    let len = out.incoming_payload_len() as usize;
    if out.is_payload_truncated()
        || out.is_name_data_truncated()
        || datagram_fate(len) != DatagramFate::Echo
    {
        return false;
    }
    let (name, payload) = (out.name_data(), out.payload_data());
    let (msg, iov) = &mut udp.sends[usize::from(bid)];
    *iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    msg.msg_name = name.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = name.len() as u32;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    let entry = opcode::SendMsg::new(types::Fd(udp.socket.as_raw_fd()), msg)
        .build()
        .user_data(Op::UdpSend.token(usize::from(bid)));
    // SAFETY: the header and the buffer it points into stay untouched until the send completes
    // (the buffer is recycled only then).
    push_entry(ring, entry);
    udp.held += 1;
    true
}
