//! Whether netfilter's connection tracking sees this comparison's loopback traffic.
//!
//! Where the host runs NAT (a container engine's networking, a firewall), the kernel tracks
//! every connection in the network namespace, loopback included, and keeps a closed one for two
//! minutes. Scenarios that open a connection per request add thousands of entries a second; the
//! table (262144 entries by default) fills in about a minute, and the kernel then drops new
//! connections' packets, so connects stall for reasons that have nothing to do with the designs.
//! The comparison probes once at its start (one loopback connection, with the table's count
//! read around it) so that the report can say so before a row fails, and name the way out: a
//! network namespace of the comparison's own (`scripts/compare.sh --private-net`).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;

use serde::Serialize;

/// Where the kernel shows the table of this process's network namespace.
const PROC_DIR: &str = "/proc/sys/net/netfilter";

/// The connection-tracking table of this network namespace, when it tracks loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoopbackTracking {
    /// Entries in use just after the probe's connection.
    pub count: u64,
    /// Entries the table holds.
    pub max: u64,
}

impl LoopbackTracking {
    /// Makes one loopback connection and reports the table if its count rose across it; `None`
    /// where netfilter keeps no table here, or keeps one that did not take the connection.
    pub fn probe() -> Option<LoopbackTracking> {
        let dir = Path::new(PROC_DIR);
        let before = read_count(dir, "nf_conntrack_count")?;
        connect_once()?;
        let after = read_count(dir, "nf_conntrack_count")?;
        let max = read_count(dir, "nf_conntrack_max")?;
        tracked(before, after, max)
    }

    /// One line for the report and the terminal.
    pub fn describe(&self) -> String {
        format!(
            "netfilter tracks loopback connections here (table {} of {} entries at the start): \
             each closed connection holds an entry for two minutes, so scenarios that connect per \
             request can fill the table, and then connects stall; `scripts/compare.sh \
             --private-net` (root) runs the comparison in a network namespace of its own, \
             where nothing is tracked",
            self.count, self.max
        )
    }
}

/// The table as the probe saw it, if the connection took an entry.
fn tracked(before: u64, after: u64, max: u64) -> Option<LoopbackTracking> {
    (after > before).then_some(LoopbackTracking { count: after, max })
}

fn read_count(dir: &Path, name: &str) -> Option<u64> {
    std::fs::read_to_string(dir.join(name))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A connection to a listener of its own on 127.0.0.1, accepted, then closed by both sides.
fn connect_once() -> Option<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let client = TcpStream::connect(listener.local_addr().ok()?).ok()?;
    let (server, _) = listener.accept().ok()?;
    drop((client, server));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_that_rose_across_the_connection_means_loopback_is_tracked() {
        assert_eq!(
            tracked(41, 42, 262_144),
            Some(LoopbackTracking {
                count: 42,
                max: 262_144
            })
        );
        assert_eq!(tracked(42, 42, 262_144), None);
        assert_eq!(
            tracked(43, 42, 262_144),
            None,
            "entries that expired meanwhile"
        );
    }

    #[test]
    fn counts_are_read_as_the_kernel_writes_them() {
        let dir = std::env::temp_dir().join(format!("compare-conntrack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nf_conntrack_count"), "235930\n").unwrap();
        assert_eq!(read_count(&dir, "nf_conntrack_count"), Some(235_930));
        assert_eq!(read_count(&dir, "nf_conntrack_max"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_description_names_the_table_and_the_way_out() {
        let text = LoopbackTracking {
            count: 7,
            max: 65_536,
        }
        .describe();
        assert!(text.contains("7 of 65536 entries"), "{text}");
        assert!(text.contains("--private-net"), "{text}");
    }
}
