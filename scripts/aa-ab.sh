#!/usr/bin/env bash
# A/A and A/B series for the comparison's regression verdicts: how often does `compare
# --baseline-build` call a regression when nothing changed, and when the reactor was made slower
# by a known amount?
#
# Usage: scripts/aa-ab.sh [--runs N] [--slow-pct P] [--gate LIST] [--out DIR] [-- compare options]
#   --runs N       runs per series (default 20)
#   --slow-pct P   size of the slowed variant: P% of the server CPU per request in the cheaper of
#                  the two scenarios (default 10)
#   --spin-ns N    size it as N ns per response instead, with no sizing run (over many
#                  connections a nominal P% costs less than P%: a slower server takes more
#                  requests per wake-up; the summary gives the CPU ratio each series measured)
#   --gate LIST    compare's --gate (default cpu,syscalls)
#   --scenarios L  compare's --scenarios (default tcp-64b-1c,http-1c: one request at a time, so
#                  a cost added per response shows in full; over 64 connections the server
#                  absorbs most of it by batching more requests per wake-up)
#   after --, options for every compare run (e.g. --max-outside-load 100 on a busy machine)
#
# It builds the release binaries, sizes the slowed variant from one plain run (quick profile, the
# reactor only, TCP and HTTP one request at a time), then runs three series of the same comparison,
# each with the release build as the baseline build (`--baseline-build target/release`: the
# reactor and its twin interleaved in every repeat, each repeat paired with its twin's):
#   A/A      the release build against itself: every regression verdict is a false alarm;
#   slow     a build dir whose reactor-server runs the release binary with an LD_PRELOAD shim
#            (scripts/lib/slow-preload.c) that spins REACTOR_SLOW_SPIN_NS after every response;
#   syscall  the same with one extra system call (getppid) after every response.
# and prints, per series, how many runs had a regression verdict, an unclear one, or none.
# The targets: at most 1 of 20 A/A runs, at least 19 of 20 slowed runs, and 20 of 20
# extra-syscall runs called a regression.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
slow_pct=10
spin_ns=""
gate=cpu,syscalls
scenarios=tcp-64b-1c,http-1c
out=target/aa-ab
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --slow-pct) slow_pct="$2"; shift 2 ;;
    --spin-ns) spin_ns="$2"; shift 2 ;;
    --gate) gate="$2"; shift 2 ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "aa-ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
extra=("$@")

scripts/lib/ensure-tools.sh python3
command -v cc >/dev/null || { echo "aa-ab.sh: needs a C compiler (cc) for the slowed variants" >&2; exit 1; }
echo "aa-ab.sh: building (release)" >&2
cargo build --release -p reactor-server -p reactor-loadgen -p reactor-compare --bins
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/cpu-ratios.txt"
cc -O2 -Wall -shared -fPIC -o "$out/slow-preload.so" scripts/lib/slow-preload.c -ldl

run_compare() {
  target/release/compare --quick --designs reactor --scenarios "$scenarios" "${extra[@]}" "$@"
}

if [ -z "$spin_ns" ]; then
  echo "aa-ab.sh: sizing the slowed variant" >&2
  run_compare --out "$out/size" > "$out/size.log" 2>&1 ||
    { echo "aa-ab.sh: the sizing run failed; see $out/size.log" >&2; exit 1; }

  # The slowed variant's size: slow_pct % of the smaller median CPU per request.
  spin_ns=$(python3 - "$out/size/report.json" "$slow_pct" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
cpu = [r["summary"]["cpu_us_per_request"]["median"]
       for s in doc["outcome"]["scenarios"] for r in s["rows"] if r.get("summary")]
# A row without a valid repeat has no median (null).
cpu = [c for c in cpu if c is not None and c == c and c > 0]
if not cpu:
    sys.exit("no valid CPU per request in the sizing run")
print(int(min(cpu) * 1000 * float(sys.argv[2]) / 100))
PY
  )
  echo "aa-ab.sh: slowed variant spins ${spin_ns} ns per response (${slow_pct}% of the cheaper scenario's CPU per request)" >&2
