#!/usr/bin/env bash
# Two "hosts" on this machine: network namespaces joined by a veth pair, with addresses in a
# private /30 that exists only inside them (10.200.0.1 server side, 10.200.0.2 client side).
#
# Checks, each bounded in time:
#   - HOST/PORT from the environment are honoured: a server started with only HOST=10.200.0.1
#     and PORT=18080 listens on 10.200.0.1:7000 (tcp, udp) and 10.200.0.1:18080 (http);
#   - from the client namespace: TCP echo and UDP echo with every byte verified, HTTP GET /,
#     GET /healthz and POST /echo (body verified);
#   - reactor-loadgen across the link (tcp, udp, http; it verifies every byte), two generators
#     started together with --start-at like two machines, and `reactor-loadgen merge` of their logs;
#   - a second server bound to loopback (HOST=127.0.0.1, bare ports from REACTOR_* variables)
#     answers inside its namespace but is NOT reachable from the client namespace.
#
# Needs root and `ip netns`; without them it prints "netns-test: SKIP: ..." and exits 0.
# Builds and uses the target/release binaries, or those in REACTOR_BIN_DIR. Always removes its
# namespaces and stops the processes it started.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "netns-test: SKIP: $*"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces (run as root or in CI with the rights)"
command -v ip >/dev/null || skip "iproute2's ip is not installed"
command -v python3 >/dev/null || skip "python3 is not installed (the checks use it)"

ns_srv="reactor-srv-$$"
ns_cli="reactor-cli-$$"
veth_srv="rxs$$"
veth_cli="rxc$$"
srv_ip=10.200.0.1
cli_ip=10.200.0.2
http_port=18080 # not the default 8080, so a listener there proves PORT was read
work=$(mktemp -d)
pids=()
created=()

