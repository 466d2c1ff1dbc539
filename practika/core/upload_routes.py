"""Getting videos in: resumable (tus) and plain uploads, YouTube links, and the Videos page."""

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts.models import User
from practika.core import bp
from practika.core.incoming import (
    VideoRefused,
    check_upload_limits,
    expire_abandoned,
    partial_store,
    video_from_form,
)
from practika.core.models import VideoAsset
from practika.core.services import add_youtube_video, enqueue_processing, store_upload
from practika.core.uploads import (
    NO_ROOM,
    OUT_OF_SPACE,
    TUS_VERSION,
    PartialStore,
    PartialUpload,
    UploadError,
    parse_metadata,
)
from practika.core.youtube import NotYouTube
from practika.extensions import db


def _tus_response(status: int, message: str = "", **headers: str) -> Response:
    response = Response(message, status=status, mimetype="text/plain")
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


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
    return tus_create(current_user, "core.upload_resume")


def tus_create(owner: User, resume_endpoint: str) -> Response:
    """tus creation for ``owner``: the limits are checked before a byte is sent."""
    partials = partial_store()
    expire_abandoned(partials)  # whoever starts an upload clears the abandoned ones away
    try:
        length = _byte_count("Upload-Length")
        check_upload_limits(owner, length)
        filename = parse_metadata(request.headers.get("Upload-Metadata")).get("filename", "")
    except UploadError as error:
        return _tus_response(error.status, str(error))
    upload = partials.create(owner.id, length, filename)
    location = url_for(resume_endpoint, upload_id=upload.id)
    return _tus_response(201, Location=location, **{"Upload-Offset": "0"})


def _form_upload():
    try:
        asset = video_from_form(request.form, request.files, current_user)
    except VideoRefused as error:
        flash(str(error), "error")
        return redirect(url_for("core.my_videos"), 303)
    if asset is None:
        flash("Choose a video to upload.", "error")
        return redirect(url_for("core.my_videos"), 303)
    _finish(asset)
    flash("Uploaded. Your video is being processed.", "success")
    return redirect(url_for("core.my_videos"), 303)


@bp.route("/core/uploads/<upload_id>", methods=["HEAD", "PATCH", "DELETE"])
@login_required
def upload_resume(upload_id: str):
    return tus_resume(
        upload_id, current_user, lambda asset: url_for("core.video_status", asset_id=asset.id)
    )


def tus_resume(upload_id: str, owner: User, status_url: Callable[[VideoAsset], str]) -> Response:
    """HEAD (how far), PATCH (the next piece) and DELETE for ``owner``'s upload. The piece
    that completes it stores the video, queues it, and names it in X-Video-Asset (HEAD on a
    finished upload names it too, for a client that lost that answer)."""
    partials = partial_store()
    if request.method == "HEAD":
        try:
            upload = partials.get(upload_id, owner.id)
        except UploadError as error:
            return _tus_response(error.status, str(error))
        return _tus_response(200, **{"Upload-Length": str(upload.length)},
                             **_progress(upload, status_url))  # fmt: skip
    upload = None
    try:
        with partials.writing(upload_id, owner.id) as upload:
            if request.method == "DELETE":
                partials.delete(upload_id)
                return _tus_response(204)
            if request.mimetype != "application/offset+octet-stream":
                return _tus_response(415, "Content-Type must be application/offset+octet-stream.")
            offset = _byte_count("Upload-Offset")
            if upload.finished and offset == upload.length:  # the last piece, sent again
                return _tus_response(204, **_progress(upload, status_url))
            before = upload.offset
            partials.append(upload, offset, request.stream)
            if upload.offset == upload.length:
                _complete(partials, upload, owner, before)
            return _tus_response(204, **_progress(upload, status_url))
    except UploadError as error:
        where = _progress(upload, status_url) if upload is not None else {}
        return _tus_response(error.status, str(error), **where)


def _byte_count(header: str) -> int:
    """A tus header that counts bytes (Upload-Length, Upload-Offset): a whole number, 0 or more."""
    value = request.headers.get(header, "").strip()
    if not (value.isascii() and value.isdigit()):
        raise UploadError(400, f"{header} must be a whole number of bytes.")
    return int(value)


def _progress(upload: PartialUpload, status_url: Callable[[VideoAsset], str]) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.finished:
        asset = db.session.get(VideoAsset, uuid.UUID(upload.asset_id))
        if asset is not None:
            headers |= {"X-Video-Asset": upload.asset_id, "X-Video-Status": status_url(asset)}
    return headers


def _complete(partials: PartialStore, upload: PartialUpload, owner: User, before: int) -> None:
    """Make the whole upload a video, once (the caller holds the upload's lock). If it
    cannot be stored now, the last piece is cut back off, so the upload stays resumable
    and the client sends that piece again later: never a finished upload without a video."""
    try:
        with partials.owner_lock(owner.id):  # two uploads finishing at once: one quota
            check_upload_limits(owner, upload.length, new=False)
            with partials.open(upload) as stream:
                asset = store_upload(stream, owner=owner, filename=upload.filename)
            db.session.commit()
    except Exception as error:  # a full disk, the quota, S3 or the database: resumable still
        db.session.rollback()
        partials.cut_back(upload, before)
        if isinstance(error, OSError) and error.errno in NO_ROOM:
            raise UploadError(507, OUT_OF_SPACE) from None
        raise
    partials.finish(upload, str(asset.id))
    enqueue_processing(asset)


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
