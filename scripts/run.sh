#!/usr/bin/env bash
# Start Practika's whole development stack and stop it all on Ctrl-C:
# a private redis-server on a unix socket, one RQ worker, and gunicorn on 127.0.0.1:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8000}
export FLASK_APP=wsgi
mkdir -p instance
say() { printf '\033[1mpractika:\033[0m %s\n' "$*"; }

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping web, worker and redis"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

# Honour REDIS_URL from the environment or .env; otherwise run our own Redis under instance/.
if [ -z "${REDIS_URL:-}" ] && ! grep -qs '^REDIS_URL=' .env; then
  socket="$PWD/instance/redis.sock"
  redis-server --port 0 --unixsocket "$socket" --unixsocketperm 700 \
    --dir "$PWD/instance" --dbfilename redis.rdb --save 60 1 --loglevel warning &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -s "$socket" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -s "$socket" ping >/dev/null || { say "redis-server did not start"; exit 1; }
fi

.venv/bin/flask db upgrade
.venv/bin/flask admin seed-demo

.venv/bin/python worker.py &
pids+=($!)
# Each gunicorn worker counts its requests into this folder; /core/metrics adds them up.
export PROMETHEUS_MULTIPROC_DIR="$PWD/instance/prometheus" WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
.venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "127.0.0.1:$PORT" wsgi:app &
web=$!
pids+=("$web")

for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/core/health/" 2>/dev/null && break
  sleep 0.2
done
say "Practika is running at http://127.0.0.1:$PORT/ (health: /core/health/). Ctrl-C stops it."
say "log in as teacher@practika.test / practika-teacher, or student@practika.test / practika-student"
# Live as long as the web server does: if Redis or the worker dies, pages keep working and
# /core/health/ names what is missing.
wait "$web"
