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

# Replies, as a second name for the comments table in one query (made once: an alias is
# costly to build on every request).
Reply = so.aliased(VideoComment, name="reply")
Root = so.aliased(VideoComment, name="root")

THREADS_PER_PAGE = 10
ATTEMPTS_PER_PAGE = 12


@dataclass
class Discussion:
    threads: list[VideoComment]
    replies: dict[uuid.UUID, list[VideoComment]]
    count: int
    next_page: int | None


def with_people():
    """Each comment's author (the name is all a page shows: not their profile, which a user
    otherwise always brings along) and video."""
    return (
        so.joinedload(VideoComment.author).lazyload(User.profile),
        so.joinedload(VideoComment.video_asset),
    )


def is_handled() -> sa.ColumnElement[bool]:
    """An attempt a teacher has dealt with: answered (someone but its student wrote in its
    thread: only the exercise's teachers and staff may, and a staff member's reply is
    feedback the student reads as such), or marked reviewed without a comment. The inbox,
    the progress grid and the attempt lists all ask this."""
    return sa.or_(VideoComment.reviewed_at.is_not(None), VideoComment.answered_at.is_not(None))


def feedback_in(attempt: VideoComment, replies: list[VideoComment]) -> list[VideoComment]:
    """The feedback among an attempt's replies: what anyone but its student wrote (only the
    exercise's teachers and staff may write there). The student's own replies belong to
    the thread, but they are no feedback: they neither count as any nor end "No feedback
    yet"."""
    return [reply for reply in replies if reply.author_id != attempt.author_id]


def replies_to(roots: list[VideoComment]) -> dict[uuid.UUID, list[VideoComment]]:
    """Each root's replies, oldest first, in one query."""
    replies: dict[uuid.UUID, list[VideoComment]] = {root.id: [] for root in roots}
    if roots:
        for reply in db.session.scalars(
            sa.select(VideoComment)
            .options(*with_people())
            .where(VideoComment.parent_id.in_(replies))
            .order_by(VideoComment.created_at, VideoComment.id)
        ):
            replies[reply.parent_id].append(reply)
    return replies


def discussion_count(exercise_id: uuid.UUID) -> int:
    """Comments in the discussion, replies included (not attempts or their feedback)."""
    return db.session.scalar(
        sa.select(sa.func.count(VideoComment.id))
        .outerjoin(Root, Root.id == VideoComment.parent_id)
        .where(
            VideoComment.exercise_id == exercise_id,
            VideoComment.kind == CommentKind.COMMENT,
            sa.or_(Root.id.is_(None), Root.kind == CommentKind.COMMENT),
        )
    )


def discussion(exercise: Exercise, page: int = 1) -> Discussion:
    """The newest threads of the exercise's discussion, a page at a time."""
    page = max(page, 1)
    threads = db.session.scalars(
        sa.select(VideoComment)
        .options(*with_people())
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
    feedback: int  # comments under it by others than its student
    answered: bool


@dataclass
class Attempts:
    rows: list[AttemptRow]
    count: int
    next_page: int | None


def attempts(reader: User, exercise: Exercise, page: int = 1) -> Attempts:
    """The attempts ``reader`` may see, newest first, a page at a time, with how much
    feedback each has and whether a teacher has dealt with it."""
    page = max(page, 1)
    visible = attempts_filter(reader, exercise)
    feedback = (
        sa.select(sa.func.count(Reply.id)).where(
            Reply.parent_id == VideoComment.id, Reply.author_id != VideoComment.author_id
        )
    ).scalar_subquery()
    answered = is_handled()
    rows = db.session.execute(
        sa.select(VideoComment, feedback, answered)
        .options(*with_people())
        .where(visible)
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(ATTEMPTS_PER_PAGE + 1)
        .offset((page - 1) * ATTEMPTS_PER_PAGE)
    ).all()
    more = len(rows) > ATTEMPTS_PER_PAGE
    count = db.session.scalar(sa.select(sa.func.count(VideoComment.id)).where(visible))
    return Attempts(
        [AttemptRow(attempt, n, bool(done)) for attempt, n, done in rows[:ATTEMPTS_PER_PAGE]],
        count,
        page + 1 if more else None,
    )
