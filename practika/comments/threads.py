"""Reading threads for a page: the exercise's discussion, one attempt's feedback, and the
attempts a reader may see; a fixed number of queries whatever the number of comments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import User
from practika.comments.models import CommentKind, VideoComment
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.permissions import attempts_filter

THREADS_PER_PAGE = 20


@dataclass
class Discussion:
    threads: list[VideoComment]
    replies: dict[uuid.UUID, list[VideoComment]]
    count: int
    next_page: int | None


def _with_people():
    return (so.joinedload(VideoComment.author), so.joinedload(VideoComment.video_asset))


def replies_to(roots: list[VideoComment]) -> dict[uuid.UUID, list[VideoComment]]:
    """Each root's replies, oldest first, in one query."""
    replies: dict[uuid.UUID, list[VideoComment]] = {root.id: [] for root in roots}
    if roots:
        for reply in db.session.scalars(
            sa.select(VideoComment)
            .options(*_with_people())
            .where(VideoComment.parent_id.in_(replies))
            .order_by(VideoComment.created_at, VideoComment.id)
        ):
            replies[reply.parent_id].append(reply)
    return replies


def discussion_count(exercise_id: uuid.UUID) -> int:
    """Comments in the discussion, replies included (not attempts or their feedback)."""
    root = so.aliased(VideoComment)
    return db.session.scalar(
        sa.select(sa.func.count(VideoComment.id))
        .outerjoin(root, root.id == VideoComment.parent_id)
        .where(
            VideoComment.exercise_id == exercise_id,
            VideoComment.kind == CommentKind.COMMENT,
            sa.or_(root.id.is_(None), root.kind == CommentKind.COMMENT),
        )
    )


def discussion(exercise: Exercise, page: int = 1) -> Discussion:
    """The newest threads of the exercise's discussion, a page at a time."""
    page = max(page, 1)
    threads = db.session.scalars(
        sa.select(VideoComment)
        .options(*_with_people())
        .where(
            VideoComment.exercise_id == exercise.id,
            VideoComment.kind == CommentKind.COMMENT,
            VideoComment.parent_id.is_(None),
        )
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(THREADS_PER_PAGE + 1)
        .offset((page - 1) * THREADS_PER_PAGE)
    ).all()
    more = len(threads) > THREADS_PER_PAGE
    threads = list(threads[:THREADS_PER_PAGE])
    return Discussion(
        threads, replies_to(threads), discussion_count(exercise.id), page + 1 if more else None
    )


@dataclass
class AttemptRow:
    attempt: VideoComment
    replies: int
    answered: bool


def attempts(reader: User, exercise: Exercise, limit: int = 50) -> list[AttemptRow]:
    """The attempts ``reader`` may see, newest first, with their reply counts and whether
    the teacher has answered."""
    reply = so.aliased(VideoComment)
    replies = (
        sa.select(sa.func.count(reply.id)).where(reply.parent_id == VideoComment.id)
    ).scalar_subquery()
    answered = (
        sa.select(reply.id)
        .where(reply.parent_id == VideoComment.id, reply.author_id == exercise.created_by_id)
        .exists()
    )
    rows = db.session.execute(
        sa.select(VideoComment, replies, answered)
        .options(*_with_people())
        .where(attempts_filter(reader, exercise))
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(limit)
    )
    return [AttemptRow(attempt, count, bool(done)) for attempt, count, done in rows]
