"""The compare view: which two videos an attempt's page plays together, how a moment of the
lead (the attempt's take) maps to a moment of the follower (the model, or another take of
the same student), and the offset a person nudges by hand and saves. How the two share the
screen, and where the model's clips fall on the take, static/js/compare.js works out in the
browser, which knows the screen and each video's real length."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from practika.comments.alignment import alignment_of, restart, started_together
from practika.comments.models import AlignedBy, AttemptAlignment, CommentKind, VideoComment
from practika.extensions import db
from practika.media.align import SURE_SCORE

# A sound match is stored once its peak's standard score reaches align.SURE_SCORE; from
# CLEAR_SCORE on (bbc/audio-offset-finder's "sure") the page calls it sure, below it likely.
CLEAR_SCORE = 10.0
SLACK_SEC = 60.0  # a saved offset may reach this far past either end of the model


class AlignmentRefused(ValueError):
    """An offset that cannot be stored, with a reason a person can act on (answered 422)."""


@dataclass(frozen=True)
class Mapping:
    """``other = offset + rate * this``: a moment of one video as a moment of another."""

    offset: float = 0.0
    rate: float = 1.0

    def then(self, after: Mapping) -> Mapping:
        """This mapping followed by ``after``."""
        return Mapping(after.offset + after.rate * self.offset, after.rate * self.rate)

    def inverse(self) -> Mapping:
        return Mapping(-self.offset / self.rate, 1.0 / self.rate)


def alignment_state(row: AttemptAlignment | None) -> str:
    """How the take is lined up by its current alignment ``row`` (``alignment_of``): an
    ``AlignedBy`` value; NONE when nothing current says."""
    return row.aligned_by if row is not None else AlignedBy.NONE


def confidence_words(confidence: float | None) -> str | None:
    """ "sure" or "likely" for a sound match worth trusting; None for a doubtful one."""
    if confidence is None or not math.isfinite(confidence) or confidence < SURE_SCORE:
        return None
    return "sure" if confidence >= CLEAR_SCORE else "likely"


def to_model(attempt: VideoComment) -> Mapping:
    """A moment of the take as a moment of the model, by the alignment it has now."""
    return on_model(alignment_of(attempt))


def on_model(row: AttemptAlignment | None) -> Mapping:
    """A moment of the take as a moment of the model, by its current alignment ``row``
    (``alignment_of``): where the sound or a person put it, else where the take started (the
    clip it was recorded against, or the model's start); at the speed the model played while
    it was recorded."""
    if row is None:
        return Mapping()
    offset = row.offset_sec if row.offset_sec is not None else started_together(row)
    return Mapping(offset, row.rate)


def follower_mapping(lead_on_model: Mapping, other: VideoComment | None) -> Mapping:
    """A moment of the lead take (``lead_on_model``: its moment on the model) as a moment
    of the follower: the model, or another take (through the model, so two takes recorded
    against it line up with each other)."""
    if other is None:
        return lead_on_model
    return lead_on_model.then(to_model(other).inverse())


def save_offset(attempt: VideoComment, value: object) -> AttemptAlignment:
    """Store a nudged offset as the attempt's alignment (MANUAL), keeping the rate and clip
    it was recorded at. Refused unless it is a finite number of seconds within the model's
    length and a minute either side."""
    try:
        offset = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AlignmentRefused("The offset must be a number of seconds.") from None
    model = attempt.exercise.video_asset
    limit = ((model.duration_sec or 0.0) if model else 0.0) + SLACK_SEC
    if not math.isfinite(offset) or abs(offset) > limit:
        raise AlignmentRefused(f"The offset must be between -{limit:g} and {limit:g} seconds.")
    row = alignment_of(attempt)
    if row is None:  # none yet, or about another take or model: this one, by hand
        row = attempt.alignment or AttemptAlignment(attempt=attempt, rate=1.0)
        restart(row, attempt.video_asset_id, attempt.exercise.video_asset_id)
        db.session.add(row)
    row.offset_sec = round(offset, 3)
    row.aligned_by = AlignedBy.MANUAL
    return row


def takes_of(attempt: VideoComment) -> list[VideoComment]:
    """The attempt's student's attempts at its exercise that have a video, oldest first:
    what the attempt may be compared with."""
    return list(
        db.session.scalars(
            sa.select(VideoComment)
            .where(
                VideoComment.exercise_id == attempt.exercise_id,
                VideoComment.author_id == attempt.author_id,
                VideoComment.kind == CommentKind.ATTEMPT,
                VideoComment.video_asset_id.is_not(None),
            )
            .order_by(VideoComment.created_at, VideoComment.id)
        )
    )


def same_student_same_exercise(one: VideoComment, other: VideoComment) -> bool:
    """Two takes the compare view may put together."""
    return (
        one.id != other.id
        and other.kind == CommentKind.ATTEMPT
        and other.exercise_id == one.exercise_id
        and other.author_id == one.author_id
        and other.video_asset_id is not None
    )
