# shellcheck shell=bash
# listening_addr FILE PROTO: waits (bounded, 10 s) until FILE, a server's stdout, has a
# `listening PROTO ADDR` line and prints ADDR; says so on stderr and returns 1 if none comes.
# Sourced by the scripts that start a server: `addr=$(listening_addr "$out" http)`.
listening_addr() {
  local file=$1 proto=$2 addr=""
  for _ in $(seq 200); do
    addr=$(awk -v p="$proto" '$1 == "listening" && $2 == p { print $3; exit }' "$file")
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || {
    echo "$(basename "$0"): FAIL: no 'listening $proto' line in $file" >&2
    return 1
  }
  echo "$addr"
}
