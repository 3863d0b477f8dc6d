#!/usr/bin/env bash
# A/A and A/B series for the comparison's regression verdicts: how often does `compare
# --baseline` call a regression when nothing changed, and when the reactor was made slower by a
# known amount?
#
# Usage: scripts/aa-ab.sh [--runs N] [--slow-pct P] [--gate LIST] [--out DIR] [-- compare options]
#   --runs N       runs per series (default 20)
#   --slow-pct P   size of the slowed variant: P% of the baseline's server CPU per request in the
#                  cheaper of the two scenarios (default 10)
#   --gate LIST    compare's --gate (default cpu,syscalls)
#   after --, options for every compare run (e.g. --max-outside-load 100 on a busy machine)
#
# It builds the release binaries, measures a baseline (quick profile, the reactor only, TCP and
# HTTP at 64 connections), then runs three series against it:
#   A/A      the same build again: every regression verdict is a false alarm;
#   slow     the same build with REACTOR_SLOW_SPIN_NS: an LD_PRELOAD shim
#            (scripts/lib/slow-preload.c) spins that long after every response it writes;
#   syscall  the same build with one extra system call (getppid) after every response.
# and prints, per series, how many runs had a regression verdict, an unclear one, or none.
# The targets: at most 1 of 20 A/A runs, at least 19 of 20 slowed runs, and 20 of 20
# extra-syscall runs called a regression. Each run takes about 15 s; 3 series of 20 runs take
# about 15 minutes on a quiet machine (on a busy one, noisy repeats are retried or left out).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20
slow_pct=10
gate=cpu,syscalls
out=target/aa-ab
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --slow-pct) slow_pct="$2"; shift 2 ;;
    --gate) gate="$2"; shift 2 ;;
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
cc -O2 -Wall -shared -fPIC -o "$out/slow-preload.so" scripts/lib/slow-preload.c -ldl

scenarios=tcp-64b-64c,http-64c
run_compare() {
  target/release/compare --quick --designs reactor --scenarios "$scenarios" "${extra[@]}" "$@"
}

echo "aa-ab.sh: baseline" >&2
run_compare --out "$out/base" > "$out/base.log" 2>&1 ||
  { echo "aa-ab.sh: the baseline run failed; see $out/base.log" >&2; exit 1; }

# The slowed variant's size, from the baseline: slow_pct % of the smaller median CPU per request.
spin_ns=$(python3 - "$out/base/report.json" "$slow_pct" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
cpu = [r["summary"]["cpu_us_per_request"]["median"]
       for s in doc["outcome"]["scenarios"] for r in s["rows"] if r.get("summary")]
# A row without a valid repeat has no median (null).
cpu = [c for c in cpu if c is not None and c == c and c > 0]
if not cpu:
    sys.exit("no valid CPU per request in the baseline")
print(int(min(cpu) * 1000 * float(sys.argv[2]) / 100))
PY
)
echo "aa-ab.sh: slowed variant spins ${spin_ns} ns per response (${slow_pct}% of the cheaper scenario's CPU per request)" >&2

variant() { # NAME ENV...: a designs file replacing "reactor" with the shim loaded
  local name="$1"; shift
  local envs=""
  for e in "$@"; do envs="$envs\"$e\", "; done
  cat > "$out/$name.toml" <<TOML
[[design]]
name = "reactor"
about = "reactor-server with $* (scripts/lib/slow-preload.c)"
command = ["env", "LD_PRELOAD=$out/slow-preload.so", $envs"{bin_dir}/reactor-server", "--tcp", "{tcp}", "--udp", "{udp}", "--http", "{http}"]
serves = ["tcp", "udp", "http"]
ready = "listening"
clean_exit = "zero"
TOML
  echo "$out/$name.toml"
}
slow_file=$(variant slow "REACTOR_SLOW_SPIN_NS=$spin_ns")
syscall_file=$(variant syscall "REACTOR_SLOW_EXTRA_SYSCALL=1")

verdict_of() { # REPORT_JSON -> regression | unclear | same | failed
  python3 - "$1" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
    rows = doc["baseline"]["rows"]
except (OSError, KeyError, TypeError, ValueError):
    print("failed"); sys.exit()
verdicts = {r["verdict"] for r in rows}
print(next((v for v in ("regression", "unclear", "improvement") if v in verdicts), "same"))
PY
}

declare -A count
for series in aa slow syscall; do
  for v in regression unclear improvement same failed; do count[$series.$v]=0; done
  for i in $(seq 1 "$runs"); do
    args=(--out "$out/$series-$i" --baseline "$out/base/report.json" --gate "$gate")
    case "$series" in
      slow) args+=(--designs-file "$slow_file") ;;
      syscall) args+=(--designs-file "$syscall_file") ;;
    esac
    run_compare "${args[@]}" > "$out/$series-$i.log" 2>&1 || true
    v=$(verdict_of "$out/$series-$i/report.json")
    count[$series.$v]=$((count[$series.$v] + 1))
    echo "aa-ab.sh: $series run $i/$runs: $v" >&2
  done
done

printf '\n%-8s %5s %11s %8s %12s %5s %7s\n' series runs regression unclear improvement same failed
for series in aa slow syscall; do
  printf '%-8s %5s %11s %8s %12s %5s %7s\n' "$series" "$runs" "${count[$series.regression]}" \
    "${count[$series.unclear]}" "${count[$series.improvement]}" "${count[$series.same]}" \
    "${count[$series.failed]}"
done
echo
echo "targets: aa at most $((runs / 20)) regression(s) in $runs; slow at least $((runs - runs / 20)); syscall all $runs"
echo "gate: $gate; slowed variant: $spin_ns ns per response; reports under $out"
