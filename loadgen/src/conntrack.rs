//! The kernel's connection-tracking table, when netfilter keeps one (a firewall with NAT, a
//! container engine's networking): every connection the generator opens takes an entry, even
//! on loopback, and a closed one keeps it for a while (two minutes after a close by default).
//! A run that opens connections fast, one per request above all, can fill the table; the
//! kernel then drops new connections' packets, and connects stall for seconds with nothing in
//! the generator to blame. The run reads the table's use at its end so that its report can
//! name the cause.

use std::path::Path;

/// Share of the table in use from which a run's report names it.
pub const NEARLY_FULL: f64 = 0.9;

/// The table's entries in use and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conntrack {
    /// Entries in use.
    pub count: u64,
    /// Entries the table holds.
    pub max: u64,
}

impl Conntrack {
    /// The table as `/proc` shows it now; `None` where netfilter tracks no connections.
    pub fn read() -> Option<Conntrack> {
        Self::read_from(Path::new("/proc/sys/net/netfilter"))
    }

    fn read_from(dir: &Path) -> Option<Conntrack> {
        let number = |name: &str| -> Option<u64> {
            std::fs::read_to_string(dir.join(name))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(Conntrack {
            count: number("nf_conntrack_count")?,
            max: number("nf_conntrack_max")?,
        })
    }

    /// At least [`NEARLY_FULL`] of the table is in use.
    pub fn nearly_full(&self) -> bool {
        self.max > 0 && self.count as f64 >= NEARLY_FULL * self.max as f64
    }

    /// What a report says of a nearly full table.
    pub fn explain(&self) -> String {
        format!(
            "the kernel's connection-tracking table is nearly full ({} of {} entries): it \
             drops new connections' packets, so connects stall; wait for old entries to \
             expire, raise net.netfilter.nf_conntrack_max, or exempt loopback from tracking",
            self.count, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_says_when_it_is_nearly_full() {
        let dir = std::env::temp_dir().join(format!("conntrack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Conntrack::read_from(&dir), None, "no table: no netfilter");
        std::fs::write(dir.join("nf_conntrack_count"), "235930\n").unwrap();
        std::fs::write(dir.join("nf_conntrack_max"), "262144\n").unwrap();
        let t = Conntrack::read_from(&dir).unwrap();
        assert_eq!(
            t,
            Conntrack {
                count: 235_930,
                max: 262_144
            }
        );
        assert!(t.nearly_full());
        assert!(t.explain().contains("235930 of 262144"), "{}", t.explain());
        assert!(!Conntrack {
            count: 1000,
            max: 262_144
        }
        .nearly_full());
        assert!(!Conntrack { count: 0, max: 0 }.nearly_full());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
