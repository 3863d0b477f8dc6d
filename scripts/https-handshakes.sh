#!/usr/bin/env bash
# HTTPS handshakes per second: reactor-loadgen --connect-per-request against Python's own `ssl`
# client loop (the seeds' http.client.HTTPSConnection, one connection per request), both
# against the same nginx TLS server in one run.
#
# Usage: scripts/https-handshakes.sh
# Environment (all optional): SECONDS_PER_RUN (default 10), ROUNDS (default 3), CONNS
# (loadgen -c, default 32), SERVER_CPU (default 0), CLIENT_CPU (default 1), NO_BUILD=1 to skip
# the release build.
#
# What it does:
#   - builds target/release/reactor-loadgen;
#   - makes an ECDSA P-256 certificate for 127.0.0.1 (openssl, CA:FALSE) in a mktemp dir and
#     starts nginx (/usr/sbin/nginx, `daemon off`, one worker, TLS 1.2 and 1.3, tickets on,
#     `return 200 "Hello, client!"`) from a config there, pinned to SERVER_CPU;
#   - per round, pinned to CLIENT_CPU: the Python loop for SECONDS_PER_RUN, then the generator
#     with full handshakes (--tls-resume off) and with resumption (the default);
#   - prints handshakes/s, each client's CPU per handshake, nginx's CPU time in each run
#     (utime+stime of its worker from /proc), and the ratio generator/Python per round.
#
# Only loopback traffic; every client run is bounded by `timeout`; nginx is stopped by its own
# PID on exit (also on failure or Ctrl-C), and the temp dir removed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NGINX=/usr/sbin/nginx
LOADGEN=target/release/reactor-loadgen
CLK_TCK=$(getconf CLK_TCK)

for tool in "$NGINX" openssl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "https-handshakes: $tool not found" >&2; exit 1; }
done
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release -p reactor-loadgen >&2
fi

tmp=$(mktemp -d -t https-handshakes.XXXXXX)
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -addext basicConstraints=critical,CA:FALSE 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/tmp"
cat >"$tmp/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/tmp; proxy_temp_path $tmp/tmp; fastcgi_temp_path $tmp/tmp;
    uwsgi_temp_path $tmp/tmp; scgi_temp_path $tmp/tmp;
    server {
        listen 127.0.0.1:$port ssl backlog=4096;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets on;
        keepalive_requests 1000000;
        location / { default_type text/html; return 200 "Hello, client!"; }
    }
}
CONF
taskset -c "$SERVER_CPU" "$NGINX" -c "$tmp/nginx.conf" -p "$tmp" &
nginx_pid=$!
worker=
for _ in $(seq 50); do
  worker=$(awk '{print $1}' "/proc/$nginx_pid/task/$nginx_pid/children" 2>/dev/null)
  [ -n "$worker" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.1
done
[ -n "$worker" ] || { echo "https-handshakes: nginx did not start" >&2; exit 1; }
ticks() { awk '{print $14+$15}' "/proc/$worker/stat"; }

cat >"$tmp/seed_https_loop.py" <<'PY'
# The seeds' client: http.client.HTTPSConnection, one connection per request, bounded in time.
import http.client, ssl, sys, time
port, cafile, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
n, start, cpu0 = 0, time.monotonic(), time.process_time()
while time.monotonic() < start + seconds:
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    c.request("GET", "/")
    body = c.getresponse().read()
    assert body == b"Hello, client!", body
    c.close()
    n += 1
elapsed, cpu = time.monotonic() - start, time.process_time() - cpu0
print(f"{n / elapsed:.0f} {cpu * 1e6 / max(n, 1):.0f}")
PY

limit=$((SECONDS_PER_RUN + 30))
loadgen() { # $1: json path, rest: extra flags; prints "handshakes/s cpu_us_per_handshake full resumed"
  local json=$1; shift
  timeout "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" http "https://127.0.0.1:$port/" \
    --connect-per-request -c "$CONNS" -d "${SECONDS_PER_RUN}s" --cacert "$tmp/cert.pem" \
    --json "$json" "$@" >/dev/null
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); t=d['tls']; g=d['generator']; \
print(f\"{t['handshakes_per_s']:.0f} {(g['cpu_user_s']+g['cpu_system_s'])*1e6/max(t['handshakes'],1):.0f} {t['full_handshakes']} {t['resumed_handshakes']}\")" "$json"
}

echo "| round | Python hs/s (CPU µs/hs, nginx CPU s) | loadgen full hs/s (CPU µs/hs, nginx CPU s) | ratio | loadgen resumed hs/s (full/resumed) |"
echo "| --- | --- | --- | --- | --- |"
for round in $(seq "$ROUNDS"); do
  t0=$(ticks)
  read -r py_rate py_cpu < <(timeout "$limit" taskset -c "$CLIENT_CPU" python3 "$tmp/seed_https_loop.py" "$port" "$tmp/cert.pem" "$SECONDS_PER_RUN")
  t1=$(ticks)
  read -r full_rate full_cpu _ _ < <(loadgen "$tmp/full.json" --tls-resume off)
  t2=$(ticks)
  read -r res_rate _ res_full res_resumed < <(loadgen "$tmp/resumed.json")
  ratio=$(python3 -c "print(f'{$full_rate / max($py_rate, 1):.1f}')")
  nginx_py=$(python3 -c "print(f'{($t1 - $t0) / $CLK_TCK:.1f}')")
  nginx_full=$(python3 -c "print(f'{($t2 - $t1) / $CLK_TCK:.1f}')")
  echo "| $round | $py_rate ($py_cpu, $nginx_py) | $full_rate ($full_cpu, $nginx_full) | $ratio | $res_rate ($res_full/$res_resumed) |"
done
