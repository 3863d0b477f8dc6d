#!/usr/bin/env bash
# Soak test: every byte verified under a mix of clients (TCP/UDP echo in random sizes and
# splits, half-closes, resets mid-write, slow readers, connection churn, pipelined and malformed
# HTTP), with RSS at the start and end. Not part of the default test path; CI runs the short
# form (`scripts/soak.sh --seconds 20`).
#
#   scripts/soak.sh [--minutes M | --seconds S] [--designs reactor,threads,tokio,tokio-multi,uring|all]
#                   [--threads N] [--out DIR]
#
# Each design's report (JSON) goes to DIR (default target/soak); the exit status is non-zero if
# any design lost or corrupted a byte, a client saw an error, or RSS grew past the bound.
# Correctness, not performance: it may run on a shared machine, no exclusive lock needed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
designs=reactor
threads=2
out=target/soak
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) seconds=$(( $2 * 60 )); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --designs) designs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $designs == all ]] && designs=reactor,threads,tokio,tokio-multi,uring

scripts/lib/ensure-tools.sh python3
cargo build --release -q -p reactor-server -p reactor-designs
mkdir -p "$out"

listen=(--tcp 127.0.0.1:0 --udp 127.0.0.1:0 --http 127.0.0.1:0)
status=0
IFS=, read -r -a list <<<"$designs"
for design in "${list[@]}"; do
  case "$design" in
    reactor) cmd=(target/release/reactor-server "${listen[@]}") ;;
    threads) cmd=(target/release/design-threads "${listen[@]}") ;;
    tokio) cmd=(target/release/design-tokio --flavor current "${listen[@]}") ;;
    tokio-multi) cmd=(target/release/design-tokio --flavor multi "${listen[@]}") ;;
    uring) cmd=(target/release/design-uring "${listen[@]}") ;;
    *) echo "soak: unknown design $design" >&2; exit 2 ;;
  esac
  echo "soak: $design for ${seconds}s, $threads threads per client kind" >&2
  if ! python3 scripts/lib/soak.py --seconds "$seconds" --threads "$threads" --name "$design" \
      --json "$out/$design.json" -- "${cmd[@]}"; then
    status=1
  fi
done
exit "$status"
