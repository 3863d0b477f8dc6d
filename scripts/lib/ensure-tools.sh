#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the tests and benchmarks drive when a command is missing,
# with apt-get as root (or via sudo), saying what and why before it does; fails with a clear
# message when it cannot install.
#   - Package names are picked per distribution: the first candidate apt knows (perf is
#     `linux-perf` on Debian, `linux-tools-<kernel>` on Ubuntu; nginx `nginx-light` where it
#     exists, else `nginx`).
#   - No system service is left running: packages are installed under a policy-rc.d that keeps
#     their services from starting (Debian's nginx would otherwise serve port 80 under systemd,
#     prometheus port 9090), and on a systemd host the services of the packages installed here
#     are disabled and stopped afterwards (a service that was there before is left alone). The
#     tests start their own instances on free ports.
# Usage: scripts/lib/ensure-tools.sh [COMMAND ...]   (default: everything the tests use)
set -euo pipefail

kernel=$(uname -r)
# command -> candidate packages, first one apt knows wins ("a+b": both packages).
declare -A candidates_of=(
  [curl]=curl [python3]=python3 [nginx]="nginx-light nginx" [wrk]=wrk [ip]=iproute2
  [taskset]=util-linux [prometheus]=prometheus [promtool]=prometheus
  [perf]="linux-perf linux-tools-$kernel+linux-tools-common" [valgrind]=valgrind
  [nc]=netcat-openbsd [podman]=podman [runc]=runc [debootstrap]=debootstrap
  [podman-compose]=podman-compose [catatonit]=catatonit [testssl]=testssl.sh
)
declare -A why_of=(
  [curl]="HTTP checks in tests" [python3]="test helpers and the seeds' servers"
  [nginx]="a peer the comparison measures against" [wrk]="the HTTP benchmark's peer generator"
  [ip]="network-namespace tests" [taskset]="CPU pinning" [prometheus]="the scrape test"
  [promtool]="the metrics format check" [perf]="system calls per request"
  [valgrind]="instruction counts" [nc]="the README's examples"
  [jq]="the README's examples" [openssl]="HTTPS tests and the README's certificate one-liner"
  [testssl]="the HTTPS listener's protocol and cipher check"
)
# Services that packages start on install, to stop and disable afterwards.
services=(nginx prometheus)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(curl python3 openssl nginx wrk ip taskset promtool nc jq)

missing=()
for cmd in "${wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("$cmd")
  fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "ensure-tools: missing ${missing[*]}; install them as root (apt-get install ...)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-tools: missing ${missing[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq

packages=()
for cmd in "${missing[@]}"; do
  chosen=""
  for candidate in ${candidates_of[$cmd]:-$cmd}; do
    ok=1
    for pkg in ${candidate//+/ }; do
      apt-cache show "$pkg" >/dev/null 2>&1 || ok=0
    done
    if [ "$ok" = 1 ]; then
      chosen=${candidate//+/ }
      break
    fi
  done
  if [ -z "$chosen" ]; then
    echo "ensure-tools: no package for $cmd in this distribution's archive (tried ${candidates_of[$cmd]:-$cmd})" >&2
    exit 1
  fi
  echo "ensure-tools: installing $chosen for $cmd (${why_of[$cmd]:-needed here}) with ${sudo:-root} apt-get" >&2
  # shellcheck disable=SC2206 # "a b" is two packages
  packages+=($chosen)
done

# Keep services from starting during the install (invoke-rc.d and deb-systemd-invoke honour
# policy-rc.d); an existing policy is left alone.
policy=/usr/sbin/policy-rc.d
own_policy=0
if ! [ -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  own_policy=1
fi
status=0
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null || status=$?
[ "$own_policy" = 0 ] || $sudo rm -f "$policy"
[ "$status" = 0 ] || exit "$status"

# Only the services of packages installed here: a service the machine already ran is its
# owner's business.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  for svc in "${services[@]}"; do
    installed_here=0
    for pkg in "${packages[@]}"; do
      case "$pkg" in "$svc" | "$svc"-*) installed_here=1 ;; esac
    done
    [ "$installed_here" = 1 ] || continue
    if systemctl list-unit-files "$svc.service" 2>/dev/null | grep -q "^$svc.service"; then
      echo "ensure-tools: disabling the system $svc service the package installed (tests start their own)" >&2
      $sudo systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
    fi
  done
fi
