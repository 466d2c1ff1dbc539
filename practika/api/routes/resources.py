"""The API's resources: exercises, clips, attempts, comments and videos, on the services the
pages use, under the same permission rules (what a user may not see is 404)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, g, jsonify, request, url_for

from practika.api import bp, serializers
from practika.api.inputs import Invalid, body, number, text
from practika.comments.alignment import AgainstError, recorded_against
from practika.comments.drawing import DrawingRefused, Shape, checked_drawing
from practika.comments.models import CommentKind, VideoComment
from practika.comments.services import (
    CommentError,
    attempt_already_sent,
    post_comment,
    replace_attempt_video,
    submit_attempt,
)
from practika.comments.threads import replies_to
from practika.core.incoming import VideoRefused, posted_video, sound_only_kind, uploaded_video
from practika.core.models import VideoAsset, VideoClip
from practika.core.services import ClipError, enqueue_clip, enqueue_processing
from practika.core.tus import tus_create, tus_resume
from practika.core.uploads import UploadError
from practika.core.youtube import NotYouTube
from practika.exercises.listing import listing_filters
from practika.exercises.models import Exercise
from practika.exercises.services import (
    add_clip,
    create_exercise,
    delete_exercise,
    finish,
    set_model_video,
)
from practika.extensions import db
from practika.permissions import (
    attempts_filter,
    may_edit_exercise,
    may_replace_attempt_video,
    may_submit_attempt,
    may_view_asset,
    may_view_comment,
    may_view_exercise,
    may_view_thread,
)
from practika.storage import get_storage

PAGE_MAX = 100
AGAINST_FIELDS = {"clip": "against_clip_id", "rate": "against_rate"}


@bp.errorhandler(Invalid)
def _invalid(error: Invalid):
    return error.get_response()


def uuid_or_404(value: str) -> uuid.UUID:
    """An id from the path; one that is no id names nothing there is (404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _exercise(exercise_id: str) -> Exercise:
    exercise = db.session.get(Exercise, uuid_or_404(exercise_id))
    if exercise is None or not may_view_exercise(g.api_user, exercise):
        abort(404)
    return exercise


def editable_exercise(exercise_id: str) -> Exercise:
    """The exercise if the token's user may change it; 404 otherwise."""
    exercise = _exercise(exercise_id)
    if not may_edit_exercise(g.api_user, exercise):
        abort(404)
    return exercise


def _video_from(data: dict, errors: dict, *, voice: bool = False) -> VideoAsset | None:
    """The upload ``video_id`` names; a voice recording only for a comment (``voice``)."""
    video_id = text(data, "video_id", max_length=64, errors=errors)
    if not video_id:
        return None
    try:
        return uploaded_video(video_id, g.api_user, voice=voice)
    except VideoRefused as error:
        errors["video_id"] = str(error)
        return None


def _cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not value:
        return None
    try:
        when, _, ident = base64.urlsafe_b64decode(value.encode()).decode().partition("|")
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise Invalid({"cursor": "Not a cursor this API gave out."}) from None


def _limit() -> int:
    limit = request.args.get("limit", 20, type=int)
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid({"limit": f"Between 1 and {PAGE_MAX}."})
    return limit


@bp.get("/exercises")
def list_exercises():
    """Newest first; ``q`` searches, ``cursor`` continues where the last page ended."""
    limit, after = _limit(), _cursor(request.args.get("cursor"))
    more = []
    if after is not None:
        when, ident = after
        more.append(
            sa.or_(
                Exercise.created_at < when,
                sa.and_(Exercise.created_at == when, Exercise.id > ident),
            )
        )
    query = request.args.get("q", "").strip()[:100]
    where = listing_filters(g.api_user, query, limit + 1, *more)
    rows = db.session.scalars(
        sa.select(Exercise)
        .options(
            so.joinedload(Exercise.video_asset),
            so.joinedload(Exercise.created_by),
            so.selectinload(Exercise.publications),
        )
        .where(*where)
        .order_by(Exercise.created_at.desc(), Exercise.id)
        .limit(limit + 1)
    ).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        token = f"{last.created_at.isoformat()}|{last.id}".encode()
        next_cursor = base64.urlsafe_b64encode(token).decode()
    items = [serializers.exercise(e, editor=may_edit_exercise(g.api_user, e)) for e in page]
    return jsonify(items=items, next_cursor=next_cursor)


def _exercise_fields(data: dict, *, creating: bool) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    fields = {
        "name": text(data, "name", required=creating, max_length=200, errors=errors),
        "description": text(data, "description", errors=errors),
        "youtube_url": text(data, "youtube_url", max_length=255, errors=errors),
    }
    video = _video_from(data, errors)
    if errors:
        raise Invalid(errors)
    return fields, {"video": video}


def _save_video(exercise: Exercise, fields: dict, video: VideoAsset | None) -> None:
    try:
        discarded = set_model_video(
            exercise, video=video, youtube_url=fields["youtube_url"], owner=g.api_user
        )
    except NotYouTube as error:
        db.session.rollback()
        raise Invalid({"youtube_url": str(error)}) from None
    finish(exercise, discarded)


@bp.post("/exercises")
def create_exercise_view():
    if not (g.api_user.is_teacher or g.api_user.is_staff):
        abort(404)
    fields, extra = _exercise_fields(body(), creating=True)
    exercise = create_exercise(
        name=fields["name"], description=fields["description"] or "", author=g.api_user
    )
    _save_video(exercise, fields, extra["video"])
    response = jsonify(serializers.exercise(exercise, full=True, editor=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.exercise", exercise_id=exercise.id)
    return response


@bp.get("/exercises/<exercise_id>")
def exercise(exercise_id: str):
    exercise = _exercise(exercise_id)
    editor = may_edit_exercise(g.api_user, exercise)
    return jsonify(serializers.exercise(exercise, full=True, editor=editor))


@bp.patch("/exercises/<exercise_id>")
def update_exercise(exercise_id: str):
    exercise = editable_exercise(exercise_id)
    fields, extra = _exercise_fields(body(), creating=False)
    if fields["name"] is not None:
        if not fields["name"].strip():
            raise Invalid({"name": "Must not be empty."})
        exercise.name = fields["name"].strip()
    if fields["description"] is not None:
        exercise.description = fields["description"]
    _save_video(exercise, fields, extra["video"])
    return jsonify(serializers.exercise(exercise, full=True, editor=True))


@bp.delete("/exercises/<exercise_id>")
def delete_exercise_view(exercise_id: str):
    delete_exercise(editable_exercise(exercise_id))
    return "", 204


@bp.get("/exercises/<exercise_id>/clips")
def clips(exercise_id: str):
    return jsonify(items=[serializers.clip(c) for c in _exercise(exercise_id).clips])


@bp.post("/exercises/<exercise_id>/clips")
def create_clip(exercise_id: str):
    exercise = editable_exercise(exercise_id)
    data, errors = body(), {}
    start = number(data, "start", required=True, errors=errors)
    end = number(data, "end", required=True, errors=errors)
    title = text(data, "title", max_length=200, errors=errors) or ""
    if errors:
        raise Invalid(errors)
    if exercise.video_asset is None:
        raise Invalid({"start": "The exercise has no model video yet."})
    try:
        clip = add_clip(exercise, start, end, title)
    except ClipError as error:
        db.session.rollback()
        raise Invalid({"end": str(error)}) from None
    db.session.commit()
    enqueue_clip(clip)
    return jsonify(serializers.clip(clip)), 201


@bp.get("/exercises/<exercise_id>/attempts")
def attempts(exercise_id: str):
    exercise = _exercise(exercise_id)
    rows = db.session.scalars(
        sa.select(VideoComment)
        .options(
            so.joinedload(VideoComment.author),
            so.joinedload(VideoComment.video_asset),
            so.joinedload(VideoComment.alignment),
        )
        .where(attempts_filter(g.api_user, exercise))
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(_limit())
    ).all()
    return jsonify(items=[serializers.comment(a) for a in rows])


@bp.post("/exercises/<exercise_id>/attempts")
def create_attempt(exercise_id: str):
    """Send an attempt: 201. The same video sent again answers 200 with the attempt it
    already is, so a client that lost the first answer may safely send again."""
    exercise = _exercise(exercise_id)
    if not may_submit_attempt(g.api_user, exercise):
        abort(404)
    data, errors = body(), {}
    note = text(data, "note", errors=errors)
    video_id = text(data, "video_id", max_length=64, errors=errors)
    if not errors and video_id and (sent := attempt_already_sent(exercise, g.api_user, video_id)):
        return jsonify(serializers.comment(sent)), 200
    against = _against(exercise, data, errors)
    video = _video_from(data, errors)
    if errors:
        raise Invalid(errors)
    try:
        attempt = submit_attempt(exercise, g.api_user, video=video, note=note, against=against)
    except CommentError as error:
        db.session.rollback()
        raise Invalid({"video_id": str(error)}) from None
    return jsonify(serializers.comment(attempt)), 201


def _against(exercise: Exercise, data: dict, errors: dict) -> tuple[VideoClip | None, float]:
    """The clip (``against_clip_id``) and speed (``against_rate``) the take was recorded
    against; a field error for each that cannot be right."""
    clip_id = text(data, "against_clip_id", max_length=64, errors=errors)
    rate = data.get("against_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        errors["against_rate"] = "Must be a number."
        return None, 1.0
    try:
        return recorded_against(exercise.clips, clip_id, rate)
    except AgainstError as error:
        errors[AGAINST_FIELDS[error.field]] = str(error)
        return None, 1.0


@bp.put("/attempts/<attempt_id>/video")
def replace_video(attempt_id: str):
    """Another video (``video_id``) for an attempt whose video failed: its student only."""
    attempt = db.session.get(VideoComment, uuid_or_404(attempt_id))
    if attempt is None or not may_replace_attempt_video(g.api_user, attempt):
        abort(404)
    errors: dict = {}
    video = _video_from(body(), errors)
    if errors:
        raise Invalid(errors)
    try:
        replace_attempt_video(attempt, video)
    except CommentError as error:
        db.session.rollback()
        raise Invalid({"video_id": str(error)}) from None
    return jsonify(serializers.comment(attempt))


@bp.get("/exercises/<exercise_id>/comments")
def exercise_comments(exercise_id: str):
    """The discussion: threads newest first, each followed by its replies."""
    exercise = _exercise(exercise_id)
    roots = db.session.scalars(
        sa.select(VideoComment)
        .options(so.joinedload(VideoComment.author), so.joinedload(VideoComment.video_asset))
        .where(
            VideoComment.exercise_id == exercise.id,
            VideoComment.kind == CommentKind.COMMENT,
            VideoComment.parent_id.is_(None),
        )
        .order_by(VideoComment.created_at.desc(), VideoComment.id)
        .limit(_limit())
    ).all()
    replies = replies_to(list(roots))
    items = []
    for root in roots:
        items += [serializers.comment(root)] + [serializers.comment(r) for r in replies[root.id]]
    return jsonify(items=items)


def _comment_fields() -> dict[str, object]:
    data, errors = body(), {}
    fields = {
        "text": text(data, "text", errors=errors),
        "at_seconds": number(data, "at_seconds", errors=errors),
        "drawing": _drawing_from(data, errors),
        "video": _video_from(data, errors, voice=True),
    }
    if errors:
        raise Invalid(errors)
    return fields


def _drawing_from(data: dict, errors: dict) -> list[Shape] | None:
    try:
        return checked_drawing(data.get("drawing"))
    except DrawingRefused as error:
        errors["drawing"] = str(error)
        return None


def _posted(exercise: Exercise, parent: VideoComment | None):
    fields = _comment_fields()
    try:
        comment = post_comment(exercise, g.api_user, parent=parent, **fields)
    except (CommentError, DrawingRefused) as error:
        db.session.rollback()
        field = "drawing" if isinstance(error, DrawingRefused) else "text"
        raise Invalid({field: str(error)}) from None
    return jsonify(serializers.comment(comment)), 201


@bp.post("/exercises/<exercise_id>/comments")
def create_comment(exercise_id: str):
    return _posted(_exercise(exercise_id), None)


def _visible_comment(comment_id: str) -> VideoComment:
    comment = db.session.get(VideoComment, uuid_or_404(comment_id))
    if comment is None or not may_view_comment(g.api_user, comment):
        abort(404)
    return comment


@bp.get("/comments/<comment_id>/still")
def comment_still(comment_id: str):
    """The frame a comment's drawing is on (a JPEG), once the worker has made it."""
    comment = _visible_comment(comment_id)
    if not comment.still_path:
        abort(404)
    return get_storage().send(comment.still_path, "image/jpeg")


@bp.get("/comments/<comment_id>/replies")
def replies(comment_id: str):
    """A thread's replies, oldest first: an attempt's feedback, or a discussion thread's."""
    comment = _visible_comment(comment_id)
    root = comment.parent or comment
    return jsonify(items=[serializers.comment(r) for r in replies_to([root])[root.id]])


@bp.post("/comments/<comment_id>/replies")
def create_reply(comment_id: str):
    comment = _visible_comment(comment_id)
    root = comment.parent or comment
    if not may_view_thread(g.api_user, root):
        abort(404)
    return _posted(comment.exercise, root)


def _visible_video(video_id: str) -> VideoAsset:
    asset = db.session.get(VideoAsset, uuid_or_404(video_id))
    if asset is None or not may_view_asset(g.api_user, asset):
        abort(404)
    return asset


@bp.post("/videos")
def upload_video():
    """A whole video in one multipart request (field ``video``; with ``kind`` ``voice``, a
    voice recording for a comment); for large files use the resumable protocol at
    /api/v1/uploads/."""
    file = request.files.get("video")
    if file is None or not file.filename:
        raise Invalid({"video": "Send the file as multipart/form-data field 'video'."})
    try:
        sound_only = sound_only_kind(request.form.get("kind"))
    except UploadError as error:
        raise Invalid({"kind": str(error)}) from None
    try:
        asset = posted_video(file, g.api_user, sound_only=sound_only)
    except VideoRefused as error:
        raise Invalid({"video": str(error)}) from None
    db.session.commit()
    enqueue_processing(asset)
    return jsonify(serializers.video(asset)), 201


@bp.get("/videos/<video_id>")
def video(video_id: str):
    return jsonify(serializers.video(_visible_video(video_id)))


@bp.get("/videos/<video_id>/<any(video, native, poster):kind>")
def video_media(video_id: str, kind: str):
    key, mimetype = _visible_video(video_id).media(kind)
    if not key:
        abort(404)
    return get_storage().send(key, mimetype)


# The resumable protocol (tus 1.0), as the pages use it, authenticated by the token.
@bp.post("/uploads/")
def upload_create():
    if request.headers.get("Tus-Resumable") is None:
        raise Invalid({"Tus-Resumable": "Speak tus 1.0.0, or POST the file to /api/v1/videos."})
    return tus_create(g.api_user, "api.upload_resume")


@bp.route("/uploads/<upload_id>", methods=["HEAD", "PATCH", "DELETE"])
def upload_resume(upload_id: str):
    return tus_resume(upload_id, g.api_user, lambda asset: url_for("api.video", video_id=asset.id))
