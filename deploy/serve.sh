#!/usr/bin/env bash
# Serve a whole class: N nnviz processes behind nginx on one port.
#
#   deploy/serve.sh N PORT          e.g. deploy/serve.sh 2 8500   (then open http://127.0.0.1:8500)
#   HOST=0.0.0.0 deploy/serve.sh 2 8500     the lecture hall's LAN (nginx on every interface)
#
# Starts N `python -m streamlit run app.py` processes from the repo root (so .streamlit/config.toml
# applies) on free 127.0.0.1 ports, waits until each answers /_stcore/health, then runs nginx in
# the foreground on HOST:PORT (HOST defaults to 127.0.0.1) with a generated config in a temp dir:
# websocket upgrade for /_stcore/stream and sticky sessions by cookie (deploy/nginx-site.sh says
# how). Streamlit runs every session of a process on one core (the GIL), so N = the cores to use.
# Ctrl-C or SIGTERM stops nginx and every backend; if any of them exits, the others are stopped too
# and the exit status is 1.
#
# Environment: HOST (nginx's address), PYTHON (default: python3, e.g. from the activated venv),
# NGINX (default: nginx on PATH or /usr/sbin/nginx), NNVIZ_LOG_DIR (the backends' logs, where a
# page's traceback goes; default ${TMPDIR:-/tmp}/nnviz-serve-PORT-logs, kept after exit).
# Needs Linux, bash >= 4.3 and Debian's nginx package (apt-get install nginx); nginx needs no root:
# it runs as you with its own pid, config and temp files in a temp dir removed on exit. If run as
# root, nginx's workers run as nobody (and the temp dir is under /tmp, where they can reach it).
set -euo pipefail

usage() {
  echo "usage: [HOST=127.0.0.1] $0 N PORT   (N app processes, 1..64; nginx on HOST:PORT)" >&2
  exit 2
}
[ "$#" -eq 2 ] || usage
N=$1 PORT=$2
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 64 ] || usage
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || usage

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
HOST=${HOST:-127.0.0.1}
PYTHON=${PYTHON:-python3}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
START_TIMEOUT=${START_TIMEOUT:-180}  # seconds for every backend's first health answer (torch imports)

say() { echo "serve.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$NGINX" ] || die "nginx not found (apt-get install nginx, or set NGINX=/path/to/nginx)"
"$PYTHON" -c "import streamlit" 2>/dev/null \
  || die "'$PYTHON' cannot import streamlit: activate the venv (. .venv/bin/activate) or set PYTHON"

case "$HOST" in
  *:*) listen="[$HOST]:$PORT" ;;  # IPv6
  *) listen="$HOST:$PORT" ;;
esac

# The public port must be free, and each backend gets a free loopback port (all checked at once).
ports_line=$("$PYTHON" - "$HOST" "$PORT" "$N" <<'EOF'
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(fam) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError as e:
        sys.exit(f"serve.sh: cannot listen on {host}:{port}: {e.strerror}")
socks = [socket.socket() for _ in range(n)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
) || exit 1
read -r -a ports <<<"$ports_line"
[ "${#ports[@]}" -eq "$N" ] || die "could not find $N free loopback ports"

# nginx's config, pid, temp files and unix sockets. As root, under /tmp: nginx's workers run as
# nobody and must reach it (a private TMPDIR would lock them out).
if [ "$(id -u)" -eq 0 ]; then tmp_parent=/tmp; else tmp_parent=${TMPDIR:-/tmp}; fi
TMP=$(mktemp -d "$tmp_parent/nnviz-serve.XXXXXX")
# The backends' logs (Streamlit prints a page's traceback there, never in the browser): kept after
# exit, overwritten by the next run on the same port.
LOGS=${NNVIZ_LOG_DIR:-$tmp_parent/nnviz-serve-$PORT-logs}
mkdir -p "$LOGS"
backend_pids=()
nginx_pid=""
stopping=0

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

stop_all() {
  # TERM to nginx (fast shutdown: it ends its workers) and every backend, wait up to 15 s, then KILL.
  [ "$stopping" -eq 1 ] && return
  stopping=1
  trap '' INT TERM
  local pid
  for pid in "$nginx_pid" "${backend_pids[@]}"; do
    alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 15))
  for pid in "$nginx_pid" "${backend_pids[@]}"; do
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if alive "$pid"; then
      say "pid $pid did not stop in 15 s: SIGKILL"
      [ "$pid" = "$nginx_pid" ] && pkill -KILL -P "$pid" 2>/dev/null || true  # its workers first
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}

