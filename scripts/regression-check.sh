#!/usr/bin/env bash
# Is this checkout slower or costlier than another revision? The regression gate CI runs.
#
# Usage: scripts/regression-check.sh [--private-net] [REV] [-- compare options]
#   REV            the baseline revision (default HEAD~1: the commit before this one)
#   --private-net  measure in a network namespace of its own (root; see scripts/compare.sh)
#
# Builds REV's reactor-server beside this checkout's (scripts/lib/build-baseline.sh), then runs
# the quick comparison of the reactor over TCP and HTTP, one request at a time (where a cost
# added per request shows in full) and over 64 connections (where the server batches), with
# REV's build as its
# twin in every repeat (`compare --baseline-build`), judged on server CPU per request (a paired
# signed-rank test, at most 1% false alarms per figure) and system calls per request (perf, a
# 20% threshold). A regression is measured again once, from scratch, and fails (exit 3) only
# when the second run confirms it: a false alarm then needs two in a row. Reports go to
# target/regression/ (and target/regression-confirm/).
set -euo pipefail
cd "$(dirname "$0")/.."

runner=()
if [ "${1:-}" = --private-net ]; then runner=(scripts/lib/private-net.sh); shift; fi
rev=HEAD~1
if [ $# -gt 0 ] && [ "$1" != -- ]; then rev=$1; shift; fi
[ "${1:-}" = -- ] && shift
extra=("$@")

if ! git rev-parse --verify --quiet "$rev^{commit}" >/dev/null; then
  echo "regression-check.sh: no revision $rev in this clone (a shallow clone?): nothing to compare against" >&2
  exit 1
fi
base=target/baseline/$(git rev-parse --short=12 "$rev")
scripts/lib/build-baseline.sh "$rev" "$base" reactor-server
cargo build --release -p reactor-loadgen -p reactor-compare --bins

verdicts() { # REPORT_MD: print its section on the baseline
  awk '/^## Against the baseline/ { on = 1; print; next } on && /^#/ { exit } on' "$1"
}

judge() { # OUT: one comparison; its exit status
  "${runner[@]}" target/release/compare --quick --designs reactor --scenarios tcp-64b-1c,http-1c,tcp-64b-64c,http-64c \
    --baseline-build "$base" --gate cpu,syscalls --fail-on-regression --out "$1" "${extra[@]}"
}

echo "regression-check.sh: this checkout against $(git log -1 --format='%h %s' "$rev")" >&2
status=0
judge target/regression > target/regression.md || status=$?
verdicts target/regression.md
if [ "$status" -eq 3 ]; then
  echo "regression-check.sh: a regression; measuring again to confirm" >&2
  status=0
  judge target/regression-confirm > target/regression-confirm.md || status=$?
  verdicts target/regression-confirm.md
  if [ "$status" -eq 3 ]; then
    echo "regression-check.sh: REGRESSION, confirmed by a second run (reports in target/regression and target/regression-confirm)" >&2
    exit 3
  fi
  [ "$status" -eq 0 ] && echo "regression-check.sh: the second run did not confirm it: no regression" >&2
fi
exit "$status"
