"""The sound job: line an attempt's take up with its model video (practika.media.align).

It takes the attempt's id and its run's number, claims the run on the alignment row (a
duplicate finds it claimed and does nothing), reads both sounds with no database connection
held, and writes SOUND or NONE only while the row still names the same take and model (a
take replaced meanwhile is measured by the job asked for it). A failure is logged and ends
NONE: the two videos then start together, and the attempt is never the worse for it. A run
whose worker died is started again by the sweep, up to ALIGN_MAX_ATTEMPTS runs.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from practika.comments.alignment import (
    ALIGN_MAX_ATTEMPTS,
    enqueue_alignment,
    request_alignment,
    started_together,
    unasked,
)
from practika.comments.models import AlignedBy, AttemptAlignment
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.extensions import db
from practika.media.align import Match, align
from practika.queue import claim_run, lost_rows
from practika.storage import get_storage

log = logging.getLogger(__name__)


def align_attempt(attempt_id: str, run: int) -> None:
    """The RQ job: run number ``run`` of the attempt's alignment; SOUND or NONE."""
    row_id = uuid.UUID(attempt_id)
    waiting = AttemptAlignment.aligned_by == AlignedBy.WAITING
    if not claim_run(
        AttemptAlignment.attempts, run, AttemptAlignment.attempt_id == row_id, waiting
    ):
        log.info("alignment %s: run %d is not due; nothing to do", attempt_id, run)
        return
    row = db.session.get(AttemptAlignment, row_id)
    take_id, model_id = row.take_asset_id, row.model_asset_id
    try:
        match = _measure(row)
    except Exception:
        db.session.rollback()
        log.exception("alignment %s: run %d failed; the videos start together", attempt_id, run)
        match = None
    _finish(row_id, run, take_id, model_id, match)


def _measure(row: AttemptAlignment) -> Match | None:
    """The take's place on the model by their sound, or None when either has none."""
    config = current_app.config
    take, model = (
        db.session.get(VideoAsset, row.take_asset_id),
        db.session.get(VideoAsset, row.model_asset_id),
    )
    clip = db.session.get(VideoClip, row.clip_id) if row.clip_id else None
    window = (clip.start_time, clip.end_time) if clip is not None else None
    model_key = min(model.renditions.values(), key=lambda r: r["height"])["path"]
    take_key, rate = take.storage_path, row.rate
    db.session.close()  # no connection held while the sound is read
    storage = get_storage()
    with tempfile.TemporaryDirectory(prefix="practika-align-") as workdir:
        return align(
            storage.fetch(take_key, Path(workdir)),
            storage.fetch(model_key, Path(workdir)),
            rate=rate,
            clip=window,
            ffmpeg_binary=config["FFMPEG_BINARY"],
            ffprobe=config["FFPROBE_BINARY"],
        )


def _finish(
    row_id: uuid.UUID, run: int, take_id: uuid.UUID, model_id: uuid.UUID, match: Match | None
) -> None:
    """SOUND with the measured offset when the match is sure; else NONE, started together,
    with the score when there was one to measure."""
    row = db.session.get(AttemptAlignment, row_id)
    if match is not None and match.is_sure:
        values = {"aligned_by": AlignedBy.SOUND, "offset_sec": round(match.offset_sec, 3)}
    else:
        values = {"aligned_by": AlignedBy.NONE, "offset_sec": started_together(row)}
    confidence = round(match.confidence, 1) if match is not None else None
    written = db.session.execute(
        sa.update(AttemptAlignment)
        .where(
            AttemptAlignment.attempt_id == row_id,
            AttemptAlignment.attempts == run,
            AttemptAlignment.aligned_by == AlignedBy.WAITING,
            AttemptAlignment.take_asset_id == take_id,
            AttemptAlignment.model_asset_id == model_id,
        )
        .values(confidence=confidence, **values)
    ).rowcount
    db.session.commit()
    if not written:
        log.info("alignment %s: asked again meanwhile; run %d's answer dropped", row_id, run)


def sweep() -> dict[str, int]:
    """Enqueue alignments asked for whose job Redis does not hold (lost in an outage, or
    left by a killed worker), each as its next run, after the last run NONE; and ask for
    those never asked for although their take plays and their model is ready (Redis or
    the database was away at that moment)."""
    waiting = db.session.scalars(
        sa.select(AttemptAlignment).where(
            AttemptAlignment.aligned_by == AlignedBy.WAITING, AttemptAlignment.job_id.is_not(None)
        )
    ).all()
    done = {"alignments_enqueued": _ask_unasked(), "alignments_failed": 0}
    for row in lost_rows("media", waiting):
        if row.attempts >= ALIGN_MAX_ATTEMPTS:
            log.warning(
                "alignment %s: %d runs died; the videos start together",
                row.attempt_id,
                row.attempts,
            )
            row.aligned_by, row.offset_sec = AlignedBy.NONE, started_together(row)
            db.session.commit()
            done["alignments_failed"] += 1
        else:
            done["alignments_enqueued"] += enqueue_alignment(row)
    return done


def _ask_unasked() -> int:
    """Ask for the alignments that wait with no job although both videos can be read; how
    many were enqueued."""
    ready = VideoAsset.processing_status == ProcessingStatus.READY
    attempts = unasked(
        AttemptAlignment.take_asset_id.in_(sa.select(VideoAsset.id).where(VideoAsset.is_playable)),
        AttemptAlignment.model_asset_id.in_(sa.select(VideoAsset.id).where(ready)),
    )
    return sum(request_alignment(attempt) for attempt in attempts)
