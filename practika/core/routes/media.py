"""Serving videos, posters and clips (HTTP Range, to the people who may see them), and the
status fragment the page polls while a video is processed."""

import json
import uuid

import sqlalchemy as sa
from flask import (
    abort,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.utils import secure_filename

from practika.core import bp
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import enqueue_processing
from practika.extensions import db
from practika.htmx import is_htmx
from practika.media.ladder import NATIVE_FAMILIES, native_family
from practika.model_base import utcnow
from practika.permissions import may_retry_video, may_view_asset
from practika.stamps import record_quietly
from practika.storage import get_storage

# The cookie in which the page (static/js/plays.js) names the native families this browser
# plays: "vp8.hevc". Only a hint for which file to offer; a wrong one costs a fallback.
PLAYS_COOKIE = "plays"


@bp.app_template_global()
def native_families() -> dict[str, str]:
    """What plays.js asks the browser about, family by family."""
    return NATIVE_FAMILIES


bp.add_app_template_global(native_family)


@bp.app_template_global()
def native_offer(asset: VideoAsset) -> str | None:
    """The MIME type of the asset's native copy, when this browser plays it and nothing that
    plays everywhere is made yet."""
    return asset.native_offer(request.cookies.get(PLAYS_COOKIE, "").split("."))


def _visible_asset(asset_id: uuid.UUID) -> VideoAsset:
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None or not may_view_asset(current_user, asset):
        abort(404)
    return asset


@bp.get("/core/media/<uuid:asset_id>/<any(video, native, poster):kind>")
@login_required
def media(asset_id: uuid.UUID, kind: str):
    asset = _visible_asset(asset_id)
    key, mimetype = asset.media(kind)
    if key and kind != "poster" and _starts_playback():
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
    record_quietly(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset.id)
        .values(**counted, updated_at=VideoAsset.updated_at),
        "a video's view count",
    )


@bp.get("/core/videos/<uuid:asset_id>/status")
@login_required
def video_status(asset_id: uuid.UUID):
    """The status fragment (or, with ``?part=note``, only its line under a playable video);
    always 200 with a state, so htmx keeps swapping (htmx 2 does not swap a 5xx, and the
    bar would freeze). Once the video is ready it triggers ``video-ready`` on the page, once
    it failed ``video-failed`` (an attempt's page then offers to replace it)."""
    asset = _visible_asset(asset_id)
    template = (
        "core/_status_note.html" if request.args.get("part") == "note" else "core/_status.html"
    )
    response = make_response(render_template(template, asset=asset))
    if asset.status in (ProcessingStatus.READY, ProcessingStatus.FAILED):
        response.headers["HX-Trigger"] = json.dumps({f"video-{asset.status}": str(asset.id)})
    return response


@bp.post("/core/videos/<uuid:asset_id>/retry")
@login_required
def retry_video(asset_id: uuid.UUID):
    asset = _visible_asset(asset_id)
    if not may_retry_video(current_user, asset):
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
    return render_template("core/_status.html", asset=asset)


def _visible_clip(clip_id: uuid.UUID) -> VideoClip:
    clip = db.session.get(VideoClip, clip_id)
    if clip is None or not may_view_asset(current_user, clip.original_video):
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
