"""Exercises: what a teacher asks students to practise, around a model video."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import Timestamped, utcnow
from practika.text import single_line

if TYPE_CHECKING:
    from practika.accounts.models import User
    from practika.classes.models import Classroom
    from practika.core.models import VideoAsset, VideoClip


class Exercise(Timestamped, db.Model):
    __tablename__ = "exercises"
    __table_args__ = (
        sa.Index("ix_exercises_created_by_created", "created_by_id", "created_at"),
        sa.Index("ix_exercises_created_at", "created_at"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    video_asset_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("video_assets.id", ondelete="SET NULL"), index=True
    )
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))

    video_asset: so.Mapped[VideoAsset | None] = so.relationship()
    created_by: so.Mapped[User] = so.relationship()
    clips: so.Mapped[list[VideoClip]] = so.relationship(
        order_by="VideoClip.position", cascade="all, delete-orphan"
    )
    publications: so.Mapped[list[Publication]] = so.relationship(
        back_populates="exercise", cascade="all, delete-orphan"
    )

    @so.validates("name")
    def _one_line(self, _key: str, value: str | None) -> str | None:
        return single_line(value)  # names reach mail subjects and logs: never a line break

    @property
    def is_published(self) -> bool:
        """A draft until it is published to at least one class."""
        return bool(self.publications)

    def __repr__(self) -> str:
        return f"<Exercise {self.name!r}>"


class Publication(db.Model):
    """An exercise published to one class: the class's students see it, its teachers see
    their attempts. Unpublishing deletes this row, never an attempt."""

    __tablename__ = "exercise_publications"

    exercise_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    class_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    published_at: so.Mapped[datetime] = so.mapped_column(
        default=utcnow, server_default=sa.func.now()
    )

    exercise: so.Mapped[Exercise] = so.relationship(back_populates="publications")
    classroom: so.Mapped[Classroom] = so.relationship()
