"""Comments on an exercise: text, replies, time-coded feedback and students' attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import Timestamped, one_of, utcnow

if TYPE_CHECKING:
    from practika.accounts.models import User
    from practika.core.models import VideoAsset
    from practika.exercises.models import Exercise


class CommentKind(StrEnum):
    COMMENT = "comment"
    ATTEMPT = "attempt"


AWAITING = sa.text("kind = 'attempt' AND reviewed_at IS NULL AND answered_at IS NULL")
STILL_WAITING = sa.text("still_job_id IS NOT NULL")


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
        # What waits for a teacher, read by exercise on every teacher's page (the count in
        # the navigation): only the attempts nobody has answered or marked reviewed, so the
        # index is small and skips the handled ones instead of reading each from the table.
        sa.Index(
            "ix_video_comments_awaiting",
            "exercise_id",
            "kind",
            "created_at",
            "author_id",
            sqlite_where=AWAITING,
            postgresql_where=AWAITING,
        ),
        # The sweep's look for stills being made: a handful of rows, never the whole table.
        sa.Index(
            "ix_video_comments_still_job",
            "still_job_id",
            sqlite_where=STILL_WAITING,
            postgresql_where=STILL_WAITING,
        ),
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
    # On attempts only: when someone but its student first wrote under it (kept by
    # _keep_answered_at); a teacher marked it reviewed without a comment; the student last
    # opened it (feedback newer than that is "new" to them).
    answered_at: so.Mapped[datetime | None]
    reviewed_at: so.Mapped[datetime | None]
    seen_by_author_at: so.Mapped[datetime | None]
    # On attempts only: when its teacher was told of it, once its take played (set by one
    # conditional UPDATE, services.announce_attempt, so it is told once); cleared when a
    # failed take is replaced, so the new one is announced in its turn.
    announced_at: so.Mapped[datetime | None]
    # On feedback only: what the teacher drew on the take's frame at ``at_seconds``
    # (comments.drawing says the shapes), and the still of that frame the worker makes for
    # it (comments.stills): its storage key once made; the runs so far and the job of the
    # latest while it is being made, as a video's row is its job's outbox.
    drawing: so.Mapped[list[dict[str, Any]] | None] = so.mapped_column(sa.JSON)
    still_path: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    still_runs: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    still_job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    exercise: so.Mapped[Exercise] = so.relationship()
    author: so.Mapped[User] = so.relationship()
    video_asset: so.Mapped[VideoAsset | None] = so.relationship()
    parent: so.Mapped[VideoComment | None] = so.relationship(remote_side=[id])


def _feedback_on(comment: VideoComment) -> VideoComment | None:
    """The attempt ``comment`` answers: a reply in an attempt's thread by someone but the
    attempt's student."""
    parent = comment.parent
    if parent is None or parent.kind != CommentKind.ATTEMPT:
        return None
    return parent if _author_id(comment) != _author_id(parent) else None


def _author_id(comment: VideoComment) -> int | None:
    """Before a flush a comment may have its author but not yet its author_id."""
    return comment.author.id if comment.author is not None else comment.author_id


@sa.event.listens_for(so.Session, "before_flush")
def _keep_answered_at(session: so.Session, _context, _instances) -> None:
    """An attempt's ``answered_at`` follows its feedback, whoever writes or deletes it (a
    page, the API, the demo): set by the first, cleared when the last is deleted."""
    for comment in session.new:
        if isinstance(comment, VideoComment) and (attempt := _feedback_on(comment)):
            comment.created_at = comment.created_at or utcnow()
            attempt.answered_at = attempt.answered_at or comment.created_at
    gone = [c for c in session.deleted if isinstance(c, VideoComment)]
    for comment in gone:
        attempt = _feedback_on(comment)
        if attempt is None or attempt in session.deleted:
            continue
        with session.no_autoflush:
            attempt.answered_at = session.scalar(
                sa.select(sa.func.min(VideoComment.created_at)).where(
                    VideoComment.parent_id == attempt.id,
                    VideoComment.author_id != attempt.author_id,
                    VideoComment.id.not_in([c.id for c in gone]),
                )
            )


class AlignedBy(StrEnum):
    """How an attempt's take was lined up with its model video."""

    WAITING = "waiting"  # the take is known, its sound not compared yet
    SOUND = "sound"  # the sound matched: offset and confidence measured
    NONE = "none"  # no common sound, or too doubtful: the two start together
    MANUAL = "manual"  # a person nudged it and saved


class AttemptAlignment(Timestamped, db.Model):
    """Where an attempt's take sits on its exercise's model video.

    A moment ``t`` of the take shows what the model shows at ``offset_sec + rate * t``:
    ``rate`` is the speed the model played at while the take was recorded (a take recorded
    against the model at 0.5x moves half as fast), and ``clip_id`` the clip it was recorded
    against, if any. Both videos are named, so a replaced take or a new model video makes the
    alignment stale rather than wrong."""

    __tablename__ = "attempt_alignments"
    __table_args__ = (
        one_of("aligned_by", AlignedBy),
        sa.CheckConstraint("rate >= 0.1 AND rate <= 4", name="rate_range"),
    )

    attempt_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("video_comments.id", ondelete="CASCADE"), primary_key=True
    )
    take_asset_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("video_assets.id", ondelete="CASCADE"), index=True
    )
    model_asset_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("video_assets.id", ondelete="CASCADE"), index=True
    )
    clip_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("video_clips.id", ondelete="SET NULL"), index=True
    )
    rate: so.Mapped[float] = so.mapped_column(default=1.0, server_default="1")
    # None while WAITING; with NONE, the clip's start (or 0): the two start together.
    offset_sec: so.Mapped[float | None]
    # The correlation peak's standard score (None: no sound to compare). SOUND needs
    # media.align.SURE_SCORE or more, which bench/bench_align.py measured.
    confidence: so.Mapped[float | None]
    aligned_by: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=AlignedBy.WAITING, server_default=AlignedBy.WAITING
    )
    # The row is the sound job's outbox, as a video's row is its job's (practika.queue):
    # the runs so far of the alignment asked for last, and the job of the latest.
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    attempt: so.Mapped[VideoComment] = so.relationship(
        backref=so.backref(
            "alignment", uselist=False, cascade="all, delete-orphan", passive_deletes=True
        )
    )
