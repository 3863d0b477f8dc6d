#!/usr/bin/env bash
# Builds the project's Dockerfile and runs compose.yaml and the Kubernetes manifests for real,
# with podman (no Docker engine, no registry needed). Run by .ci/run.
#   1. installs podman, runc, debootstrap and podman-compose (apt-get, as root) when missing;
#   2. makes the base images locally (scripts/lib/container-base-images.sh: debootstrap +
#      `podman import`; cached in the podman image store) and builds the Dockerfile with them as
#      build arguments; `reactor-server --version` in the image must name this commit;
#   3. compose (scripts/lib/container-compose-test.sh): server healthy by the image's
#      HEALTHCHECK, four generator replicas reach it by service name over TCP, UDP and HTTP,
#      `merge` adds exactly one run's histograms, `stop` drains and the server exits 0;
#   4. Kubernetes (scripts/lib/container-kube-test.sh): `podman kube play` of deploy/server.yaml
#      and of the loadgen Job's pod spec: non-root, read-only root filesystem, probe answering, the
#      generator pod measures the server pod.
# Prints `container-test: SKIP: <reason>` and exits 0 where podman cannot run containers (not
# root, no apt-get, no kernel support); any failure after that exits 1.
#
# This machine type needs two podman settings, passed through CONTAINERS_CONF: the runc runtime
# (crun refuses the hybrid cgroup v1/v2 layout) and nofile/nproc limits at or below the host's
# hard limits (podman's defaults exceed them and runc's setrlimit fails).
#
# The Rust build inside the image reuses the cargo registry and target/ between runs on the same
# machine (the Dockerfile's cache mounts), so only what changed is compiled again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Without systemd, podman logs an error for every container with a HEALTHCHECK (it cannot add
# the timer that would run the check periodically; the tests run the checks themselves with
# `podman healthcheck run`). Those lines are dropped; everything else on stderr stays.
exec 2> >(grep -v --line-buffered 'unable to get systemd connection' >&2)

say() { echo "container-test: $*"; }
skip() {
  say "SKIP: $*"
  exit 0
}
started=$(date +%s)

[ "$(id -u)" = 0 ] || skip "needs root (podman with runc as root; rootless podman is not set up here)"
missing=()
# iptables: netavark sets up the build's and the containers' bridge network with it.
for tool in podman runc debootstrap podman-compose catatonit iptables; do
  command -v "$tool" >/dev/null 2>&1 || command -v "/usr/sbin/$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || skip "missing ${missing[*]} and no apt-get to install them"
  say "installing ${missing[*]} (apt-get): the container engine, its runtime, the base image maker"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman runc debootstrap podman-compose catatonit \
    netavark aardvark-dns uidmap iptables >/dev/null ||
    skip "apt-get could not install ${missing[*]}"
fi

# runc, and limits the host allows (see the header).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ] && nproc=4096
conf_dir=$(mktemp -d)
trap 'rm -rf "$conf_dir"' EXIT
cat >"$conf_dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$conf_dir/containers.conf
export REACTOR_NOFILE=$nofile REACTOR_NPROC=$nproc

say "podman $(podman --version | awk '{ print $3 }'), runc, nofile=$nofile nproc=$nproc"
if ! base_images=$(scripts/lib/container-base-images.sh); then
  skip "could not make the base images (debootstrap, podman import or build failed; see above)"
fi
eval "$base_images"
[ -n "${DEBIAN_IMAGE:-}" ] || skip "the base image script named no Debian image"
probe=$(podman run --rm "$DEBIAN_IMAGE" echo ok 2>&1) ||
  skip "podman cannot run a container here: $probe"

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# In a plain clone the build reads the commit from .git itself, as a user's `docker build` does
# (deploy/build-commit.sh); a worktree's .git is a file pointing outside the build context, so
# there the commit is passed as a build argument.
commit_arg=()
if [ -f .git ]; then
  commit_arg=(--build-arg "REACTOR_BUILD_COMMIT=$commit")
fi
say "building the Dockerfile (base images $RUST_IMAGE, $DEBIAN_IMAGE; commit $commit${commit_arg[*]:+, passed as a build argument})"
build_started=$(date +%s)
# --format docker: the OCI format has no HEALTHCHECK.
podman build --format docker \
  --build-arg RUST_IMAGE="$RUST_IMAGE" \
  --build-arg RUNTIME_IMAGE="$DEBIAN_IMAGE" \
  "${commit_arg[@]}" \
  -t localhost/reactor:local . >"$conf_dir/build.log" 2>&1 || {
  tail -n 40 "$conf_dir/build.log"
  say "FAILED: podman build"
  exit 1
}
say "image built in $(($(date +%s) - build_started)) s"
version=$(podman run --rm localhost/reactor:local --version 2>/dev/null)
say "image: $version"
case $version in
  *"commit $commit"*) ;;
  *)
    say "FAILED: --version does not name commit $commit"
    exit 1
    ;;
esac

scripts/lib/container-compose-test.sh
scripts/lib/container-kube-test.sh
say "all passed in $(($(date +%s) - started)) s"
