#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks drive (curl, python3, nginx, wrk, prometheus,
# iproute2, taskset) when a command is missing: with apt-get as root (or via sudo). Prints what
# it does; fails with a clear message when it cannot install.
# Usage: scripts/lib/ensure-tools.sh [COMMAND ...]   (default: everything the project uses)
set -euo pipefail

declare -A package_of=(
  [curl]=curl [python3]=python3 [nginx]=nginx-light [wrk]=wrk [ip]=iproute2 [taskset]=util-linux
  [prometheus]=prometheus [promtool]=prometheus [perf]=linux-perf [valgrind]=valgrind
)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(curl python3 nginx wrk ip taskset promtool)

missing=()
for cmd in "${wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("${package_of[$cmd]:-$cmd}")
  fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "ensure-tools: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-tools: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
echo "ensure-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
