#!/usr/bin/env bash
# Prometheus scrapes the reactor for real: Debian's prometheus server, a scrape config pointing
# at the reactor's --metrics listener on loopback, then its HTTP API is asked for `up` and for
# a counter this script drove (UDP datagrams echoed, which nothing else touches).
#
# Checks, each bounded in time:
#   - `promtool check metrics` accepts the exposition (no errors, no lint warnings);
#   - Prometheus reports the target up (up == 1) within 60 s;
#   - the scraped reactor_udp_received_datagrams_total equals the datagrams sent here;
#   - reactor_build_info (version and commit labels) and the process_* series are scraped.
#
# Installs prometheus (Debian's package, which has promtool) when missing. Builds and uses the
# target/release binaries, or those in REACTOR_BIN_DIR. Always stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/lib/ensure-tools.sh prometheus curl python3

bin_dir=${REACTOR_BIN_DIR:-target/release}
if [ -z "${REACTOR_BIN_DIR:-}" ]; then
  cargo build --release -q -p reactor-server
fi
prometheus_bin=$(command -v prometheus || echo /usr/bin/prometheus)

work=$(mktemp -d)
pids=()
# shellcheck source=scripts/lib/stop-pids.sh
. scripts/lib/stop-pids.sh
cleanup() {
  stop_pids "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "prometheus-test: FAIL: $*" >&2
  exit 1
}

# shellcheck source=scripts/lib/listening.sh
. scripts/lib/listening.sh

"$bin_dir/reactor-server" --udp 127.0.0.1:0 --metrics 127.0.0.1:0 >"$work/server.out" 2>&1 &
pids+=($!)
udp_addr=$(listening_addr "$work/server.out" udp)
metrics_addr=$(listening_addr "$work/server.out" metrics)

sent=25
python3 - "$udp_addr" "$sent" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(int(sys.argv[2])):
    msg = b"Hello, server! %d" % i
    s.sendto(msg, (host, int(port)))
    assert s.recv(1024) == msg
EOF

curl -fsS "http://$metrics_addr/metrics" >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(cat "$work/promtool.out")"
[ -s "$work/promtool.out" ] && fail "promtool lint: $(cat "$work/promtool.out")"
echo "prometheus-test: ok: promtool check metrics ($(grep -c '^# TYPE' "$work/metrics.txt") families)"

prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: reactor
    static_configs:
      - targets: ["$metrics_addr"]
EOF
"$prometheus_bin" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

# Prints the first sample's value of the PromQL query $1 ("" when there is none yet).
query() {
  curl -fsS --max-time 2 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' \
      2>/dev/null || true
}

up="" datagrams=""
for _ in $(seq 120); do
  up=$(query 'up{job="reactor"}')
  datagrams=$(query 'reactor_udp_received_datagrams_total{job="reactor"}')
  [ "$up" = 1 ] && [ "$datagrams" = "$sent" ] && break
  sleep 0.5
done
[ "$up" = 1 ] || fail "Prometheus never saw the target up (up=${up:-none}); log: $(tail -5 "$work/prometheus.log")"
[ "$datagrams" = "$sent" ] || fail "scraped reactor_udp_received_datagrams_total=${datagrams:-none}, sent $sent"
echo "prometheus-test: ok: Prometheus scraped $metrics_addr: up=1, reactor_udp_received_datagrams_total=$datagrams"

# The process series and the build info, as a dashboard would ask for them.
build=$(query 'count(reactor_build_info{job="reactor",version!="",commit!=""} == 1)')
[ "$build" = 1 ] || fail "reactor_build_info with version and commit labels not scraped (${build:-none})"
for series in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
  process_max_fds process_start_time_seconds process_virtual_memory_bytes; do
  value=$(query "$series{job=\"reactor\"}")
  [ -n "$value" ] || fail "$series not scraped"
done
echo "prometheus-test: ok: reactor_build_info and the process_* series scraped"
