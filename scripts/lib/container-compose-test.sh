#!/usr/bin/env bash
# The compose part of scripts/container-test.sh (which sets CONTAINERS_CONF and builds
# localhost/reactor:local first): compose.yaml run as users would, with podman-compose.
#
# Debian's podman-compose (1.0.3) ignores `--scale`, `depends_on: condition` and `--wait`, so
# this script uses their equivalents, which docker compose honours as well:
#   - replicas: LOADGEN_REPLICAS=4 (compose.yaml's `deploy.replicas`) instead of --scale;
#   - healthy: `podman healthcheck run` polled until the image's HEALTHCHECK passes, before the
#     generators start (what `up --wait` and `condition: service_healthy` do);
#   - podman has no systemd timer here to run health checks by itself, hence the polling;
#   - `run --no-deps merge`: podman-compose 1.0's `run` of a service without dependencies
#     otherwise starts every service of the file (all the generators again).
# Checks: the HEALTHCHECK probes whichever listener exists (echo-only containers turn healthy);
# four generators reach `server` by name over TCP, UDP and HTTP, each test in its own run
# directory; `merge` of one run adds exactly that run's four histograms (the merged count is
# the sum of the four generators' request counts, with the other runs on the same volume);
# `stop` drains the server and it exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "container-test: compose: $*"; }
fail() {
  say "FAILED: $*"
  podman logs --tail 20 reactor_server_1 2>&1 | sed 's/^/  server: /' || true
  exit 1
}
image=localhost/reactor:local
compose=(podman-compose -p reactor -f compose.yaml)
run_tag=$(date +%s)

cleanup() {
  "${compose[@]}" down >/dev/null 2>&1 || true
  podman rm -f reactor-hc-tcp reactor-hc-udp >/dev/null 2>&1 || true
  podman volume rm -f reactor-results >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# wait_healthy CONTAINER: runs its HEALTHCHECK until it passes (at most 30 tries, 1 s apart).
wait_healthy() {
  local tries=0
  until podman healthcheck run "$1" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || return 1
    sleep 1
  done
}

say "HEALTHCHECK of echo-only containers (no HTTP listener)"
podman run -d --name reactor-hc-tcp -e REACTOR_TCP=7000 "$image" >/dev/null
podman run -d --name reactor-hc-udp -e REACTOR_UDP=7000 "$image" >/dev/null
wait_healthy reactor-hc-tcp || fail "TCP-echo-only container never turned healthy"
wait_healthy reactor-hc-udp || fail "UDP-echo-only container never turned healthy"
podman rm -f reactor-hc-tcp reactor-hc-udp >/dev/null

# Published on free host ports, so a server already on 7000/8080 does not get in the way.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REACTOR_PUBLISH_ECHO_PORT=$(free_port)
REACTOR_PUBLISH_HTTP_PORT=$(free_port)
export REACTOR_PUBLISH_ECHO_PORT REACTOR_PUBLISH_HTTP_PORT
say "up -d server (nofile $REACTOR_NOFILE, nproc $REACTOR_NPROC; host ports $REACTOR_PUBLISH_ECHO_PORT, $REACTOR_PUBLISH_HTTP_PORT)"
"${compose[@]}" up -d --no-build server >/dev/null 2>&1 || fail "podman-compose up server"
wait_healthy reactor_server_1 || fail "server never turned healthy"
say "server healthy: $(podman inspect --format '{{.State.Healthcheck.Status}}' reactor_server_1)"
# From the host through the published port (a few tries: the forwarding rules come up with
# the container, not necessarily before its first health check passes).
for _ in 1 2 3 4 5; do
  answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$REACTOR_PUBLISH_HTTP_PORT/" 2>/dev/null) && break
  sleep 1
done
[ -n "${answer:-}" ] || fail "published HTTP port $REACTOR_PUBLISH_HTTP_PORT does not answer"
[ "$answer" = "Hello, client!" ] || fail "published HTTP port answered '$answer'"

for workload in tcp udp http; do
  run=ci-$run_tag-$workload
  say "$workload: 4 generators, run $run"
  export LOADGEN_RUN_ID=$run LOADGEN_WORKLOAD=$workload LOADGEN_REPLICAS=4
  export LOADGEN_DURATION=2s LOADGEN_CONNECTIONS=2 LOADGEN_START_AT=$(($(date +%s) + 4))
  "${compose[@]}" up -d --no-build loadgen >/dev/null 2>&1 || fail "up loadgen ($workload)"
  results=$(podman volume inspect --format '{{.Mountpoint}}' reactor-results)
  for i in 1 2 3 4; do
    # `podman wait` prints the exit code; 60 s is ample for a 2 s run starting 4 s from now.
    code=$(timeout 60 podman wait "reactor_loadgen_$i") || fail "reactor_loadgen_$i did not finish"
    if [ "$code" != 0 ]; then
      podman logs "reactor_loadgen_$i" 2>&1 | tail -n 5
      fail "reactor_loadgen_$i ($workload) exited $code"
    fi
  done
  podman rm "reactor_loadgen_1" "reactor_loadgen_2" "reactor_loadgen_3" "reactor_loadgen_4" >/dev/null
  "${compose[@]}" run --rm --no-deps merge >"$results/$run.merge.log" 2>&1 || {
    cat "$results/$run.merge.log"
    fail "merge of $run"
  }
  python3 - "$results" "$run" <<'PY' || fail "merge of $run does not add up"
import glob, json, os, sys
results, run = sys.argv[1], sys.argv[2]
d = os.path.join(results, run)
gens = sorted(glob.glob(os.path.join(d, "*.json")))
logs = sorted(glob.glob(os.path.join(d, "*.hlog")))
assert len(gens) == 4 and len(logs) == 4, f"{run}: {len(gens)} results, {len(logs)} logs, not 4"
counts = [json.load(open(g))["requests"] for g in gens]
assert all(c > 0 for c in counts), f"{run}: a generator measured nothing: {counts}"
merged = json.load(open(os.path.join(d, "merged", "all.json")))
assert merged["count"] == sum(counts), f"{run}: merged {merged['count']} != {counts} summed"
others = [r for r in os.listdir(results) if os.path.isdir(os.path.join(results, r)) and r != run]
print(f"container-test: compose: {run}: merged {merged['count']} = "
      f"{' + '.join(map(str, counts))} (other runs on the volume: {len(others)})")
PY
  sed -n 's/^ *latency/  merged latency/p' "$results/$run.merge.log"
done

say "stop server: drains, exits 0"
"${compose[@]}" stop server >/dev/null 2>&1 || fail "podman-compose stop server"
code=$(podman inspect --format '{{.State.ExitCode}}' reactor_server_1)
[ "$code" = 0 ] || fail "server exited $code after SIGTERM"
logs=$(podman logs reactor_server_1 2>&1)
case $logs in
  *"shutting down"*"stopped; conns accepted"*) ;;
  *) fail "server's log does not show the drain and the final counters" ;;
esac
say "passed"
