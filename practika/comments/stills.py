"""The still of a drawing: the frame of the take a teacher drew on, made by the worker, so a
comment shows its drawing on the very frame it is about (static/js/drawing.js draws the
shapes over it) without a video playing.

The comment's row is the job's outbox, as a video's row is its own (practika.queue): the job
is named on the row and committed before it is enqueued, a run is claimed by a conditional
UPDATE, and the sweep enqueues again a run that Redis lost or a killed worker left, up to
STILL_MAX_RUNS. A still that cannot be made leaves the comment without one: the drawing
still shows over the take when it is played at that moment.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from operator import attrgetter
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from practika.comments.models import VideoComment
from practika.extensions import db
from practika.media.poster import make_poster
from practika.queue import attempt_job_id, claim_run, enqueue, lost_rows
from practika.storage import get_storage

log = logging.getLogger(__name__)

STILL_JOB_TIMEOUT = 60
STILL_MAX_RUNS = 3


def still_key(comment_id: uuid.UUID) -> str:
    return f"stills/{comment_id}.jpg"


def request_still(comment: VideoComment) -> bool:
    """Name the comment's next run on it, commit, then enqueue it; False when another caller
    named one since ``comment`` was read, or when Redis is away (the sweep enqueues it)."""
    run = comment.still_runs + 1
    job_id = attempt_job_id("still", comment.id, run)
    named = db.session.execute(
        sa.update(VideoComment)
        .where(
            VideoComment.id == comment.id,
            VideoComment.still_path.is_(None),
            VideoComment.still_runs == comment.still_runs,
            VideoComment.still_job_id.is_not_distinct_from(comment.still_job_id),
        )
        .values(still_job_id=job_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not named:
        return False
    queued = enqueue(
        "media",
        "practika.comments.stills.make_still",
        str(comment.id),
        run,
        job_id=job_id,
        job_timeout=STILL_JOB_TIMEOUT,
        description=f"still of comment {comment.id}",
    )
    return queued is not None


def make_still(comment_id: str, run: int) -> None:
    """The RQ job: run number ``run`` at the comment's still. A failure is logged and leaves
    the comment without a still."""
    row_id = uuid.UUID(comment_id)
    if not claim_run(
        VideoComment.still_runs, run, VideoComment.id == row_id, VideoComment.still_path.is_(None)
    ):
        log.info("still %s: run %d is not due; nothing to do", comment_id, run)
        return
    key = None
    try:
        key = _make(db.session.get(VideoComment, row_id))
    except Exception:
        db.session.rollback()
        log.exception("still %s: run %d failed; the comment goes without one", comment_id, run)
    kept = db.session.execute(
        sa.update(VideoComment)
        .where(VideoComment.id == row_id, VideoComment.still_runs == run)
        .values(still_path=key, still_job_id=None)
    ).rowcount
    db.session.commit()
    if key and not kept:  # the comment was deleted meanwhile
        get_storage().delete(key)


def _make(comment: VideoComment) -> str | None:
    """Store the frame of the take at the comment's moment; its key, or None when the
    comment has no take to take it from any more."""
    take = comment.parent.video_asset if comment.parent is not None else None
    if take is None or take.storage_path is None or comment.at_seconds is None:
        return None
    source, at, duration = take.storage_path, comment.at_seconds, take.duration_sec
    key = still_key(comment.id)
    db.session.close()  # no connection held while FFmpeg works
    storage = get_storage()
    with tempfile.TemporaryDirectory(prefix="practika-still-") as workdir:
        folder = Path(workdir)
        still = make_poster(
            storage.fetch(source, folder),
            folder / "still.jpg",
            at=at,
            duration=duration,
            ffmpeg_binary=current_app.config["FFMPEG_BINARY"],
        )
        with still.open("rb") as stream:
            storage.save(key, stream)
    return key


def sweep() -> dict[str, int]:
    """Enqueue again the stills whose job Redis does not hold; after STILL_MAX_RUNS runs, the
    comment goes without one. How many were enqueued."""
    waiting = db.session.scalars(
        sa.select(VideoComment).where(
            VideoComment.still_job_id.is_not(None), VideoComment.still_path.is_(None)
        )
    ).all()
    enqueued = 0
    for comment in lost_rows("media", waiting, attrgetter("still_job_id")):
        if comment.still_runs >= STILL_MAX_RUNS:
            log.warning("still %s: %d runs died; it goes without", comment.id, comment.still_runs)
            comment.still_job_id = None
            db.session.commit()
        else:
            enqueued += request_still(comment)
    return {"stills_enqueued": enqueued}