else
  echo "aa-ab.sh: slowed variant spins ${spin_ns} ns per response (--spin-ns)" >&2
fi

release=$(pwd)/target/release
variant() { # NAME ENV...: a build dir whose reactor-server is the release one with the shim
  local dir="$out/bin-$1"; shift
  mkdir -p "$dir"
  {
    echo '#!/bin/sh'
    echo "exec env LD_PRELOAD=$out/slow-preload.so $* $release/reactor-server \"\$@\""
  } > "$dir/reactor-server"
  chmod +x "$dir/reactor-server"
  echo "$dir"
}
slow_dir=$(variant slow "REACTOR_SLOW_SPIN_NS=$spin_ns")
syscall_dir=$(variant syscall "REACTOR_SLOW_EXTRA_SYSCALL=1")

verdict_of() { # REPORT_JSON -> regression | unclear | same | failed
  python3 - "$1" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
    rows = doc["baseline"]["rows"]
except (OSError, KeyError, TypeError, ValueError):
    print("failed"); sys.exit()
if not rows:
    print("failed"); sys.exit()
verdicts = {r["verdict"] for r in rows}
print(next((v for v in ("regression", "unclear", "improvement") if v in verdicts), "same"))
PY
}

cpu_ratios_of() { # REPORT_JSON -> each row's paired CPU ratio (design / baseline twin), one a line
  python3 - "$1" <<'PY'
import json, sys
try:
    rows = json.load(open(sys.argv[1]))["baseline"]["rows"]
except (OSError, KeyError, TypeError, ValueError):
    sys.exit()
for r in rows or []:
    v = (r.get("cpu") or {}).get("ratio", {}).get("value")
    if v is not None and v == v:
        print(f"{r['scenario']} {v}")
PY
}

declare -A count
for series in aa slow syscall; do
  for v in regression unclear improvement same failed; do count[$series.$v]=0; done
done
# The series take turns run by run, so a slow phase of the machine lands on all three alike.
for i in $(seq 1 "$runs"); do
  for series in aa slow syscall; do
    case "$series" in
      aa) bin=$release ;;
      slow) bin=$slow_dir ;;
      syscall) bin=$syscall_dir ;;
    esac
    started=$(date +%s)
    run_compare --out "$out/$series-$i" --bin-dir "$bin" --loadgen "$release/reactor-loadgen" \
      --baseline-build "$release" --gate "$gate" > "$out/$series-$i.log" 2>&1 || true
    v=$(verdict_of "$out/$series-$i/report.json")
    cpu_ratios_of "$out/$series-$i/report.json" | sed "s/^/$series /" >> "$out/cpu-ratios.txt"
    count[$series.$v]=$((count[$series.$v] + 1))
    echo "aa-ab.sh: $series run $i/$runs: $v ($(( $(date +%s) - started )) s)" >&2
  done
done

printf '\n%-8s %5s %11s %8s %12s %5s %7s\n' series runs regression unclear improvement same failed
for series in aa slow syscall; do
  printf '%-8s %5s %11s %8s %12s %5s %7s\n' "$series" "$runs" "${count[$series.regression]}" \
    "${count[$series.unclear]}" "${count[$series.improvement]}" "${count[$series.same]}" \
    "${count[$series.failed]}"
done
echo
echo "measured CPU per request, design / baseline twin (median of the runs' paired ratios, and their range):"
python3 - "$out/cpu-ratios.txt" <<'PY'
import statistics, sys
from collections import defaultdict
by = defaultdict(list)
for line in open(sys.argv[1]):
    series, scenario, ratio = line.split()
    by[(series, scenario)].append(float(ratio))
for (series, scenario), v in sorted(by.items()):
    print(f"  {series:<8} {scenario:<14} {statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f}, {len(v)} runs)")
PY
echo
echo "targets: aa at most $((runs / 20)) regression(s) in $runs; slow at least $((runs - runs / 20)); syscall all $runs"
echo "gate: $gate; slowed variant: $spin_ns ns per response; reports under $out"
