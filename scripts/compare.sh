#!/usr/bin/env bash
# Compare server designs under the same load, in one command.
#
# Usage: scripts/compare.sh [--private-net | --host-net] [--quick] [compare options...]
#   e.g. scripts/compare.sh --quick --designs-file my-server.toml
#        scripts/compare.sh --quick --baseline old/report.json --fail-on-regression
#
# --private-net (root): the comparison runs in a network namespace of its own with only
# loopback up (scripts/lib/private-net.sh), where the host's firewall and connection tracking
# see none of its traffic. Use it where the host runs NAT (a container engine, a firewall):
# there netfilter tracks every loopback connection for two minutes after its close, and the
# scenarios that connect per request fill its table until connects stall. The comparison
# notices tracking at its start and says so in the report. Run as root where the kernel's
# connection tracking is loaded (/proc/sys/net/netfilter/nf_conntrack_count exists), it is the
# default, said in one line; --host-net keeps the comparison on the host's network.
#
# Installs the peers it can (python3, nginx, and perf; with scripts/lib/ensure-tools.sh: apt-get as
# root or via sudo, saying what and why first, asking nothing, leaving no system service running;
# a peer that cannot be installed is skipped with one line in the report),
# builds the workspace in release mode, then runs target/release/compare (crate compare/), which:
#   - reads the designs from compare/designs.toml (the mio reactor, the reactor with --threads 2,
#     the alternatives in designs/, and real peers: nginx and the seeds' two Python servers)
#     plus any --designs-file, and the scenarios and curves from compare/scenarios.toml;
#   - starts every design on free loopback ports, ready at its `listening` lines or when its
#     ports answer;
#   - drives each with reactor-loadgen through every scenario it can take (closed-loop TCP,
#     UDP and HTTP loads, and a curve: open-loop runs at shares of the slowest design's
#     capacity), each with a warm-up and repeated runs;
#   - pins the server to the first half of the CPUs and the generator to the rest
#     (on 2 CPUs: server on CPU 0, generator on CPU 1);
#   - records server CPU time per request split into user and system (/proc/PID/stat), system
#     calls and context switches per request (perf stat, in one extra run per row, where perf
#     works), peak RSS (VmHWM), generator CPU, and which side was the limit;
#   - runs the designs in turn within each repeat; a repeat the generator marks invalid, or taken
#     while other processes held the cores (--max-outside-load), is retried at most twice and
#     never enters a figure (the report counts them);
#   - writes target/compare/report.md, report.json and SVG charts, and prints the report: medians
#     with 95% intervals, and conclusions against the reactor only where an interval allows one;
#     with --baseline, adds regression/improvement/unclear/same verdicts against an earlier
#     report.json (a rank test over the repeats, at most 1% false alarms per figure; --gate picks
#     the figures that decide; scripts/aa-ab.sh measures how often the verdicts are right).
#
# --quick takes a few minutes (what CI runs); without it each scenario runs longer (about an
# hour with every peer). Exit status: 0 when everything that ran passed; 1 when a design
# failed to start, an echo was not verified or a request failed; 3 with --fail-on-regression
# on a regression. Never fails because of speed alone.
#
# Every process it starts is killed by PID when it ends, also on failure or Ctrl-C.
# `scripts/compare.sh --help` lists the other options (design/scenario filters, repeats, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    echo
    echo "Options of the compare binary:"
    cargo run --quiet --release -p reactor-compare --bin compare -- --help
    exit 0
    ;;
esac

# Peers and perf are optional: a failed install only means they are skipped in the report
# (perf counts system calls and context switches per request).
# One at a time, so a package missing from this distribution does not keep the others from
# being installed. ensure-tools.sh names each package and why before installing it, and stops
# and disables the system nginx that Debian's package would start.
echo "compare.sh: setup: python3 and nginx (peers to compare against), perf (system calls per request); missing ones are installed with apt-get" >&2
for tool in python3 nginx perf; do
  scripts/lib/ensure-tools.sh "$tool" ||
    echo "compare.sh: could not install $tool; the report says what is skipped" >&2
done

# --private-net and --host-net are this script's: taken out wherever they are, the rest goes to
# the binary.
net=auto
args=()
for arg in "$@"; do
  case "$arg" in
    --private-net) net=private ;;
    --host-net) net=host ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$net" = auto ] && [ "$(id -u)" = 0 ] && [ -e /proc/sys/net/netfilter/nf_conntrack_count ] &&
  command -v unshare >/dev/null && command -v ip >/dev/null; then
  echo "compare.sh: the kernel tracks connections here (nf_conntrack), which connection-per-request scenarios can fill: running in a network namespace of its own (--host-net to stay on the host's network)" >&2
  net=private
fi
runner=()
[ "$net" = private ] && runner=(scripts/lib/private-net.sh)

echo "compare.sh: building the workspace (release)" >&2
cargo build --release --workspace --bins

# The compare binary kills its children by PID on exit and on SIGINT/SIGTERM, and they also get
# SIGKILL from the kernel if it dies (PR_SET_PDEATHSIG). The trap here covers the binary itself.
compare_pid=""
# shellcheck disable=SC2317,SC2329 # invoked by the traps below
cleanup() {
  if [ -n "$compare_pid" ] && kill -0 "$compare_pid" 2>/dev/null; then
    kill -TERM "$compare_pid" 2>/dev/null || true
    wait "$compare_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# private-net.sh execs the binary, so $compare_pid is the comparison's own PID either way.
COMPARE_COMMAND="scripts/compare.sh $*" "${runner[@]}" target/release/compare "${args[@]}" &
compare_pid=$!
status=0
wait "$compare_pid" || status=$?
compare_pid=""
exit "$status"
