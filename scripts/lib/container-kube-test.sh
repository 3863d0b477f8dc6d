#!/usr/bin/env bash
# The Kubernetes part of scripts/container-test.sh (which sets CONTAINERS_CONF and builds
# localhost/reactor:local first): the manifests in deploy/ run with `podman kube play`.
#   - deploy/server.yaml as written but for `replicas: 1`, on a podman network of its own:
#     podman 4.3 plays one pod per replica on this one host and publishes every containerPort
#     on the host, so a second replica cannot bind 7000 (it ignores the Service);
#   - the pod must run as uid 10001 with a read-only root filesystem, its liveness probe (which
#     podman turns into the container's health check) must pass, and /healthz must answer 200
#     on the pod's address;
#   - `kube play` has no Job: the loadgen Job's pod template is played as a Pod (index 0, the
#     target set to the server pod's address, since podman has no Services), with the results
#     volume of deploy/loadgen-results-pvc.yaml; it must exit 0 having measured the server pod;
#   - the merge Job's pod template likewise, and its count must be the generator's.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "container-test: kube: $*"; }
work=$(mktemp -d)
net=reactor-kube
server_ctr=reactor-server-pod-0-server
cleanup() {
  for f in "$work"/merge.yaml "$work"/loadgen.yaml "$work"/server.yaml deploy/loadgen-results-pvc.yaml; do
    [ -f "$f" ] && podman kube down "$f" >/dev/null 2>&1 || true
  done
  podman volume rm -f reactor-loadgen-results >/dev/null 2>&1 || true
  podman network rm -f "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
fail() {
  say "FAILED: $*"
  podman logs --tail 20 "$server_ctr" 2>&1 | sed 's/^/  server: /' || true
  exit 1
}
trap cleanup EXIT
cleanup
work=$(mktemp -d)

podman network create "$net" >/dev/null
podman kube play --network "$net" deploy/loadgen-results-pvc.yaml >/dev/null || fail "kube play pvc"
python3 - "$work/server.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open("deploy/server.yaml")))
for d in docs:
    if d["kind"] == "Deployment":
        d["spec"]["replicas"] = 1
yaml.safe_dump_all(docs, open(sys.argv[1], "w"))
PY
podman kube play --network "$net" "$work/server.yaml" >"$work/server.out" 2>&1 || {
  cat "$work/server.out"
  fail "kube play deploy/server.yaml"
}

user=$(podman exec "$server_ctr" id -u) || fail "server container not running"
[ "$user" = 10001 ] || fail "server runs as uid $user, not 10001"
[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$server_ctr")" = true ] ||
  fail "server's root filesystem is writable"
if podman exec "$server_ctr" sh -c ': >/probe' 2>/dev/null; then
  fail "could write to the server's root filesystem"
fi
ip=$(podman inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$server_ctr")
[ -n "$ip" ] || fail "no address for the server pod on $net"
tries=0
until curl -fsS --max-time 2 "http://$ip:8080/healthz" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 20 ] || fail "GET http://$ip:8080/healthz (the probes' endpoint) never answered 200"
  sleep 0.5
done
tries=0
until podman healthcheck run "$server_ctr" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 20 ] || fail "the server pod's liveness probe never passed"
  sleep 0.5
done
say "server pod: uid $user, read-only root, liveness probe passing, /healthz 200 at $ip:8080"

# The Jobs' pod templates as Pods (podman kube play has no Job kind).
python3 - "$ip" "$work" <<'PY'
import sys, yaml
ip, work = sys.argv[1], sys.argv[2]

def pod(job_file, name, env):
    job = yaml.safe_load(open(job_file))
    spec = job["spec"]["template"]["spec"]
    spec.pop("topologySpreadConstraints", None)
    for c in spec["containers"]:
        vars_ = {e["name"]: e for e in c.get("env", [])}
        for k, v in env.items():
            vars_[k] = {"name": k, "value": v}
        c["env"] = list(vars_.values())
    doc = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": job["spec"]["template"]["metadata"]["labels"]},
           "spec": spec}
    with open(f"{work}/{name.split('-')[-1]}.yaml", "w") as f:
        yaml.safe_dump(doc, f)

pod("deploy/loadgen-job.yaml", "reactor-loadgen",
    {"LOADGEN_TARGET": f"{ip}:7000", "LOADGEN_DURATION": "2s", "LOADGEN_CONNECTIONS": "4",
     "LOADGEN_THREADS": "1", "LOADGEN_RUN_ID": "kube", "JOB_COMPLETION_INDEX": "0"})
pod("deploy/merge-job.yaml", "reactor-loadgen-merge", {"LOADGEN_RUN_ID": "kube"})
PY

# play_to_end FILE CONTAINER: plays a pod and waits for its container's exit code.
play_to_end() {
  podman kube play --network "$net" "$1" >"$work/play.out" 2>&1 || {
    cat "$work/play.out"
    fail "kube play $1"
  }
  code=$(timeout 120 podman wait "$2") || fail "$2 did not finish"
  podman logs "$2" >"$work/$2.log" 2>&1 || true
  [ "$code" = 0 ] || {
    tail -n 10 "$work/$2.log"
    fail "$2 exited $code"
  }
}
play_to_end "$work/loadgen.yaml" reactor-loadgen-loadgen
play_to_end "$work/merge.yaml" reactor-loadgen-merge-merge
volume=$(podman volume inspect --format '{{.Mountpoint}}' reactor-loadgen-results)
python3 - "$volume/kube" <<'PY' || fail "the generator pod's results do not add up"
import json, sys
d = sys.argv[1]
gen = json.load(open(f"{d}/loadgen-0.json"))
merged = json.load(open(f"{d}/merged/all.json"))
assert gen["requests"] > 0 and gen["valid"], gen
assert merged["count"] == gen["requests"], (merged["count"], gen["requests"])
print(f"container-test: kube: generator pod measured the server pod: {gen['requests']} requests, "
      f"merged {merged['count']}")
PY

podman pod stop -t 15 reactor-server-pod-0 >/dev/null || fail "pod stop"
code=$(podman inspect --format '{{.State.ExitCode}}' "$server_ctr")
[ "$code" = 0 ] || fail "server pod exited $code after SIGTERM"
say "passed"
