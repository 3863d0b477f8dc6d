#!/usr/bin/env bash
# Memory per idle connection: the server's resident set (VmRSS) with N idle TCP connections
# minus its resident set before them, divided by N. Measured in one run for reactor-server, the
# tokio current_thread design and nginx (one worker; Debian's package), so the ratio is fair.
#
# usage: scripts/bench-idle-memory.sh [N]     (default 10000)
# Every connection makes one exchange first (a one-byte echo; for nginx, which has no echo in
# Debian's nginx-light, one keep-alive GET), then sits idle: each server is measured in its
# idle-connection state. Kernel socket memory is not in RSS for any of them.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

cargo build --release -q -p reactor-server -p reactor-designs

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

# start_server NAME CMD... : starts, waits for "listening tcp", sets ADDR and SPID
start_server() {
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  SPID=$!; pids+=("$SPID")
  for _ in $(seq 100); do grep -q '^listening' "$tmp/$name.out" && break; sleep 0.05; done
  ADDR=$(awk '/^listening /{print $3; exit}' "$tmp/$name.out")
  [ -n "$ADDR" ] || { echo "$name did not start" >&2; cat "$tmp/$name.err" >&2; exit 1; }
}

# measure NAME PID HOST PORT : prints "NAME before after per_conn"
measure() {
  local name=$1 pid=$2 host=$3 port=$4
  local before after fifo="$tmp/$name.fifo"
  before=$(rss_kib "$pid")
  mkfifo "$fifo"
  python3 scripts/lib/hold_idle_conns.py "$host" "$port" "$N" 120 <"$fifo" >"$tmp/$name.hold" &
  local hp=$!; pids+=("$hp")
  exec 9>"$fifo"
  for _ in $(seq 1200); do grep -q holding "$tmp/$name.hold" && break; sleep 0.1; done
  grep -q holding "$tmp/$name.hold" || { echo "$name: could not open $N connections" >&2; exit 1; }
  sleep 0.5
  after=$(rss_kib "$pid")
  exec 9>&-
  wait "$hp" || true
  awk -v n="$name" -v b="$before" -v a="$after" -v c="$N" \
    'BEGIN { printf "| %s | %d | %d | %.0f |\n", n, b, a, (a - b) * 1024 / c }'
}

echo "idle connections: $N (VmRSS in KiB; per connection in bytes)"
echo
echo "| server | RSS before | RSS with $N idle | bytes per connection |"
echo "| --- | ---: | ---: | ---: |"

start_server reactor target/release/reactor-server --tcp 127.0.0.1:0 --max-conns $((N + 100))
measure reactor-server "$SPID" "${ADDR%:*}" "${ADDR##*:}"

# The reactor over HTTP and over HTTPS (one process each), each connection after one keep-alive
# GET: what TLS adds per idle connection (rustls state and buffers, boxed beside the slab).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
start_server reactor-http target/release/reactor-server --http 127.0.0.1:0 \
  --max-conns $((N + 100))
HOLD_HTTP=1 measure reactor-server-http "$SPID" "${ADDR%:*}" "${ADDR##*:}"
start_server reactor-https target/release/reactor-server --https 127.0.0.1:0 \
  --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --max-conns $((N + 100))
HOLD_HTTP=1 HOLD_TLS="$tmp/cert.pem" measure reactor-server-https "$SPID" "${ADDR%:*}" \
  "${ADDR##*:}"

start_server tokio target/release/design-tokio --flavor current --tcp 127.0.0.1:0
measure tokio-current "$SPID" "${ADDR%:*}" "${ADDR##*:}"

if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$tmp/nginx/logs"
  cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((N * 2 + 100));
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections $((N + 100)); }
http {
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; location / { return 200 "x"; } }
}
CONF
  "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
  master=$!; pids+=("$master")
  for _ in $(seq 100); do [ -s "$tmp/nginx/nginx.pid" ] && break; sleep 0.05; done
  sleep 0.3
  worker=$(pgrep -P "$master" | head -n1)
  # nginx has no echo here: its connections make one keep-alive HTTP exchange instead.
  HOLD_HTTP=1 measure nginx-worker "$worker" 127.0.0.1 "$port"
else
  echo "| nginx | not installed | | |"
fi
