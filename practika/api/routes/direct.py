"""Videos sent straight to the bucket by an API client (core.direct): start, sign parts, see
what arrived, complete or abort. Only with S3 storage; elsewhere these answer 404 and the
resumable upload at /uploads/ is the way."""

from __future__ import annotations

from flask import g, jsonify, url_for

from practika.api import bp
from practika.api.inputs import Invalid, body
from practika.api.problems import problem
from practika.core import direct
from practika.core.uploads import UploadError


def _started(upload) -> dict:
    parts_url = url_for("api.direct_parts", upload_id=upload.id, _external=True)
    return direct.described(upload) | {"parts_url": parts_url}


def _refused(error: UploadError):
    return problem(error.status, str(error))


@bp.post("/direct-uploads/")
def direct_start():
    """Start one: ``length`` (bytes), ``filename``, ``kind`` (video or voice)."""
    try:
        length, filename, sound_only = direct.start_fields(body())
    except direct.StartRefused as refused:
        raise Invalid(refused.errors) from None
    try:
        upload = direct.start(g.api_user, length, filename, sound_only=sound_only)
    except UploadError as error:
        return _refused(error)
    return jsonify(_started(upload) | {"urls": direct.first_urls(upload)}), 201


@bp.get("/direct-uploads/<upload_id>")
def direct_parts(upload_id: str):
    """What arrived: the parts in the bucket, by number and size."""
    try:
        upload = direct.owned(upload_id, g.api_user)
        return jsonify(_started(upload) | {"arrived": direct.arrived(upload)})
    except UploadError as error:
        return _refused(error)


@bp.post("/direct-uploads/<upload_id>/urls")
def direct_urls(upload_id: str):
    """Signed PUT URLs for ``parts`` (their numbers, at most SIGNED_AT_ONCE), valid for 15
    minutes."""
    data = body()
    try:
        upload = direct.owned(upload_id, g.api_user)
        numbers = data.get("parts")
        urls = direct.sign(upload, numbers if isinstance(numbers, list) else [])
    except UploadError as error:
        return _refused(error)
    return jsonify(urls={str(number): url for number, url in urls.items()})


@bp.post("/direct-uploads/<upload_id>/complete")
def direct_complete(upload_id: str):
    """Join the parts into the video: 409 while parts are missing, and the video after."""
    try:
        upload = direct.owned(upload_id, g.api_user)
        asset = direct.complete(upload, g.api_user)
    except UploadError as error:
        return _refused(error)
    video_url = url_for("api.video", video_id=asset.id, _external=True)
    return jsonify(video_id=str(asset.id), video_url=video_url), 201


@bp.delete("/direct-uploads/<upload_id>")
def direct_abort(upload_id: str):
    try:
        direct.abort(direct.owned(upload_id, g.api_user))
    except UploadError as error:
        return _refused(error)
    return "", 204
