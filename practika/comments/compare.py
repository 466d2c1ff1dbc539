"""The compare view: which two videos an attempt's page plays together, how a moment of the
lead (the attempt's take) maps to a moment of the follower (the model, or another take of
the same student), and the offset a person nudges by hand and saves."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from practika.comments.alignment import alignment_of, restart, started_together
from practika.comments.models import AlignedBy, AttemptAlignment, CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.extensions import db
from practika.media.align import SURE_SCORE

# A sound match is stored once its peak's standard score reaches align.SURE_SCORE; from
# CLEAR_SCORE on (bbc/audio-offset-finder's "sure") the page calls it sure, below it likely.
CLEAR_SCORE = 10.0
SLACK_SEC = 60.0  # a saved offset may reach this far past either end of the model
# The box a phone leaves the two videos (360x740, less the header, title and controls): the
# server's first guess at an arrangement; the page measures the real box and refines it.
PHONE_BOX = (360.0, 460.0)
# A loop on the take stops this short of its end: a video that reaches its end pauses, and
# the pause would end "Play both together".
END_MARGIN_SEC = 0.1
GAP_PX = 6.0  # between the two videos, as in static/css/app.css


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


def alignment_state(attempt: VideoComment) -> str:
    """How the take is lined up: an ``AlignedBy`` value; NONE when nothing current says."""
    row = alignment_of(attempt)
    return row.aligned_by if row is not None else AlignedBy.NONE


def confidence_words(confidence: float | None) -> str | None:
    """ "sure" or "likely" for a sound match worth trusting; None for a doubtful one."""
    if confidence is None or not math.isfinite(confidence) or confidence < SURE_SCORE:
        return None
    return "sure" if confidence >= CLEAR_SCORE else "likely"


def to_model(attempt: VideoComment) -> Mapping:
    """A moment of the take as a moment of the model: where the sound or a person put it,
    else where the take started (the clip it was recorded against, or the model's start);
    at the speed the model played while it was recorded."""
    row = alignment_of(attempt)
    if row is None:
        return Mapping()
    offset = row.offset_sec if row.offset_sec is not None else started_together(row)
    return Mapping(offset, row.rate)


def follower_mapping(lead: VideoComment, other: VideoComment | None) -> Mapping:
    """A moment of the lead take as a moment of the follower: the model, or another take
    (through the model, so two takes recorded against it line up with each other)."""
    lead_to_model = to_model(lead)
    if other is None:
        return lead_to_model
    return lead_to_model.then(to_model(other).inverse())


def _ratio(asset: VideoAsset | None) -> float:
    if asset is None or not asset.width or not asset.height:
        return 16 / 9
    return asset.width / asset.height


def _contain(width: float, height: float, ratio: float) -> tuple[float, float]:
    """The size of a video of shape ``ratio`` shown whole in a box (object-fit: contain)."""
    return (height * ratio, height) if width / height > ratio else (width, width / ratio)


def _smaller_area(shape: str, lead: float, follower: float, box: tuple[float, float]) -> float:
    """The area of the smaller video when ``box`` is split between the two, side by side or
    stacked, at the split that makes it largest."""
    width, height = box
    best = 0.0
    for percent in range(5, 96):
        share = percent / 100
        if shape == "side":
            room = width - GAP_PX
            one = _contain(room * share, height, lead)
            two = _contain(room * (1 - share), height, follower)
        else:
            room = height - GAP_PX
            one = _contain(width, room * share, lead)
            two = _contain(width, room * (1 - share), follower)
        best = max(best, min(one[0] * one[1], two[0] * two[1]))
    return best


def arrangement(lead_ratio: float, follower_ratio: float, box: tuple[float, float]) -> str:
    """ "side" or "stacked": whichever gives the smaller of the two videos the larger area in
    ``box`` (width, height). static/js/compare.js measures the same way in the browser."""
    side = _smaller_area("side", lead_ratio, follower_ratio, box)
    stacked = _smaller_area("stacked", lead_ratio, follower_ratio, box)
    return "side" if side > stacked else "stacked"


def first_arrangement(lead: VideoAsset | None, follower: VideoAsset | None) -> str:
    """The arrangement for a phone, from the sizes the worker measured."""
    return arrangement(_ratio(lead), _ratio(follower), PHONE_BOX)


def clip_on_lead(start: float, end: float, lead: VideoComment) -> tuple[float, float] | None:
    """A clip of the model (model times) as a stretch of the lead take, cut to the take;
    None when the take shows less than half of it (the clip then loops the model alone)."""
    back = to_model(lead).inverse()
    first, last = back.offset + back.rate * start, back.offset + back.rate * end
    length = (lead.video_asset.duration_sec if lead.video_asset else None) or math.inf
    start, stop = max(0.0, first), min(length - END_MARGIN_SEC, last)
    if stop - start < (last - first) / 2:
        return None
    return round(start, 3), round(stop, 3)


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
