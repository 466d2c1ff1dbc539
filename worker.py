"""The RQ worker: builds the app once, then runs every job inside a fresh app context.

python worker.py [QUEUE ...]     (default: every Practika queue)
"""

from __future__ import annotations

import sys

from rq import Worker

from practika import create_app
from practika.extensions import db
from practika.queue import QUEUE_NAMES, get_redis


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


def main(queues: list[str]) -> None:
    app = create_app()
    AppWorker.app = app
    with app.app_context():
        connection = get_redis()
    worker = AppWorker(queues or list(QUEUE_NAMES), connection=connection)
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
