#!/bin/sh
# Runs reactor-loadgen configured only through the environment (containers, compose, Kubernetes),
# writing <results dir>/<name>.json and <name>.hlog so that several generators (compose
# `--scale loadgen=N`, an indexed Job) can share one volume and be merged afterwards with
# `reactor-loadgen merge`. Installed in the image as /usr/local/bin/loadgen-run.
#
#   LOADGEN_WORKLOAD     tcp | udp | http                         (default tcp)
#   LOADGEN_TARGET       HOST:PORT for tcp/udp, http://HOST:PORT/ for http; host names are
#                        resolved, so a compose service or Kubernetes Service name works
#                        (default $LOADGEN_SERVER:7000, or http://$LOADGEN_SERVER:$PORT/ for http)
#   LOADGEN_SERVER       host of the default target (default server); PORT its HTTP port (8080)
#   LOADGEN_CONNECTIONS  -c (default 10)          LOADGEN_THREADS  -t (default 1)
#   LOADGEN_DURATION     -d (default 10s)         LOADGEN_WARMUP   --warmup (default none)
#   LOADGEN_RATE         --rate (open loop; default closed loop)
#   LOADGEN_SIZE         --size (tcp/udp; default 64)
#   LOADGEN_START_AT     --start-at UNIX_TIME: the same value for every generator of one test
#   LOADGEN_MAX_ERROR_RATE --max-error-rate
#   LOADGEN_EXTRA_ARGS   further flags, split on spaces
#   LOADGEN_RESULTS_DIR  where the files go (default /results)
#   LOADGEN_NAME         file name and histogram tag; default loadgen-$JOB_COMPLETION_INDEX in an
#                        indexed Job, else the host name (the container id under compose)
set -eu

workload=${LOADGEN_WORKLOAD:-tcp}
case $workload in
  tcp | udp) default_target=${LOADGEN_SERVER:-server}:7000 ;;
  http) default_target=http://${LOADGEN_SERVER:-server}:${PORT:-8080}/ ;;
  *)
    echo "loadgen-run: LOADGEN_WORKLOAD must be tcp, udp or http, not '$workload'" >&2
    exit 2
    ;;
esac
target=${LOADGEN_TARGET:-$default_target}

if [ -n "${LOADGEN_NAME:-}" ]; then
  name=$LOADGEN_NAME
elif [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  name=loadgen-$JOB_COMPLETION_INDEX
else
  name=$(uname -n)
fi
dir=${LOADGEN_RESULTS_DIR:-/results}
mkdir -p "$dir"

set -- "$workload" "$target" \
  -c "${LOADGEN_CONNECTIONS:-10}" \
  -t "${LOADGEN_THREADS:-1}" \
  -d "${LOADGEN_DURATION:-10s}" \
  --json "$dir/$name.json" \
  --hdr-log "$dir/$name.hlog" \
  --tag "$name"
[ -n "${LOADGEN_WARMUP:-}" ] && set -- "$@" --warmup "$LOADGEN_WARMUP"
[ -n "${LOADGEN_RATE:-}" ] && set -- "$@" --rate "$LOADGEN_RATE"
[ -n "${LOADGEN_SIZE:-}" ] && set -- "$@" --size "$LOADGEN_SIZE"
[ -n "${LOADGEN_START_AT:-}" ] && set -- "$@" --start-at "$LOADGEN_START_AT"
[ -n "${LOADGEN_MAX_ERROR_RATE:-}" ] && set -- "$@" --max-error-rate "$LOADGEN_MAX_ERROR_RATE"
# Deliberately unquoted: LOADGEN_EXTRA_ARGS holds several flags.
# shellcheck disable=SC2086
[ -n "${LOADGEN_EXTRA_ARGS:-}" ] && set -- "$@" $LOADGEN_EXTRA_ARGS

echo "loadgen-run: reactor-loadgen $*" >&2
exec "${LOADGEN_BIN:-reactor-loadgen}" "$@"
