"""Gunicorn settings for Practika: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

nginx hands every request over whole (deploy/nginx.conf); threads keep a worker answering
status polls while one request stores an upload. Gunicorn's own lines are JSON
like the app's; the app logs one line per request itself (with its request id), so
gunicorn's access log is off.

Environment: BIND (default 127.0.0.1:$PORT; the image sets 0.0.0.0:8000), WEB_CONCURRENCY
(worker processes; default 2 x CPUs + 1, counting the CPUs the container may use),
WEB_THREADS (threads per worker, default 4), WEB_TIMEOUT (seconds, default 300),
GUNICORN_CONTROL_SOCKET (a path for gunicornc; none by default).
"""

import math
import os
from pathlib import Path


def _usable_cpus() -> int:
    """CPUs this process may use: a container's CPU quota (cgroup v2 ``cpu.max``, as on ECS
    Fargate and under ``docker run --cpus``) counts, not the host's cores it can see."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus or 1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit to read: the affinity count stands
    return max(1, cpus or 1)


bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _usable_cpus() + 1)
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"

# Never bound where clients reach it: nginx stands in front everywhere and hands gunicorn
# whole bodies at loopback speed (deploy/nginx.conf), because a client sending its body
# slowly would hold a gthread thread for as long as it liked. The timeout covers the longest
# work one request does: a 1 GiB video posted in one request, hashed and stored (nginx's
# proxy_read_timeout waits as long).
timeout = int(os.environ.get("WEB_TIMEOUT", "300"))
# Longer than nginx's upstream keepalive (60 s) so nginx, not gunicorn, closes idle
# connections: a request never lands on a connection gunicorn is closing.
keepalive = 75
# ECS stops a task with SIGTERM and kills it 30 s later: finish requests in flight first.
graceful_timeout = 25
# The heartbeat files live in memory: a container's overlay disk can stall them.
SHM = "/dev/shm"  # noqa: S108 - gunicorn creates its files there safely, with mkstemp
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

# The control socket (gunicornc) defaults to ~/.gunicorn/gunicorn.ctl: one path for every
# gunicorn a user runs, and not writable in the image. Only where one is asked for.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "practika.weblog.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": []},  # the app adds its JSON handler to root
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


# Prometheus counters in multiprocess mode (practika/metrics.py): each worker writes its own
# files under PROMETHEUS_MULTIPROC_DIR and a scrape adds them up. The folder must start empty
# (a restarted container keeps its /tmp) and a dead worker's gauges are marked dead.
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
