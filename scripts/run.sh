#!/usr/bin/env bash
# Start Practika's whole development stack and stop it all on Ctrl-C: a private redis-server
# on a unix socket, one RQ worker, gunicorn on a unix socket, and nginx on 127.0.0.1:$PORT
# in front of it. nginx is there for the same reason as in production (deploy/nginx.conf):
# it reads each request body whole before gunicorn sees it, so a client sending its body
# slowly holds an nginx connection, never one of gunicorn's few threads.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8000}
export FLASK_APP=wsgi
export INSTANCE_PATH=${INSTANCE_PATH:-$PWD/instance}
# Links in mail are built on BASE_URL: point them at the port this run serves, unless the
# environment or .env names the site's address.
if [ -z "${BASE_URL:-}" ] && ! grep -qs '^BASE_URL=' .env; then
  export BASE_URL="http://127.0.0.1:$PORT"
fi
instance=$INSTANCE_PATH
mkdir -p "$instance"
say() { printf '\033[1mpractika:\033[0m %s\n' "$*"; }

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping nginx, web, worker and redis"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# Honour REDIS_URL from the environment or .env; otherwise run our own Redis in the instance.
if [ -z "${REDIS_URL:-}" ] && ! grep -qs '^REDIS_URL=' .env; then
  socket="$instance/redis.sock"
  redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 \
    --dir "$instance" --dbfilename redis.rdb --save 60 1 --loglevel warning &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -s "$socket" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -s "$socket" ping >/dev/null || { say "redis-server did not start"; exit 1; }
fi

.venv/bin/flask db upgrade
.venv/bin/flask admin seed-demo

.venv/bin/python worker.py &
pids+=($!)
# Each gunicorn worker counts its requests into this folder; /core/metrics adds them up.
# nginx is the one proxy in front: the app takes the client's address from it.
export PROMETHEUS_MULTIPROC_DIR="$instance/prometheus" WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
export PROXY_HOPS=${PROXY_HOPS:-1}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
app_socket="$instance/gunicorn.sock"
.venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "unix:$app_socket" wsgi:app &
web=$!
pids+=("$web")

# nginx's limit is the app's (MAX_CONTENT_LENGTH, in MiB), wherever MAX_UPLOAD_MB is set.
body_mb=$(.venv/bin/python -c \
  'from practika.config import config_from_env; print(config_from_env().MAX_CONTENT_LENGTH >> 20)')
config=$(LISTEN_PORT="127.0.0.1:$PORT" APP_UPSTREAM="unix:$app_socket" MEDIA_ROOT="$instance/media" \
  MAX_BODY_MB="$body_mb" .venv/bin/python deploy/render_nginx.py "$instance/nginx")
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -p "$instance/nginx" -c "$config" -e stderr -g 'daemon off;' &
proxy=$!
pids+=("$proxy")

for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/core/live" 2>/dev/null && break
  kill -0 "$proxy" 2>/dev/null || { say "nginx did not start (is port $PORT taken?)"; exit 1; }
  sleep 0.2
done
say "Practika is running at http://127.0.0.1:$PORT/ (health: /core/health/). Ctrl-C stops it."
say "log in as teacher@practika.test / practika-lesson-plan, or student@practika.test / practika-daily-drill"
# Live as long as nginx and gunicorn do: if Redis or the worker dies, pages keep working and
# /core/health/ names what is missing.
wait -n "$web" "$proxy"
