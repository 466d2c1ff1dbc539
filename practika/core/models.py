"""Videos: an uploaded or linked video asset, and the clips cut from it."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.hybrid import hybrid_property

from practika.core.youtube import embed_url, youtube_id
from practika.extensions import db
from practika.media.ladder import native_family
from practika.model_base import Timestamped, one_of
from practika.text import single_line

if TYPE_CHECKING:
    from practika.accounts.models import User


class ProcessingStatus(StrEnum):
    UPLOADED = "uploaded"
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self not in UNFINISHED


# Waiting for a job to claim them, and every state not yet ready or failed: the rows that
# hold a place in the media queue.
CLAIMABLE = (ProcessingStatus.UPLOADED, ProcessingStatus.QUEUED)
UNFINISHED = (*CLAIMABLE, ProcessingStatus.PROCESSING)


class Stage(StrEnum):
    PROBING = "probing"
    POSTER = "poster"
    PLAYABLE = "playable"
    RENDITIONS = "renditions"


PLAYABLE = "playable"  # the renditions entry of a remuxed source, served until the ladder is in
VOICE = "voice"  # the one renditions entry of a sound-only upload: an AAC .m4a


class VideoType(StrEnum):
    UPLOAD = "upload"
    YOUTUBE = "youtube"


NOTICED = sa.text("cleanup_noticed_at IS NOT NULL")


class VideoAsset(Timestamped, db.Model):
    __tablename__ = "video_assets"
    __table_args__ = (
        one_of("video_type", VideoType),
        one_of("processing_status", ProcessingStatus),
        sa.CheckConstraint("progress_pct BETWEEN 0 AND 100", name="progress_pct_range"),
        # The sweep looks for rows stuck in a state since some time.
        sa.Index("ix_video_assets_status_updated", "processing_status", "updated_at"),
        # The cleanup sweep walks the videos by age, a bounded window at a time, and finds
        # the few whose notice runs out without reading the others.
        sa.Index("ix_video_assets_created", "created_at", "id"),
        sa.Index(
            "ix_video_assets_cleanup_noticed",
            "cleanup_noticed_at",
            sqlite_where=NOTICED,
            postgresql_where=NOTICED,
        ),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    orig_filename: so.Mapped[str] = so.mapped_column(sa.String(255), default="", server_default="")
    storage_path: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    mime_type: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    size_bytes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    checksum_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)
    poster_path: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    renditions: so.Mapped[dict[str, Any]] = so.mapped_column(
        sa.JSON, default=dict, server_default="{}"
    )
    # A stream copy that plays at once in the browsers that decode its codecs (a recorder's
    # WebM, an iPhone's HEVC), offered only to those while the renditions are made; cleared
    # when the video is ready. ``native_type`` is its MIME type with codecs.
    native_path: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    native_type: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    youtube_url: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    video_type: so.Mapped[str] = so.mapped_column(sa.String(16), default=VideoType.UPLOAD)
    duration_sec: so.Mapped[float | None]
    width: so.Mapped[int | None]
    height: so.Mapped[int | None]
    processing_status: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=ProcessingStatus.UPLOADED, server_default=ProcessingStatus.UPLOADED
    )
    processing_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    processed_at: so.Mapped[datetime | None]
    is_valid: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    last_validated: so.Mapped[datetime | None]
    validation_errors: so.Mapped[list[str]] = so.mapped_column(
        sa.JSON, default=list, server_default="[]"
    )
    access_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    last_accessed: so.Mapped[datetime | None]
    progress_pct: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    eta_seconds: so.Mapped[int | None]
    processing_stage: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # Cleanup (core.cleanup): when its owner was told that nothing uses it and that it will
    # be removed; and whether they chose to keep it anyway (then it is never due).
    cleanup_noticed_at: so.Mapped[datetime | None]
    kept: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # A voice comment: an upload of sound only, chosen when its upload was created. It is
    # stored, limited, queued, swept and counted like any upload; only its checks and its
    # one output (an .m4a, no poster, no ladder) differ, and only a comment may carry it.
    sound_only: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    owner: so.Mapped[User | None] = so.relationship()
    clips: so.Mapped[list[VideoClip]] = so.relationship(
        back_populates="original_video",
        cascade="all, delete-orphan",
        foreign_keys="VideoClip.original_video_id",
    )

    @property
    def status(self) -> ProcessingStatus:
        return ProcessingStatus(self.processing_status)

    @hybrid_property
    def has_renditions(self) -> bool:
        """A file a browser plays was made for it once (the remux, or the ladder); nothing
        empties the renditions after that."""
        return bool(self.renditions)

    @has_renditions.inplace.expression
    @classmethod
    def _has_renditions_sql(cls) -> sa.ColumnElement[bool]:
        return sa.cast(cls.renditions, sa.Text) != "{}"  # as SQLAlchemy writes an empty one

    @hybrid_property
    def is_playable(self) -> bool:
        """A browser can play it: ready, or remuxed and playable while the ladder is made.
        In Python for a page, and in SQL for the lists that hold only what plays."""
        return self.has_renditions and self.processing_status != ProcessingStatus.FAILED

    @is_playable.inplace.expression
    @classmethod
    def _is_playable_sql(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.has_renditions, cls.processing_status != ProcessingStatus.FAILED)

    @property
    def youtube_embed(self) -> str | None:
        if self.video_type != VideoType.YOUTUBE or not self.youtube_url:
            return None
        return embed_url(youtube_id(self.youtube_url))

    @property
    def eta_label(self) -> str | None:
        if self.eta_seconds is None:
            return None
        if self.eta_seconds < 60:
            return f"about {max(self.eta_seconds, 1)} s left"
        return f"about {round(self.eta_seconds / 60)} min left"

    def best_rendition(self) -> dict[str, Any] | None:
        """The tallest rendition there is (``playable`` until the ladder is done)."""
        ladder = [r for name, r in self.renditions.items() if name != PLAYABLE]
        return max(ladder, key=lambda r: r["height"], default=self.renditions.get(PLAYABLE))

    def native_offer(self, plays: Collection[str]) -> str | None:
        """The MIME type of its native copy, when nothing plays everywhere yet and the browser
        said it plays the copy's family (``plays``: ``ladder.NATIVE_FAMILIES`` names)."""
        offered = (
            self.native_path
            and self.native_type
            and self.processing_status in UNFINISHED
            and not self.is_playable
        )
        return self.native_type if offered and native_family(self.native_type) in plays else None

    @property
    def kind(self) -> str:
        """What the API and webhooks call it: a ``video``, or a ``voice`` recording."""
        return "voice" if self.sound_only else "video"

    def media(self, kind: str) -> tuple[str | None, str]:
        """The stored key and MIME type of its ``poster``, its best playable ``video``, or its
        ``native`` copy (a MIME type without codecs: the response's Content-Type)."""
        if kind == "poster":
            return self.poster_path, "image/jpeg"
        if self.sound_only:  # no native copy, no poster: only its .m4a
            key = self.renditions.get(VOICE, {}).get("path") if kind == "video" else None
            return (key if self.is_playable else None), "audio/mp4"
        if kind == "native":  # only while the video is being made: it ends with the video
            unfinished = self.processing_status in UNFINISHED
            key = self.native_path if unfinished else None
            return key, (self.native_type or "video/mp4").split(";")[0]
        rendition = self.best_rendition() if self.is_playable else None
        return (rendition or {}).get("path"), "video/mp4"

    def __repr__(self) -> str:
        return f"<VideoAsset {self.id} {self.processing_status}>"


