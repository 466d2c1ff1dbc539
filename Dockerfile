# syntax=docker/dockerfile:1
# Practika: one image, every role (deploy/docker-entrypoint.sh says which):
#   docker run IMAGE                  web: gunicorn -c deploy/gunicorn.conf.py wsgi:app on :8000
#   docker run IMAGE proxy            nginx in front of it (deploy/nginx.conf, LISTEN_PORT...)
#   docker run IMAGE worker           the RQ worker (python worker.py)
#   docker run IMAGE migrate          flask db upgrade, once the database answers (release step)
#   docker run IMAGE flask admin ...  any other command runs as given
# Checked by scripts/check_docker.sh (hadolint) and tests/test_deploy_files.py.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    FLASK_APP=wsgi:app \
    BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/practika-metrics

# FFmpeg for the media pipeline; tini as PID 1 reaps what FFmpeg and RQ's work horses leave;
# nginx for the proxy role, which must stand in front of gunicorn (deploy/nginx.conf says why).
# DL3008 (pin apt package versions) is ignored on purpose: Debian's security archive drops a
# version when it patches it, so a pinned version soon stops installing. The bookworm base
# fixes FFmpeg's major version, and each rebuild takes its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg nginx tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 practika \
    && useradd --system --uid 10001 --gid practika --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin practika

WORKDIR /app

# The pinned dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

# The code belongs to root, so the app cannot rewrite itself; it writes only to its instance
# folder (partial uploads, the development secret key, the mail outbox), /data/media (local
# storage) and /tmp (the proxy role's nginx folder: its pid and buffered request bodies).
COPY . .
RUN mkdir -p /app/instance /data/media "$PROMETHEUS_MULTIPROC_DIR" \
    && chown practika:practika /app/instance /data/media "$PROMETHEUS_MULTIPROC_DIR" \
    && chmod 0755 deploy/docker-entrypoint.sh

# Numeric, so an orchestrator can tell it is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# Liveness (GET /core/live: the process answers and reaches the database), never the full
# /core/health/: an outage of Redis or the workers must not get healthy web containers
# replaced. The entrypoint's live role asks the web role on BIND's port, the proxy role on
# LISTEN_PORT (through nginx to the app). The worker has no HTTP port: docker-compose.yml turns this off for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/deploy/docker-entrypoint.sh", "live"]

ENTRYPOINT ["tini", "--", "/app/deploy/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]