on_signal() {
  say "$1: stopping nginx and ${#backend_pids[@]} backend(s)"
  stop_all
  say "stopped; the backends' logs are in $LOGS"
  exit "$2"
}
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGTERM 143' TERM
trap 'stop_all' EXIT

show_log() {
  say "last lines of $1:"
  tail -n 20 "$1" >&2 || true
}

# --- the app processes ---------------------------------------------------------------------------
cd "$ROOT"
for ((i = 0; i < N; i++)); do
  log="$LOGS/backend-b$i.log"
  # stdin from /dev/null; no DISPLAY, so Streamlit stays headless and opens no browser.
  env -u DISPLAY -u WAYLAND_DISPLAY -u BROWSER PYTHONUNBUFFERED=1 \
    "$PYTHON" -m streamlit run app.py --server.port "${ports[i]}" --server.address 127.0.0.1 \
    --server.headless true </dev/null >"$log" 2>&1 &
  backend_pids+=("$!")
  say "backend b$i: pid $!, http://127.0.0.1:${ports[i]}, log $log"
done

# Every backend must answer /_stcore/health before nginx sends it anyone.
deadline=$((SECONDS + START_TIMEOUT))
for ((i = 0; i < N; i++)); do
  until "$PYTHON" -c "import sys, urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).read() != b'ok')" \
      "http://127.0.0.1:${ports[i]}/_stcore/health" 2>/dev/null; do
    if ! alive "${backend_pids[i]}"; then
      show_log "$LOGS/backend-b$i.log"
      die "backend b$i exited before answering /_stcore/health"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log "$LOGS/backend-b$i.log"
      die "backend b$i did not answer /_stcore/health in $START_TIMEOUT s"
    fi
    sleep 0.5
  done
done
say "all $N backend(s) answer /_stcore/health"

# --- nginx -----------------------------------------------------------------------------------------
max_upload=$("$PYTHON" -c "import tomllib; print(tomllib.load(open('.streamlit/config.toml', 'rb')).get('server', {}).get('maxUploadSize', 200))")
backends=()
for p in "${ports[@]}"; do backends+=("127.0.0.1:$p"); done
"$HERE/nginx-site.sh" "$listen" "$TMP" "$((max_upload + 2))" "${backends[@]}" >"$TMP/nnviz-site.conf"

# Two connections per open websocket (browser + backend); raise the soft file limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=65536
conns=$((nofile > 8192 ? 4096 : nofile / 2))

user_line=""
if [ "$(id -u)" -eq 0 ]; then
  # nginx started by root switches its workers to an unprivileged user; they must reach the temp dir.
  user_line="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  chmod 711 "$TMP"
fi
for d in client_body proxy fastcgi uwsgi scgi; do mkdir -p "$TMP/$d"; done
cat >"$TMP/nginx.conf" <<EOF
# Generated by deploy/serve.sh for this run only.
$user_line
worker_processes 1;
pid $TMP/nginx.pid;
error_log stderr warn;
events { worker_connections $conns; }
http {
    access_log off;
    server_tokens off;
    client_body_temp_path $TMP/client_body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    include $TMP/nnviz-site.conf;
}
EOF
"$NGINX" -t -q -e stderr -p "$TMP" -c "$TMP/nginx.conf" || die "nginx rejected the generated config"
"$NGINX" -e stderr -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' </dev/null &
nginx_pid=$!

# nginx is up once its port answers (a backend's health answer through it).
url_host=$HOST
case "$HOST" in 0.0.0.0 | ::) url_host=127.0.0.1 ;; *:*) url_host="[$HOST]" ;; esac
for _ in $(seq 50); do
  alive "$nginx_pid" || die "nginx exited at start"
  "$PYTHON" -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)" \
    "http://$url_host:$PORT/_stcore/health" 2>/dev/null && break
  sleep 0.2
done

case "$HOST" in
  0.0.0.0 | ::) say "serving on every interface: http://<this machine's address>:$PORT" ;;
esac
say "$N process(es) behind nginx (pid $nginx_pid); Ctrl-C stops everything"
echo "nnviz: http://$url_host:$PORT"

# Run until a signal, or until one of them exits (then stop the rest and fail).
set +e
wait -n "$nginx_pid" "${backend_pids[@]}"
code=$?
set -e
for ((i = 0; i < N; i++)); do
  if ! alive "${backend_pids[i]}"; then
    show_log "$LOGS/backend-b$i.log"
    say "backend b$i (pid ${backend_pids[i]}) exited"
  fi
done
alive "$nginx_pid" || say "nginx (pid $nginx_pid) exited with status $code"
say "stopping the rest; the backends' logs are in $LOGS"
exit 1
