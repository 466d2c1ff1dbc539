"""Who sees and changes what: every rule of the who-sees-what table, in one place.

- Exercises, their clips and the discussion on them: anyone logged in sees them; the
  exercise's author and staff change them.
- An attempt, and the feedback thread under it: the student who made it, the exercise's
  teacher and staff; nobody else learns it exists (404).
- A comment is edited by its author and deleted by its author or staff.
- A failed video is sent back to the workers by its owner or staff.
- A video is seen by its owner, staff, and whoever may see the exercise or comment it is in.

Views call these and answer 404 when they say no; list queries use the ``*_filter`` forms
so a page never loads what its reader may not see.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.accounts.models import RoleName, User
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db


def may_edit_exercise(user: User, exercise: Exercise) -> bool:
    return user.is_staff or exercise.created_by_id == user.id


def may_submit_attempt(user: User, exercise: Exercise) -> bool:
    return user.role == RoleName.STUDENT and exercise.created_by_id != user.id


def thread_root(comment: VideoComment) -> VideoComment:
    """Threads are one level deep: a reply's parent is always the root."""
    return comment.parent or comment


def may_view_thread(user: User, root: VideoComment) -> bool:
    """See a thread, and so write in it."""
    if user.is_staff or root.kind != CommentKind.ATTEMPT:
        return True
    return user.id in (root.author_id, root.exercise.created_by_id)


def may_view_comment(user: User, comment: VideoComment) -> bool:
    return may_view_thread(user, thread_root(comment))


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
    return sa.and_(is_attempt, VideoComment.author_id == user.id)


def may_retry_video(user: User, asset: VideoAsset) -> bool:
    """Asked by the retry route and by every page that shows the "Try again" button."""
    return user.is_staff or asset.owner_id == user.id


def may_view_asset(user: User, asset: VideoAsset) -> bool:
    if user.is_staff or asset.owner_id == user.id:
        return True
    model_of = sa.select(Exercise.id).where(Exercise.video_asset_id == asset.id)
    if db.session.scalar(model_of.limit(1)) is not None:
        return True
    in_comment = db.session.scalar(
        sa.select(VideoComment)
        .options(so.joinedload(VideoComment.parent))
        .where(VideoComment.video_asset_id == asset.id)
        .limit(1)
    )
    return in_comment is not None and may_view_comment(user, in_comment)
