#!/usr/bin/env bash
# HTTPS "Hello, client!": reactor-server's TLS listener against nginx with TLS, interleaved, in
# one run: server CPU time per request over keep-alive connections (wrk), and handshakes per
# second of server CPU with a new connection per request, resumed (wrk with `Connection: close`:
# wrk resumes its TLS session on every reconnection) and full (`openssl s_time -new`, which
# never resumes; S_TIME_CLIENTS of them at once).
#
# Usage: scripts/https-vs-nginx.sh
# Environment (all optional): DURATION (seconds per wrk run, default 5), ROUNDS (default 3),
# CONNS (keep-alive connections, default 64), CLOSE_CONNS (connections of the handshake runs,
# default 16), S_TIME_CLIENTS (default 4), SERVER_CPU (default 0), WRK_CPU (default 1, also the
# s_time clients' CPU), NO_BUILD=1 to skip the build.
#
# Both servers: one process/worker pinned to SERVER_CPU, the same self-signed ECDSA P-256
# certificate (made here with openssl), TLS 1.2 and 1.3, groups X25519 and P-256, ALPN
# http/1.1 (nginx's default), access log off. wrk (Debian's, OpenSSL 3) is pinned to WRK_CPU
# and negotiates the same suite with both (TLS 1.3, TLS_AES_256_GCM_SHA384, X25519). The
# servers' CPU time is utime+stime from /proc/PID/stat over each wrk run (nginx: its worker).
# Each round runs every (server, scenario) pair once, after a one-second warm-up; the report
# gives each server's per-round figures and the reactor/nginx ratio per round (mean, min-max).
#
# Only loopback traffic; every wrk run is bounded by `timeout`; the servers are stopped by their
# PIDs on exit, the temp dir removed. Raw wrk outputs are kept in target/https-vs-nginx/.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
CLOSE_CONNS=${CLOSE_CONNS:-16}
S_TIME_CLIENTS=${S_TIME_CLIENTS:-4}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
REACTOR=target/release/reactor-server
RAW_DIR=target/https-vs-nginx

scripts/lib/ensure-tools.sh nginx wrk taskset curl openssl python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -q -p reactor-server
fi

tmp=$(mktemp -d -t https-vs-nginx.XXXXXX)
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

