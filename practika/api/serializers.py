"""What the API says about each thing: plain JSON, with URLs the same token can follow."""

from __future__ import annotations

from typing import Any

from flask import url_for

from practika.accounts.models import User
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.services import join_url
from practika.comments.alignment import alignment_of
from practika.comments.models import AttemptAlignment, CommentKind, VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.exercises.models import Exercise
from practika.media.ladder import NATIVE_FAMILIES


def _when(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def person(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def video(asset: VideoAsset | None) -> dict[str, Any] | None:
    if asset is None:
        return None
    playable = asset.is_playable and not asset.youtube_embed
    native = asset.native_offer(NATIVE_FAMILIES)  # a client asks its player about the type
    return {
        "id": str(asset.id),
        "kind": asset.kind,
        "status": asset.processing_status,
        "stage": asset.processing_stage,
        "progress": asset.progress_pct,
        "eta_seconds": asset.eta_seconds,
        "error": asset.processing_error,
        "duration": asset.duration_sec,
        "width": asset.width,
        "height": asset.height,
        "youtube_url": asset.youtube_url,
        "renditions": sorted(asset.renditions) if asset.renditions else [],
        "video_url": url_for("api.video_media", video_id=asset.id, kind="video", _external=True)
        if playable
        else None,
        "poster_url": url_for("api.video_media", video_id=asset.id, kind="poster", _external=True)
        if asset.poster_path
        else None,
        "native_url": url_for("api.video_media", video_id=asset.id, kind="native", _external=True)
        if native
        else None,
        "native_type": native,
    }


def clip(item: VideoClip) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "title": item.title,
        "position": item.position,
        "start": item.start_time,
        "end": item.end_time,
        "status": item.processing_status,
    }


def exercise(item: Exercise, *, full: bool = False, editor: bool = False) -> dict[str, Any]:
    """``editor``: the reader may change it, and so learns which classes see it."""
    data = {
        "id": str(item.id),
        "name": item.name,
        "description": item.description,
        "author": person(item.created_by),
        "video": video(item.video_asset),
        "published": item.is_published,
        "created_at": _when(item.created_at),
        "updated_at": _when(item.updated_at),
    }
    if editor:
        data["class_ids"] = sorted(str(p.class_id) for p in item.publications)
    if full:
        data["clips"] = [clip(c) for c in item.clips]
    return data


def classroom(item: Classroom, *, role: str | None, managing: bool) -> dict[str, Any]:
    """``role``: the reader's in the class (None for staff outside it); ``managing``: the
    reader runs it, and so gets the code and the link."""
    data = {
        "id": str(item.id),
        "name": item.name,
        "role": role,
        "joining_open": item.joining_open,
        "archived": item.archived,
        "created_at": _when(item.created_at),
    }
    if managing:
        data["join_code"] = item.display_code
        data["join_url"] = join_url(item)
    return data


def class_detail(
    item: Classroom,
    *,
    role: str | None,
    managing: bool,
    members: list[ClassMember],
    exercise_ids: list,
) -> dict[str, Any]:
    """The class with its teachers and published exercises; the roster for those who run it."""
    data = classroom(item, role=role, managing=managing)
    data["teachers"] = [person(m.user) for m in members if m.role == MemberRole.TEACHER]
    data["exercise_ids"] = [str(ident) for ident in exercise_ids]
    if managing:
        data["members"] = [
            {"user": person(m.user), "role": m.role, "joined_at": _when(m.joined_at)}
            for m in members
        ]
    return data


def alignment(row: AttemptAlignment | None) -> dict[str, Any] | None:
    """Where the take sits on the model: model time = offset_sec + rate x take time."""
    if row is None:
        return None
    return {
        "offset_sec": row.offset_sec,
        "rate": row.rate,
        "confidence": row.confidence,
        "aligned_by": row.aligned_by,
        "clip_id": str(row.clip_id) if row.clip_id else None,
    }


def comment(item: VideoComment) -> dict[str, Any]:
    """A comment; an attempt also says where its take sits on the model (``alignment``)."""
    data = {
        "id": str(item.id),
        "exercise_id": str(item.exercise_id),
        "kind": item.kind,
        "author": person(item.author),
        "text": item.text,
        "parent_id": str(item.parent_id) if item.parent_id else None,
        "at_seconds": item.at_seconds,
        "video": video(item.video_asset),
        "drawing": item.drawing,
        "still_url": url_for("api.comment_still", comment_id=item.id, _external=True)
        if item.still_path
        else None,
        "created_at": _when(item.created_at),
        "updated_at": _when(item.updated_at),
    }
    if item.kind == CommentKind.ATTEMPT:
        data["alignment"] = alignment(alignment_of(item))
    return data
