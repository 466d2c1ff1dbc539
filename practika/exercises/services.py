"""Exercise verbs: create, change and delete, with the author's metrics in the same commit."""

from __future__ import annotations

import sqlalchemy as sa

from practika.accounts.models import User
from practika.accounts.services.tallies import bump
from practika.comments.models import VideoComment
from practika.comments.services import drop_comment_mail, stills_of, uncount_comments
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import (
    ClipError,
    add_youtube_video,
    delete_stored,
    discard_assets,
    enqueue_processing,
    request_clip,
)
from practika.exercises.models import Exercise
from practika.extensions import db


def create_exercise(*, name: str, description: str, author: User) -> Exercise:
    exercise = Exercise(name=name, description=description or "", created_by=author)
    db.session.add(exercise)
    bump(author.id, "exercises_created", +1)
    return exercise


def set_model_video(
    exercise: Exercise, *, video: VideoAsset | None, youtube_url: str | None, owner: User
) -> list[str]:
    """Make the uploaded ``video``, or else a YouTube link (raises NotYouTube), the model
    video; neither leaves it as it is. The replaced video goes, with its clips; returns its
    stored keys for ``finish`` to delete after the commit."""
    if video is None and youtube_url:
        video = add_youtube_video(youtube_url, owner=owner)
    if video is None:
        return []
    old, exercise.video_asset = exercise.video_asset, video
    return discard_assets([old]) if old is not None else []


def finish(exercise: Exercise, discarded: list[str]) -> None:
    """Commit, delete what was replaced, and queue a new upload for processing."""
    db.session.commit()
    delete_stored(discarded)
    video = exercise.video_asset
    if video is not None and video.processing_status == ProcessingStatus.UPLOADED:
        enqueue_processing(video)


def delete_exercise(exercise: Exercise) -> None:
    """Delete the exercise with everything in it: clips, comments, attempts, their videos,
    the stills of their drawings and stored files, every author's running totals, and the
    comment mail still waiting."""
    comments = VideoComment.exercise_id == exercise.id
    videos = list(
        db.session.scalars(
            sa.select(VideoAsset)
            .join(VideoComment, VideoComment.video_asset_id == VideoAsset.id)
            .where(comments)
        )
    )
    if exercise.video_asset is not None:
        videos.append(exercise.video_asset)
    stills = stills_of(comments)
    uncount_comments(comments)
    bump(exercise.created_by_id, "exercises_created", -1)
    exercise_id = exercise.id
    db.session.delete(exercise)
    keys = discard_assets(videos) + stills
    db.session.commit()
    delete_stored(keys)
    drop_comment_mail(exercise_id)


def next_clip_position(exercise: Exercise) -> int:
    last = db.session.scalar(
        sa.select(sa.func.max(VideoClip.position)).where(VideoClip.exercise_id == exercise.id)
    )
    return 0 if last is None else last + 1


def add_clip(exercise: Exercise, start: float, end: float, title: str) -> VideoClip:
    """Mark a clip of the model video, last in the list (raises ClipError); the caller
    commits, then queues the cut with ``enqueue_clip``."""
    position = next_clip_position(exercise)
    clip, new = request_clip(exercise.video_asset, start, end, exercise_id=exercise.id, title=title)
    if not new:
        raise ClipError(f"That clip is already marked: “{clip.title or 'untitled'}”.")
    clip.position = position
    return clip


def move_clip(exercise: Exercise, clip: VideoClip, step: int) -> None:
    """Swap the clip with its neighbour up (-1) or down (+1); the ends stay put."""
    clips = list(exercise.clips)
    here = clips.index(clip)
    there = here + step
    if 0 <= there < len(clips):
        clips[here], clips[there] = clips[there], clips[here]
        for position, each in enumerate(clips):
            each.position = position
    db.session.commit()


def delete_clip(clip: VideoClip) -> None:
    key = clip.storage_path
    db.session.delete(clip)
    db.session.commit()
    delete_stored([key] if key else [])
