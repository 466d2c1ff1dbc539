import errno
import os
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.utils import secure_filename

from practika.core import bp
from practika.core.health import run_checks
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import add_youtube_video, enqueue_processing, store_upload
from practika.core.uploads import (
    OUT_OF_SPACE,
    TUS_VERSION,
    PartialStore,
    UploadError,
    parse_metadata,
)
from practika.core.youtube import NotYouTube
from practika.exercises.models import Exercise
from practika.extensions import db, limiter
from practika.htmx import is_htmx
from practika.models import utcnow
from practika.storage import get_storage


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("exercises.index"))
    return render_template("core/index.html")


@bp.get("/core/health/")
@limiter.exempt
def health():
    healthy, checks = run_checks()
    failing = [name for name, entry in checks.items() if entry["status"] != "ok"]
    body = {"status": "ok" if healthy else "error", "failing": failing, "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _may_view(asset: VideoAsset) -> bool:
    """Staff, the owner, and anyone logged in when the asset is an exercise's model video."""
    if current_user.is_staff or asset.owner_id == current_user.id:
        return True
    used_by_exercise = sa.select(Exercise.id).where(Exercise.video_asset_id == asset.id)
    return db.session.scalar(used_by_exercise.limit(1)) is not None


def _visible_asset(asset_id: uuid.UUID) -> VideoAsset:
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None or not _may_view(asset):
        abort(404)
    return asset


@bp.get("/core/media/<uuid:asset_id>/<any(video, poster):kind>")
@login_required
def media(asset_id: uuid.UUID, kind: str):
    asset = _visible_asset(asset_id)
    if kind == "poster":
        key, mimetype = asset.poster_path, "image/jpeg"
    else:
        rendition = asset.best_rendition() if asset.is_playable else None
        key, mimetype = (rendition or {}).get("path"), "video/mp4"
        if key and _starts_playback():
            _count_access(asset)
    if not key:
        abort(404)
    return get_storage().send(key, mimetype)


def _starts_playback() -> bool:
    """A player asks for many byte ranges per viewing; only the one from byte 0 counts."""
    ranges = request.range
    return ranges is None or ranges.ranges[0][0] == 0


def _count_access(asset: VideoAsset) -> None:
    """One small UPDATE, not a load-and-save, so concurrent viewings all count. It leaves
    updated_at alone: that is the processing clock the sweep reads."""
    counted = {"access_count": VideoAsset.access_count + 1, "last_accessed": utcnow()}
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset.id)
        .values(**counted, updated_at=VideoAsset.updated_at)
    )
    db.session.commit()


@bp.get("/core/videos/<uuid:asset_id>/status")
@login_required
def video_status(asset_id: uuid.UUID):
    """The status fragment; always 200 with a state, so htmx keeps swapping (htmx 2 does not
    swap a 5xx, and the bar would freeze)."""
    asset = _visible_asset(asset_id)
    return render_template("core/_status.html", asset=asset, can_retry=_may_retry(asset))


@bp.post("/core/videos/<uuid:asset_id>/retry")
@login_required
def retry_video(asset_id: uuid.UUID):
    asset = _visible_asset(asset_id)
    if not _may_retry(asset):
        abort(404)
    if asset.status == ProcessingStatus.FAILED:
        asset.processing_status = ProcessingStatus.QUEUED
        asset.processing_error = None
        asset.attempts = 0
        asset.progress_pct = 0
        db.session.commit()
        enqueue_processing(asset)
    if not is_htmx():
        return redirect(url_for("core.index"), 303)
    return render_template("core/_status.html", asset=asset, can_retry=True)


def _may_retry(asset: VideoAsset) -> bool:
    return current_user.is_staff or asset.owner_id == current_user.id


def _tus_response(status: int, message: str = "", **headers: str) -> Response:
    response = Response(message, status=status, mimetype="text/plain")
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


def _partials() -> PartialStore:
    return PartialStore(Path(current_app.instance_path) / "uploads")


def _check_limits(length: int) -> None:
    """Size per file and total per user, refused before a byte is sent."""
    max_bytes = current_app.config["MAX_UPLOAD_BYTES"]
    if length > max_bytes:
        raise UploadError(413, f"This file is larger than {max_bytes // 2**20} MB.")
    quota = current_app.config["UPLOAD_QUOTA_BYTES"]
    used = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(VideoAsset.size_bytes), 0)).where(
            VideoAsset.owner_id == current_user.id
        )
    )
    if used + length > quota:
        raise UploadError(
            413,
            f"Your videos already use {used // 2**20} MB of your {quota // 2**20} MB; "
            "delete some to make room.",
        )


def _finish(asset: VideoAsset) -> None:
    db.session.commit()
    enqueue_processing(asset)


