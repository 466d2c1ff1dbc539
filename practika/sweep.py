"""The one sweep over every kind of job: videos, clips, mail and webhooks.

Each kind's row is its outbox; its sweep enqueues what Redis lost and retries what a dead
worker left. The worker runs this every SWEEP_INTERVAL_SECONDS; ``flask admin sweep`` runs
it by hand.
"""

from __future__ import annotations

from practika import mail
from practika.core import tasks
from practika.webhooks import delivery


def sweep() -> dict[str, int]:
    """Every kind's sweep; how many rows each enqueued, retried or failed, by name."""
    return {**tasks.sweep(), **mail.sweep(), **delivery.sweep()}
