"""What waits for whom: a teacher's review inbox (attempts nobody has answered or marked
reviewed), and a student's feedback they have not seen yet. A fixed number of queries
whatever the number of rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import User
from practika.classes.models import ClassMember, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.comments.threads import Reply, is_handled
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.model_base import utcnow

INBOX_PAGE = 50

Teaching = so.aliased(ClassMember, name="teaching")
Studying = so.aliased(ClassMember, name="studying")


def awaits_feedback() -> sa.ColumnElement[bool]:
    """An attempt nobody but its student has written under, and no teacher marked reviewed."""
    return sa.and_(
        VideoComment.kind == CommentKind.ATTEMPT,
        VideoComment.reviewed_at.is_(None),
        VideoComment.answered_at.is_(None),
    )


def _taught_by(teacher: User, class_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """The attempt's student is in a class ``teacher`` teaches (``class_id``, when given)
    that the attempt's exercise is published to."""
    where = [
        Publication.exercise_id == VideoComment.exercise_id,
        Teaching.class_id == Publication.class_id,
        Teaching.user_id == teacher.id,
        Teaching.role == MemberRole.TEACHER,
        Studying.class_id == Publication.class_id,
        Studying.user_id == VideoComment.author_id,
        Studying.role == MemberRole.STUDENT,
    ]
    if class_id is not None:
        where.append(Publication.class_id == class_id)
    return sa.select(Publication.exercise_id).where(*where).exists()


def _exercises_of(teacher: User, class_id: uuid.UUID | None) -> sa.Select:
    """The exercises whose attempts may wait for ``teacher``: their own, and those published
    to a class they teach (``class_id``, when given). Attempts are looked up by these first,
    so the inbox reads one teacher's attempts, never the whole table."""
    published = (
        sa.select(Publication.exercise_id)
        .join(Teaching, Teaching.class_id == Publication.class_id)
        .where(Teaching.user_id == teacher.id, Teaching.role == MemberRole.TEACHER)
    )
    if class_id is not None:
        return published.where(Publication.class_id == class_id)
    return published.union(sa.select(Exercise.id).where(Exercise.created_by_id == teacher.id))


def _waiting_for(teacher: User, class_id: uuid.UUID | None) -> list[sa.ColumnElement[bool]]:
    """Attempts waiting for ``teacher``: at their own exercises, or by a student of theirs
    (in ``class_id``, when given, and then only those)."""
    theirs = _taught_by(teacher, class_id)
    return [
        awaits_feedback(),
        VideoComment.author_id != teacher.id,
        theirs if class_id is not None else sa.or_(Exercise.created_by_id == teacher.id, theirs),
    ]


def _inbox_where(
    teacher: User, class_id: uuid.UUID | None, exercise_id: uuid.UUID | None
) -> list[sa.ColumnElement[bool]]:
    at = (
        VideoComment.exercise_id.in_(_exercises_of(teacher, class_id))
        if exercise_id is None
        else VideoComment.exercise_id == exercise_id
    )
    return [at, *_waiting_for(teacher, class_id)]


@dataclass
class Inbox:
    attempts: list[VideoComment]
    has_more: bool


def inbox(
    teacher: User,
    *,
    class_id: uuid.UUID | None = None,
    exercise_id: uuid.UUID | None = None,
) -> Inbox:
    """The attempts waiting for ``teacher``, oldest waiting first."""
    rows = db.session.scalars(
        sa.select(VideoComment)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .options(
            so.joinedload(VideoComment.author).lazyload(User.profile),
            so.joinedload(VideoComment.video_asset),
            so.contains_eager(VideoComment.exercise),
        )
        .where(*_inbox_where(teacher, class_id, exercise_id))
        .order_by(VideoComment.created_at, VideoComment.id)
        .limit(INBOX_PAGE + 1)
    ).all()
    return Inbox(list(rows[:INBOX_PAGE]), len(rows) > INBOX_PAGE)


def inbox_count(teacher: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(VideoComment.id))
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .where(*_inbox_where(teacher, None, None))
    )


def awaiting_by_exercise(reader: User, exercise_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per exercise of ``exercise_ids``, the attempts waiting for ``reader``: what their
    inbox holds of it (staff: every attempt nobody has answered)."""
    where = [awaits_feedback()] if reader.is_staff else _waiting_for(reader, None)
    rows = db.session.execute(
        sa.select(VideoComment.exercise_id, sa.func.count(VideoComment.id))
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .where(VideoComment.exercise_id.in_(exercise_ids), *where)
        .group_by(VideoComment.exercise_id)
    )
    return dict(rows.all())


def mark_reviewed(attempt: VideoComment) -> None:
    """Seen and nothing to add: out of the inbox without a comment."""
    attempt.reviewed_at = utcnow()


def _unseen_feedback() -> sa.ColumnElement[bool]:
    """Someone but the student wrote under the attempt since the student last opened it."""
    newer = sa.or_(
        VideoComment.seen_by_author_at.is_(None), Reply.created_at > VideoComment.seen_by_author_at
    )
    return (
        sa.select(Reply.id)
        .where(Reply.parent_id == VideoComment.id, Reply.author_id != VideoComment.author_id, newer)
        .exists()
    )


def unseen_feedback(
    student: User, exercise_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, int]:
    """Per exercise (of ``exercise_ids``, or all), the student's attempts with feedback they
    have not opened yet."""
    where = [
        VideoComment.author_id == student.id,
        VideoComment.kind == CommentKind.ATTEMPT,
        _unseen_feedback(),
    ]
    if exercise_ids is not None:
        where.append(VideoComment.exercise_id.in_(exercise_ids))
    rows = db.session.execute(
        sa.select(VideoComment.exercise_id, sa.func.count(VideoComment.id))
        .where(*where)
        .group_by(VideoComment.exercise_id)
    )
    return dict(rows.all())


def mark_seen(attempt: VideoComment) -> None:
    attempt.seen_by_author_at = utcnow()


def attempts_of(student: User) -> list[tuple[VideoComment, bool, bool]]:
    """The student's attempts, newest first, each with whether it was answered and whether
    that feedback is new to them."""
    answered = is_handled()
    rows = db.session.execute(
        sa.select(VideoComment, answered, _unseen_feedback())
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .options(so.contains_eager(VideoComment.exercise), so.joinedload(VideoComment.video_asset))
        .where(VideoComment.author_id == student.id, VideoComment.kind == CommentKind.ATTEMPT)
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(200)
    ).all()
    return [(attempt, bool(done), bool(new)) for attempt, done, new in rows]
