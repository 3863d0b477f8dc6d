#!/bin/sh
# Runs reactor-loadgen configured only through the environment (containers, compose, Kubernetes),
# writing <results dir>/<run id>/<name>.json and <name>.hlog so that several generators (compose
# replicas, an indexed Job) can share one volume and one test's histograms be merged afterwards
# with `reactor-loadgen merge` (`loadgen-run merge`), never mixed with an earlier test's.
# Installed in the image as /usr/local/bin/loadgen-run.
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
#   LOADGEN_RUN_ID       names this test: its directory under the results; every generator of one
#                        test gives the same (default start-$LOADGEN_START_AT; one of the two
#                        is required, so a new test never lands among an old one's files)
#   LOADGEN_RESULTS_DIR  where the run directories go (default /results)
#   LOADGEN_NAME         file name and histogram tag; default loadgen-$JOB_COMPLETION_INDEX in an
#                        indexed Job, else the host name (unique per container)
#
# `loadgen-run merge` instead adds up the histograms of run LOADGEN_RUN_ID (default: the newest
# run directory) into <run>/merged/all.hlog and all.json and prints the fleet's percentiles.
set -eu

dir=${LOADGEN_RESULTS_DIR:-/results}
run=${LOADGEN_RUN_ID:-}
[ -n "$run" ] || [ -z "${LOADGEN_START_AT:-}" ] || run=start-$LOADGEN_START_AT
case $run in
  */* | . | ..)
    echo "loadgen-run: LOADGEN_RUN_ID must be a plain name, not '$run'" >&2
    exit 2
    ;;
esac

if [ "${1:-}" = merge ]; then
  if [ -z "$run" ]; then
    # shellcheck disable=SC2012 # run ids are plain names; ls -t sorts by time
    run=$(ls -1t "$dir" 2>/dev/null | head -n 1)
    [ -n "$run" ] || {
      echo "loadgen-run: no run directory under $dir to merge" >&2
      exit 1
    }
    echo "loadgen-run: merging the newest run, $run (LOADGEN_RUN_ID picks another)" >&2
  fi
  set -- "$dir/$run"/*.hlog
  [ -e "$1" ] || {
    echo "loadgen-run: no histogram logs in $dir/$run" >&2
    exit 1
  }
  mkdir -p "$dir/$run/merged"
  echo "loadgen-run: reactor-loadgen merge $* ($# logs)" >&2
  exec "${LOADGEN_BIN:-reactor-loadgen}" merge "$@" \
    -o "$dir/$run/merged/all.hlog" --json "$dir/$run/merged/all.json"
fi
if [ -z "$run" ]; then
  echo "loadgen-run: set LOADGEN_RUN_ID (one name for every generator of this test) or LOADGEN_START_AT" >&2
  exit 2
fi

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
dir=$dir/$run
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
