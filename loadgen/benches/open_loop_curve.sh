#!/usr/bin/env bash
# The open-loop curve of one generator thread against the reactor: closed-loop capacity, then
# open-loop runs at fractions of it, each with schedule lateness p99, connection wait p99,
# generator CPU per request (and its ratio to the closed loop's), the share of the time it spun
# on the clock, its timed waits' overshoot p99, its wake-ups per request and the self-check
# verdict. Server pinned to CPU 0, generator to CPU 1; `reactor-loadgen probe` runs on CPU 1
# before and after, to show what the machine itself allowed meanwhile. MAX_LATENESS (default
# 100us) is the self-check limit, which also steers the engine. IDLE_POLL=1 runs every step,
# closed loop and probes included, with --idle-poll (idle CPUs polling instead of halting;
# needs root). LOADGEN=PATH measures another build. Run under the exclusive CPU lock on a
# shared machine:
#   flock -x -w 1800 /work/locks/cpu loadgen/benches/open_loop_curve.sh 3s 0.1 0.25 0.5 0.7
# Build first: cargo build --release -p reactor-server -p reactor-loadgen
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
server=${SERVER:-$root/target/release/reactor-server}
loadgen=${LOADGEN:-$root/target/release/reactor-loadgen}
duration=${1:-3s}
shift || true
fractions=${*:-0.1 0.25 0.5 0.6 0.7 0.8 0.9}
conns=${CONNS:-64}
max_lateness=${MAX_LATENESS:-100us}
idle=()
[ "${IDLE_POLL:-0}" = 1 ] && idle=(--idle-poll)
out=$(mktemp -d)
taskset -c 0 "$server" --tcp 127.0.0.1:0 >"$out/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
    grep -q '^listening tcp' "$out/server.log" && break
    sleep 0.05
done
addr=$(awk '/^listening tcp/ {print $3; exit}' "$out/server.log")
[ -n "$addr" ] || { echo "server did not start" >&2; exit 1; }

probe() { # label (skipped for a build without the probe command)
    "$loadgen" probe --help >/dev/null 2>&1 || return 0
    taskset -c 1 "$loadgen" probe -d 2s "${idle[@]}" --json "$out/probe.json" >/dev/null
    jq -r --arg name "$1" '"probe (\($name)): spinning thread p99 late \(.spin.lateness_us.p99 | round) us, off its CPU \(.spin.stalled_share * 1000 | round / 10)% of the time (longest \(.spin.longest_stall_us | round) us); timed waits overshoot p90/p99 \([.timed_waits[] | "\(.overshoot_us.p90 | round)/\(.overshoot_us.p99 | round)"] | join(", ")) us, CPU per wait \([.timed_waits[].cpu_per_wait_us | round] | join("/")) us"' "$out/probe.json"
}
cpu_per_req() { # json
    jq '(.generator.cpu_user_s + .generator.cpu_system_s) / ([.requests,1]|max) * 1e6' "$1"
}
row() { # label json closed_cpu_per_req
    jq -r --arg name "$1" --argjson base "$3" '[$name, (.offered_rps // "-"), (.rps|floor),
        (.schedule_lateness_us.p99 // "-"), (.conn_wait_us.p99 // "-"),
        (((.generator.cpu_user_s + .generator.cpu_system_s) / ([.requests,1]|max) * 1e6 * 100 | round) / 100),
        (((.generator.cpu_user_s + .generator.cpu_system_s) / ([.requests,1]|max) * 1e6 / $base * 100 | round) / 100),
        ((.generator.cpu_share_of_threads * 100) | round),
        ((.generator.spin_share // 0) * 100 | round),
        (.generator.wake_overshoot_us.p99 // "-"),
        (if .generator.wakeups_per_request then (.generator.wakeups_per_request * 100 | round) / 100 else "-" end),
        (if .valid then "valid" else "INVALID: " + (.invalid_reasons | join("; ")) end)] | @tsv' "$2"
}
probe before
echo -e "run\toffered/s\tachieved/s\tlateness_p99_us\tconn_wait_p99_us\tcpu_us_per_req\tvs_closed\tcpu_%\tspin_%\twake_p99_us\twakeups_per_req\tverdict"
taskset -c 1 "$loadgen" tcp "$addr" -c "$conns" -d "$duration" "${idle[@]}" --json "$out/closed.json" >/dev/null
base=$(cpu_per_req "$out/closed.json")
row closed "$out/closed.json" "$base"
capacity=$(jq '.rps' "$out/closed.json")
for f in $fractions; do
    rate=$(python3 -c "print(round($capacity * $f))")
    taskset -c 1 "$loadgen" tcp "$addr" -c "$conns" -d "$duration" --rate "$rate" --max-lateness "$max_lateness" \
        "${idle[@]}" --json "$out/open-$f.json" >/dev/null || true
    row "open $f" "$out/open-$f.json" "$base"
done
probe after
