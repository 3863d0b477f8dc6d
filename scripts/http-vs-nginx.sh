#!/usr/bin/env bash
# HTTP "Hello, client!": reactor-server against nginx, measured with wrk, in one run.
#
# Usage: scripts/http-vs-nginx.sh
# Environment (all optional): DURATION (seconds per wrk run, default 8), CONNS (wrk -c,
# default 64), WRK_THREADS (wrk -t, default 1), DEPTH (pipelining depth, default 16),
# SERVER_CPU (default 1), WRK_CPU (default 0), NO_BUILD=1 to skip the release build.
#
# What it does:
#   - builds target/release/reactor-server (cargo build --release -p reactor-server);
#   - starts nginx (/usr/sbin/nginx, one worker, `return 200 "Hello, client!"`, access log off,
#     keepalive_requests effectively unlimited) from a config in a mktemp dir, and
#     reactor-server --http 127.0.0.1:0 (port read from its `listening http` line);
#   - pins each server to SERVER_CPU and wrk to WRK_CPU with taskset;
#   - runs wrk --latency against each, without pipelining and with DEPTH requests per write
#     (a Lua script in the temp dir), after a one-second warm-up each;
#   - reports requests/s, p50/p99 latency, the server's CPU time per request (utime+stime delta
#     from /proc/PID/stat over the wrk run, divided by wrk's request count), the server's and
#     wrk's CPU use (share of one core), the CPU time everything else on the machine used meanwhile
#     (contention), and the ratios reactor/nginx, as a markdown table. Raw wrk outputs are kept
#     in target/http-vs-nginx/.
#
# Only loopback traffic; every wrk run is bounded by `timeout`; the servers are killed by
# their PIDs on exit (also on failure or Ctrl-C), and the temp dir removed.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
DEPTH=${DEPTH:-16}
SERVER_CPU=${SERVER_CPU:-1}
WRK_CPU=${WRK_CPU:-0}
NGINX=/usr/sbin/nginx
REACTOR=target/release/reactor-server
# wrk's raw outputs are kept here for inspection.
RAW_DIR=target/http-vs-nginx
CLK_TCK=$(getconf CLK_TCK)

for tool in "$NGINX" wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "http-vs-nginx: $tool not found" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "http-vs-nginx: fewer than 2 CPUs: server and wrk share CPU 0" >&2
  SERVER_CPU=0 WRK_CPU=0
fi

if [ -z "${NO_BUILD:-}" ]; then
  echo "http-vs-nginx: cargo build --release -p reactor-server" >&2
  cargo build --release -p reactor-server >&2
fi

tmp=$(mktemp -d -t http-vs-nginx.XXXXXX)
mkdir -p "$RAW_DIR"
# shellcheck source=scripts/lib/listening.sh
. scripts/lib/listening.sh
# shellcheck source=scripts/lib/stop-pids.sh
. scripts/lib/stop-pids.sh
# shellcheck source=scripts/lib/vs-nginx.sh
. scripts/lib/vs-nginx.sh
cleanup() {
  stop_pids "${STARTED_PIDS[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks of the waited-for children of this shell (cutime + cstime): wrk's CPU time.
children_ticks() {
  # $$ is the main shell even inside $(...).
  awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"
}

# Process CPU ticks of the whole machine, all CPUs: user + nice + system + steal. Interrupt
# and softirq time is left out: on loopback it is mostly the benchmark's own packet processing.
machine_busy_ticks() {
  awk '$1 == "cpu" { print $2 + $3 + $4 + $9; exit }' /proc/stat
}

# ----- nginx --------------------------------------------------------------------------------
nginx_port=$(free_port)
start_nginx_hello "$NGINX" "$tmp/nginx" "$SERVER_CPU" "127.0.0.1:$nginx_port"
nginx_pid=$NGINX_PID nginx_worker=$NGINX_WORKER
wait_hello "http://127.0.0.1:$nginx_port/" "$nginx_pid" || { cat "$tmp/nginx/stderr" >&2; exit 1; }

# ----- reactor-server -----------------------------------------------------------------------
start_reactor "$REACTOR" "$SERVER_CPU" "$tmp" http --http 127.0.0.1:0
reactor_pid=$REACTOR_PID reactor_addr=$REACTOR_ADDR
wait_hello "http://$reactor_addr/" "$reactor_pid"

# ----- wrk ----------------------------------------------------------------------------------
cat >"$tmp/pipeline.lua" <<EOF
-- $DEPTH requests per write (TechEmpower plaintext style).
init = function(args)
  local requests = {}
  for i = 1, $DEPTH do
    requests[i] = wrk.format(nil, "/")
  end
  batch = table.concat(requests)
end

request = function()
  return batch
end
EOF

# Latency from wrk's distribution line ("  99%  1.23ms") in microseconds.
latency_us() {
  awk -v p="$1" '$1 == p {
    v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
    f = (unit == "us") ? 1 : (unit == "ms") ? 1000 : (unit == "s") ? 1000000 : (unit == "m") ? 60000000 : 0;
    if (f == 0 || v + 0 == 0) print "?"; else printf "%.0f", v * f; exit }' "$2"
}