fail() {
  echo "https-vs-nginx: $*" >&2
  exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

# ----- nginx --------------------------------------------------------------------------------
nginx_port=$(free_port)
start_nginx_hello "$NGINX" "$tmp/nginx" "$SERVER_CPU" "127.0.0.1:$nginx_port ssl" \
  "ssl_certificate $tmp/cert.pem;" \
  "ssl_certificate_key $tmp/key.pem;" \
  "ssl_protocols TLSv1.2 TLSv1.3;" \
  "ssl_ecdh_curve X25519:prime256v1;"
nginx_worker=$NGINX_WORKER
wait_hello "https://127.0.0.1:$nginx_port/" "$NGINX_PID" --cacert "$tmp/cert.pem" ||
  fail "nginx did not serve: $(cat "$tmp/nginx/stderr")"

# ----- reactor-server -----------------------------------------------------------------------
start_reactor "$REACTOR" "$SERVER_CPU" "$tmp" https --https 127.0.0.1:0 --http 127.0.0.1:0 \
  --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
reactor_addr=$REACTOR_ADDR
wait_hello "https://$reactor_addr/" "$REACTOR_PID" --cacert "$tmp/cert.pem" ||
  fail "reactor-server did not serve: $(cat "$tmp/reactor.err")"

# ----- runs ---------------------------------------------------------------------------------
declare -A url=([reactor]="https://$reactor_addr/" [nginx]="https://127.0.0.1:$nginx_port/")
declare -A pid_of=([reactor]=$REACTOR_PID [nginx]=$nginx_worker)

# full_handshakes ROUND SERVER: S_TIME_CLIENTS s_time loops of new connections, each a full
# handshake and a GET /; prints "connections server_ticks".
full_handshakes() {
  local round=$1 server=$2 addr=${url[$2]#https://} before after i
  addr=${addr%/}
  before=$(cpu_ticks "${pid_of[$server]}")
  for i in $(seq "$S_TIME_CLIENTS"); do
    taskset -c "$WRK_CPU" timeout $((DURATION + 15)) openssl s_time -connect "$addr" -new \
      -time "$DURATION" -www / >"$RAW_DIR/s_time-$server-$round-$i.txt" 2>&1 &
  done
  wait
  after=$(cpu_ticks "${pid_of[$server]}")
  local connections
  connections=$(cat "$RAW_DIR"/s_time-"$server"-"$round"-*.txt |
    awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }')
  echo "$connections $((after - before))"
}

# run ROUND SERVER SCENARIO: prints "requests server_ticks".
run() {
  local round=$1 server=$2 scenario=$3 conns=$CONNS header=()
  if [ "$scenario" = full ]; then
    full_handshakes "$round" "$server"
    return
  fi
  if [ "$scenario" = resumed ]; then
    conns=$CLOSE_CONNS
    header=(-H 'Connection: close')
  fi
  local out="$RAW_DIR/wrk-$server-$scenario-$round.txt"
  taskset -c "$WRK_CPU" timeout 10 wrk -t1 -c"$conns" -d1s "${header[@]}" "${url[$server]}" >/dev/null
  local before after
  before=$(cpu_ticks "${pid_of[$server]}")
  taskset -c "$WRK_CPU" timeout $((DURATION + 15)) \
    wrk -t1 -c"$conns" -d"${DURATION}s" "${header[@]}" "${url[$server]}" >"$out"
  after=$(cpu_ticks "${pid_of[$server]}")
  local requests errors
  requests=$(awk '/requests in/ { print $1; exit }' "$out")
  errors=$(awk '/Socket errors|Non-2xx/ { print; }' "$out")
  [ -z "$errors" ] || echo "https-vs-nginx: $server $scenario round $round: $errors" >&2
  echo "$requests $((after - before))"
}

results="$tmp/results.txt"
for round in $(seq "$ROUNDS"); do
  for scenario in keepalive resumed full; do
    for server in reactor nginx; do
      read -r requests ticks < <(run "$round" "$server" "$scenario")
      echo "$round $scenario $server $requests $ticks" >>"$results"
      echo "https-vs-nginx: round $round $scenario $server: $requests requests, $ticks ticks" >&2
    done
  done
done

curl -s "http://$(awk '$2 == "http" { print $3; exit }' "$tmp/reactor.out")/stats" \
  >"$RAW_DIR/reactor-stats.json" || true

python3 - "$results" "$(getconf CLK_TCK)" "$DURATION" <<'PY'
import sys
from collections import defaultdict
path, hz, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = defaultdict(dict)
for line in open(path):
    rnd, scenario, server, requests, ticks = line.split()
    rows[(scenario, int(rnd))][server] = (int(requests), int(ticks) / hz)

def per_round(scenario, metric):
    out = []
    for (s, rnd), servers in sorted(rows.items()):
        if s == scenario:
            out.append((rnd, {k: metric(*v) for k, v in servers.items()}))
    return out

def report(title, scenario, metric, unit, better):
    print(f"\n{title}\n")
    print(f"| round | reactor {unit} | nginx {unit} | reactor/nginx |")
    print("| ---: | ---: | ---: | ---: |")
    ratios = []
    for rnd, v in per_round(scenario, metric):
        ratio = v["reactor"] / v["nginx"]
        ratios.append(ratio)
        print(f"| {rnd} | {v['reactor']:.2f} | {v['nginx']:.2f} | {ratio:.3f} |")
    mean = sum(ratios) / len(ratios)
    print(f"\nreactor/nginx: mean {mean:.3f}, range {min(ratios):.3f}-{max(ratios):.3f} "
          f"over {len(ratios)} rounds ({better})")

report("Keep-alive HTTPS, server CPU per request (64 connections)", "keepalive",
       lambda req, cpu: cpu / req * 1e6, "µs/req", "lower is better; goal <= 1.0")
report("Full handshakes (openssl s_time -new, a GET each) per second of server CPU", "full",
       lambda req, cpu: req / cpu, "handshakes/CPU-s", "higher is better; goal >= 0.9")
report("Resumed handshakes (wrk, Connection: close) per second of server CPU", "resumed",
       lambda req, cpu: req / cpu, "handshakes/CPU-s", "higher is better")
full = dict(per_round("full", lambda req, cpu: req / cpu))
resumed = dict(per_round("resumed", lambda req, cpu: req / cpu))
print("\nResumed/full handshakes per CPU-second, same server, per round (goal >= 3):")
for server in ("reactor", "nginx"):
    ratios = [resumed[r][server] / full[r][server] for r in sorted(full)]
    print(f"- {server}: " + ", ".join(f"{x:.2f}" for x in ratios))
report("Keep-alive HTTPS, requests/s", "keepalive",
       lambda req, cpu: req / duration, "req/s", "throughput, for context")
PY
python3 -c "
import json,sys
t=json.load(open('$RAW_DIR/reactor-stats.json'))['tls']
print(f\"\nreactor TLS counters over the run: handshakes {t['handshakes']}, versions {t['versions']}\")
" 2>/dev/null || true
