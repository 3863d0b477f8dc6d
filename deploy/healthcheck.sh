#!/bin/bash
# The image's HEALTHCHECK: probes whichever listener the server was configured with, so an
# echo-only container (REACTOR_TCP=7000, no HTTP listener) turns healthy too. Installed in the
# image as /usr/local/bin/reactor-healthcheck. Order, mirroring reactor-server's listen plan:
#   - REACTOR_HTTP set, or no listener named at all (then HTTP is on $PORT, default 8080):
#     `reactor-server --health-check` (GET /healthz must answer 200);
#   - else REACTOR_TCP: a TCP echo round trip (bash's /dev/tcp; the image has no curl or nc);
#   - else REACTOR_UDP: a UDP echo round trip (/dev/udp).
# An address is HOST:PORT, [V6]:PORT or a bare port, like the server's flags; a wildcard host
# is probed on loopback. Exits 0 when healthy, 1 with a reason on stderr otherwise.
set -u

# host_port ADDR -> "HOST PORT" to probe.
host_port() {
  local addr=$1 host port
  case $addr in
    *:*) host=${addr%:*} port=${addr##*:} ;;
    *) host=${HOST:-127.0.0.1} port=$addr ;;
  esac
  host=${host#[}
  host=${host%]}
  case $host in
    0.0.0.0 | "") host=127.0.0.1 ;;
    :: ) host=::1 ;;
  esac
  echo "$host $port"
}

# echo_round_trip tcp|udp HOST PORT: sends a line, expects it back within 2 s (a short line
# comes back in one segment or datagram).
echo_round_trip() {
  local proto=$1 host=$2 port=$3 probe reply
  probe="healthcheck-$$"
  if ! exec 3<>"/dev/$proto/$host/$port"; then
    echo "reactor-healthcheck: cannot reach $proto $host:$port" >&2
    return 1
  fi
  printf '%s\n' "$probe" >&3
  # One read(2) of up to 64 KiB: bash's `read` takes a byte at a time, which on a datagram
  # socket would discard the rest of the echo.
  reply=$(timeout 2 dd bs=65536 count=1 status=none <&3)
  if [ -z "$reply" ]; then
    echo "reactor-healthcheck: no echo from $proto $host:$port within 2 s" >&2
    return 1
  fi
  exec 3>&-
  [ "$reply" = "$probe" ] || {
    echo "reactor-healthcheck: $proto $host:$port echoed something else" >&2
    return 1
  }
}

if [ -n "${REACTOR_HTTP:-}" ] || [ -z "${REACTOR_TCP:-}${REACTOR_UDP:-}" ]; then
  read -r host port <<<"$(host_port "${REACTOR_HTTP:-${PORT:-8080}}")"
  case $host in *:*) host="[$host]" ;; esac
  exec reactor-server --health-check "$host:$port"
elif [ -n "${REACTOR_TCP:-}" ]; then
  read -r host port <<<"$(host_port "$REACTOR_TCP")"
  echo_round_trip tcp "$host" "$port"
else
  read -r host port <<<"$(host_port "$REACTOR_UDP")"
  echo_round_trip udp "$host" "$port"
fi
