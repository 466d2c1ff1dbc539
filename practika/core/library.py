"""A person's videos as their Videos page shows them: where each is used, the room they
take against the quota, and deleting one that nothing uses."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from practika.core.models import VideoAsset
from practika.core.services import delete_stored, discard_assets
from practika.extensions import db


@dataclass(frozen=True)
class Use:
    """Where a video is used: ``kind`` is "model" (an exercise's), "attempt" or "comment";
    ``comment_id`` is set for the last two."""

    kind: str
    exercise_id: uuid.UUID
    exercise_name: str
    comment_id: uuid.UUID | None = None


def uses_of(asset_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Use]]:
    """Where each of the videos is used, in two queries whatever their number."""
    from practika.comments.models import VideoComment
    from practika.exercises.models import Exercise

    found: dict[uuid.UUID, list[Use]] = defaultdict(list)
    if not asset_ids:
        return found
    models = db.session.execute(
        sa.select(Exercise.video_asset_id, Exercise.id, Exercise.name).where(
            Exercise.video_asset_id.in_(asset_ids)
        )
    )
    for asset_id, exercise_id, name in models:
        found[asset_id].append(Use("model", exercise_id, name))
    comments = db.session.execute(
        sa.select(VideoComment.video_asset_id, VideoComment.kind, Exercise.id, Exercise.name)
        .add_columns(VideoComment.id)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .where(VideoComment.video_asset_id.in_(asset_ids))
    )
    for asset_id, kind, exercise_id, name, comment_id in comments:
        found[asset_id].append(Use(kind, exercise_id, name, comment_id))
    return found


def in_use(asset: VideoAsset) -> bool:
    """Whether anything uses the video: ``unused_filter``, asked of one row."""
    return bool(
        db.session.scalar(sa.select(sa.not_(unused_filter())).where(VideoAsset.id == asset.id))
    )


def unused_filter() -> sa.ColumnElement[bool]:
    """``in_use`` as SQL, for queries over many videos: no exercise has it as its model and
    no attempt or comment holds it (the cleanup sweep and the Videos page ask it)."""
    from practika.comments.models import VideoComment
    from practika.exercises.models import Exercise

    return sa.and_(
        ~sa.exists().where(Exercise.video_asset_id == VideoAsset.id),
        ~sa.exists().where(VideoComment.video_asset_id == VideoAsset.id),
    )


def room_used(owner_id: int) -> int:
    """The bytes the owner's videos take against the quota."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(VideoAsset.size_bytes), 0)).where(
            VideoAsset.owner_id == owner_id
        )
    )


class InUse(ValueError):
    """The video is used somewhere: it is not deleted."""


def delete_unused(asset: VideoAsset) -> None:
    """Delete a video that nothing uses, its files once the row is gone. Raises InUse."""
    if in_use(asset):
        raise InUse("This video is used: delete the exercise, attempt or comment first.")
    keys = discard_assets([asset])
    db.session.commit()
    delete_stored(keys)
