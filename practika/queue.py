"""Redis and the RQ queues. The database row is the truth; a job only carries an id.

Enqueue only after the row is committed. If Redis is away the row stays as it is and the
sweep (``practika.core.tasks.sweep``) enqueues it later, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

QUEUE_NAMES = ("media", "mail", "default", "webhooks")
log = logging.getLogger(__name__)


def connect(url: str, timeout: float = 2.0) -> Redis:
    """A Redis client that fails fast: pages and health checks must not hang on it."""
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def init_queue(app: Flask) -> None:
    app.extensions["redis"] = connect(app.config["REDIS_URL"])


def get_redis() -> Redis:
    return current_app.extensions["redis"]


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def enqueue(
    queue: str,
    func: Callable,
    *args: object,
    job_id: str,
    job_timeout: int,
    delay: int = 0,
) -> str | None:
    """Put a job on a queue (after ``delay`` seconds: the worker runs the scheduler); None,
    logged, when Redis cannot take it right now."""
    options = {"job_id": job_id, "job_timeout": job_timeout, "result_ttl": 3600,
               "failure_ttl": 7 * 24 * 3600}  # fmt: skip
    try:
        if delay:
            job = get_queue(queue).enqueue_in(timedelta(seconds=delay), func, *args, **options)
        else:
            job = get_queue(queue).enqueue(func, *args, **options)
    except RedisError as error:
        log.warning("could not enqueue %s: %s; the sweep will", job_id, error)
        return None
    return job.id
