#!/usr/bin/env bash
# reactor-loadgen against wrk, in one run, on the same nginx "hello" and the same
# threads/connections. Prints both request rates and latencies.
#
#   scripts/loadgen-vs-wrk.sh [-t THREADS] [-c CONNECTIONS] [-d SECONDS] [-r ROUNDS]
#
# The two generators alternate for ROUNDS rounds (default 3) so that noise from other work on
# the machine hits both alike; every round and the medians are printed.
#
# nginx: one worker, `return 200 "Hello, client!"`, access_log off, unlimited keepalive
# requests, on a free 127.0.0.1 port, config in a temp dir, started with -p TMPDIR and killed
# by its PID afterwards. CPU pinning (stated in the output): nginx on CPU 0, the generator
# under test on CPU 1 (on a 2-core machine each side gets one core). Every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=1
CONNECTIONS=32
SECONDS_PER_RUN=5
ROUNDS=3
while getopts "t:c:d:r:" opt; do
  case "$opt" in
    t) THREADS=$OPTARG ;;
    c) CONNECTIONS=$OPTARG ;;
    d) SECONDS_PER_RUN=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    *) echo "usage: $0 [-t threads] [-c connections] [-d seconds] [-r rounds]" >&2; exit 2 ;;
  esac
done

NGINX=${NGINX:-/usr/sbin/nginx}
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "nginx not found at $NGINX" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset (util-linux) not installed" >&2; exit 1; }

NCPU=$(nproc)
SERVER_CPU=0
CLIENT_CPUS=1
if [ "$NCPU" -lt 2 ]; then CLIENT_CPUS=0; fi
if [ "$NCPU" -gt 2 ]; then CLIENT_CPUS="1-$((NCPU - 1))"; fi

cargo build --release -q -p reactor-loadgen
LOADGEN=target/release/reactor-loadgen

TMP=$(mktemp -d)
NGINX_PID=""
cleanup() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/logs"
cat > "$TMP/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 4294967295;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "Hello, client!"; }
  }
}
CONF
taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/"

echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*version: //') on CPU $SERVER_CPU (pid $NGINX_PID), generators on CPU(s) $CLIENT_CPUS"
echo "threads $THREADS, connections $CONNECTIONS, $SECONDS_PER_RUN s per run, $(nproc) CPUs, $(uname -r)"
echo

# Warm nginx up (not reported).
timeout 30 taskset -c "$CLIENT_CPUS" wrk -t "$THREADS" -c "$CONNECTIONS" -d 1s "$URL" >/dev/null

for round in $(seq "$ROUNDS"); do
  echo "== round $round: wrk (closed loop) =="
  timeout $((SECONDS_PER_RUN + 30)) taskset -c "$CLIENT_CPUS" wrk --latency -t "$THREADS" -c "$CONNECTIONS" \
    -d "${SECONDS_PER_RUN}s" "$URL" | tee "$TMP/wrk-$round.txt"
  echo
  echo "== round $round: reactor-loadgen (closed loop) =="
  timeout $((SECONDS_PER_RUN + 30)) taskset -c "$CLIENT_CPUS" "$LOADGEN" http "$URL" \
    -t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" --json "$TMP/loadgen-$round.json"
  echo
done

python3 - "$TMP" "$ROUNDS" <<'PY'
import json, re, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def wrk_us(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
rows = {"wrk": [], "reactor-loadgen": []}
for r in range(1, rounds + 1):
    wrk = open(f"{tmp}/wrk-{r}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
    lat = [wrk_us(re.search(r"\s%s%%\s+(\S+)" % p, wrk).group(1)) for p in ("50", "90", "99")]
    rows["wrk"].append([rps] + lat)
    doc = json.load(open(f"{tmp}/loadgen-{r}.json"))
    l = doc["latency_us"]
    rows["reactor-loadgen"].append([doc["rps"], l["p50"], l["p90"], l["p99"]])
print("round  generator              req/s     p50 us    p90 us    p99 us")
for r in range(rounds):
    for name in rows:
        v = rows[name][r]
        print(f"{r + 1:>5}  {name:<16} {v[0]:>11.0f} {v[1]:>10.1f} {v[2]:>9.1f} {v[3]:>9.1f}")
print("median")
med = {}
for name in rows:
    med[name] = [statistics.median(x[i] for x in rows[name]) for i in range(4)]
    v = med[name]
    print(f"       {name:<16} {v[0]:>11.0f} {v[1]:>10.1f} {v[2]:>9.1f} {v[3]:>9.1f}")
print(f"median req/s ratio reactor-loadgen / wrk: {med['reactor-loadgen'][0] / med['wrk'][0]:.2f}")
PY
