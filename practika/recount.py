"""UserMetrics recomputed from the rows they count: for ``flask admin metrics`` and the web."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from practika.accounts.models import Profile, User, UserMetrics
from practika.accounts.services.tallies import whole_seconds
from practika.comments.models import VideoComment
from practika.core.models import VideoAsset, VideoType
from practika.exercises.models import Exercise
from practika.extensions import db

FIELDS = ("exercises_created", "comments_made", "total_video_time")


@dataclass(frozen=True)
class Drift:
    """One stored metric that differs from the data; ``stored`` is None when the profile has
    no UserMetrics row at all."""

    profile_id: int
    username: str
    field: str
    stored: int | None
    actual: int


def _measure() -> list[tuple[int, str, UserMetrics | None, dict[str, int]]]:
    """Per profile: its id, the username, the stored metrics row (or None) and the true values.

    One SQL query whatever the number of users: each count or sum is grouped once in a
    subquery and outer-joined to the profiles.
    """
    exercises = (
        sa.select(Exercise.created_by_id.label("user_id"), sa.func.count().label("n"))
        .group_by(Exercise.created_by_id)
        .subquery()
    )
    comments = (
        sa.select(VideoComment.author_id.label("user_id"), sa.func.count().label("n"))
        .group_by(VideoComment.author_id)
        .subquery()
    )
    videos = (
        sa.select(
            VideoAsset.owner_id.label("user_id"),
            # coalesce: SQLAlchemy gives SQLite a Python floor() that refuses NULL.
            sa.func.sum(sa.func.floor(sa.func.coalesce(VideoAsset.duration_sec, 0) + 0.5)).label(
                "n"
            ),
        )
        .where(VideoAsset.video_type == VideoType.UPLOAD, VideoAsset.owner_id.is_not(None))
        .group_by(VideoAsset.owner_id)
        .subquery()
    )
    query = (
        sa.select(
            Profile.id,
            User.username,
            UserMetrics,
            sa.func.coalesce(exercises.c.n, 0),
            sa.func.coalesce(comments.c.n, 0),
            videos.c.n,
        )
        .join(User, User.id == Profile.user_id)
        .outerjoin(UserMetrics, UserMetrics.profile_id == Profile.id)
        .outerjoin(exercises, exercises.c.user_id == Profile.user_id)
        .outerjoin(comments, comments.c.user_id == Profile.user_id)
        .outerjoin(videos, videos.c.user_id == Profile.user_id)
        .order_by(User.username)
    )
    return [
        (
            profile_id,
            username,
            stored,
            {
                "exercises_created": int(n_exercises),
                "comments_made": int(n_comments),
                "total_video_time": whole_seconds(seconds),
            },
        )
        for profile_id, username, stored, n_exercises, n_comments, seconds in db.session.execute(
            query
        )
    ]


def recompute_metrics(*, fix: bool = False) -> list[Drift]:
    """Every stored metric that does not match the data, ordered by username, then field.

    With ``fix``, also puts the true values in the session, creating a UserMetrics row where
    a profile has none; the caller commits. Reading takes one query whatever the number of
    users; the flush batches the writes.
    """
    drifts = []
    for profile_id, username, stored, actual in _measure():
        theirs = [
            Drift(profile_id, username, field, value, actual[field])
            for field in FIELDS
            if (value := None if stored is None else getattr(stored, field)) != actual[field]
        ]
        if theirs and fix:
            if stored is None:
                db.session.add(UserMetrics(profile_id=profile_id, **actual))
            else:
                for drift in theirs:
                    setattr(stored, drift.field, drift.actual)
        drifts += theirs
    return drifts
