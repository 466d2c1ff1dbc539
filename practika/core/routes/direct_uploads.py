"""The pages' side of videos sent straight to the bucket (core.direct), for upload.js: the
same steps as the API's, for someone logged in, with the page's CSRF token. JSON in and
out; a refusal answers ``{"error": "…"}`` with its status, for the widget to show. Sending
the same file again goes on with its upload in progress, wherever it was left."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user, login_required

from practika.core import bp, direct
from practika.core.uploads import UploadError
from practika.json_body import json_object


def _refused(status: int, message: str):
    return jsonify(error=message), status


def _started(upload) -> dict:
    return direct.described(upload) | {
        "parts_url": url_for("core.direct_parts", upload_id=upload.id),
        "urls_url": url_for("core.direct_urls", upload_id=upload.id),
        "complete_url": url_for("core.direct_complete", upload_id=upload.id),
    }


@bp.app_template_global()
def direct_endpoint() -> str:
    """Where the pages start an upload straight to the bucket; empty when the storage is not
    a bucket (the resumable upload then takes the file)."""
    return url_for("core.direct_start") if direct.available() else ""


def _json() -> dict:
    return json_object() or {}


@bp.post("/core/direct-uploads/")
@login_required
def direct_start():
    try:
        length, filename, sound_only = direct.start_fields(_json())
        upload = direct.unfinished(current_user, length, filename, sound_only=sound_only)
        arrived = direct.arrived(upload) if upload else []
        upload = upload or direct.start(current_user, length, filename, sound_only=sound_only)
    except direct.StartRefused as error:
        return _refused(422, " ".join(error.errors.values()))
    except UploadError as error:
        return _refused(error.status, str(error))
    return jsonify(_started(upload) | {"arrived": arrived, "urls": direct.first_urls(upload)}), 201


@bp.get("/core/direct-uploads/<upload_id>")
@login_required
def direct_parts(upload_id: str):
    try:
        upload = direct.owned(upload_id, current_user)
        return jsonify(_started(upload) | {"arrived": direct.arrived(upload)})
    except UploadError as error:
        return _refused(error.status, str(error))


@bp.post("/core/direct-uploads/<upload_id>/urls")
@login_required
def direct_urls(upload_id: str):
    numbers = _json().get("parts")
    try:
        upload = direct.owned(upload_id, current_user)
        urls = direct.sign(upload, numbers if isinstance(numbers, list) else [])
    except UploadError as error:
        return _refused(error.status, str(error))
    return jsonify(urls={str(number): url for number, url in urls.items()})


@bp.post("/core/direct-uploads/<upload_id>/complete")
@login_required
def direct_complete(upload_id: str):
    try:
        asset = direct.complete(direct.owned(upload_id, current_user), current_user)
    except UploadError as error:
        return _refused(error.status, str(error))
    status_url = url_for("core.video_status", asset_id=asset.id)
    return jsonify(video_id=str(asset.id), status_url=status_url), 201


@bp.delete("/core/direct-uploads/<upload_id>")
@login_required
def direct_abort(upload_id: str):
    try:
        direct.abort(direct.owned(upload_id, current_user))
    except UploadError as error:
        return _refused(error.status, str(error))
    return "", 204
