#!/usr/bin/env bash
# A/B of two reactor-server binaries: server CPU µs per request under the same closed-loop load,
# runs alternating A, B, A, B, ... so drift on a shared VM hits both alike. Prints each run and
# the median and min–max per binary, and the ratio of medians (B / A).
#
# Server pinned to CPU 0, reactor-loadgen to CPU 1 (taskset). CPU time is utime + stime of the
# server from /proc/PID/stat over the measured window only (after the warm-up).
#
# Usage: scripts/ab-server-cpu.sh A_BIN B_BIN [tcp|udp|http] [REPEATS] [SECONDS]
#   e.g. scripts/ab-server-cpu.sh /tmp/reactor-old target/release/reactor-server tcp 5 4
# Env: LOADGEN (default target/release/reactor-loadgen), CONNS (64), SIZE (64).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || {
  sed -n '2,12p' "$0" >&2
  exit 2
}
a_bin=$1 b_bin=$2 proto=${3:-tcp} repeats=${4:-5} secs=${5:-4}
loadgen=${LOADGEN:-target/release/reactor-loadgen}
conns=${CONNS:-64} size=${SIZE:-64}
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One run of binary $1: sets run_requests and run_us (server CPU µs per request). Runs in this
# shell (not a subshell), so the EXIT trap knows the server's PID.
run_once() {
  local bin=$1 addr target before after requests
  case $proto in
    tcp) taskset -c 0 "$bin" --tcp 127.0.0.1:0 >"$work/out" 2>/dev/null & ;;
    udp) taskset -c 0 "$bin" --udp 127.0.0.1:0 >"$work/out" 2>/dev/null & ;;
    http) taskset -c 0 "$bin" --http 127.0.0.1:0 >"$work/out" 2>/dev/null & ;;
    *) echo "unknown protocol $proto" >&2 && exit 2 ;;
  esac
  server_pid=$!
  addr=""
  for _ in $(seq 200); do
    addr=$(awk '$1 == "listening" { print $3; exit }' "$work/out")
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "server $bin printed no listening line" >&2 && exit 1; }
  target=$addr
  [ "$proto" = http ] && target="http://$addr/"
  # Warm-up, then the measured window: the CPU ticks are read around the measured run only.
  taskset -c 1 "$loadgen" "$proto" "$target" -c "$conns" --size "$size" -d 1s >/dev/null 2>&1 || true
  before=$(cpu_ticks "$server_pid")
  taskset -c 1 "$loadgen" "$proto" "$target" -c "$conns" --size "$size" -d "${secs}s" --json "$work/run.json" >/dev/null 2>&1
  after=$(cpu_ticks "$server_pid")
  kill -TERM "$server_pid" && wait "$server_pid" 2>/dev/null || true
  server_pid=""
  requests=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["requests"]["ok"] if isinstance(d["requests"], dict) else d["requests"])' "$work/run.json")
  run_requests=$requests
  run_us=$(python3 -c 'import sys; t, n, hz = map(float, sys.argv[1:]); print(round(t / hz * 1e6 / n, 3))' "$((after - before))" "$requests" "$hz")
}

declare -a a_runs b_runs
for i in $(seq "$repeats"); do
  run_once "$a_bin"
  a_runs+=("$run_us")
  echo "run $i A: $run_requests requests, $run_us µs server CPU/request"
  run_once "$b_bin"
  b_runs+=("$run_us")
  echo "run $i B: $run_requests requests, $run_us µs server CPU/request"
done
python3 - "${a_runs[*]}" "${b_runs[*]}" <<'EOF'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
for name, runs in (("A", a), ("B", b)):
    print(f"{name}: median {statistics.median(runs):.3f} µs/request (min {min(runs):.3f}, max {max(runs):.3f}, n={len(runs)})")
print(f"B/A: {statistics.median(b) / statistics.median(a):.3f}")
EOF
