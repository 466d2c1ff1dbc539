"""Who sees and changes what: every rule of the who-sees-what table, in one place.

- An exercise, its clips and the discussion on it: its author, staff, and the members
  (students and teachers) of the classes it is published to; a draft (published to no
  class) only its author and staff. The author and staff change it.
- An attempt, and the feedback thread under it: the student who made it, the exercise's
  author, the teachers of a class the exercise is published to that the student is in
  (co-teachers share a class), and staff; nobody else learns it exists (404).
- A student sends an attempt at an exercise published to a class they are a student of.
- A class is seen by its members and staff, and run by its teachers and staff.
- An attempt is marked reviewed by a teacher who sees it (or staff), never its own student.
- How an attempt's take lines up with the model is saved by whoever may write under it.
- A comment is edited by its author and deleted by its author or staff.
- A failed video is sent back to the workers by its owner or staff, never by a student; an
  attempt's failed video is replaced by the attempt's student only.
- A video is seen by its owner, staff, and whoever may see the exercise or comment it is in.

Views call these and answer 404 when they say no; list queries use the ``*_filter`` forms
so a page never loads what its reader may not see.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import RoleName, User
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db


def _classes_of(user: User, role: MemberRole | None = None) -> sa.Select:
    """The ids of the classes ``user`` is in (as ``role``, or either)."""
    query = sa.select(ClassMember.class_id).where(ClassMember.user_id == user.id)
    return query if role is None else query.where(ClassMember.role == role)


def _member_role(user: User, classroom: Classroom) -> str | None:
    member = db.session.get(ClassMember, (classroom.id, user.id))
    return member.role if member is not None else None


def may_view_class(user: User, classroom: Classroom) -> bool:
    return user.is_staff or _member_role(user, classroom) is not None


def may_manage_class(user: User, classroom: Classroom) -> bool:
    """Rename, archive, delete; the code, the roster and co-teachers; the progress grid."""
    return user.is_staff or _member_role(user, classroom) == MemberRole.TEACHER


def classes_filter(user: User) -> sa.ColumnElement[bool]:
    """The classes ``user`` may see, as a WHERE clause."""
    return sa.true() if user.is_staff else Classroom.id.in_(_classes_of(user))


def exercises_filter(user: User) -> sa.ColumnElement[bool]:
    """The exercises ``user`` may see, as a WHERE clause (lists, search, the API)."""
    if user.is_staff:
        return sa.true()
    published_to_them = sa.select(Publication.exercise_id).where(
        Publication.class_id.in_(_classes_of(user))
    )
    return sa.or_(Exercise.created_by_id == user.id, Exercise.id.in_(published_to_them))


def newest_visible_exercises(
    user: User, where: list[sa.ColumnElement[bool]], newest: int
) -> sa.ColumnElement[bool]:
    """A WHERE clause holding at least the ``newest`` exercises ``user`` sees of those
    matching ``where`` (lists newest first: page the outer query, asking for as many as it
    reaches). Their own and those published to their classes are each read newest first
    from an index and cut at ``newest``: an OR of the two would read every exercise there
    is to sort them."""
    if user.is_staff:
        return sa.and_(sa.true(), *where)
    order = (Exercise.created_at.desc(), Exercise.id)
    published = sa.select(Publication.exercise_id).where(
        Publication.class_id.in_(_classes_of(user))
    )
    arms = [
        sa.select(Exercise.id).where(visible, *where).order_by(*order).limit(newest).subquery()
        for visible in (Exercise.created_by_id == user.id, Exercise.id.in_(published))
    ]
    return Exercise.id.in_(sa.union(*(arm.select() for arm in arms)))


def _published_to_a_class_of(user: User, exercise: Exercise, role: MemberRole | None) -> bool:
    return db.session.scalar(
        sa.select(
            sa.exists().where(
                Publication.exercise_id == exercise.id,
                Publication.class_id.in_(_classes_of(user, role)),
            )
        )
    )


def may_view_exercise(user: User, exercise: Exercise) -> bool:
    """See an exercise, its clips and its discussion (and so write in the discussion)."""
    if user.is_staff or exercise.created_by_id == user.id:
        return True
    return _published_to_a_class_of(user, exercise, None)


def may_edit_exercise(user: User, exercise: Exercise) -> bool:
    return user.is_staff or exercise.created_by_id == user.id


def may_submit_attempt(user: User, exercise: Exercise) -> bool:
    if user.role != RoleName.STUDENT or exercise.created_by_id == user.id:
        return False
    return _published_to_a_class_of(user, exercise, MemberRole.STUDENT)


def _taught_students(user: User, exercise: Exercise) -> sa.Select:
    """The students ``user`` teaches in the classes ``exercise`` is published to."""
    taught = sa.select(Publication.class_id).where(
        Publication.exercise_id == exercise.id,
        Publication.class_id.in_(_classes_of(user, MemberRole.TEACHER)),
    )
    return sa.select(ClassMember.user_id).where(
        ClassMember.class_id.in_(taught), ClassMember.role == MemberRole.STUDENT
    )


def thread_root(comment: VideoComment) -> VideoComment:
    """Threads are one level deep: a reply's parent is always the root."""
    return comment.parent or comment


