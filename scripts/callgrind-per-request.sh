#!/usr/bin/env bash
# User-space instructions per TCP echo (or HTTP GET) of a server binary, counted by callgrind: the
# server runs under valgrind twice, driven by reactor-loadgen for N and 3N requests, and the
# difference divided by 2N is the per-request cost with start-up and shutdown cancelled out.
# Instruction counts do not depend on what else the machine is doing, so this compares two
# builds on a noisy shared VM where CPU time cannot (the kernel's part is not counted).
#
# Usage: scripts/callgrind-per-request.sh SERVER_BIN [N]      (N default 20000)
# Env: LOADGEN (default target/release/reactor-loadgen), CONNS (16), PROTO (tcp or http).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || {
  sed -n '2,9p' "$0" >&2
  exit 2
}
bin=$1 n=${2:-20000}
loadgen=${LOADGEN:-target/release/reactor-loadgen}
conns=${CONNS:-16}
proto=${PROTO:-tcp}
case $proto in
tcp | http) ;;
*) echo "PROTO must be tcp or http" >&2 && exit 2 ;;
esac
command -v valgrind >/dev/null || scripts/lib/ensure-tools.sh valgrind
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Total instructions of one server run driven for $1 requests.
instructions() {
  local requests=$1 addr=""
  : >"$work/srv.out" # exists before the background server opens it, for the awk below
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" "--$proto" 127.0.0.1:0 \
    >"$work/srv.out" 2>"$work/srv.err" &
  server_pid=$!
  for _ in $(seq 600); do
    addr=$(awk '$1 == "listening" { print $3; exit }' "$work/srv.out")
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "server printed no listening line" >&2 && exit 1; }
  local target=$addr
  [ "$proto" = tcp ] || target="http://$addr/"
  "$loadgen" "$proto" "$target" -c "$conns" --requests "$requests" >/dev/null 2>&1
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$work/cg.out"
}

small=$(instructions "$n")
large=$(instructions "$((3 * n))")
python3 -c 'import sys; s, l, n = map(int, sys.argv[1:4]); print(f"{(l - s) / (2 * n):.1f} user-space instructions per {sys.argv[5]} ({sys.argv[4]})")' \
  "$small" "$large" "$n" "$bin" "$([ "$proto" = tcp ] && echo echo || echo request)"
