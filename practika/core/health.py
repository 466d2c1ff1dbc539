"""Dependency checks for ``/core/health/`` (readiness: every dependency, for monitoring) and
``/core/live`` (liveness: this process answers and reaches the database, for the load balancer
and the container; never Redis or the workers, whose outage must not get web tasks replaced)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from rq import Worker

from practika.extensions import db
from practika.queue import get_redis
from practika.storage import get_storage


class Unhealthy(Exception):
    """A dependency answered, but not well enough."""


def check_database() -> str:
    db.session.execute(sa.text("SELECT 1"))
    return db.engine.dialect.name


def check_redis() -> str:
    get_redis().ping()
    return "pong"


def check_storage() -> str:
    storage = get_storage()
    storage.check()
    return type(storage).__name__


@lru_cache(maxsize=4)
def _ffmpeg_version(binary: str) -> str:
    """Run ``ffmpeg -version`` once per process: the binary does not change under us."""
    path = shutil.which(binary)
    if path is None:
        raise Unhealthy(f"{binary} not found on PATH")
    result = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=5)
    if result.returncode != 0:
        raise Unhealthy(f"{binary} -version failed")
    return result.stdout.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" ", 1)[0]


def check_ffmpeg() -> str:
    return _ffmpeg_version(current_app.config["FFMPEG_BINARY"])


def check_workers() -> str:
    count = Worker.count(connection=get_redis())
    if count == 0:
        raise Unhealthy("no RQ worker is running")
    return f"{count} running"


def is_live() -> bool:
    """The liveness answer: a web task that cannot reach its database is no use to anyone."""
    try:
        check_database()
    except Exception:  # noqa: BLE001 - any failure means "not live"; the reason is in /core/health/
        db.session.rollback()
        return False
    return True


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "storage": check_storage,
    "ffmpeg": check_ffmpeg,
    "workers": check_workers,
}


def run_checks() -> tuple[bool, dict[str, dict[str, object]]]:
    """Run every check; a failing one is reported by name with its reason, never raised."""
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            entry: dict[str, object] = {"status": "ok", "detail": check()}
        except Exception as error:  # noqa: BLE001 - any failure is the answer we report
            if name == "database":
                db.session.rollback()
            entry = {"status": "error", "detail": str(error) or type(error).__name__}
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = entry
    healthy = all(entry["status"] == "ok" for entry in results.values())
    return healthy, results
