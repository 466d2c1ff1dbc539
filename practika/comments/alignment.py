"""Where an attempt's take sits on its model video: what the take was recorded against, and
asking the worker to line the two up by their sound (practika.comments.tasks).

The row is noted at submit (WAITING, with the clip and speed the take was recorded against),
and the sound job is asked for once the take plays (the video job calls
``request_alignments``). An alignment a person saved (MANUAL) is kept while it names the
same take and model; any other row that names another take or model is measured again.
"""

from __future__ import annotations

import math
import uuid

import sqlalchemy as sa

from practika.comments.models import AlignedBy, AttemptAlignment, CommentKind, VideoComment
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip, VideoType
from practika.extensions import db
from practika.queue import attempt_job_id, enqueue

# The speeds a take may say the model played at: the page's own 0.25-1, and a browser's
# menu up to 2, within the table's range.
MIN_RATE, MAX_RATE = 0.1, 4.0
ALIGN_JOB_TIMEOUT = 300
ALIGN_MAX_ATTEMPTS = 3  # runs of one alignment the sweep starts again after a dead worker


class AgainstError(ValueError):
    """What a take was recorded against cannot be right; the message says which part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def recorded_against(
    exercise_clips: list[VideoClip], clip_id: str | None, rate: object
) -> tuple[VideoClip | None, float]:
    """The clip (one of ``exercise_clips``, or None for the whole model) and the speed a take
    was recorded against, from a form's text or the API's JSON. Raises AgainstError."""
    clip = None
    if clip_id:
        try:
            wanted = uuid.UUID(str(clip_id).strip())
        except ValueError:
            raise AgainstError("clip", "That clip is not one of this exercise's.") from None
        clip = next((c for c in exercise_clips if c.id == wanted), None)
        if clip is None:
            raise AgainstError("clip", "That clip is not one of this exercise's.")
    return clip, _rate(rate)


def _rate(value: object) -> float:
    """A speed within MIN_RATE..MAX_RATE; 1 when nothing was sent."""
    if value is None or value == "":
        return 1.0
    if isinstance(value, bool):
        raise AgainstError("rate", _RATE_MESSAGE)
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise AgainstError("rate", _RATE_MESSAGE) from None
    if not math.isfinite(rate) or not MIN_RATE <= rate <= MAX_RATE:
        raise AgainstError("rate", _RATE_MESSAGE)
    return rate


_RATE_MESSAGE = f"The speed must be between {MIN_RATE:g} and {MAX_RATE:g}."


def note_against(attempt: VideoComment, clip: VideoClip | None, rate: float) -> None:
    """A WAITING alignment for a new attempt (the caller commits), when its exercise has a
    model video to line it up with."""
    model = attempt.exercise.video_asset
    if model is None or attempt.video_asset is None:
        return
    db.session.add(
        AttemptAlignment(
            attempt=attempt,
            take_asset_id=attempt.video_asset.id,
            model_asset_id=model.id,
            clip_id=clip.id if clip is not None else None,
            rate=rate,
        )
    )


def model_to_align(attempt: VideoComment) -> VideoAsset | None:
    """The exercise's model video when its sound can be read: uploaded (YouTube keeps its
    files) and ready (its renditions will not change under the job)."""
    model = attempt.exercise.video_asset
    if model is None or model.video_type != VideoType.UPLOAD or not model.renditions:
        return None
    return model if model.processing_status == ProcessingStatus.READY else None


def alignment_of(attempt: VideoComment) -> AttemptAlignment | None:
    """The attempt's alignment if it is about the take and model it has now; None when it
    has none, or one about another take or model (stale, not wrong)."""
    row = attempt.alignment
    if row is None or attempt.video_asset_id is None:
        return None
    model_id = attempt.exercise.video_asset_id
    fresh = row.take_asset_id == attempt.video_asset_id and row.model_asset_id == model_id
    return row if fresh else None


def realign_if_stale(attempt: VideoComment) -> None:
    """Asked for an attempt whose alignment names another take or model (a new model
    video, a replaced take) while its take plays: measure it again."""
    take = attempt.video_asset
    if attempt.alignment is None or alignment_of(attempt) is not None:
        return
    if take is not None and take.is_playable and attempt.exercise.video_asset is not None:
        request_alignment(attempt)


def request_alignments(take_id: uuid.UUID) -> None:
    """Every attempt whose take this is, now that it plays: line each up with its model."""
    attempts = db.session.scalars(
        sa.select(VideoComment).where(
            VideoComment.video_asset_id == take_id, VideoComment.kind == CommentKind.ATTEMPT
        )
    ).all()
    for attempt in attempts:
        request_alignment(attempt)


def request_alignment(attempt: VideoComment) -> bool:
    """Ask the sound job to line the attempt's take up with its model, keeping the clip and
    speed it was recorded against; whether a job was enqueued. A MANUAL alignment of the
    same take and model stays; with no model whose sound can be read the row ends NONE at
    once (the two start together)."""
    take, exercise = attempt.video_asset, attempt.exercise
    if take is None or exercise.video_asset is None:
        return False
    row = attempt.alignment
    if row is None:  # an attempt sent before alignments, or before its exercise had a video
        row = AttemptAlignment(attempt=attempt, rate=1.0)
        db.session.add(row)
    elif row.aligned_by == AlignedBy.MANUAL and alignment_of(attempt) is row:
        return False
    restart(row, take.id, exercise.video_asset.id)
    db.session.flush()  # a new row's id names its job
    if model_to_align(attempt) is None:
        row.aligned_by = AlignedBy.NONE
        row.offset_sec = started_together(row)
        db.session.commit()
        return False
    return enqueue_alignment(row)


def restart(row: AttemptAlignment, take_id: uuid.UUID, model_id: uuid.UUID) -> None:
    """The row waits to measure ``take_id`` on ``model_id``, from its first run; what the
    take was recorded against stays, but for a clip of another model video."""
    if row.model_asset_id != model_id:
        row.clip_id = None
    row.take_asset_id, row.model_asset_id = take_id, model_id
    row.aligned_by, row.offset_sec, row.confidence = AlignedBy.WAITING, None, None
    row.attempts, row.job_id = 0, None


def started_together(row: AttemptAlignment) -> float:
    """The offset of a take that is not lined up: it starts with the clip it was recorded
    against (or the model's start)."""
    clip = db.session.get(VideoClip, row.clip_id) if row.clip_id else None
    return clip.start_time if clip is not None else 0.0


def enqueue_alignment(row: AttemptAlignment, delay: int = 0) -> bool:
    """Name the row's next run on it, commit, then enqueue it; False when Redis is away
    (the sweep enqueues it later)."""
    run = row.attempts + 1
    row.job_id = attempt_job_id("align", row.attempt_id, run)
    db.session.commit()
    job_id = enqueue(
        "media",
        "practika.comments.tasks.align_attempt",
        str(row.attempt_id),
        run,
        job_id=row.job_id,
        job_timeout=ALIGN_JOB_TIMEOUT,
        delay=delay,
    )
    return job_id is not None
