#!/usr/bin/env bash
# Compare the server designs under the same load, in one command.
#
# Usage: scripts/compare.sh [--quick] [compare options...]
#
# Builds the workspace in release mode, then runs target/release/compare, which:
#   - starts every design on ephemeral loopback ports (reading their `listening` lines):
#     the mio reactor (server/), the reactor with --threads 2 when it offers that flag, and the
#     alternatives in benches/ (thread per connection, tokio current_thread, tokio multi-thread,
#     io_uring when built);
#   - drives each with reactor-loadgen through the scenarios of issue 5 (TCP 64 B with 1, 64
#     and 1,000 connections; TCP 16 KiB with 64; UDP 64 B; HTTP keep-alive with 64; one
#     open-loop run at a fixed rate), each with a warm-up and repeated runs;
#   - pins the server to the first half of the CPUs and the generator to the rest
#     (on 2 CPUs: server on CPU 0, generator on CPU 1);
#   - records server CPU time per request (/proc/PID/stat), peak RSS (VmHWM), generator CPU;
#   - writes target/compare/report.md, report.json and SVG charts, and prints the report.
#
# --quick takes about two minutes (what CI runs); without it each scenario runs longer
# (about 15 minutes). Exit status: 0 when every design started, every echo was verified and
# no request failed; non-zero otherwise. Never fails because of speed.
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
    cargo run --quiet --release -p reactor-designs --bin compare -- --help
    exit 0
    ;;
esac

echo "compare.sh: building the workspace (release)" >&2
cargo build --release --workspace --bins

# The compare binary kills its children by PID on exit and on SIGINT/SIGTERM, and they also get
# SIGKILL from the kernel if it dies (PR_SET_PDEATHSIG). The trap here covers the binary itself.
compare_pid=""
# shellcheck disable=SC2329 # invoked by the traps below
cleanup() {
  if [ -n "$compare_pid" ] && kill -0 "$compare_pid" 2>/dev/null; then
    kill -TERM "$compare_pid" 2>/dev/null || true
    wait "$compare_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

COMPARE_COMMAND="scripts/compare.sh $*" target/release/compare "$@" &
compare_pid=$!
status=0
wait "$compare_pid" || status=$?
compare_pid=""
exit "$status"