rows=()
declare -A result
# run_one NAME MODE URL CPU_PIDS...
run_one() {
  local name=$1 mode=$2 url=$3; shift 3
  local pids=("$@") script=() out="$tmp/wrk-$name-$mode.txt"
  [ "$mode" = "pipelined" ] && script=(-s "$tmp/pipeline.lua")
  # Warm-up (not measured).
  taskset -c "$WRK_CPU" timeout 10 wrk -t"$WRK_THREADS" -c"$CONNS" -d1s "${script[@]}" "$url" >/dev/null
  local before=0 after=0 pid wrk_before wrk_after start end
  for pid in "${pids[@]}"; do before=$((before + $(cpu_ticks "$pid"))); done
  wrk_before=$(children_ticks)
  local busy_before busy_after
  busy_before=$(machine_busy_ticks)
  start=$(date +%s.%N)
  taskset -c "$WRK_CPU" timeout $((DURATION + 15)) \
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${script[@]}" "$url" >"$out"
  end=$(date +%s.%N)
  busy_after=$(machine_busy_ticks)
  wrk_after=$(children_ticks)
  for pid in "${pids[@]}"; do after=$((after + $(cpu_ticks "$pid"))); done
  local requests rps p50 p99 errors non2xx
  requests=$(awk '/requests in/ { print $1; exit }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
  p50=$(latency_us "50%" "$out")
  p99=$(latency_us "99%" "$out")
  if [ "$p99" = "?" ]; then
    # Fall back to wrk's maximum, marked as such.
    p99="? (max $(awk '$1 == "Latency" { print $4; exit }' "$out"))"
  fi
  errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$out")
  non2xx=$(awk '/Non-2xx/ { print $NF; exit }' "$out")
  errors=$(( ${errors:-0} + ${non2xx:-0} ))
  cp "$out" "$RAW_DIR/"
  local cpu_us_per_req server_util wrk_util
  cpu_us_per_req=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
    'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  server_util=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v s="$start" -v e="$end" \
    'BEGIN { printf "%.0f", 100 * t / hz / (e - s) }')
  wrk_util=$(awk -v t=$((wrk_after - wrk_before)) -v hz="$CLK_TCK" -v s="$start" -v e="$end" \
    'BEGIN { printf "%.0f", 100 * t / hz / (e - s) }')
  # Everything else that ran meanwhile (other processes, interrupts): contention for the CPUs.
  local others_util
  others_util=$(awk -v t=$((busy_after - busy_before - (after - before) - (wrk_after - wrk_before))) \
    -v hz="$CLK_TCK" -v s="$start" -v e="$end" 'BEGIN { v = 100 * t / hz / (e - s); if (v < 0) v = 0; printf "%.0f", v }')
  result[$name-$mode-rps]=$rps
  result[$name-$mode-p99]=$p99
  result[$name-$mode-cpu]=$cpu_us_per_req
  rows+=("| $mode | $name | $(printf '%.0f' "$rps") | $p50 | $p99 | $cpu_us_per_req | ${server_util}% | ${wrk_util}% | ${others_util}% | $errors |")
  echo "http-vs-nginx: $name $mode done ($requests requests)" >&2
}

for mode in plain pipelined; do
  run_one nginx "$mode" "http://127.0.0.1:$nginx_port/" "$nginx_pid" "$nginx_worker"
  run_one reactor "$mode" "http://$reactor_addr/" "$reactor_pid"
done

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'
}

echo
echo "Command: scripts/http-vs-nginx.sh (DURATION=$DURATION CONNS=$CONNS WRK_THREADS=$WRK_THREADS DEPTH=$DEPTH)"
echo "Pinning: each server on CPU $SERVER_CPU (taskset -c $SERVER_CPU), wrk on CPU $WRK_CPU (taskset -c $WRK_CPU); $(nproc) CPUs, $(uname -r)"
echo "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency; pipelined = $DEPTH requests per write; 1 s warm-up each"
echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), 1 worker, access_log off, keepalive_requests 1000000000"
echo "reactor: $REACTOR --http $reactor_addr"
echo "CPU/req = server utime+stime delta (/proc/PID/stat, ${CLK_TCK} Hz ticks) over the wrk run / wrk's requests;"
echo "server CPU and wrk CPU = their CPU time over the run's wall time (100% = one core saturated);"
echo "other CPU = user+system+steal time of everything else on the machine over the run (contention:"
echo "results are only meaningful when it is near 0%). p99 \"? (max ...)\" = wrk printed 0.00us for"
echo "that percentile (a wrk reporting quirk seen with pipelining), so its maximum latency is shown."
echo "wrk's raw outputs: $RAW_DIR/"
echo
echo "| mode | server | requests/s | p50 (µs) | p99 (µs) | CPU/req (µs) | server CPU | wrk CPU | other CPU | errors |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "| mode | reactor/nginx requests/s | reactor/nginx p99 | reactor/nginx CPU/req |"
echo "| --- | ---: | ---: | ---: |"
for mode in plain pipelined; do
  echo "| $mode | $(ratio "${result[reactor-$mode-rps]}" "${result[nginx-$mode-rps]}") | $(ratio "${result[reactor-$mode-p99]}" "${result[nginx-$mode-p99]}") | $(ratio "${result[reactor-$mode-cpu]}" "${result[nginx-$mode-cpu]}") |"
done
