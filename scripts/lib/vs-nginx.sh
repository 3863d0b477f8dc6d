# shellcheck shell=bash
# What scripts/http-vs-nginx.sh and scripts/https-vs-nginx.sh share: the two "Hello, client!"
# servers started pinned on loopback, and the CPU time they spend.
# Sourced after scripts/lib/listening.sh and scripts/lib/stop-pids.sh; messages are prefixed
# with the calling script's name.
#   free_port                     a free TCP port on 127.0.0.1
#   cpu_ticks PID                 utime + stime of a process and its threads, in clock ticks
#   wait_hello URL PID [CURL_ARG...]
#                                 waits (bounded, 10 s) until GET URL answers "Hello, client!";
#                                 returns 1 if it does not or PID has died
#   start_nginx_hello NGINX DIR CPU LISTEN [DIRECTIVE...]
#                                 writes DIR/nginx.conf (one worker, access log off, keep-alive
#                                 effectively unlimited, `return 200 "Hello, client!"`, listening
#                                 on LISTEN with the extra server DIRECTIVEs, one a line) and
#                                 starts NGINX pinned to CPU; sets NGINX_PID (the master) and
#                                 NGINX_WORKER (its one worker, which does the work)
#   start_reactor REACTOR CPU DIR PROTO [FLAG...]
#                                 starts REACTOR with FLAGs pinned to CPU, its output in
#                                 DIR/reactor.out and DIR/reactor.err; sets REACTOR_PID and
#                                 REACTOR_ADDR (from its `listening PROTO` line)
# Every process started here is added to STARTED_PIDS at once (before any check that may
# fail), for the caller's exit trap: `stop_pids "${STARTED_PIDS[@]}"`.

STARTED_PIDS=()

vs_nginx_say() { echo "$(basename "$0" .sh): $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

wait_hello() {
  local url=$1 pid=$2
  shift 2
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || {
      vs_nginx_say "server $pid died"
      return 1
    }
    if [ "$(curl -s --max-time 1 "$@" "$url" || true)" = "Hello, client!" ]; then return 0; fi
    sleep 0.1
  done
  vs_nginx_say "$url did not answer Hello, client!"
  return 1
}

start_nginx_hello() {
  local nginx=$1 dir=$2 cpu=$3 listen=$4 directive extra=""
  shift 4
  for directive in "$@"; do
    extra+="        $directive"$'\n'
  done
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen $listen;
$extra        location / {
            default_type text/plain;
            return 200 "Hello, client!";
        }
    }
}
EOF
  taskset -c "$cpu" "$nginx" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/stderr" &
  NGINX_PID=$!
  STARTED_PIDS+=("$NGINX_PID")
  # The master forks its worker at start; give it a moment (bounded) to appear.
  NGINX_WORKER=""
  for _ in $(seq 50); do
    NGINX_WORKER=$(cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null || true)
    NGINX_WORKER=${NGINX_WORKER%% *}
    [ -n "$NGINX_WORKER" ] && break
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$NGINX_WORKER" ] || {
    vs_nginx_say "no nginx worker"
    cat "$dir/stderr" >&2
    return 1
  }
}

start_reactor() {
  local reactor=$1 cpu=$2 dir=$3 proto=$4
  shift 4
  taskset -c "$cpu" "$reactor" "$@" >"$dir/reactor.out" 2>"$dir/reactor.err" &
  REACTOR_PID=$!
  STARTED_PIDS+=("$REACTOR_PID")
  # shellcheck disable=SC2034 # the caller reads it
  REACTOR_ADDR=$(listening_addr "$dir/reactor.out" "$proto") || {
    cat "$dir/reactor.err" >&2
    return 1
  }
}
