"""The one sweep over every kind of job: videos, clips, alignments, stills, mail and webhooks;
the uploads straight to the bucket nobody completed (files and takes); and the cleanup of
videos nothing uses.

Each kind's row is its outbox; its sweep enqueues what Redis lost and retries what a dead
worker left. The cleanup sends its notices and removes what they announced (core.cleanup).
The worker runs this every SWEEP_INTERVAL_SECONDS; ``flask admin sweep`` runs it by hand.
"""

from __future__ import annotations

from practika import mail
from practika.comments import stills
from practika.comments import tasks as alignment_tasks
from practika.core import cleanup, direct, streamed, tasks
from practika.webhooks import delivery


def sweep() -> dict[str, int]:
    """Every kind's sweep, then the cleanup's (its mail is queued at once); how many rows
    each enqueued, retried, failed, noticed or removed, by name."""
    return {
        **tasks.sweep(),
        **direct.sweep(),
        **streamed.sweep(),
        **alignment_tasks.sweep(),
        **stills.sweep(),
        **mail.sweep(),
        **delivery.sweep(),
        **cleanup.sweep(),
    }
