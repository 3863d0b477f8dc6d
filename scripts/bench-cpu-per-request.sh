#!/usr/bin/env bash
# Server CPU time per request of two or more server designs under the same closed-loop load,
# side by side in one run: each server pinned to CPU 0 (`taskset -c 0`), reactor-loadgen to CPU 1.
#
#   scripts/bench-cpu-per-request.sh [options] NAME=COMMAND NAME=COMMAND ...
#
#   -w tcp|udp     workload (default udp); the server gets --tcp or --udp 127.0.0.1:0
#   -c N           connections / UDP sockets (default 16)
#   -p N           requests in flight per connection (default 4)
#   -s BYTES       payload size (default 64)
#   -d SECONDS     measured seconds per run (default 4), after a 1 s warm-up run
#   -r N           runs per design, alternating designs (default 5)
#   -x             also count system calls and context switches (perf stat) in one extra run each
#
# The CPU time is the server's on-CPU time over the measured run, summed over its threads from
# /proc/PID/task/*/schedstat (nanoseconds), plus the user/system split from /proc/PID/stat.
# Prints one line per run, then per design the median, min and max of µs/request and the
# median's ratio to the first design's. Run it under the exclusive lock on a shared machine:
#   flock -x -w 1800 /work/locks/cpu scripts/bench-cpu-per-request.sh ...
# Builds nothing: give the commands of release binaries (e.g. target/release/reactor-server).
set -euo pipefail
cd "$(dirname "$0")/.."

workload=udp conns=16 pipeline=4 size=64 duration=4 repeats=5 syscalls=0
while getopts "w:c:p:s:d:r:x" opt; do
  case $opt in
    w) workload=$OPTARG ;;
    c) conns=$OPTARG ;;
    p) pipeline=$OPTARG ;;
    s) size=$OPTARG ;;
    d) duration=$OPTARG ;;
    r) repeats=$OPTARG ;;
    x) syscalls=1 ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
loadgen=${LOADGEN:-target/release/reactor-loadgen}
[ -x "$loadgen" ] || { echo "no $loadgen (cargo build --release -p reactor-loadgen)"; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# On-CPU nanoseconds of every thread of $1.
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}
# utime and stime (clock ticks) of $1.
user_sys() {
  sed 's/.*) //' /proc/"$1"/stat | awk '{print $12, $13}'
}

# run NAME COMMAND MODE: one warm-up and one measured run; appends a result line to results.
run() {
  local name=$1 cmd=$2 mode=$3
  # shellcheck disable=SC2086 # the command is a word list on purpose
  taskset -c 0 $cmd "--$workload" 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  local addr=
  for _ in $(seq 100); do
    addr=$(awk -v w="$workload" '$1 == "listening" && $2 == w {print $3; exit}' "$work/server.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "$name did not start:"; cat "$work/server.err"; exit 1; }
  local args=("$workload" "$addr" -c "$conns" --pipeline "$pipeline" --size "$size")
  taskset -c 1 "$loadgen" "${args[@]}" -d 1s >/dev/null 2>&1
  local perf_pid=
  if [ "$mode" = syscalls ]; then
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$server_pid" \
      -o "$work/perf.csv" 2>/dev/null &
    perf_pid=$!
    sleep 0.2
  fi
  local ns0 us0 ns1 us1
  ns0=$(cpu_ns "$server_pid")
  us0=$(user_sys "$server_pid")
  taskset -c 1 "$loadgen" "${args[@]}" -d "${duration}s" --json "$work/run.json" >/dev/null 2>&1
  ns1=$(cpu_ns "$server_pid")
  us1=$(user_sys "$server_pid")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
  fi
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  python3 - "$name" "$mode" "$work/run.json" "$ns0" "$ns1" "$us0" "$us1" "$work/perf.csv" \
    >>"$work/results" <<'PY'
import json, os, sys
name, mode, path, ns0, ns1, us0, us1, perf = sys.argv[1:]
r = json.load(open(path))
reqs = r["requests"]
if reqs <= 0 or r["errors"]["total"] or r["verify_failures"]:
    raise SystemExit(f"{name}: requests={reqs} errors={r['errors']} verify={r['verify_failures']}")
u0, s0 = map(int, us0.split()); u1, s1 = map(int, us1.split())
ticks = (u1 - u0) + (s1 - s0)
sys_share = (s1 - s0) / ticks if ticks else 0.0
line = {"name": name, "mode": mode, "rps": r["rps"], "requests": reqs,
        "cpu_us": (int(ns1) - int(ns0)) / 1000 / reqs, "sys_share": sys_share}
if mode == "syscalls" and os.path.exists(perf):
    for row in open(perf):
        f = row.strip().split(",")
        if len(f) > 2 and f[0].isdigit():
            key = "syscalls" if "sys_enter" in f[2] else "cswitch"
            line[key + "_per_req"] = int(f[0]) / reqs
print(json.dumps(line))
PY
  tail -n1 "$work/results"
}

echo "bench: $workload -c $conns --pipeline $pipeline --size $size, ${duration}s x $repeats," \
  "server on CPU 0, reactor-loadgen on CPU 1"
for _ in $(seq "$repeats"); do
  for spec in "$@"; do
    run "${spec%%=*}" "${spec#*=}" cpu
  done
done
if [ "$syscalls" = 1 ]; then
  for spec in "$@"; do
    run "${spec%%=*}" "${spec#*=}" syscalls
  done
fi
python3 - "$work/results" "${@%%=*}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = sys.argv[2:]
base = None
print(f"{'design':<16}{'µs/req median':>14}{'min':>8}{'max':>8}{'sys %':>7}{'req/s':>10}"
      f"{'ratio':>8}{'sysc/req':>10}{'cs/req':>8}")
for name in names:
    cpu = [r for r in rows if r["name"] == name and r["mode"] == "cpu"]
    us = sorted(r["cpu_us"] for r in cpu)
    med = statistics.median(us)
    base = base or med
    sysc = [r for r in rows if r["name"] == name and r["mode"] == "syscalls"]
    sc = f"{sysc[0].get('syscalls_per_req', float('nan')):.3f}" if sysc else "-"
    cs = f"{sysc[0].get('cswitch_per_req', float('nan')):.4f}" if sysc else "-"
    print(f"{name:<16}{med:>14.3f}{us[0]:>8.3f}{us[-1]:>8.3f}"
          f"{100 * statistics.median(r['sys_share'] for r in cpu):>7.0f}"
          f"{statistics.median(r['rps'] for r in cpu):>10.0f}{med / base:>8.2f}{sc:>10}{cs:>8}")
PY
