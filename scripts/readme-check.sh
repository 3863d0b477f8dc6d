#!/usr/bin/env bash
# Runs the README's examples against freshly built binaries (scripts/lib/readme_check.py says
# how: ```console blocks are run and their output compared, other blocks are checked for paths
# and flags that exist). Run by .ci/run.
#
# The examples use the server's default ports (7000, 8080). As root the check runs in a network
# namespace of its own (unshare --net), so nothing else on the machine can hold those ports and
# nothing of the check is reachable from outside; without root it runs on the machine's loopback
# and fails if those ports are taken.
# Usage: scripts/readme-check.sh [MARKDOWN_FILE ...]
#   (default: README.md, CONTRIBUTING.md, every crate's or directory's README.md, docs/*.md)
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || set -- README.md CONTRIBUTING.md ./*/README.md docs/*.md
scripts/lib/ensure-tools.sh curl nc python3 jq
cargo build --quiet -p reactor-server -p reactor-loadgen
bin=target/debug

if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
  echo "readme-check: in a private network namespace"
  exec unshare --net bash -c 'ip link set lo up && exec python3 scripts/lib/readme_check.py "$@"' \
    readme-check "$bin" "$@"
fi
exec python3 scripts/lib/readme_check.py "$bin" "$@"
