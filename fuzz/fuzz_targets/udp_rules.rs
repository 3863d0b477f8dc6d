//! The datagram rules: the queue never holds more than its bounds, keeps FIFO order and counts
//! every datagram it refuses; `classify` never echoes a datagram that was truncated.
#![no_main]

use std::collections::VecDeque;
use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use reactor_proto::udp::{classify, DatagramQueue, DatagramFate};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let max_items = usize::from(data[0] % 16) + 1;
    let max_bytes = usize::from(data[1]) * 8;
    let mut queue = DatagramQueue::new(max_items, max_bytes);
    let mut model: VecDeque<Vec<u8>> = VecDeque::new();
    let mut refused = 0u64;
    let peer: SocketAddr = ([127, 0, 0, 1], 9).into();
    for (i, op) in data[2..].chunks(2).enumerate() {
        let [kind, size] = [op[0], *op.get(1).unwrap_or(&0)];
        if kind % 3 == 0 {
            let popped = queue.pop().map(|q| q.payload);
            assert_eq!(popped, model.pop_front());
        } else {
            let payload = vec![i as u8; usize::from(size)];
            let bytes: usize = model.iter().map(Vec::len).sum();
            let fits = model.len() < max_items && bytes + payload.len() <= max_bytes;
            assert_eq!(queue.push(peer, &payload), fits);
            if fits {
                model.push_back(payload);
            } else {
                refused += 1;
            }
        }
        assert!(queue.len() <= max_items && queue.bytes() <= max_bytes);
        assert_eq!(queue.len(), model.len());
        assert_eq!(queue.dropped(), refused);
        let real = usize::from(size) * 300;
        let buffer = usize::from(kind) * 200;
        let fate = classify(real, buffer, max_bytes);
        assert_eq!(
            fate == DatagramFate::Echo,
            real <= buffer && real <= max_bytes
        );
    }
});
