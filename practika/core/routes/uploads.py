"""Getting videos in: resumable (tus) and plain uploads, YouTube links, and the Videos page."""

import uuid

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.core import bp
from practika.core.cleanup import due_videos, keep
from practika.core.incoming import VideoRefused, partial_store, uploaded_video, video_from_form
from practika.core.library import InUse, delete_unused, room_used, uses_of
from practika.core.models import VideoAsset
from practika.core.services import add_youtube_video, enqueue_processing
from practika.core.tus import EXTENSIONS, tus_create, tus_response, tus_resume
from practika.core.uploads import TUS_VERSION, PartialUpload
from practika.core.youtube import NotYouTube
from practika.extensions import db


def _finish(asset: VideoAsset) -> None:
    db.session.commit()
    enqueue_processing(asset)


@bp.app_template_global()
def attached_video() -> VideoAsset | None:
    """On a form sent back with an error: the video already uploaded for it, which stays
    attached (``core/_video_input.html``), so that nobody uploads it twice or loses it. A
    voice recording stays attached too: only a comment's form takes one, and any other
    says why it refused it."""
    asset_id = request.form.get("video_asset_id", "").strip() if request.method == "POST" else ""
    if not asset_id or not current_user.is_authenticated:
        return None
    try:
        return uploaded_video(asset_id, current_user, voice=True)
    except VideoRefused:
        return None


@bp.app_template_global()
def uploads_left() -> list[PartialUpload]:
    """The person's chosen-file uploads left unfinished (a link followed, the tab closed),
    offered on the forms that carry a video: choosing the same file again goes on from
    where it stopped. Recordings (length deferred) are offered by the page itself."""
    if not current_user.is_authenticated:
        return []
    if "uploads_left" not in g:  # a page may hold several such forms: read the folder once
        left = partial_store().pending(current_user.id)
        g.uploads_left = [upload for upload in left if upload.length and upload.offset]
    return g.uploads_left


@bp.route("/core/uploads/", methods=["OPTIONS"])
def tus_options():
    return tus_response(
        204,
        **{
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(current_app.config["MAX_UPLOAD_BYTES"]),
        },
    )


@bp.post("/core/uploads/")
@login_required
def upload_create():
    """tus creation when the client speaks tus; otherwise a plain form post of ``video``."""
    if request.headers.get("Tus-Resumable") is None:
        return _form_upload()
    return tus_create(current_user, "core.upload_resume")


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


@bp.get("/core/videos/")
@login_required
def my_videos():
    """The user's own videos, newest first, each with its live status and where it is used,
    the room they take, and an upload form; above them, those due for cleanup."""
    videos = db.session.scalars(
        sa.select(VideoAsset)
        .where(VideoAsset.owner_id == current_user.id)
        .order_by(VideoAsset.created_at.desc())
        .limit(100)
    ).all()
    due = due_videos(current_user.id)
    return render_template(
        "core/videos.html",
        videos=videos,
        uses=uses_of([video.id for video in videos]),
        used=room_used(current_user.id),
        due=due,
        removals={asset.id: removal for asset, removal in due},
    )


def _managed_video(asset_id: uuid.UUID) -> VideoAsset:
    """One of your videos (staff: anyone's) to keep or delete; any other answers 404."""
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None or not (asset.owner_id == current_user.id or current_user.is_staff):
        abort(404)
    return asset


@bp.post("/core/videos/<uuid:asset_id>/delete")
@login_required
def delete_video(asset_id: uuid.UUID):
    """Delete one of your videos that nothing uses (staff: anyone's)."""
    asset = _managed_video(asset_id)
    name = asset.orig_filename or "The video"
    try:
        delete_unused(asset)
    except InUse as error:
        flash(str(error), "error")
        return redirect(url_for("core.my_videos"), 303)
    flash(f"{name} is deleted.", "success")
    return redirect(url_for("core.my_videos"), 303)


@bp.post("/core/videos/<uuid:asset_id>/keep")
@login_required
def keep_video(asset_id: uuid.UUID):
    """Keep one of your videos though nothing uses it: the cleanup never removes it."""
    asset = _managed_video(asset_id)
    keep(asset)
    db.session.commit()
    flash(f"{asset.orig_filename or 'The video'} is kept until you delete it.", "success")
    return redirect(url_for("core.my_videos"), 303)


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