@bp.route("/core/uploads/", methods=["OPTIONS"])
def tus_options():
    return _tus_response(
        204, **{"Tus-Version": TUS_VERSION, "Tus-Extension": "creation,termination",
                "Tus-Max-Size": str(current_app.config["MAX_UPLOAD_BYTES"])},
    )  # fmt: skip


@bp.post("/core/uploads/")
@login_required
def upload_create():
    """tus creation when the client speaks tus; otherwise a plain form post of ``video``."""
    if request.headers.get("Tus-Resumable") is None:
        return _form_upload()
    try:
        length = int(request.headers.get("Upload-Length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        return _tus_response(400, "Upload-Length must be a whole number of bytes.")
    try:
        _check_limits(length)
        filename = parse_metadata(request.headers.get("Upload-Metadata")).get("filename", "")
    except UploadError as error:
        return _tus_response(error.status, str(error))
    upload = _partials().create(current_user.id, length, filename)
    location = url_for("core.upload_resume", upload_id=upload.id)
    return _tus_response(201, Location=location, **{"Upload-Offset": "0"})


def _form_upload():
    file = request.files.get("video")
    if file is None or not file.filename:
        flash("Choose a video to upload.", "error")
        return redirect(url_for("core.my_videos"), 303)
    file.stream.seek(0, os.SEEK_END)
    size = file.stream.tell()
    file.stream.seek(0)
    try:
        _check_limits(size)
    except UploadError as error:
        flash(str(error), "error")
        return redirect(url_for("core.my_videos"), 303)
    _finish(store_upload(file.stream, owner=current_user, filename=file.filename))
    flash("Uploaded. Your video is being processed.", "success")
    return redirect(url_for("core.my_videos"), 303)


@bp.route("/core/uploads/<upload_id>", methods=["HEAD", "PATCH", "DELETE"])
@login_required
def upload_resume(upload_id: str):
    partials = _partials()
    try:
        upload = partials.get(upload_id, current_user.id)
        if request.method == "HEAD":
            return _tus_response(
                200, **{"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}
            )
        if request.method == "DELETE":
            partials.delete(upload_id)
            return _tus_response(204)
        if request.mimetype != "application/offset+octet-stream":
            return _tus_response(415, "Content-Type must be application/offset+octet-stream.")
        offset = partials.append(upload, int(request.headers.get("Upload-Offset", "-1")),
                                 request.stream)  # fmt: skip
    except UploadError as error:
        return _tus_response(error.status, str(error))
    except ValueError:
        return _tus_response(400, "Upload-Offset must be a whole number of bytes.")
    headers = {"Upload-Offset": str(offset)}
    if offset == upload.length:
        try:
            with partials.open(upload) as stream:
                asset = store_upload(stream, owner=current_user, filename=upload.filename)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            db.session.rollback()  # storage left no partial object; the upload is kept
            return _tus_response(507, OUT_OF_SPACE)
        _finish(asset)
        partials.delete(upload_id)
        headers |= {
            "X-Video-Asset": str(asset.id),
            "X-Video-Status": url_for("core.video_status", asset_id=asset.id),
        }
    return _tus_response(204, **headers)


@bp.get("/core/videos/")
@login_required
def my_videos():
    """The user's own videos, newest first, each with its live status, and an upload form."""
    videos = db.session.scalars(
        sa.select(VideoAsset)
        .where(VideoAsset.owner_id == current_user.id)
        .order_by(VideoAsset.created_at.desc())
        .limit(100)
    ).all()
    return render_template("core/videos.html", videos=videos)


@bp.post("/core/videos/youtube")
@login_required
def add_youtube():
    try:
        add_youtube_video(request.form.get("youtube_url", ""), owner=current_user)
    except NotYouTube as error:
        flash(str(error), "error")
        return redirect(url_for("core.my_videos"), 303)
    db.session.commit()
    flash("YouTube video added.", "success")
    return redirect(url_for("core.my_videos"), 303)


def _visible_clip(clip_id: uuid.UUID) -> VideoClip:
    clip = db.session.get(VideoClip, clip_id)
    if clip is None or not _may_view(clip.original_video):
        abort(404)
    return clip


@bp.get("/core/clips/<uuid:clip_id>.mp4")
@login_required
def clip_media(clip_id: uuid.UUID):
    """A cut clip, to play or (with ``?download=1``) to keep as its own small file."""
    clip = _visible_clip(clip_id)
    if clip.processing_status != ProcessingStatus.READY or not clip.storage_path:
        abort(404)
    response = get_storage().send(clip.storage_path, "video/mp4")
    if request.args.get("download"):
        name = secure_filename(f"{clip.title or 'clip'}-{clip.start_time:g}-{clip.end_time:g}s")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.mp4"'
    return response


@bp.get("/core/clips/<uuid:clip_id>/status")
@login_required
def clip_status(clip_id: uuid.UUID):
    """The clip's fragment; always 200 with a state, like the video status."""
    return render_template("core/_clip.html", clip=_visible_clip(clip_id))
