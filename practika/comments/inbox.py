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
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.model_base import utcnow

INBOX_PAGE = 25  # the oldest; a teacher works from the top
FILTER_EXERCISES = 100

Teaching = so.aliased(ClassMember, name="teaching")
Studying = so.aliased(ClassMember, name="studying")


def awaits_feedback() -> sa.ColumnElement[bool]:
    """An attempt whose video plays (one that has not, or failed, was never announced to
    the teacher), nobody but its student has written under, and no teacher marked reviewed.
    The kind is written into the SQL, not bound, so that SQLite may use the partial index
    of waiting attempts (ix_video_comments_awaiting), whose condition is the rest of this;
    the video is then one lookup by its key per attempt the index holds."""
    plays = (
        sa.select(VideoAsset.id)
        .where(VideoAsset.id == VideoComment.video_asset_id, VideoAsset.is_playable)
        .exists()
    )
    return sa.and_(
        VideoComment.kind == sa.literal(CommentKind.ATTEMPT.value, literal_execute=True),
        VideoComment.reviewed_at.is_(None),
        VideoComment.answered_at.is_(None),
        plays,
    )


def _taught_by(teacher: User) -> sa.ColumnElement[bool]:
    """The attempt's student is in a class ``teacher`` teaches that the attempt's exercise is
    published to."""
    return (
        sa.select(Publication.exercise_id)
        .where(
            Publication.exercise_id == VideoComment.exercise_id,
            Teaching.class_id == Publication.class_id,
            Teaching.user_id == teacher.id,
            Teaching.role == MemberRole.TEACHER,
            Studying.class_id == Publication.class_id,
            Studying.user_id == VideoComment.author_id,
            Studying.role == MemberRole.STUDENT,
        )
        .exists()
    )


def _waiting_for(teacher: User) -> list[sa.ColumnElement[bool]]:
    """Attempts waiting for ``teacher``: at their own exercises, or by a student of theirs.
    For a few exercises at a time (the cards of a page); a whole inbox reads _arms."""
    theirs = _taught_by(teacher)
    return [
        awaits_feedback(),
        VideoComment.author_id != teacher.id,
        sa.or_(Exercise.created_by_id == teacher.id, theirs),
    ]


def _arms(
    teacher: User, class_id: uuid.UUID | None, exercise_id: uuid.UUID | None
) -> list[sa.Subquery]:
    """The inbox as separate reads (id, exercise_id, created_at), each led by an index and
    never holding the same attempt: attempts at the teacher's own exercises (read by
    exercise author), and attempts by their students at other teachers' exercises, joined
    from the classes they teach. With ``class_id``, only the students of that class,
    whoever's the exercise."""
    columns = (VideoComment.id, VideoComment.exercise_id, VideoComment.created_at)
    common = [awaits_feedback(), VideoComment.author_id != teacher.id]
    if exercise_id is not None:
        common.append(VideoComment.exercise_id == exercise_id)
    taught = (
        sa.select(*columns)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .join(Publication, Publication.exercise_id == VideoComment.exercise_id)
        .join(
            Teaching,
            sa.and_(
                Teaching.class_id == Publication.class_id,
                Teaching.user_id == teacher.id,
                Teaching.role == MemberRole.TEACHER,
            ),
        )
        .join(
            Studying,
            sa.and_(
                Studying.class_id == Publication.class_id,
                Studying.user_id == VideoComment.author_id,
                Studying.role == MemberRole.STUDENT,
            ),
        )
        .where(*common)
        .distinct()  # a student in two of the teacher's classes the exercise is published to
    )
    if class_id is not None:
        return [taught.where(Publication.class_id == class_id).subquery()]
    own = (
        sa.select(*columns)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .where(Exercise.created_by_id == teacher.id, *common)
    )
    return [own.subquery(), taught.where(Exercise.created_by_id != teacher.id).subquery()]


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
    oldest = [
        sa.select(arm.c.id).order_by(arm.c.created_at, arm.c.id).limit(INBOX_PAGE + 1)
        for arm in _arms(teacher, class_id, exercise_id)
    ]
    rows = db.session.scalars(
        sa.select(VideoComment)
        .join(Exercise, Exercise.id == VideoComment.exercise_id)
        .options(
            so.joinedload(VideoComment.author).lazyload(User.profile),
            so.joinedload(VideoComment.video_asset),
            so.contains_eager(VideoComment.exercise),
        )
        .where(VideoComment.id.in_(sa.union_all(*(q.subquery().select() for q in oldest))))
        .order_by(VideoComment.created_at, VideoComment.id)
        .limit(INBOX_PAGE + 1)
    ).all()
    return Inbox(list(rows[:INBOX_PAGE]), len(rows) > INBOX_PAGE)


def inbox_count(teacher: User) -> int:
    counts = [
        sa.select(sa.func.count()).select_from(arm).scalar_subquery()
        for arm in _arms(teacher, None, None)
    ]
    return sum(db.session.execute(sa.select(*counts)).one())


def waiting_exercises(teacher: User) -> list[tuple[Exercise, int]]:
    """The exercises with attempts waiting for ``teacher``, by name, each with how many:
    what the inbox can be filtered by (the FILTER_EXERCISES with the most waiting)."""
    per_arm = [
        sa.select(arm.c.exercise_id, sa.func.count()).group_by(arm.c.exercise_id)
        for arm in _arms(teacher, None, None)
    ]
    counts = dict(db.session.execute(sa.union_all(*per_arm)).all())  # the arms share no exercise
    if len(counts) > FILTER_EXERCISES:
        most = sorted(counts, key=counts.__getitem__, reverse=True)[:FILTER_EXERCISES]
        counts = {exercise_id: counts[exercise_id] for exercise_id in most}
    if not counts:
        return []
    exercises = db.session.scalars(
        sa.select(Exercise).where(Exercise.id.in_(counts)).order_by(Exercise.name, Exercise.id)
    )
    return [(exercise, counts[exercise.id]) for exercise in exercises]


def awaiting_by_exercise(reader: User, exercise_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per exercise of ``exercise_ids``, the attempts waiting for ``reader``: what their
    inbox holds of it (staff: every attempt nobody has answered)."""
    where = [awaits_feedback()] if reader.is_staff else _waiting_for(reader)
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
