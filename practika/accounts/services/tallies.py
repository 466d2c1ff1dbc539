"""The running totals in UserMetrics, kept by the code that changes what they count, in the
same transaction (``flask admin metrics`` recounts them from the rows to check)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from practika.accounts.models import Profile, UserMetrics
from practika.extensions import db


def whole_seconds(duration: float | None) -> int:
    """One video's length as counted in total_video_time: rounded half up, so 2.5 s counts
    as 3 (Python's round() would say 2). Each video is rounded on its own, as it is when
    the pipeline adds it, so the recount and the running total agree."""
    return math.floor((duration or 0) + 0.5)


def bump(user_id: int, field: str, change: int) -> None:
    """Change one of the user's running totals in the caller's transaction: one UPDATE, not a
    load-and-save, so concurrent changes all count."""
    profile_id = sa.select(Profile.id).where(Profile.user_id == user_id).scalar_subquery()
    db.session.execute(
        sa.update(UserMetrics)
        .where(UserMetrics.profile_id == profile_id)
        .values({field: getattr(UserMetrics, field) + change})
    )


def add_video_time(user_id: int, duration: float) -> None:
    """Add one processed video to its owner's total, in the caller's transaction."""
    bump(user_id, "total_video_time", whole_seconds(duration))