def may_view_thread(user: User, root: VideoComment) -> bool:
    """See a thread, and so write in it."""
    if root.kind != CommentKind.ATTEMPT:
        return may_view_exercise(user, root.exercise)
    if sees_every_attempt(user, root.exercise) or root.author_id == user.id:
        return True
    taught = _taught_students(user, root.exercise).where(ClassMember.user_id == root.author_id)
    return db.session.scalar(sa.select(sa.exists(taught))) or False


def may_view_comment(user: User, comment: VideoComment) -> bool:
    return may_view_thread(user, thread_root(comment))


def may_mark_reviewed(user: User, comment: VideoComment) -> bool:
    """Take an attempt out of the review inbox without a comment: a teacher (or staff) who
    sees it, never on their own attempt."""
    return (
        (user.is_teacher or user.is_staff)
        and comment.kind == CommentKind.ATTEMPT
        and comment.author_id != user.id
        and may_view_comment(user, comment)
    )


def may_align_attempt(user: User, comment: VideoComment) -> bool:
    """Save a nudged offset between an attempt's take and the model: whoever may write in
    its thread (its student, a teacher who sees it, staff)."""
    return comment.kind == CommentKind.ATTEMPT and may_view_comment(user, comment)


def may_edit_comment(user: User, comment: VideoComment) -> bool:
    return comment.kind == CommentKind.COMMENT and comment.author_id == user.id


def may_delete_comment(user: User, comment: VideoComment) -> bool:
    return comment.kind == CommentKind.COMMENT and (comment.author_id == user.id or user.is_staff)


def sees_every_attempt(user: User, exercise: Exercise) -> bool:
    return user.is_staff or exercise.created_by_id == user.id


def attempts_filter(user: User, exercise: Exercise) -> sa.ColumnElement[bool]:
    """The attempts on ``exercise`` that ``user`` may see, as a WHERE clause."""
    is_attempt = sa.and_(
        VideoComment.exercise_id == exercise.id, VideoComment.kind == CommentKind.ATTEMPT
    )
    if sees_every_attempt(user, exercise):
        return is_attempt
    mine_or_taught = sa.or_(
        VideoComment.author_id == user.id,
        VideoComment.author_id.in_(_taught_students(user, exercise)),
    )
    return sa.and_(is_attempt, mine_or_taught)


def may_retry_video(user: User, asset: VideoAsset) -> bool:
    """Asked by the retry route and by every page that shows the "Try again" button. Never
    a student: the same bad file would fail again, so they replace the video instead."""
    return user.is_staff or (asset.owner_id == user.id and user.role != RoleName.STUDENT)


def may_replace_attempt_video(user: User, comment: VideoComment) -> bool:
    """Send another video for an attempt whose video failed: its student only."""
    return comment.kind == CommentKind.ATTEMPT and comment.author_id == user.id


def may_view_asset(user: User, asset: VideoAsset) -> bool:
    if user.is_staff or asset.owner_id == user.id:
        return True
    model_of = sa.select(Exercise).where(Exercise.video_asset_id == asset.id)
    if any(may_view_exercise(user, exercise) for exercise in db.session.scalars(model_of)):
        return True
    in_comment = db.session.scalar(
        sa.select(VideoComment)
        .options(so.joinedload(VideoComment.parent))
        .where(VideoComment.video_asset_id == asset.id)
        .limit(1)
    )
    return in_comment is not None and may_view_comment(user, in_comment)
