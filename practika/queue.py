"""Redis and the RQ queues. The database row is the truth; a job only carries an id."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUE_NAMES = ("media", "mail", "default")


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
