#!/usr/bin/env bash
# CI's speed gate that a busy neighbour cannot move: user-space instructions per TCP echo and
# per HTTP GET of the release reactor-server (scripts/callgrind-per-request.sh), against the
# figures recorded in .ci/instructions-baseline. Fails when either grew by more than its
# tolerance; prints both figures with their ratio either way.
#
# Instruction counts repeat within about 3% for the echo (how many requests one read carries
# moves with timing) and 0.3% for HTTP on one machine, so a tolerance of 8% catches a change of
# about 10% per request without false alarms. They depend on the compiler and on the CPU's
# features (glibc's memcpy and friends): under another rustc or CPU than the baseline's, the
# gate prints the figures and passes with a note.
#
# Usage: scripts/instructions-gate.sh            check (needs target/release binaries;
#                                               SERVER_BIN picks another server binary)
#        scripts/instructions-gate.sh --update   record the current figures as the baseline
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=.ci/instructions-baseline
server=${SERVER_BIN:-target/release/reactor-server}
if ! [ -x "$server" ] || ! [ -x target/release/reactor-loadgen ]; then
  echo "instructions-gate: build first: cargo build --release -p reactor-server -p reactor-loadgen" >&2
  exit 2
fi
rustc_now=$(rustc --version | awk '{ print $2 }')
# glibc picks its string and memory functions by CPU features, which callgrind passes through:
# the counts belong to a compiler and a CPU alike.
cpu_now=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cpu_now="$cpu_now [$(grep -m1 -o -w -E 'avx512f|avx2|erms|fsrm' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')]"

measure() { # PROTO -> instructions per request
  PROTO=$1 scripts/callgrind-per-request.sh "$server" | awk '{ print $1 }'
}
tcp=$(measure tcp)
http=$(measure http)

if [ "${1:-}" = --update ]; then
  cat >"$baseline" <<TXT
# User-space instructions per request of the release reactor-server, counted by callgrind
# (scripts/callgrind-per-request.sh); the baseline of scripts/instructions-gate.sh.
rustc=$rustc_now
cpu=$cpu_now
tcp=$tcp
http=$http
TXT
  echo "instructions-gate: recorded tcp=$tcp http=$http (rustc $rustc_now, $cpu_now) in $baseline"
  exit 0
fi

value() { awk -F= -v k="$1" '$1 == k { print $2 }' "$baseline"; }
python3 - "$tcp" "$(value tcp)" "$http" "$(value http)" "$rustc_now" "$(value rustc)" \
  "$cpu_now" "$(value cpu)" <<'PY'
import sys
tcp, tcp0, http, http0 = map(float, sys.argv[1:5])
rustc, rustc0, cpu, cpu0 = sys.argv[5:9]
failed = False
for name, now, base, tolerance in (("tcp echo", tcp, tcp0, 0.08), ("http get", http, http0, 0.08)):
    ratio = now / base
    verdict = "ok"
    if ratio > 1 + tolerance:
        verdict = f"REGRESSION (over +{tolerance:.0%})"
        failed = True
    print(f"instructions-gate: {name}: {now:.1f} instructions per request, baseline {base:.1f}, "
          f"ratio {ratio:.3f}: {verdict}")
if (rustc, cpu) != (rustc0, cpu0):
    print(f"instructions-gate: rustc {rustc} on {cpu}, baseline made with rustc {rustc0} on "
          f"{cpu0}: figures not comparable, not gated")
    sys.exit(0)
if failed:
    print("instructions-gate: if the extra work is intended, record it with "
          "scripts/instructions-gate.sh --update and say why in the commit")
    sys.exit(1)
PY
