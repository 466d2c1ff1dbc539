"""A video that comes with a form: sent ahead through the resumable upload (the form then
names the new asset by its id) or, without JavaScript, posted as the form's own file."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from werkzeug.datastructures import FileStorage, MultiDict

from practika.accounts.models import User
from practika.core.library import in_use, room_used
from practika.core.models import (
    UNFINISHED,
    DirectUpload,
    ProcessingStatus,
    VideoAsset,
    VideoType,
)
from practika.core.services import store_upload
from practika.core.uploads import PartialStore, UploadError
from practika.extensions import db
from practika.model_base import utcnow
from practika.storage import get_storage


class VideoRefused(ValueError):
    """The form's video cannot be used, with a reason for the person who sent it."""


# Upload kinds a client names when it creates an upload (tus metadata ``kind``, the API's
# ``kind`` field): whether the file is sound only.
UPLOAD_KINDS = {"video": False, "voice": True}
VOICE_ONLY_IN_COMMENTS = (
    "A voice recording can only be sent as a comment. Record or choose a video here."
)


def sound_only_kind(kind: str | None) -> bool:
    """Whether an upload of ``kind`` (none: a video) is sound only; UploadError for a kind
    there is not."""
    try:
        return UPLOAD_KINDS[kind or "video"]
    except KeyError:
        raise UploadError(400, "An upload's kind is video or voice.") from None


def partial_store() -> PartialStore:
    """The resumable uploads: under the storage's folder, which every web process sees, so
    any of them takes the next piece; with a bucket, in this host's instance folder."""
    folder = get_storage().partials_folder()
    return PartialStore(folder or Path(current_app.instance_path) / "uploads")


def expire_abandoned(partials: PartialStore) -> int:
    """Delete the uploads untouched for UPLOAD_EXPIRY_HOURS; how many."""
    return partials.expire(utcnow() - timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"]))


def check_upload_limits(owner: User, length: int, *, upload_id: str | None = None) -> None:
    """Size per file, total per user (uploads in progress, resumable or straight to the
    bucket, counted by what they claim), uploads in progress and videos waiting to be
    processed per user; checked before a byte is stored, and again for upload
    ``upload_id`` (one of those in progress) when its length is declared late and before it
    becomes a video. Raises UploadError: 413 for size, 429 for too many at once."""
    config = current_app.config
    max_bytes = config["MAX_UPLOAD_BYTES"]
    if length > max_bytes:
        raise UploadError(413, f"This file is larger than {max_bytes // 2**20} MB.")
    pending = {u.id: u.claimed for u in partial_store().pending(owner.id)} | {
        str(u.id): _claimed(u)
        for u in db.session.scalars(
            sa.select(DirectUpload).where(DirectUpload.owner_id == owner.id)
        )
    }
    pending.pop(upload_id, None)
    if upload_id is None and len(pending) >= config["UPLOADS_IN_PROGRESS_MAX"]:
        raise UploadError(
            429,
            f"You have {len(pending)} uploads in progress. Let one finish (or cancel it) "
            "before starting another.",
        )
    waiting = db.session.scalar(
        sa.select(sa.func.count(VideoAsset.id)).where(
            VideoAsset.owner_id == owner.id, VideoAsset.processing_status.in_(UNFINISHED)
        )
    )
    if waiting >= config["VIDEOS_WAITING_MAX"]:
        raise UploadError(
            429,
            f"{waiting} of your videos are still being processed. Send this one when "
            "some of them are ready.",
        )
    quota = config["UPLOAD_QUOTA_BYTES"]
    used = room_used(owner.id)
    announced = sum(pending.values())
    if used + announced + length > quota:
        raise UploadError(
            413,
            f"Your videos already use {(used + announced) // 2**20} MB of your "
            f"{quota // 2**20} MB; delete some to make room.",
        )


def _claimed(upload: DirectUpload) -> int:
    """The room an upload straight to the bucket holds: its length, or for a take sent as
    it is recorded (its length comes at the end) the bytes of its pieces so far, as a
    resumable upload with its length deferred claims what it has."""
    if upload.length is not None:
        return upload.length
    return sum(size for _, size in get_storage().listed(upload.pieces_prefix))


def uploaded_video(asset_id: str, owner: User, *, voice: bool = False) -> VideoAsset:
    """An asset this person uploaded ahead and has not used yet; anything else is refused
    the same way, so an id cannot be used to borrow someone else's video. A voice
    recording (sound only) is taken only where ``voice`` says a comment is made."""
    try:
        asset = db.session.get(VideoAsset, uuid.UUID(asset_id))
    except ValueError:
        asset = None
    if (
        asset is None
        or asset.owner_id != owner.id
        or asset.video_type != VideoType.UPLOAD
        or asset.processing_status == ProcessingStatus.FAILED
        or in_use(asset)
    ):
        raise VideoRefused("That upload cannot be used here. Choose the video again.")
    if asset.sound_only and not voice:
        raise VideoRefused(VOICE_ONLY_IN_COMMENTS)
    return asset


def posted_video(file: FileStorage, owner: User, *, sound_only: bool = False) -> VideoAsset:
    """A file posted with a request (a voice recording when ``sound_only``), stored once its
    size passes the limits (VideoRefused)."""
    file.stream.seek(0, os.SEEK_END)
    size = file.stream.tell()
    file.stream.seek(0)
    try:
        check_upload_limits(owner, size)
    except UploadError as error:
        raise VideoRefused(str(error)) from None
    return store_upload(file.stream, owner=owner, filename=file.filename, sound_only=sound_only)


def video_from_form(
    form: MultiDict, files: MultiDict, owner: User, *, voice: bool = False
) -> VideoAsset | None:
    """The form's video as an asset (the caller commits, then enqueues a new upload), or
    None when it carries none: a file posted with it (chosen last, without JavaScript, over
    a video still attached from an earlier try), else the upload it names. A comment's form
    (``voice``) may carry a voice recording instead: posted as ``voice`` without
    JavaScript, or uploaded ahead as sound only. Raises VideoRefused."""
    posted = [("video", False), ("voice", True)] if voice else [("video", False)]
    for field, sound_only in posted:
        for file in files.getlist(field):
            if file and file.filename:
                return posted_video(file, owner, sound_only=sound_only)
    if asset_id := form.get("video_asset_id", "").strip():
        return uploaded_video(asset_id, owner, voice=voice)
    return None
