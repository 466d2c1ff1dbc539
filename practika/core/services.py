"""Video verbs shared by the upload endpoints, the admin CLI and the demo data."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import User
from practika.accounts.services.tallies import bump, whole_seconds
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip, VideoType
from practika.core.youtube import canonical_url, youtube_id
from practika.extensions import db
from practika.model_base import utcnow
from practika.numbers import OutOfRange, seconds
from practika.queue import attempt_job_id, enqueue
from practika.storage import get_storage

_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


class _HashingReader:
    """Reads a stream through, hashing and counting in the same pass (the caller has checked
    the size against the limits before a byte is stored)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, amount: int = -1) -> bytes:
        data = self.stream.read(amount)
        self.size += len(data)
        self.sha256.update(data)
        return data


def clean_filename(name: str | None) -> str:
    """The name a person gave the file, for display only: no folders, no control characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return _UNSAFE_NAME.sub("_", name).strip(" .")[:255] or "video"


def store_upload(
    stream: BinaryIO, *, owner: User, filename: str | None, sound_only: bool = False
) -> VideoAsset:
    """Stream an upload into storage and add its row (the caller commits, then enqueues);
    ``sound_only`` for a voice comment's recording.

    The bytes are hashed and counted as they are written, never held in memory; storage
    writes atomically, so a failed upload leaves neither an object nor (after the caller's
    rollback) a row.
    """
    asset = VideoAsset(
        owner=owner,
        orig_filename=clean_filename(filename),
        video_type=VideoType.UPLOAD,
        sound_only=sound_only,
        processing_status=ProcessingStatus.UPLOADED,
    )
    db.session.add(asset)
    db.session.flush()  # the id names the storage key
    key = f"videos/{asset.id}/original"
    reader = _HashingReader(stream)
    get_storage().save(key, reader)
    asset.storage_path = key
    asset.size_bytes = reader.size
    asset.checksum_sha256 = reader.sha256.hexdigest()
    return asset


def add_youtube_video(url: str, *, owner: User) -> VideoAsset:
    """A YouTube link as a video asset (nothing to process: YouTube plays it). Raises
    NotYouTube with a message for the person when the link is not one."""
    video_id = youtube_id(url)
    asset = VideoAsset(
        owner=owner,
        video_type=VideoType.YOUTUBE,
        youtube_url=canonical_url(video_id),
        orig_filename=f"YouTube {video_id}",
        processing_status=ProcessingStatus.READY,
        progress_pct=100,
    )
    db.session.add(asset)
    return asset


class ClipError(ValueError):
    """A clip that cannot be cut, with a reason for the person who asked."""


def clip_hash(asset: VideoAsset, start: float, end: float) -> str:
    """The same cut of the same video is the same clip (times to the millisecond)."""
    return hashlib.sha256(f"{asset.id}:{start:.3f}:{end:.3f}".encode()).hexdigest()


def request_clip(
    asset: VideoAsset, start: float, end: float, *, exercise_id=None, title: str = ""
) -> tuple[VideoClip, bool]:
    """The clip from ``start`` to ``end`` seconds of ``asset``, and whether it is new (the
    caller commits, then ``enqueue_clip``s a new one). Identical cuts share one clip."""
    if asset.status != ProcessingStatus.READY or not asset.renditions:
        raise ClipError("Clips can be cut once the video is ready.")
    try:
        start, end = round(seconds(start, "The start"), 3), round(seconds(end, "The end"), 3)
    except OutOfRange as error:
        raise ClipError(str(error)) from None
    if not 0 <= start < end:
        raise ClipError("A clip must start before it ends.")
    if asset.duration_sec is not None and end > asset.duration_sec + 0.05:
        raise ClipError(f"A clip must end within the video ({asset.duration_sec:.1f} s).")
    digest = clip_hash(asset, start, end)
    existing = db.session.scalar(sa.select(VideoClip).where(VideoClip.clip_hash == digest))
    if existing is not None:
        return existing, False
    clip = VideoClip(
        original_video=asset,
        exercise_id=exercise_id,
        title=title,
        clip_hash=digest,
        start_time=start,
        end_time=end,
        duration=round(end - start, 3),
        processing_status=ProcessingStatus.QUEUED,
    )
    db.session.add(clip)
    return clip, True


CLIP_JOB_TIMEOUT = 600


def enqueue_clip(clip: VideoClip, delay: int = 0) -> bool:
    """Queue a committed clip's next attempt; False when Redis is away (the sweep retries)."""
    clip.job_id = attempt_job_id("clip", clip.id, clip.attempts + 1)
    db.session.commit()  # the row names its job before the job can run
    job_id = enqueue(
        "media",
        "practika.core.tasks.cut_video_clip",
        str(clip.id),
        job_id=clip.job_id,
        job_timeout=CLIP_JOB_TIMEOUT,
        delay=delay,
    )
    return job_id is not None


def processing_job_id(asset: VideoAsset) -> str:
    """The job of the asset's next attempt: each attempt is a job of its own."""
    return attempt_job_id("video", asset.id, asset.attempts + 1)


def enqueue_processing(asset: VideoAsset, delay: int = 0) -> bool:
    """Queue a committed asset's next attempt; False when Redis is away (the row stays
    queued and the sweep enqueues it). The row is marked queued and names its job, in one
    commit, before the job is enqueued, so a quick worker never finds it otherwise."""
    if asset.processing_status == ProcessingStatus.UPLOADED:
        asset.processing_status = ProcessingStatus.QUEUED
    asset.job_id = processing_job_id(asset)
    db.session.commit()
    job_id = enqueue(
        "media",
        "practika.core.tasks.process_video",
        str(asset.id),
        job_id=asset.job_id,
        job_timeout=current_app.config["VIDEO_JOB_TIMEOUT"],
        delay=delay,
    )
    return job_id is not None


def stored_keys(asset: VideoAsset) -> list[str]:
    """Every object an asset owns in storage, its clips' files included."""
    keys = [asset.storage_path, asset.poster_path, asset.native_path]
    keys += [rendition["path"] for rendition in asset.renditions.values()]
    keys += [clip.storage_path for clip in asset.clips]
    return [key for key in keys if key]


def discard_assets(assets: list[VideoAsset]) -> list[str]:
    """Delete the rows (with their clips) and take their time off their owners' totals, in
    the caller's transaction; returns the stored keys to delete once that has committed,
    so a failed commit leaves every file in place."""
    keys = []
    for asset in assets:
        keys += stored_keys(asset)
        if asset.owner_id is not None and asset.duration_sec is not None:
            bump(asset.owner_id, "total_video_time", -whole_seconds(asset.duration_sec))
        db.session.delete(asset)
    return keys


def delete_stored(keys: list[str]) -> None:
    storage = get_storage()
    for key in keys:
        storage.delete(key)


def validate_stored(asset: VideoAsset, workdir: Path) -> list[str]:
    """Check that every object the asset names exists and the original matches its
    checksum; record the answer on the row (the caller commits) and return the problems."""
    storage = get_storage()
    problems = [f"missing {key}" for key in stored_keys(asset) if not storage.exists(key)]
    original = asset.storage_path
    if original and asset.checksum_sha256 and f"missing {original}" not in problems:
        digest = hashlib.sha256()
        with storage.fetch(original, workdir).open("rb") as stream:
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != asset.checksum_sha256:
            problems.append(f"checksum mismatch for {original}")
    asset.is_valid = not problems
    asset.validation_errors = problems
    asset.last_validated = utcnow()
    return problems
