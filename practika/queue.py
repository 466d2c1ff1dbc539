"""Redis and the RQ queues: how videos, clips and mail are enqueued, retried and checked
(webhook deliveries share ``job_alive`` and still retry with RQ's own Retry).

The database row is the truth and the outbox; a job only carries an id. Each attempt of a
piece of work is its own job, named ``<kind>-<row id>-<attempt>`` and recorded on the row
*before* it is enqueued. So a failing attempt cannot overwrite the retry it scheduled, and
the sweep can ask Redis whether the row's job is still alive; when it is not (Redis lost it,
a worker died: ``lost_rows``), the sweep enqueues it again. If Redis is away, ``enqueue``
answers None and the row waits for the sweep, so nothing is lost. A job counts its run on
the row before it works (``claim_run``), so a copy of it that runs too does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from practika.extensions import db

# A worker takes a job from the first of its queues that has one: a password reset or a
# webhook (a second's work) never waits behind a hundred videos queued by one person.
QUEUE_NAMES = ("mail", "webhooks", "media")
RETRY_DELAYS = (10, 60, 300)  # seconds before the 2nd, 3rd and later attempts
WAITING = ("queued", "scheduled", "deferred")  # RQ states of a job that will still run
STARTED_GRACE = 60  # seconds past its timeout that a started job may still be finishing
log = logging.getLogger(__name__)
Row = TypeVar("Row")


def connect(url: str, timeout: float = 2.0) -> Redis:
    """A Redis client that fails fast: pages and health checks must not hang on it."""
    return Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def init_queue(app: Flask) -> None:
    app.extensions["redis"] = connect(app.config["REDIS_URL"])


def get_redis() -> Redis:
    return current_app.extensions["redis"]


def get_queue(name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def attempt_job_id(kind: str, row_id: object, attempt: int) -> str:
    """The job of one attempt: a retry is another job, never the failing one again."""
    return f"{kind}-{row_id}-{attempt}"


def retry_delay(attempt: int) -> int:
    """Seconds to wait after attempt number ``attempt`` failed, before the next one."""
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]


def enqueue(
    queue: str,
    func: Callable | str,
    *args: object,
    job_id: str,
    job_timeout: int,
    delay: int = 0,
    description: str | None = None,
) -> str | None:
    """Put a job on a queue (after ``delay`` seconds: the worker runs the scheduler); None,
    logged, when Redis cannot take it right now. Record ``job_id`` on the row and commit
    before calling this, so the job never runs ahead of its row."""
    options = {
        "job_id": job_id,
        "job_timeout": job_timeout,
        "result_ttl": 3600,
        "failure_ttl": 7 * 24 * 3600,
        "description": description,
    }
    try:
        if delay:
            job = get_queue(queue).enqueue_in(timedelta(seconds=delay), func, *args, **options)
        else:
            job = get_queue(queue).enqueue(func, *args, **options)
    except RedisError as error:
        log.warning("could not enqueue %s: %s; the sweep will", job_id, error)
        return None
    return job.id


def job_alive(queue: str, job_id: str | None) -> bool:
    """True while Redis holds the job and it may still run or finish (RedisError passes).

    A started job whose worker was killed stays ``started`` in RQ until another worker
    cleans up, minutes later; so a started job counts as alive only within its timeout.
    Long jobs (videos, clips) are judged by their row's heartbeat as well.
    """
    if not job_id:
        return False
    job = get_queue(queue).fetch_job(job_id)
    if job is None:
        return False
    status = job.get_status(refresh=False)
    if status in WAITING:
        return True
    if status != "started" or job.started_at is None:
        return False
    deadline = job.started_at + timedelta(seconds=(job.timeout or 0) + STARTED_GRACE)
    return datetime.now(UTC) < deadline  # RQ keeps its times aware, in UTC


def claim_run(runs: so.InstrumentedAttribute[int], run: int, *due: sa.ColumnElement[bool]) -> bool:
    """A job's first step: count run number ``run`` on its row (``runs``, the runs so far),
    if the row is still ``due`` (its id, and a state that still wants the work) and no run
    has been counted since run ``run - 1``. A conditional UPDATE, committed at once, so of
    two copies of one run (enqueued twice, or by a sweep while the first was slow to
    start) only one goes on. Whether this one does."""
    claimed = db.session.execute(
        sa.update(runs.class_).where(*due, runs == run - 1).values({runs: run})
    ).rowcount
    db.session.commit()
    return claimed == 1


def lost_rows(
    queue: str, rows: Iterable[Row], job_of: Callable[[Any], str | None] = attrgetter("job_id")
) -> Iterator[Row]:
    """The rows (of a sweep's outbox) whose job Redis does not hold: lost in an outage, or
    left by a killed worker, for the sweep to enqueue again or give up on. ``job_of`` reads a
    row's job id. It stops once Redis is away: the next sweep goes on."""
    for row in rows:
        try:
            if job_alive(queue, job_of(row)):
                continue
        except RedisError:
            return
        yield row


@contextmanager
def heartbeat(beat: Callable[[], None], every: float) -> Iterator[None]:
    """Call ``beat`` every ``every`` seconds from a thread while the block runs, so the
    sweep can tell a job at work (a fresh stamp on its row) from one whose worker died."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                beat()
            except Exception:  # a missed beat is not the job's failure; the next may land
                log.warning("heartbeat failed", exc_info=True)

    thread = threading.Thread(target=run, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
