import uuid

import sqlalchemy as sa
from flask import abort, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from practika.core import bp
from practika.core.health import run_checks
from practika.core.models import ProcessingStatus, VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db, limiter
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


@bp.get("/core/media/<uuid:asset_id>/<any(video, poster):kind>")
@login_required
def media(asset_id: uuid.UUID, kind: str):
    storage = get_storage()
    asset = db.session.get(VideoAsset, asset_id)
    if asset is None or not _may_view(asset):
        abort(404)
    key = asset.poster_path if kind == "poster" else asset.storage_path
    if asset.status != ProcessingStatus.READY or not key:
        abort(404)
    mimetype = "image/jpeg" if kind == "poster" else asset.mime_type or "video/mp4"
    return storage.send(key, mimetype)
