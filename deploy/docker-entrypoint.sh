#!/bin/sh
# Practika's container entrypoint (the Dockerfile runs it under tini). The first argument
# picks the role:
#   gunicorn ...  the web server: the image's default command (CMD in the Dockerfile)
#   web [ARG...]  the same, with ARGs passed on to gunicorn
#   proxy [ARG...] nginx in front of the web role: deploy/nginx.conf rendered into NGINX_DIR
#                 (/tmp/nginx) from LISTEN_PORT, APP_UPSTREAM, MEDIA_ROOT and the other
#                 settings deploy/render_nginx.py reads; ARGs passed on to nginx
#   live          the container health check (Dockerfile HEALTHCHECK, ECS task definition):
#                 GET /core/live on LISTEN_PORT (the proxy role) or else BIND's port (web)
#   worker [Q...] the RQ worker: python worker.py, on the queues named or all of them
#   migrate       the release step: waits until the database answers (MIGRATE_TRIES tries,
#                 MIGRATE_DELAY seconds apart, 30 x 2 s by default), then flask db upgrade
#   anything else runs as given: flask admin queue, python, sh
# Each role ends in exec, so the program itself receives docker's or ECS's SIGTERM.
set -eu

say() { printf 'practika: %s\n' "$*" >&2; }

# Exit 0 when the database answers, 1 when it does not (yet), 2 when the settings are wrong
# (no point in waiting for those).
probe_database() {
  python - <<'PY'
import sys

import sqlalchemy as sa

try:
    from practika.config import config_from_env

    url = config_from_env().SQLALCHEMY_DATABASE_URI
except Exception as error:
    print(f"practika: cannot read the settings: {error}", file=sys.stderr)
    sys.exit(2)
try:
    sa.create_engine(url).connect().close()
except sa.exc.OperationalError as error:
    print(f"practika: database not answering: {str(error).splitlines()[0]}", file=sys.stderr)
    sys.exit(1)
PY
}

wait_for_database() {
  tries=${MIGRATE_TRIES:-30}
  delay=${MIGRATE_DELAY:-2}
  n=1
  while :; do
    status=0
    probe_database || status=$?
    [ "$status" -eq 0 ] && return 0
    [ "$status" -eq 1 ] || exit "$status"
    if [ "$n" -ge "$tries" ]; then
      say "the database did not answer after $tries tries; giving up"
      exit 1
    fi
    say "waiting for the database (try $n of $tries, again in ${delay}s)"
    n=$((n + 1))
    sleep "$delay"
  done
}

role=${1:-}
case "$role" in
  web)
    shift
    set -- gunicorn -c deploy/gunicorn.conf.py wsgi:app "$@"
    ;;
  proxy)
    shift
    folder=${NGINX_DIR:-/tmp/nginx}
    config=$(python deploy/render_nginx.py "$folder")
    set -- nginx -p "$folder" -c "$config" -e stderr -g 'daemon off;' "$@"
    ;;
  live)
    set -- python -c "import os, urllib.request; port = (os.environ.get('LISTEN_PORT') or os.environ['BIND']).rpartition(':')[2]; urllib.request.urlopen('http://127.0.0.1:' + port + '/core/live', timeout=4)"
    ;;
  worker)
    shift
    set -- python worker.py "$@"
    ;;
  migrate)
    shift
    wait_for_database
    set -- flask db upgrade "$@"
    ;;
esac

[ $# -gt 0 ] || { say "no command given (roles: web, proxy, live, worker, migrate)"; exit 64; }
exec "$@"
