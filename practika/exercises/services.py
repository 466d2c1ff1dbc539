"""Exercise verbs: create, change and delete, with the author's metrics in the same commit."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from practika.accounts.models import Profile, User, UserMetrics
from practika.core.models import VideoAsset
from practika.core.services import (
    add_youtube_video,
    enqueue_processing,
    store_upload,
    stored_keys,
)
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.storage import get_storage


def _count_exercise(user: User, change: int) -> None:
    profile_id = sa.select(Profile.id).where(Profile.user_id == user.id).scalar_subquery()
    db.session.execute(
        sa.update(UserMetrics)
        .where(UserMetrics.profile_id == profile_id)
        .values(exercises_created=UserMetrics.exercises_created + change)
    )


def attach_video(
    exercise: Exercise, *, upload: FileStorage | None, youtube_url: str | None, owner: User
) -> VideoAsset | None:
    """A new model video from an upload or a YouTube link (raises NotYouTube); None if
    neither was given. The caller commits, then enqueues an upload's processing."""
    if upload is not None and upload.filename:
        asset = store_upload(upload.stream, owner=owner, filename=upload.filename)
    elif youtube_url:
        asset = add_youtube_video(youtube_url, owner=owner)
    else:
        return None
    exercise.video_asset = asset
    return asset


def create_exercise(*, name: str, description: str, author: User) -> Exercise:
    exercise = Exercise(name=name.strip(), description=description or "", created_by=author)
    db.session.add(exercise)
    _count_exercise(author, +1)
    return exercise


def finish(asset: VideoAsset | None) -> None:
    """Commit, then queue an uploaded model video for processing."""
    db.session.commit()
    if asset is not None and asset.video_type == "upload":
        enqueue_processing(asset)


def delete_exercise(exercise: Exercise) -> None:
    """Delete the exercise, its model video and the video's stored objects."""
    asset = exercise.video_asset
    keys = stored_keys(asset) if asset else []
    _count_exercise(exercise.created_by, -1)
    db.session.delete(exercise)
    if asset is not None:
        db.session.delete(asset)
    db.session.commit()
    storage = get_storage()
    for key in keys:  # after the commit: a failed commit leaves every file in place
        storage.delete(key)
