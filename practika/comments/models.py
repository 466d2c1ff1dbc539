"""Comments on an exercise: text, replies, time-coded feedback and students' attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import Timestamped, one_of

if TYPE_CHECKING:
    from practika.accounts.models import User
    from practika.core.models import VideoAsset
    from practika.exercises.models import Exercise


class CommentKind(StrEnum):
    COMMENT = "comment"
    ATTEMPT = "attempt"


class VideoComment(Timestamped, db.Model):
    __tablename__ = "video_comments"
    __table_args__ = (
        one_of("kind", CommentKind),
        sa.CheckConstraint("at_seconds IS NULL OR at_seconds >= 0", name="at_seconds_positive"),
        sa.Index("ix_video_comments_exercise_kind_created", "exercise_id", "kind", "created_at"),
        # "Has the teacher answered this attempt?" is asked per attempt on every list and
        # page; with parent_id alone SQLite picked the author index and read every comment
        # the teacher ever wrote.
        sa.Index("ix_video_comments_parent_author", "parent_id", "author_id"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    exercise_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE")
    )
    author_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    video_asset_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("video_assets.id", ondelete="SET NULL"), index=True
    )
    parent_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("video_comments.id", ondelete="CASCADE")
    )
    at_seconds: so.Mapped[float | None]
    kind: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=CommentKind.COMMENT, server_default=CommentKind.COMMENT
    )
    # On attempts only: a teacher marked it reviewed without a comment; the student last
    # opened it (feedback newer than that is "new" to them).
    reviewed_at: so.Mapped[datetime | None]
    seen_by_author_at: so.Mapped[datetime | None]

    exercise: so.Mapped[Exercise] = so.relationship()
    author: so.Mapped[User] = so.relationship()
    video_asset: so.Mapped[VideoAsset | None] = so.relationship()
    parent: so.Mapped[VideoComment | None] = so.relationship(remote_side=[id])
