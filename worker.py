"""The RQ worker: builds the app once, then runs every job inside a fresh app context.

    python worker.py [QUEUE ...]     (default: every Practika queue)

Beside the jobs it runs the sweep every SWEEP_INTERVAL_SECONDS (one worker per interval,
by a Redis lock), so videos, clips, mail and webhook deliveries that Redis lost, and jobs a
killed worker left, are picked up again; then it publishes the queues' depth to CloudWatch
when CLOUDWATCH_NAMESPACE is set.
"""

from __future__ import annotations

import logging
import sys
import threading

from rq import Worker

from practika import create_app
from practika.extensions import db
from practika.metrics import publish_queue_metrics
from practika.queue import QUEUE_NAMES, get_redis
from practika.sweep import sweep  # and with it every job module (tasks, mail, delivery) up front

log = logging.getLogger("practika.worker")


class AppWorker(Worker):
    """Each job runs in the forked work horse with its own app context and DB connections."""

    app = None

    def perform_job(self, job, queue):
        with self.app.app_context():
            db.engine.dispose(close=False)  # never share the parent's pooled connections
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


def sweep_forever(app, stop: threading.Event) -> None:
    interval = app.config["SWEEP_INTERVAL_SECONDS"]
    while not stop.wait(interval):
        with app.app_context():
            try:
                if get_redis().set("practika:sweep-lock", "1", nx=True, ex=interval):
                    done = sweep()
                    if any(done.values()):
                        log.info("sweep", extra=done)
                    publish_queue_metrics()
            except Exception:
                log.exception("sweep failed; trying again next interval")
            finally:
                db.session.remove()


def main(queues: list[str]) -> None:
    app = create_app()
    AppWorker.app = app
    with app.app_context():
        connection = get_redis()
    stop = threading.Event()
    threading.Thread(target=sweep_forever, args=(app, stop), daemon=True, name="sweep").start()
    worker = AppWorker(queues or list(QUEUE_NAMES), connection=connection)
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main(sys.argv[1:])
