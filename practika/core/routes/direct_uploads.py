"""The pages' side of videos sent straight to the bucket: chosen files (core.direct), for
direct.js, the same steps as the API's; and takes sent as they are recorded (core.streamed),
for takes.js. For someone logged in, with the page's CSRF token. JSON in and out; a refusal
answers ``{"error": "…"}`` with its status, for the widget to show. Sending the same file
again goes on with its upload in progress, wherever it was left; a take is known by its
video's id, which it keeps once finished."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user, login_required

from practika.core import bp, direct, streamed
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


@bp.app_template_global()
def take_endpoint() -> str:
    """Where the recorder starts a take sent to the bucket as it is recorded; empty when the
    storage is not a bucket (the resumable upload then takes it)."""
    return url_for("core.take_start") if direct.available() else ""


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


# Takes sent as they are recorded (core.streamed), by their video's id.


def _take(upload) -> dict:
    video_id = str(upload.asset_id)
    return {
        "video_id": video_id,
        "url": url_for("core.take_pieces", video_id=video_id),
        "urls_url": url_for("core.take_urls", video_id=video_id),
        "finish_url": url_for("core.take_finish", video_id=video_id),
        "urls_at_once": direct.SIGNED_AT_ONCE,
        "arrived": streamed.arrived(upload),
    }


def _video(asset) -> dict:
    status_url = url_for("core.video_status", asset_id=asset.id)
    return {"video_id": str(asset.id), "status_url": status_url}


@bp.post("/core/take-uploads/")
@login_required
def take_start():
    """A take to send, or the one in progress of that file (a start sent again)."""
    filename = _json().get("filename")
    if not isinstance(filename, str) or not filename or len(filename) > 255:
        return _refused(422, "The recording's file name, at most 255 characters.")
    try:
        upload = streamed.start(current_user, filename)
        return jsonify(_take(upload)), 201
    except UploadError as error:
        return _refused(error.status, str(error))


@bp.get("/core/take-uploads/<video_id>")
@login_required
def take_pieces(video_id: str):
    """The pieces that arrived; once the take is a video, the video (``status_url``)."""
    try:
        upload = streamed.owned(video_id, current_user)
        if upload is None:
            return jsonify(_video(streamed.finished(video_id, current_user)))
        return jsonify(_take(upload))
    except UploadError as error:
        return _refused(error.status, str(error))


@bp.post("/core/take-uploads/<video_id>/urls")
@login_required
def take_urls(video_id: str):
    numbers = _json().get("pieces")
    try:
        upload = streamed.owned(video_id, current_user)
        if upload is None:
            return _refused(409, "This take is a video already.")
        urls = streamed.sign(upload, numbers if isinstance(numbers, list) else [])
    except UploadError as error:
        return _refused(error.status, str(error))
    return jsonify(urls={str(number): url for number, url in urls.items()})


@bp.post("/core/take-uploads/<video_id>/finish")
@login_required
def take_finish(video_id: str):
    """The take's ``length`` in bytes, declared at Stop: it becomes a video. Asked again
    once it is one (an answer lost on its way), it names that video."""
    try:
        upload = streamed.owned(video_id, current_user)
        if upload is None:
            return jsonify(_video(streamed.finished(video_id, current_user))), 201
        asset = streamed.finish(upload, current_user, _json().get("length"))
    except UploadError as error:
        return _refused(error.status, str(error))
    return jsonify(_video(asset)), 201


@bp.delete("/core/take-uploads/<video_id>")
@login_required
def take_discard(video_id: str):
    """A retake or a discard: the take goes, or the video it became if nothing uses it."""
    try:
        streamed.discard(video_id, current_user)
    except UploadError as error:
        return _refused(error.status, str(error))
    return "", 204