class DirectUpload(Timestamped, db.Model):
    """A video on its way straight to the bucket, of one of two kinds:

    - a chosen file (core.direct): a multipart upload the app started for its owner, who
      sends the parts to S3 with URLs the app signs; ``s3_upload_id`` names it;
    - a take sent as it is recorded (core.streamed): each piece the recorder hands out is
      an object of its own under ``pieces_prefix``; there is no multipart upload
      (``s3_upload_id`` is empty) and the length is known only at the end (None until then).

    The video's id is chosen at the start, so everything is already where the video will
    keep it; the row goes when the upload completes (into that video) or is aborted."""

    __tablename__ = "direct_uploads"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    asset_id: so.Mapped[uuid.UUID] = so.mapped_column(default=uuid.uuid4, unique=True)
    s3_upload_id: so.Mapped[str] = so.mapped_column(sa.String(1024))
    length: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255), default="", server_default="")
    sound_only: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    @property
    def key(self) -> str:
        return f"videos/{self.asset_id}/original"

    @property
    def streamed(self) -> bool:
        """A take sent in pieces (core.streamed), not a multipart upload."""
        return not self.s3_upload_id

    @property
    def pieces_prefix(self) -> str:
        return pieces_prefix(self.asset_id)


def pieces_prefix(asset_id: uuid.UUID | str) -> str:
    """Where the pieces of a take sent as it is recorded wait for the worker to join them
    into the video's original (core.streamed)."""
    return f"videos/{asset_id}/pieces/"


class VideoClip(Timestamped, db.Model):
    __tablename__ = "video_clips"
    __table_args__ = (
        one_of("processing_status", ProcessingStatus),
        sa.CheckConstraint("start_time >= 0 AND end_time > start_time", name="time_range"),
        sa.Index("ix_video_clips_exercise_position", "exercise_id", "position"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    original_video_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("video_assets.id", ondelete="CASCADE"), index=True
    )
    exercise_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE")
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    position: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    clip_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    start_time: so.Mapped[float]
    end_time: so.Mapped[float]
    duration: so.Mapped[float]
    storage_path: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    size_bytes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    processing_status: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=ProcessingStatus.UPLOADED, server_default=ProcessingStatus.UPLOADED
    )
    processing_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    processed_at: so.Mapped[datetime | None]
    attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    job_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    original_video: so.Mapped[VideoAsset] = so.relationship(
        back_populates="clips", foreign_keys=[original_video_id]
    )

    @so.validates("title")
    def _one_line(self, _key: str, value: str | None) -> str | None:
        return single_line(value)  # names reach mail subjects and logs: never a line break
