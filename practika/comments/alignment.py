"""Where an attempt's take sits on its model video: what the take was recorded against, and
asking the worker to line the two up by their sound (practika.comments.tasks).

The row is noted at submit (WAITING, with the clip and speed the take was recorded against),
and the sound job is asked for once the take plays and the attempt is sent, whichever comes
second (services.announce_attempt); once the model video is ready, if it was still
processing then (the video job calls ``request_waiting_for``); by the sweep, for a row whose
job could not be asked for; and when the attempt's page opens, for an attempt with no row
(sent before alignments) or a stale one. An alignment a person saved (MANUAL) is kept while
it names the same take and model; any other row that names another take or model is
measured again.
"""

from __future__ import annotations

import math
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practika.comments.models import AlignedBy, AttemptAlignment, VideoComment
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip, VideoType
from practika.exercises.models import Exercise
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


def model_sound(model: VideoAsset) -> bool | None:
    """Whether the model video's sound can be read now: uploaded (YouTube keeps its files)
    and ready (its renditions will not change under the job). None while it is processing
    and may still be; False when it never will be."""
    if model.video_type != VideoType.UPLOAD or model.status == ProcessingStatus.FAILED:
        return False
    if model.status != ProcessingStatus.READY:
        return None
    return model.has_renditions


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
    """Asked when the attempt's page opens: an attempt whose take plays and whose alignment
    is missing (sent before alignments, or before its exercise had a model video) or names
    another take or model (a new model video, a replaced take) is measured (again)."""
    take = attempt.video_asset
    if alignment_of(attempt) is None and take is not None and take.is_playable:
        request_alignment(attempt)


def request_waiting_for(model_id: uuid.UUID) -> None:
    """The attempts at the exercises whose model this is, now that it is ready, whose
    alignment waits with no job asked for (their take played while it was processing)."""
    for attempt in unasked(Exercise.video_asset_id == model_id):
        request_alignment(attempt)


def unasked(*where: sa.ColumnElement[bool]) -> list[VideoComment]:
    """Attempts whose alignment waits with no sound job asked for (and ``where``)."""
    return db.session.scalars(
        sa.select(VideoComment)
        .join(AttemptAlignment, AttemptAlignment.attempt_id == VideoComment.id)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .where(
            AttemptAlignment.aligned_by == AlignedBy.WAITING,
            AttemptAlignment.job_id.is_(None),
            *where,
        )
    ).all()


def request_alignment(attempt: VideoComment) -> bool:
    """Ask the sound job to line the attempt's take up with its model, keeping the clip and
    speed it was recorded against; whether a job was enqueued. Safe to ask again, and from
    two places at once: a row measured, saved by hand (MANUAL) or whose job is asked for
    already stays as it is, and of two callers only one names the job (enqueue_alignment).
    It waits while the take or the model is still processing; with a model whose sound
    will never be read (YouTube) the row ends NONE at once (the two start together)."""
    take, model = attempt.video_asset, attempt.exercise.video_asset
    if take is None or model is None:
        return False
    row = _fresh_row(attempt, take.id, model.id)
    if row is None or row.aligned_by != AlignedBy.WAITING or row.job_id is not None:
        return False
    readable = model_sound(model)
    if readable is False:
        row.aligned_by = AlignedBy.NONE
        row.offset_sec = started_together(row)
        db.session.commit()
        return False
    if not readable or not take.is_playable:
        return False  # the video job asks again when it plays, or is ready
    return enqueue_alignment(row)


def _fresh_row(
    attempt: VideoComment, take_id: uuid.UUID, model_id: uuid.UUID
) -> AttemptAlignment | None:
    """The attempt's alignment about this take and model, committed: a stale one waits
    again, and an attempt sent before alignments (or before its exercise had a model video)
    gets one. None when another request added it at the same moment (it asks the job)."""
    row = alignment_of(attempt)
    if row is not None:
        return row
    row = attempt.alignment
    if row is None:
        row = AttemptAlignment(attempt=attempt, rate=1.0)
        db.session.add(row)
    restart(row, take_id, model_id)
    try:
        db.session.commit()
    except IntegrityError:  # two page views of an attempt with no row: one adds it
        db.session.rollback()
        return None
    return row


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
    """Name the row's next run on it, commit, then enqueue it; False when another caller
    named a run since ``row`` was read (the conditional UPDATE lets one of two callers at
    once through), or when Redis is away (the sweep enqueues it later)."""
    run = row.attempts + 1
    job_id = attempt_job_id("align", row.attempt_id, run)
    named = db.session.execute(
        sa.update(AttemptAlignment)
        .where(
            AttemptAlignment.attempt_id == row.attempt_id,
            AttemptAlignment.aligned_by == AlignedBy.WAITING,
            AttemptAlignment.attempts == row.attempts,
            AttemptAlignment.job_id.is_not_distinct_from(row.job_id),
        )
        .values(job_id=job_id)
    ).rowcount
    db.session.commit()
    if not named:
        return False
    job_id = enqueue(
        "media",
        "practika.comments.tasks.align_attempt",
        str(row.attempt_id),
        run,
        job_id=job_id,
        job_timeout=ALIGN_JOB_TIMEOUT,
        delay=delay,
    )
    return job_id is not None