# shellcheck source=scripts/lib/stop-pids.sh
. scripts/lib/stop-pids.sh
cleanup() {
  local ns
  # Bounded: a process that ignores SIGTERM for 5 s is killed.
  stop_pids "${pids[@]}"
  for ns in "${created[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! ip netns add "$ns_srv" 2>"$work/netns.err"; then
  skip "cannot create a network namespace ($(tr '\n' ' ' <"$work/netns.err"))"
fi
created+=("$ns_srv")
ip netns add "$ns_cli"
created+=("$ns_cli")
if ! ip netns exec "$ns_srv" true 2>"$work/netns.err"; then
  skip "cannot enter a network namespace ($(tr '\n' ' ' <"$work/netns.err"))"
fi

# The veth pair is created inside the server namespace with its peer straight in the client one:
# nothing is added to this machine's own namespace. Deleting the namespaces deletes the pair.
ip -n "$ns_srv" link add "$veth_srv" type veth peer name "$veth_cli" netns "$ns_cli"
ip -n "$ns_srv" addr add "$srv_ip/30" dev "$veth_srv"
ip -n "$ns_cli" addr add "$cli_ip/30" dev "$veth_cli"
for ns in "$ns_srv" "$ns_cli"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_srv" link set "$veth_srv" up
ip -n "$ns_cli" link set "$veth_cli" up

# Binaries: copied, so that a concurrent rebuild of target/ cannot swap them mid-test.
bin_dir=${REACTOR_BIN_DIR:-target/release}
if [ -z "${REACTOR_BIN_DIR:-}" ]; then
  # Like the other scripts: always the current sources (a no-op when target/ is up to date).
  cargo build --release -q -p reactor-server -p reactor-loadgen
fi
mkdir -p "$work/bin"
cp "$bin_dir/reactor-server" "$bin_dir/reactor-loadgen" "$work/bin/"
server="$work/bin/reactor-server"
loadgen="$work/bin/reactor-loadgen"

passed=0
failed=0
record() {
  local name=$1 ok=$2
  if [ "$ok" = 0 ]; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     | /' "$work/check.out"
  fi
}
# Runs one check in a subshell (an `exit` in it ends only the check), output shown on failure.
check() {
  local name=$1 ok=0
  shift
  ( "$@" ) >"$work/check.out" 2>&1 || ok=1
  record "$name" "$ok"
}

# Runs a command in a namespace with a clean environment (no REACTOR_*, HOST or PORT leaking in
# from the caller) plus the given VAR=value pairs, bounded in time.
in_ns() {
  local ns=$1 limit=$2
  shift 2
  timeout --kill-after=2 "$limit" ip netns exec "$ns" env -i PATH="$PATH" "$@"
}

# Starts a server in the server namespace; its stdout (the `listening` lines) goes to $1.out.
start_server() {
  local name=$1
  shift
  ip netns exec "$ns_srv" env -i PATH="$PATH" RUST_LOG=warn "$@" "$server" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
}

# Waits (at most 10 s) until $1.out has $2 `listening` lines.
wait_listening() {
  local name=$1 want=$2
  for _ in $(seq 100); do
    [ "$(grep -c '^listening ' "$work/$name.out" 2>/dev/null || true)" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "server $name did not print $want listening lines in 10 s; stderr:"
  cat "$work/$name.err"
  return 1
}

same_lines() {
  diff <(sort "$1") <(printf '%s\n' "${@:2}" | sort)
}

cat >"$work/check.py" <<'PY'
"""Traffic checks for netns-test.sh; every socket operation has a timeout."""
import http.client
import os
import socket
import sys
import threading

TIMEOUT = 3.0


def tcp_echo(host, port, total=1 << 20):
    """Sends `total` random bytes while reading the echo; every byte must come back in order."""
    data = os.urandom(total)
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        errors = []

        def send():
            try:
                view = memoryview(data)
                for off in range(0, total, 7919):  # odd chunk sizes
                    s.sendall(view[off:off + 7919])
            except OSError as e:
                errors.append(e)

        sender = threading.Thread(target=send)
        sender.start()
        got = bytearray()
        while len(got) < total:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        sender.join(TIMEOUT)
        if errors:
            raise SystemExit(f"send failed: {errors[0]}")
    if bytes(got) != data:
        first = next((i for i, (a, b) in enumerate(zip(got, data)) if a != b), min(len(got), total))
        raise SystemExit(f"echo differs: got {len(got)} of {total} bytes, first difference at {first}")
    print(f"{total} bytes echoed and verified")


def udp_echo(host, port, count=300):
    """Datagrams of many sizes with a sequence number; each echo must match byte for byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.connect((host, port))
        verified = 0
        for seq in range(count):
            size = 8 + (seq * 37) % 1400
            payload = seq.to_bytes(8, "big") + os.urandom(size - 8)
            for _attempt in range(3):  # a datagram may be lost; a wrong one never passes
                s.send(payload)
                try:
                    while True:
                        reply = s.recv(65536)
                        if reply[:8] == payload[:8]:
                            break  # older, late replies are skipped
                except socket.timeout:
                    continue
                if reply != payload:
                    raise SystemExit(f"datagram {seq}: echo differs ({len(reply)} vs {size} bytes)")
                verified += 1
                break
            else:
                raise SystemExit(f"datagram {seq}: no echo after 3 attempts")
    print(f"{verified} datagrams echoed and verified")


def http_get(host, port, path, want_status, want_body=None):
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != want_status or (want_body is not None and body != want_body):
        raise SystemExit(f"GET {path}: {resp.status} {body[:80]!r}")
    print(f"GET {path}: {resp.status} {body[:40]!r}")


def http_echo(host, port):
    body = os.urandom(100_000)
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request("POST", "/echo", body=body, headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        got = resp.read()
    finally:
        conn.close()
    if resp.status != 200 or got != body:
        raise SystemExit(f"POST /echo: {resp.status}, {len(got)} of {len(body)} bytes, equal={got == body}")
    print(f"POST /echo: {len(body)} bytes echoed and verified")


def tcp_unreachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2.0).close()
    except (ConnectionRefusedError, socket.timeout, OSError) as e:
        print(f"{host}:{port} tcp not reachable, as required ({e.__class__.__name__})")
        return
    raise SystemExit(f"{host}:{port} tcp accepted a connection")


def udp_unreachable(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.connect((host, port))
        for _ in range(3):
            try:
                s.send(b"are you there?")
                reply = s.recv(65536)
            except (ConnectionRefusedError, socket.timeout):
                continue
            raise SystemExit(f"{host}:{port} udp answered {reply[:40]!r}")
    print(f"{host}:{port} udp got no echo, as required")


def main():
    cmd, host, port, *rest = sys.argv[1:]
    port = int(port)
    if cmd == "tcp":
        tcp_echo(host, port)
    elif cmd == "udp":
        udp_echo(host, port)
    elif cmd == "http":
        http_get(host, port, "/", 200, b"Hello, client!")
        http_get(host, port, "/healthz", 200)
        http_echo(host, port)
    elif cmd == "tcp-unreachable":
        tcp_unreachable(host, port)
    elif cmd == "udp-unreachable":
        udp_unreachable(host, port)
    else:
        raise SystemExit(f"unknown check {cmd}")


main()
PY
py() {
  local ns=$1
  shift
  in_ns "$ns" 20 python3 "$work/check.py" "$@"
}

echo "netns-test: namespaces $ns_srv ($srv_ip) <-> $ns_cli ($cli_ip)"

# Server A: configured only by HOST and PORT, default listeners.
start_server public HOST="$srv_ip" PORT="$http_port"
# Server B: bound to loopback; bare ports from the REACTOR_* variables bind on HOST.
start_server loopback HOST=127.0.0.1 REACTOR_TCP=7001 REACTOR_UDP=7001 REACTOR_HTTP=8081

public_listens() {
  wait_listening public 3 && same_lines "$work/public.out" \
    "listening tcp $srv_ip:7000" "listening udp $srv_ip:7000" "listening http $srv_ip:$http_port"
}
loopback_listens() {
  wait_listening loopback 3 && same_lines "$work/loopback.out" \
    "listening tcp 127.0.0.1:7001" "listening udp 127.0.0.1:7001" "listening http 127.0.0.1:8081"
}
check "server started with HOST=$srv_ip PORT=$http_port listens on exactly those" public_listens
check "server started with HOST=127.0.0.1 and bare ports listens on loopback" loopback_listens

check "cross-namespace TCP echo (1 MiB, every byte verified)" py "$ns_cli" tcp "$srv_ip" 7000
check "cross-namespace UDP echo (300 datagrams, every byte verified)" py "$ns_cli" udp "$srv_ip" 7000
check "cross-namespace HTTP GET /, /healthz, POST /echo" py "$ns_cli" http "$srv_ip" "$http_port"
check "health check (--health-check) across the link" \
  in_ns "$ns_cli" 10 "$server" --health-check "$srv_ip:$http_port"

# reactor-loadgen across the link, configured like the containers (deploy/loadgen-run.sh):
# two generators started together, as on two machines, then merged.
loadgen_pair() {
  local workload=$1 target=$2 start_at i status=0
  start_at=$(($(date +%s) + 2))
  local lg_pids=()
  for i in 0 1; do
    in_ns "$ns_cli" 30 LOADGEN_BIN="$loadgen" LOADGEN_WORKLOAD="$workload" \
      LOADGEN_TARGET="$target" LOADGEN_CONNECTIONS=4 LOADGEN_DURATION=1s \
      LOADGEN_START_AT="$start_at" LOADGEN_MAX_ERROR_RATE=0 \
      LOADGEN_RESULTS_DIR="$work/results-$workload" LOADGEN_RUN_ID=pair LOADGEN_NAME="gen-$i" \
      sh deploy/loadgen-run.sh >"$work/loadgen-$workload-$i.log" 2>&1 &
    lg_pids+=($!)
    pids+=($!)
  done
  for i in 0 1; do
    if ! wait "${lg_pids[$i]}"; then
      status=1
      echo "generator $i failed:"
      cat "$work/loadgen-$workload-$i.log"
    fi
  done
  [ "$status" = 0 ] || return 1
  python3 - "$work/results-$workload"/pair/gen-*.json <<'PY' || return 1
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    e = r["errors"]
    if r["requests"] <= 0 or e["total"] or r["verify_failures"]:
        raise SystemExit(f"{path}: requests={r['requests']} errors={e}")
    print(f"{path.rsplit('/', 1)[-1]}: {r['requests']} requests to {r['address']}, 0 errors, 0 verify failures")
PY
  timeout 20 "$loadgen" merge "$work/results-$workload"/pair/gen-*.hlog \
    --json "$work/results-$workload/pair/merged.json"
}
check "reactor-loadgen tcp x2 across the link (--start-at) + merge" loadgen_pair tcp "$srv_ip:7000"
check "reactor-loadgen udp x2 across the link (--start-at) + merge" loadgen_pair udp "$srv_ip:7000"
check "reactor-loadgen http x2 across the link (--start-at) + merge" \
  loadgen_pair http "http://$srv_ip:$http_port/"

# The loopback server: reachable inside its own namespace (so the next checks mean something)...
loopback_answers_inside() {
  py "$ns_srv" tcp 127.0.0.1 7001 && py "$ns_srv" http 127.0.0.1 8081
}
check "loopback server answers inside its namespace (tcp, http)" loopback_answers_inside
# ...and not from the other host, on the server's address or the client's own loopback.
unreachable_from_client() {
  local kind=$1 port=$2
  py "$ns_cli" "$kind-unreachable" "$srv_ip" "$port" && py "$ns_cli" "$kind-unreachable" 127.0.0.1 "$port"
}
check "loopback server not reachable from the other namespace (tcp)" unreachable_from_client tcp 7001
check "loopback server not reachable from the other namespace (udp)" unreachable_from_client udp 7001
check "loopback server not reachable from the other namespace (http)" unreachable_from_client tcp 8081

# Both servers must still be running (nothing a check sent crashed them), then stop with 0.
# Not in a subshell: only this shell can wait for its children.
stop_ok=0
: >"$work/check.out"
for i in 0 1; do
  kill -0 "${pids[$i]}" 2>/dev/null || { echo "server $i died early" >>"$work/check.out"; stop_ok=1; }
  kill -TERM "${pids[$i]}" 2>/dev/null || true
done
for i in 0 1; do
  timeout 10 tail --pid="${pids[$i]}" -f /dev/null || { echo "server $i still running 10 s after SIGTERM" >>"$work/check.out"; stop_ok=1; }
  status=0
  wait "${pids[$i]}" || status=$?
  [ "$status" = 0 ] || { echo "server $i exited $status" >>"$work/check.out"; stop_ok=1; }
done
record "servers were still up and exit 0 on SIGTERM" "$stop_ok"

echo "netns-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
