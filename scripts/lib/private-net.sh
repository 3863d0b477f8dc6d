#!/usr/bin/env bash
# Runs a command in a network namespace of its own, with only loopback up: the host's firewall
# and connection tracking never see its traffic.
#
# Why: where the host runs NAT (a container engine's networking, a firewall), netfilter tracks
# every connection, loopback included, and keeps each closed one for two minutes. A benchmark
# that opens a connection per request fills that table (262144 entries by default) in about a
# minute; the kernel then drops new connections' packets and connects stall, which says nothing
# about the server measured. A fresh namespace has no rules, so nothing there is tracked, and
# the figures do not depend on what the host's firewall happens to hold.
#
# Usage: scripts/lib/private-net.sh COMMAND [ARGS...]
# Needs root (unshare(CLONE_NEWNET)) and `ip`; without them it says so and exits 1. The command
# keeps this process's PID (unshare and sh exec it), so a caller can signal and wait for it.
# Nothing outside loopback is reachable from inside: build and install before, not within.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: scripts/lib/private-net.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "private-net.sh: a network namespace of its own needs root; run without --private-net, or as root" >&2
  exit 1
fi
for tool in unshare ip; do
  if ! command -v "$tool" >/dev/null; then
    echo "private-net.sh: needs \`$tool\` (scripts/lib/ensure-tools.sh $tool)" >&2
    exit 1
  fi
done
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' private-net "$@"
